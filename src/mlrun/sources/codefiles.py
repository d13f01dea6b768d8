"""Which files make up a project's code, and the subsets that glob patterns select (a
workflow step's `code:` list).

For a git project (a working tree run in place, or a checkout) the code is what git
sees: tracked files plus untracked ones it does not ignore, as they are on disk now,
committed or not. For a plain directory it is every file but the noise contenthash
skips (`.git`, `__pycache__`, `*.pyc`, `.venv`, tool caches). Either way the same noise
rule applies, so `lib/` never pulls in `lib/__pycache__`."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from mlrun.sources.contenthash import SKIP_DIRS, SKIP_SUFFIXES, walk


def project_files(project_dir: Path, in_git: bool) -> list[str]:
    """Paths relative to `project_dir`, sorted."""
    if in_git:
        listed = _git_files(project_dir)
        if listed is not None:
            return listed
    return sorted(rel for rel, _ in walk(project_dir))


def _git_files(project_dir: Path) -> list[str] | None:
    from mlrun.sources.gitcmd import read_only

    out = read_only(
        ["ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "."], project_dir
    )
    if out is None:
        return None
    top = os.fspath(project_dir)
    found = {
        rel
        for rel in out.split("\0")
        if rel and not _noise(rel) and os.path.lexists(os.path.join(top, rel))
    }
    return sorted(found)


def _noise(rel: str) -> bool:
    *dirs, name = rel.split("/")
    return name.endswith(SKIP_SUFFIXES) or any(
        d in SKIP_DIRS or d.endswith(".egg-info") for d in dirs
    )


def check_pattern(pattern: str) -> str | None:
    """Why `pattern` cannot be a code pattern, or None."""
    if not pattern.strip():
        return "is empty"
    if pattern.startswith(("/", "~")) or re.match(r"^[A-Za-z]:[\\/]", pattern):
        return "is not relative to the project directory"
    if ".." in pattern.replace("\\", "/").split("/"):
        return "reaches outside the project directory ('..')"
    return None


def select(patterns: Iterable[str], files: Iterable[str]) -> dict[str, list[str]]:
    """{pattern: the files it selects}. A pattern selects a file when it matches the
    file's path or one of its directories (`lib` and `lib/` select everything under
    lib); `*` and `?` stay within one path segment, `**` crosses segments (util/globs)."""
    from mlrun.util.globs import compile_glob, matches

    compiled = {p: compile_glob(_clean(p)) for p in patterns}
    chosen: dict[str, list[str]] = {p: [] for p in compiled}
    for rel in files:
        for pattern, regex in compiled.items():
            if matches(regex, rel):
                chosen[pattern].append(rel)
    return chosen


def _clean(pattern: str) -> str:
    """`./lib/` -> `lib` (check_pattern has refused absolute paths and `..`)."""
    import posixpath

    return posixpath.normpath("/" + pattern.replace("\\", "/").strip()).lstrip("/") or "."
