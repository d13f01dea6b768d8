""".dockerignore rules as the docker CLI applies them, plus the never-sent list."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlrun.envs.docker.context import collect
from mlrun.envs.docker.dockerignore import Matcher, read_patterns


@pytest.mark.parametrize(
    ("patterns", "path", "excluded"),
    [
        (["*.log"], "a.log", True),
        (["*.log"], "sub/a.log", False),  # `*` never crosses a directory
        (["**/*.log"], "sub/deep/a.log", True),
        (["**/*.log"], "a.log", True),  # `**/` may match no directory at all
        (["data"], "data/x/y.csv", True),  # a matched directory takes its contents
        (["/data/"], "data/x.csv", True),  # surrounding slashes do not matter
        (["./build/../dist"], "dist/app", True),  # cleaned like a path
        (["*.log", "!keep.log"], "keep.log", False),  # the last match decides
        (["!keep.log", "*.log"], "keep.log", True),
        (["file?.txt"], "file1.txt", True),
        (["file?.txt"], "file10.txt", False),
        (["[a-c].txt"], "b.txt", True),
        (["[^a-c].txt"], "b.txt", False),
        (["Data"], "data", False),  # case-sensitive, as on Linux
        (["."], "anything", False),  # "." is ignored
        ([r"\*.txt"], "*.txt", True),
        ([r"\*.txt"], "a.txt", False),
    ],
)
def test_patterns(patterns: list[str], path: str, excluded: bool) -> None:
    assert Matcher(patterns, never=()).excluded(path) is excluded


def test_reading_skips_comments_and_blank_lines() -> None:
    assert read_patterns("# cache\n\n  *.pyc  \n!keep.pyc\n") == ["*.pyc", "!keep.pyc"]


@pytest.mark.parametrize(
    "path",
    [
        ".git/config",
        "sub/.git/HEAD",
        ".env",
        "conf/.env",
        "keys/id_rsa",
        "tls/server.key",
        "a/b/c.pem",
        ".ssh/config",
        ".netrc",
    ],
)
def test_never_sent_cannot_be_re_included(path: str) -> None:
    matcher = Matcher(["!.git", "!.env", "!**/*.pem", "!*"])
    assert matcher.excluded(path)


def test_collect_walks_in_order_and_prunes(tmp_path: Path) -> None:
    for rel in (
        "b.py",
        "a/x.py",
        "a/y.log",
        "logs/1.log",
        "logs/keep.log",
        ".git/HEAD",
        ".env.example",
    ):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(rel)
    (tmp_path / ".dockerignore").write_text("*/*.log\n!logs/keep.log\n")
    context = collect(tmp_path)
    assert context.paths == (
        ".dockerignore",
        ".env.example",
        "a",
        "a/x.py",
        "b.py",
        "logs",
        "logs/keep.log",
    )
    before = context.digest()
    (tmp_path / "a/y.log").write_text("ignored files do not change the digest")
    assert collect(tmp_path).digest() == before
    (tmp_path / "b.py").chmod(0o755)
    assert collect(tmp_path).digest() != before  # permission bits are part of an image
