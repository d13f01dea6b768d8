"""Our word splitter against bash itself, on the quoting forms MLproject commands use."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mlrun.spec.model import Command
from mlrun.spec.shellwords import split_literal, split_simple, split_words

CASES = [
    "a b\tc",
    "a\\ b",
    "'x'\"y\"z",
    '"a\\$b" "a\\\\b" "a\\xb" "a\\"b" "a\\`b"',
    '"line\\\ncontinued"',
    "'single \\ backslash'",
    "word\\\ncontinued",
    "a \\\n  b \\\n  c\n",
    "''  \"\"",
    "--x='1 2' -y=\"3 4\"",
    "a#b c",
    "ünï ✓",
    "'multi\nline'",
]


@pytest.mark.parametrize("text", CASES)
def test_split_like_bash(text: str, tmp_path: Path) -> None:
    out = subprocess.run(
        ["bash", "-c", "printf '%s\\0' " + text], capture_output=True, check=True, cwd=tmp_path
    )
    assert split_words(text) == out.stdout.decode().split("\0")[:-1]
    assert split_simple(text) == split_words(text)


def test_tolerant_split_keeps_operators_and_drops_comments() -> None:
    assert split_words("cat a | wc -l # count") == ["cat", "a", "|", "wc", "-l"]
    assert split_words("echo 'open") == ["echo", "open"]


def test_command_words_use_posix_continuations() -> None:
    # shlex.split would turn the backslash-newline into a "\n" word.
    command = Command(argv=None, shell="python x.py \\\n  --a 1 | cat", template="")
    assert command.words() == ["python", "x.py", "--a", "1", "|", "cat"]


def test_split_literal_reads_words_without_expanding() -> None:
    # What a conversion like {a!r} leaves for the shell to read: quotes removed, or None
    # when the shell would expand, split into commands or glob something.
    assert split_literal("\"'a b'\"") == ["'a b'"]
    assert split_literal("a=b") == ["a=b"]  # not an assignment: an argument
    assert split_literal("'x' y") == ["x", "y"]
    for text in ('"$(x)"', "`x`", "a;b", "*", "$HOME", "a\nb"):
        assert split_literal(text) is None, text
