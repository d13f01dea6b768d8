"""pip-style requirement lines: what they reference, what the env key must cover.

Entries of python_env.yaml (and of a conda.yaml `pip:` section) are requirement-file lines,
run by MLflow from the project directory. mlrun writes them into a requirements file of its
own (in the env's cache directory), so relative paths are made absolute here, and the
contents of every referenced file (`-r`/`-c`, nested ones too) and a fingerprint of every
local package directory go into the key: editing requirements.txt or a local package's
source gives a new env, reformatting the YAML does not."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mlrun.errors import SpecError

_FILE_OPTIONS = {"-r": "-r", "--requirement": "-r", "-c": "-c", "--constraint": "-c"}
_PATH_OPTIONS = {"-e": "-e", "--editable": "-e", "-f": "-f", "--find-links": "-f"}
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_PINNED = re.compile(r"===?|\s@\s|^\w+\+|://")
# Source files whose change means a local package must be reinstalled. Data files are left
# out on purpose: a project that depends on "." usually writes outputs into itself.
_SOURCE_SUFFIXES = {
    ".py",
    ".pyi",
    ".pyx",
    ".pxd",
    ".c",
    ".cc",
    ".cpp",
    ".h",
    ".rs",
    ".toml",
    ".cfg",
    ".in",
    ".typed",
}
_SKIP_DIRS = {
    ".git",
    ".hg",
    ".svn",
    "__pycache__",
    ".venv",
    "venv",
    "build",
    "dist",
    "node_modules",
    "mlruns",
    ".tox",
    ".nox",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
}
_MAX_FILES = 20000


@dataclass
class Requirements:
    lines: list[str] = field(default_factory=list)  # for a requirements file anywhere
    inputs: dict[str, str] = field(default_factory=dict)  # referenced path -> digest
    unpinned: list[str] = field(default_factory=list)

    def add(self, other: Requirements) -> None:
        self.lines += other.lines
        self.inputs.update(other.inputs)
        self.unpinned += [n for n in other.unpinned if n not in self.unpinned]


def normalise(entry: str) -> str:
    """One requirement written one way: `numpy >= 1.0` and `numpy>=1.0` are the same."""
    text = " ".join(entry.split())
    if text.startswith("-"):
        return text
    return re.sub(r"\s*(===|==|>=|<=|~=|!=|<|>)\s*", r"\1", text)


def resolve(entries: Sequence[str], project_dir: Path, file: str) -> Requirements:
    """Rewrite `entries` for use outside the project and collect what the key covers."""
    found = Requirements()
    for entry in entries:
        text = entry.strip()
        if not text or text.startswith("#"):
            continue
        found.add(_line(text, project_dir, project_dir, file, depth=0))
    return found


def _line(text: str, base: Path, project_dir: Path, file: str, depth: int) -> Requirements:
    """One line; `base` is where -r/-c paths are relative to (the referencing file's
    folder), while package paths are relative to the project (pip's working directory)."""
    found = Requirements()
    option, value = split_option(text)
    if option in ("-r", "-c"):
        path = _existing(base, value, file, text, want_dir=False)
        data = path.read_bytes()
        found.inputs[str(path)] = hashlib.sha256(data).hexdigest()
        found.lines.append(f"{option} {path}")
        if depth < 20:
            for nested in data.decode(errors="replace").splitlines():
                nested = nested.split(" #")[0].strip()
                if nested and not nested.startswith("#"):
                    inner = _line(nested, path.parent, project_dir, str(path), depth + 1)
                    found.inputs.update(inner.inputs)
                    found.unpinned += inner.unpinned
        return found
    if option in ("-e", "-f"):
        if looks_local(value):
            path = _existing(project_dir, value, file, text, want_dir=None)
            found.inputs[str(path)] = fingerprint(path)
            found.lines.append(f"{option} {path}")
        else:
            found.lines.append(text)
        return found
    if option is not None:
        found.lines.append(text)  # --index-url and friends: passed through
        return found
    if looks_local(text):
        path = _existing(project_dir, text, file, text, want_dir=None)
        found.inputs[str(path)] = fingerprint(path)
        found.lines.append(str(path))
        return found
    found.lines.append(text)
    name = _NAME.match(text)
    if name and not _PINNED.search(text):
        found.unpinned.append(name.group(1))
    return found


def split_option(text: str) -> tuple[str | None, str]:
    if not text.startswith("-"):
        return None, text
    for spelled, option in (*_FILE_OPTIONS.items(), *_PATH_OPTIONS.items()):
        if text == spelled:
            return option, ""
        for joiner in (" ", "="):
            if text.startswith(spelled + joiner):
                return option, text[len(spelled) + 1 :].strip()
        if len(spelled) == 2 and text.startswith(spelled) and not text.startswith("--"):
            return option, text[2:].strip()  # -rrequirements.txt
    return text.split()[0], text


def looks_local(value: str) -> bool:
    if "://" in value or " @ " in value or value.startswith("git+"):
        return False
    return value.startswith((".", "/", "~")) or os.sep in value


def _existing(base: Path, value: str, file: str, text: str, want_dir: bool | None) -> Path:
    if not value:
        raise SpecError(f"the requirement {text!r} names no file", file=file)
    path = Path(os.path.normpath(base / os.path.expanduser(value)))
    ok = path.is_dir() if want_dir else (path.is_file() if want_dir is False else path.exists())
    if not ok:
        error = MissingPath(
            f"the requirement {text!r} refers to {path}, which does not exist",
            hint="paths are relative to the project directory",
            file=file,
        )
        error.path = path
        raise error
    return path


class MissingPath(SpecError):
    """A requirement names a file or directory that is not there (`path`)."""

    path: Path


def fingerprint(path: Path) -> str:
    """Changes when a local package's sources change (names, sizes and mtimes)."""
    digest = hashlib.sha256()
    for rel, size, mtime in _walk(path):
        digest.update(f"{rel}\0{size}\0{mtime}\n".encode())
    return digest.hexdigest()


def _walk(root: Path) -> Iterator[tuple[str, int, int]]:
    if root.is_file():
        stat = root.stat()
        yield root.name, stat.st_size, stat.st_mtime_ns
        return
    count = 0
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.endswith(".egg-info"))
        for name in sorted(files):
            if os.path.splitext(name)[1] not in _SOURCE_SUFFIXES:
                continue
            full = os.path.join(folder, name)
            try:
                stat = os.stat(full)
            except OSError:
                continue
            yield os.path.relpath(full, root), stat.st_size, stat.st_mtime_ns
            count += 1
            if count >= _MAX_FILES:
                return
