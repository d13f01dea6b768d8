"""Which files a project's code is, and what `code:` globs select (workflow step keys)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlrun.sources.codefiles import check_pattern, project_files, select
from tests.sources.gitrepos import commit, git

FILES = [
    "evaluate.py",
    "train.py",
    "lib/a.py",
    "lib/deep/b.py",
    "lib/deep/c.txt",
    "liberty.py",
    "src/pkg/x.py",
    "data/raw.csv",
]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("evaluate.py", ["evaluate.py"]),
        ("./evaluate.py", ["evaluate.py"]),
        ("lib", ["lib/a.py", "lib/deep/b.py", "lib/deep/c.txt"]),
        ("lib/", ["lib/a.py", "lib/deep/b.py", "lib/deep/c.txt"]),
        ("*.py", ["evaluate.py", "train.py", "liberty.py"]),  # `*` stays in one segment
        ("lib/*.py", ["lib/a.py"]),
        ("lib/*", ["lib/a.py", "lib/deep/b.py", "lib/deep/c.txt"]),  # a directory matched
        (
            "**/*.py",
            ["evaluate.py", "train.py", "lib/a.py", "lib/deep/b.py", "liberty.py", "src/pkg/x.py"],
        ),
        ("lib/**/*.txt", ["lib/deep/c.txt"]),
        ("[et]*.py", ["evaluate.py", "train.py"]),
        ("[!et]*.py", ["liberty.py"]),
        ("train?py", ["train.py"]),
        ("nothing.py", []),
    ],
)
def test_glob_selection(pattern: str, expected: list[str]) -> None:
    assert select([pattern], FILES)[pattern] == expected


def test_bad_patterns_are_named() -> None:
    assert check_pattern("/etc/passwd") == "is not relative to the project directory"
    assert check_pattern("~/x") == "is not relative to the project directory"
    assert check_pattern("lib/../../x") == "reaches outside the project directory ('..')"
    assert check_pattern(" ") == "is empty"
    assert check_pattern("lib/**/*.py") is None


def test_plain_directory_files_skip_noise(tmp_path: Path) -> None:
    for rel in ("a.py", "lib/b.py", "lib/__pycache__/b.cpython-311.pyc", ".venv/x", "c.pyc"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    assert project_files(tmp_path, in_git=False) == ["a.py", "lib/b.py"]


def test_git_files_are_what_git_sees(tmp_path: Path) -> None:
    """Tracked and untracked-but-not-ignored files, relative to a subdirectory project."""
    git(tmp_path, "init", "-q", "-b", "main")
    commit(
        tmp_path,
        {
            "proj/MLproject": "name: p\n",
            "proj/job.py": "x\n",
            "proj/gone.py": "x\n",
            "other/o.py": "x\n",
            ".gitignore": "out/\n",
        },
    )
    (tmp_path / "proj" / "new.py").write_text("untracked\n")
    (tmp_path / "proj" / "out").mkdir()
    (tmp_path / "proj" / "out" / "model.bin").write_text("ignored\n")
    (tmp_path / "proj" / "gone.py").unlink()  # deleted in the working tree
    assert project_files(tmp_path / "proj", in_git=True) == ["MLproject", "job.py", "new.py"]
