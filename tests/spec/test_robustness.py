"""Whatever an MLproject contains, loading and rendering fail only with mlrun errors.

Deterministic mutations of the corpus files (values replaced by odd YAML, lines dropped,
duplicated or cut) stand in for the broken files users write."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from mlrun.errors import ParameterError, SpecError
from mlrun.spec.loader import load_project
from mlrun.spec.params import resolve_parameters
from mlrun.spec.render import render_command
from mlrun.spec.summary import project_summary
from tests.conftest import CORPUS

ODD_VALUES = [
    "[]", "{}", "", "null", "1", "yes", "[a, [b]]", "{a: }", "!!binary aGVsbG8=", "*x",
    "&a 1", "2020-01-01", '"{"', '"}"', '"{x}"', "[[A]]", '"a\\nb"', "{type: [1]}",
    '"{a.b}"', ".inf", '"\\0"', "x" * 5000, "'", "{", "!!python/object:os.system x",
]  # fmt: skip


def _mutants(count: int) -> list[str]:
    texts = sorted(p.read_text() for p in CORPUS.glob("*/MLproject"))
    rng = random.Random(20240611)
    result = []
    for _ in range(count):
        lines = rng.choice(texts).splitlines()
        for _ in range(rng.randint(1, 3)):
            if not lines:
                break
            i = rng.randrange(len(lines))
            if ":" in lines[i] and rng.random() < 0.7:
                lines[i] = lines[i].partition(":")[0] + ": " + rng.choice(ODD_VALUES)
            elif rng.random() < 0.4:
                del lines[i]
            elif rng.random() < 0.5:
                lines.insert(i, rng.choice(lines))
            else:
                lines[i] = lines[i][: rng.randrange(len(lines[i]) + 1)]
        result.append("\n".join(lines))
    return result


@pytest.mark.slow  # 1500 mutants (~4 s)
def test_mutated_corpus_files_fail_cleanly(tmp_path: Path) -> None:
    (tmp_path / "conda.yaml").write_text("")
    loaded = 0
    for text in _mutants(1500):
        (tmp_path / "MLproject").write_text(text)
        try:
            project = load_project(tmp_path)
        except SpecError as exc:
            assert "\n" not in str(exc)
            continue
        loaded += 1
        project_summary(project)
        for ep in project.entry_points.values():
            try:
                params = resolve_parameters(ep, dict.fromkeys(ep.parameters, "1"), tmp_path)
                command = render_command(ep, params)
            except (SpecError, ParameterError) as exc:
                assert "\n" not in str(exc)
                continue
            command.words()
    assert loaded > 100  # the mutations must not all be rejected outright
