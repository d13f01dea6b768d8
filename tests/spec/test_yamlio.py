from __future__ import annotations

import pytest
import yaml

from mlrun.errors import SpecError
from mlrun.spec.yamlio import load_yaml

YAML_1_1 = """\
a: 1e-1
b: .0
c: None
d: yes
e: 0.5
f: 010
g: 2001-12-14
h: ~
i: "1e-1"
j: 1_000
k: on
"""


def test_values_are_exactly_safe_load() -> None:
    doc = load_yaml(YAML_1_1.encode())
    assert doc.data == yaml.safe_load(YAML_1_1)
    assert doc.data["a"] == "1e-1"
    assert doc.data["b"] == 0.0
    assert doc.data["c"] == "None"
    assert doc.data["d"] is True


def test_every_key_has_its_line() -> None:
    doc = load_yaml(b"name: x\nentry_points:\n  main:\n    parameters: {a: 1, b: 2}\n")
    assert doc.line("name") == 1
    assert doc.line("entry_points", "main") == 3
    assert doc.line("entry_points", "main", "parameters", "b") == 4
    # unknown paths fall back to the nearest known ancestor
    assert doc.line("entry_points", "main", "nope") == 3
    assert doc.line("nope") is None


def test_duplicate_keys_warn_and_last_wins() -> None:
    doc = load_yaml(b"a: 1\nb: 2\na: 3\n", file="MLproject")
    assert doc.data == {"a": 3, "b": 2}
    (warning,) = doc.warnings
    assert warning.line == 3
    assert "first on line 1" in warning.message
    assert str(warning).startswith("MLproject:3: ")
    assert doc.line("a") == 3


def test_merge_keys_are_not_duplicates() -> None:
    doc = load_yaml(b"base: &b {x: 1, y: 2}\nthing:\n  <<: *b\n  x: 5\n")
    assert doc.data["thing"] == {"x": 5, "y": 2}
    assert doc.warnings == []


def test_recursive_alias_does_not_hang() -> None:
    doc = load_yaml(b"a: &x [1, *x]\n")
    assert doc.data["a"][1] is doc.data["a"]


def test_empty_document_is_none() -> None:
    assert load_yaml(b"").data is None
    assert load_yaml(b"# only a comment\n").data is None


@pytest.mark.parametrize(
    ("source", "line"),
    [
        (b"a: [1, 2\nb: 3\n", 2),
        (b"a: 1\n\tb: 2\n", 2),
        (b"a: 1\n b: 2\n", 2),
        (b"a: 1\n---\nb: 2\n", 2),
        (b"a: !!python/object:os.system x\n", 1),
        (b"a: 1\nb: \xff\xfe\n", 2),
        (b"a: 1\nb: 'unterminated\n", 3),
    ],
)
def test_bad_yaml_is_a_spec_error_with_line(source: bytes, line: int) -> None:
    with pytest.raises(SpecError) as caught:
        load_yaml(source, file="MLproject")
    assert caught.value.line == line
    assert str(caught.value).startswith(f"MLproject:{line}: ")
    assert "\n" not in str(caught.value)


def test_impossible_date_is_a_spec_error() -> None:
    # safe_load raises a bare ValueError here
    with pytest.raises(SpecError, match="month must be in"):
        load_yaml(b"a: 2020-13-45\n", file="MLproject")
