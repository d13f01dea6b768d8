"""Content hashes of plain project directories, and the stat cache that keeps repeat runs
from reading every file again."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from mlrun.sources import contenthash
from mlrun.sources.contenthash import tree_hash


def _age(root: Path, seconds: float = 60) -> None:
    """Make every file look written a while ago (outside the racy window)."""
    past = time.time() - seconds
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            os.utime(path, (past, past))


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    real = contenthash.file_sha256

    def counting(path: str | Path) -> str:
        seen.append(os.path.basename(path))
        return real(path)

    monkeypatch.setattr(contenthash, "file_sha256", counting)
    return seen


def _project(root: Path) -> Path:
    for name, text in {
        "MLproject": "name: p\n",
        "train.py": "print(1)\n",
        "pkg/util.py": "X = 1\n",
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_repeat_hash_reads_no_unchanged_file(tmp_path: Path, reads: list[str]) -> None:
    root = _project(tmp_path / "p")
    _age(root)
    first = tree_hash(root)
    assert sorted(reads) == ["MLproject", "train.py", "util.py"]
    reads.clear()
    assert tree_hash(root) == first
    assert reads == []
    (root / "train.py").write_text("print(2)\n")  # same size, new mtime
    assert tree_hash(root) != first
    assert reads == ["train.py"]


def test_recently_written_files_are_read_again(tmp_path: Path, reads: list[str]) -> None:
    root = _project(tmp_path / "p")  # just written: inside the racy window
    tree_hash(root)
    reads.clear()
    tree_hash(root)
    assert sorted(reads) == ["MLproject", "train.py", "util.py"]


def test_what_counts_and_what_does_not(tmp_path: Path) -> None:
    root = _project(tmp_path / "p")
    base = tree_hash(root)
    for noise in (
        "__pycache__/m.pyc",
        ".git/HEAD",
        ".venv/bin/python",
        "x.pyc",
        "node_modules/a.js",
        "pkg.egg-info/PKG-INFO",
    ):
        (root / noise).parent.mkdir(parents=True, exist_ok=True)
        (root / noise).write_text("noise")
    assert tree_hash(root) == base
    (root / "train.py").chmod(0o755)
    executable = tree_hash(root)
    assert executable != base
    (root / "data").symlink_to(tmp_path)  # a link is its target's name, never followed
    linked = tree_hash(root)
    assert linked != executable
    (root / "pkg" / "new.py").write_text("")
    assert tree_hash(root) != linked


def test_large_files_count_by_size_and_mtime(
    tmp_path: Path, reads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(contenthash, "LARGE_FILE", 10)
    root = tmp_path / "p"
    root.mkdir()
    (root / "data.bin").write_bytes(b"x" * 100)
    first = tree_hash(root)
    assert reads == []  # not read
    os.utime(root / "data.bin", (1, 1))
    assert tree_hash(root) != first
