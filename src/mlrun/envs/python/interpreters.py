"""Finding a Python interpreter on this machine that matches a requested version.

Looked for, in order: the interpreter running mlrun, `pythonX.Y` / `python3` / `python` on
PATH, pyenv's versions, and uv-managed installs. mlrun never downloads or compiles a
Python: when none matches, the error says which version and how to get one.

The warm-run path must not start a subprocess, so what we learn by running an interpreter
(its exact version) is cached in `<cache>/interpreters.json`, keyed by the resolved path
and checked against the file's size and mtime."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mlrun.errors import EnvBuildError

_VERSION = re.compile(r"^\d+(\.\d+){0,2}$")
_DIR_VERSION = re.compile(r"(?:^|-)(\d+\.\d+(?:\.\d+)?)(?:$|[-+])")
_PROBE = "import platform, sys; print(platform.python_implementation(), *sys.version_info[:3])"


@dataclass(frozen=True)
class Interpreter:
    path: str
    version: str  # "3.10.13"
    implementation: str  # "cpython", "pypy"

    @property
    def minor(self) -> str:
        return ".".join(self.version.split(".")[:2])


def check_request(request: str) -> str | None:
    """None when `request` is a version we can match ("3", "3.10", "3.10.13"), else why."""
    if not _VERSION.match(request):
        return "must be a version such as 3.10 or 3.10.13"
    return None


def current() -> Interpreter:
    # The base interpreter, not mlrun's own venv: envs must outlive that venv.
    path = getattr(sys, "_base_executable", None) or sys.executable
    version = ".".join(str(part) for part in sys.version_info[:3])
    return Interpreter(path, version, sys.implementation.name)


def find(request: str | None) -> tuple[Interpreter | None, str | None]:
    """The best interpreter for `request` and a note when it is not an exact match;
    (None, None) when nothing on the machine has the same major.minor version."""
    if request is None:
        return current(), None
    wanted = request.split(".")
    here = current()
    if here.implementation == "cpython" and here.version.split(".")[: len(wanted)] == wanted:
        return here, None  # the common case costs nothing
    facts = _Facts()
    best: Interpreter | None = None
    try:
        for path, hint in _candidates(wanted):
            if hint is not None and not _compatible(hint.split("."), wanted[:2]):
                continue
            found = facts.get(path)
            if found is None or found.implementation != "cpython":
                continue
            parts = found.version.split(".")
            if parts[: len(wanted)] == wanted:
                return found, None  # exact (to the precision requested)
            if len(wanted) == 3 and parts[:2] == wanted[:2]:
                if best is None or _as_tuple(found.version) > _as_tuple(best.version):
                    best = found
    finally:
        facts.save()
    if best is not None:
        return best, f"Python {request} is not installed; using {best.version} ({best.path})"
    return None, None


def not_found(request: str, file: str) -> EnvBuildError:
    minor = ".".join(request.split(".")[:2])
    here = listed()
    return EnvBuildError(
        f"{file} asks for Python {request}, and no Python {minor} was found on this machine "
        "(looked at PATH, pyenv and uv-managed interpreters"
        + (f"; found {', '.join(here)})" if here else ")"),
        hint=f"install one with `uv python install {request}` or `pyenv install {request}`, "
        f"or change `python:` in {file}",
    )


def listed() -> list[str]:
    """The versions (major.minor, sorted) of the interpreters on PATH and in pyenv's and
    uv's directories, read from their names: nothing is run."""
    found = {_minor(hint) for _, hint in _candidates([]) if hint and "." in hint}
    pattern = re.compile(r"^python(\d+\.\d+)$")
    for folder in _path_dirs():
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        found.update(m.group(1) for m in map(pattern.match, names) if m)
    return sorted(found, key=_as_tuple)


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def _compatible(parts: list[str], wanted: list[str]) -> bool:
    return parts[: len(wanted)] == wanted[: len(parts)]


def _as_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def _candidates(wanted: list[str]) -> Iterator[tuple[str, str | None]]:
    """(path, version hinted by the name or None), most preferred first."""
    yield current().path, None
    names = ["python3", "python"]
    if len(wanted) >= 2:
        names.insert(0, f"python{wanted[0]}.{wanted[1]}")
    for folder in _path_dirs():
        for name in names:
            path = os.path.join(folder, name)
            if os.access(path, os.X_OK) and not os.path.isdir(path):
                yield path, name[len("python") :] or None
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    yield from _versioned_dirs(pyenv, "bin/python")
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    uv_dir = os.environ.get("UV_PYTHON_INSTALL_DIR") or os.path.join(data, "uv", "python")
    yield from _versioned_dirs(Path(uv_dir), "bin/python3")


def _path_dirs() -> Iterator[str]:
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        if folder and "shims" not in Path(folder).parts:
            yield folder  # pyenv shims are slow scripts; pyenv's versions are listed apart


def _versioned_dirs(root: Path, exe: str) -> Iterator[tuple[str, str | None]]:
    try:
        entries = sorted(os.listdir(root), reverse=True)
    except OSError:
        return
    for entry in entries:
        match = _DIR_VERSION.search(entry)
        path = root / entry / exe
        if match and path.exists():
            yield str(path), match.group(1)


class _Facts:
    """What running an interpreter told us, remembered across runs."""

    def __init__(self) -> None:
        from mlrun.util.paths import cache_dir

        self.file = cache_dir() / "interpreters.json"
        try:
            self.data: dict[str, list[object]] = json.loads(self.file.read_text())
        except (OSError, ValueError):
            self.data = {}
        self.changed = False

    def get(self, path: str) -> Interpreter | None:
        try:
            real = os.path.realpath(path)
            stat = os.stat(real)
        except OSError:
            return None
        stamp = [stat.st_size, stat.st_mtime_ns]
        known = self.data.get(real)
        if isinstance(known, list) and len(known) == 4 and known[:2] == stamp:
            return Interpreter(path, str(known[3]), str(known[2]))
        from mlrun.util.proc import run

        result = run([path, "-c", _PROBE], check=False, timeout=30)
        words = result.stdout.split()
        if not result.ok or len(words) != 4:
            return None
        found = Interpreter(path, ".".join(words[1:]), words[0].lower())
        self.data[real] = [*stamp, found.implementation, found.version]
        self.changed = True
        return found

    def save(self) -> None:
        if not self.changed:
            return
        from mlrun.util.files import atomic_write

        try:
            atomic_write(self.file, json.dumps(self.data, indent=1, sort_keys=True))
        except OSError:
            pass  # only a cache
