"""Content hashes of a project's files, for runs of directories git does not describe
(a plain directory; the untracked files of a dirty working tree).

This is on every run's path, so a stat cache keyed by (size, mtime_ns, inode) remembers
each file's digest: a repeat run stats the files and reads none that did not change.
As in git's index, a file modified within the last two seconds is not cached (its mtime
may not yet tell a later write apart). Files above LARGE_FILE contribute their size and
mtime instead of their bytes: reading gigabytes of data on every first run would cost
more than the rare same-size-same-mtime change it could catch."""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from mlrun.util.sha import file_sha256, sha256

SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "__pycache__",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        "node_modules",
        ".ipynb_checkpoints",
        "mlruns",
        ".eggs",
        ".cache",
    }
)
SKIP_SUFFIXES = (".pyc", ".pyo")
LARGE_FILE = 32 << 20
_RACY_NS = 2_000_000_000
_FORMAT = 1


def tree_hash(root: Path) -> str:
    """`sha256:<hex>` of every file under `root` (names, executable bits, contents)."""
    return _hash(root, walk(root))


def files_hash(root: Path, rels: Iterable[str]) -> str:
    """The same over the given files (paths relative to `root`), e.g. untracked ones."""
    top = os.fspath(root)
    return _hash(root, ((rel, _lstat(os.path.join(top, rel))) for rel in rels))


def walk(root: Path) -> Iterator[tuple[str, os.stat_result | None]]:
    """(relative path, lstat) of the files that make up a project, noise skipped."""
    stack = [""]
    top = os.fspath(root)
    while stack:
        rel_dir = stack.pop()
        try:
            entries = list(os.scandir(os.path.join(top, rel_dir) if rel_dir else top))
        except OSError:
            continue
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            if entry.is_dir(follow_symlinks=False):
                if entry.name not in SKIP_DIRS and not entry.name.endswith(".egg-info"):
                    stack.append(rel)
            elif not entry.name.endswith(SKIP_SUFFIXES):
                try:
                    yield rel, entry.stat(follow_symlinks=False)
                except OSError:
                    yield rel, None


def file_digests(root: Path, rels: Iterable[str], *, namespace: str = "") -> dict[str, str]:
    """{relative path: "kind:digest"} for the given files, through the stat cache: what
    a workflow keeps to name the files that changed between two runs. A `namespace`
    keeps a stat cache of its own, for a caller whose set of files differs from the
    project's (the cache remembers only the files of its last use)."""
    top = os.fspath(root)
    entries = ((rel, _lstat(os.path.join(top, rel))) for rel in rels)
    return _digests(root, entries, namespace)


def stat_digests(
    root: Path, entries: Iterable[tuple[str, os.stat_result]], *, namespace: str = ""
) -> dict[str, str]:
    """file_digests() for files the caller has already lstat'ed."""
    return _digests(root, entries, namespace)


def combine(digests: dict[str, str]) -> str:
    """`sha256:<hex>` of a {path: "kind:digest"} map; tree_hash(root) equals
    combine(file_digests(root, <its files>))."""
    digest = sha256()
    for rel in sorted(digests):
        kind, _, value = digests[rel].partition(":")
        digest.update(f"{rel}\0{kind}\0{value}\n".encode(errors="surrogateescape"))
    return "sha256:" + digest.hexdigest()


def _hash(root: Path, entries: Iterable[tuple[str, os.stat_result | None]]) -> str:
    return combine(_digests(root, entries))


def _digests(
    root: Path, entries: Iterable[tuple[str, os.stat_result | None]], namespace: str = ""
) -> dict[str, str]:
    cache = _StatCache(root, namespace)
    found = {}
    for rel, st in entries:
        kind, value = cache.digest(rel, st)
        found[rel] = f"{kind}:{value}"
    cache.save()
    return found


def _lstat(path: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except OSError:
        return None


class _StatCache:
    def __init__(self, root: Path, namespace: str = "") -> None:
        from mlrun.util.paths import cache_dir

        self.root = root
        self.top = os.fspath(root)
        key = sha256(os.fsencode(root.absolute())).hexdigest()[:24]
        if namespace:
            key = f"{key}-{namespace}"
        self.path = cache_dir() / "hashes" / f"{key}.json"
        self.now_ns = time.time_ns()
        self.old: dict[str, list[object]] = {}
        self.new: dict[str, list[object]] = {}
        try:
            data = json.loads(self.path.read_text())
            if data.get("format") == _FORMAT and data.get("root") == str(root):
                self.old = data["files"]
        except (OSError, ValueError, KeyError, AttributeError):
            pass

    def digest(self, rel: str, st: os.stat_result | None) -> tuple[str, str]:
        if st is None:
            return "missing", ""
        if stat.S_ISLNK(st.st_mode):
            return "link", os.readlink(os.path.join(self.top, rel))
        if not stat.S_ISREG(st.st_mode):
            return "special", ""
        kind = "exec" if st.st_mode & 0o111 else "file"
        if st.st_size > LARGE_FILE:
            return kind, f"large:{st.st_size}:{st.st_mtime_ns}"
        signature = [st.st_size, st.st_mtime_ns, st.st_ino]
        known = self.old.get(rel)
        if known is not None and known[:3] == signature:
            self.new[rel] = known
            return kind, str(known[3])
        try:
            value = file_sha256(os.path.join(self.top, rel))
        except OSError:
            return "unreadable", ""
        if self.now_ns - st.st_mtime_ns > _RACY_NS:
            self.new[rel] = [*signature, value]
        return kind, value

    def save(self) -> None:
        if self.new == self.old:
            return
        from mlrun.util.files import atomic_write

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(
                self.path,
                json.dumps({"format": _FORMAT, "root": str(self.root), "files": self.new}),
            )
        except OSError:
            pass  # a cache we cannot write only costs time
