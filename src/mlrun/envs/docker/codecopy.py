"""The project's files as a run's container sees them: a copy in mlrun's cache, keyed by
its content digest, that each run's writable working directory is layered on (see
workdir.py). The user's project directory is only ever read.

What is copied is what a build would see: the project's `.dockerignore` applies, and the
never-sent list (dockerignore.py: VCS data, `.env`, keys...) always. The digest covers
the relative paths, types, permission bits, file contents (through the stat cache of
sources/contenthash.py, so an unchanged project reads no file) and link targets, so an
unchanged project reuses its copy at the cost of a directory walk.

Layout, under `<cache>/docker/code/`:

    <digest>/           the copy (never changed once in place: runs layer on it)
    <digest>.json       its marker: the project it came from, written after the rename
    .locks/<digest>     shared by every run using the copy; exclusive for pruning

A copy appears by an atomic rename of a finished temporary directory, so a half-made
copy is never used; two runs making the same one race harmlessly. When a project gets a
new copy, its older ones beyond the newest `KEEP` that no run is using are removed."""

from __future__ import annotations

import json
import os
import shutil
import stat
import uuid
from dataclasses import dataclass
from pathlib import Path

from mlrun.envs.docker.dockerignore import load_matcher, walk
from mlrun.errors import EnvBuildError
from mlrun.reporting import Reporter
from mlrun.util.locks import FileLock
from mlrun.util.sha import sha256

KEEP = 3  # copies kept per project directory (a few versions may run side by side)
_FORMAT = "mlrun-code-copy-v1"


@dataclass
class CodeCopy:
    path: Path  # the copy, read-only by convention
    digest: str
    built: bool  # False: an existing copy was reused
    lock: FileLock  # shared while a run uses it

    def release(self) -> None:
        self.lock.release()


def code_root() -> Path:
    from mlrun.util.paths import cache_dir

    return cache_dir() / "docker" / "code"


def prepare(project_dir: Path, reporter: Reporter) -> CodeCopy:
    """The copy of `project_dir`'s current content, made now if there is none."""
    entries = _entries(project_dir)
    digest = _digest(entries)
    root = code_root()
    lock = FileLock(root / ".locks" / digest)
    lock.shared()
    try:
        target = root / digest
        built = not target.is_dir()
        if built:
            with reporter.progress(f"copying the project's {len(entries)} files for the run"):
                _make(project_dir, entries, root, target)
        _mark(root, digest, project_dir)
        if built:
            prune(project_dir, keep=KEEP)
    except BaseException:
        lock.release()
        raise
    return CodeCopy(target, digest, built, lock)


# (relative path, lstat, content digest or link target) for what a build would see
_Entry = tuple[str, os.stat_result, str]


def _entries(project_dir: Path) -> list[_Entry]:
    from mlrun.sources.contenthash import stat_digests

    top = os.fspath(project_dir)
    found: list[tuple[str, os.stat_result]] = []
    for rel in walk(project_dir, load_matcher(project_dir)):
        try:
            found.append((rel, os.lstat(os.path.join(top, rel))))
        except FileNotFoundError:
            continue  # removed while we looked
    files = [(rel, st) for rel, st in found if stat.S_ISREG(st.st_mode)]
    digests = stat_digests(project_dir, files, namespace="docker-code")
    entries: list[_Entry] = []
    for rel, st in found:
        if stat.S_ISREG(st.st_mode):
            entries.append((rel, st, digests[rel]))
        elif stat.S_ISLNK(st.st_mode):
            entries.append((rel, st, os.readlink(os.path.join(top, rel))))
        elif stat.S_ISDIR(st.st_mode):
            entries.append((rel, st, ""))
        # sockets, fifos, devices: nothing a run can use, and no build copies them
    return entries


def _digest(entries: list[_Entry]) -> str:
    h = sha256(_FORMAT.encode() + b"\0")
    for rel, st, value in entries:
        kind = "d" if stat.S_ISDIR(st.st_mode) else "l" if stat.S_ISLNK(st.st_mode) else "f"
        mode = stat.S_IMODE(st.st_mode)
        h.update(f"{kind}\0{rel}\0{mode:o}\0{value}\n".encode(errors="surrogateescape"))
    return h.hexdigest()[:32]


def _make(project_dir: Path, entries: list[_Entry], root: Path, target: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    temp = root / f".tmp-{target.name[:12]}-{uuid.uuid4().hex[:8]}"
    temp.mkdir(mode=0o755)
    try:
        directories: list[tuple[Path, int]] = []
        for rel, st, value in entries:
            source, dest = project_dir / rel, temp / rel
            if stat.S_ISDIR(st.st_mode):
                dest.mkdir()
                directories.append((dest, stat.S_IMODE(st.st_mode)))
            elif stat.S_ISLNK(st.st_mode):
                os.symlink(value, dest)
            else:
                shutil.copy2(source, dest)  # contents, permission bits, times
        for directory, mode in reversed(directories):  # children first: 0o555 dirs too
            os.chmod(directory, mode)
        try:
            os.rename(temp, target)
        except OSError:
            if not target.is_dir():
                raise
            shutil.rmtree(temp, ignore_errors=True)  # another run made the same copy
    except OSError as exc:
        shutil.rmtree(temp, ignore_errors=True)
        where = f" ({exc.filename})" if exc.filename else ""
        raise EnvBuildError(
            f"could not copy the project for the container{where}: {exc.strerror or exc}",
            hint="exclude unreadable files in .dockerignore, or run with --mount-code",
        ) from None


def _mark(root: Path, digest: str, project_dir: Path) -> None:
    """Write the marker, or touch it: its mtime is the copy's last use."""
    from mlrun.util.files import atomic_write

    marker = root / f"{digest}.json"
    try:
        os.utime(marker)
    except FileNotFoundError:
        atomic_write(marker, json.dumps({"format": _FORMAT, "project": str(project_dir)}))


def prune(project_dir: Path, *, keep: int) -> list[Path]:
    """Remove the copies of `project_dir` beyond the `keep` most recently used, when no
    run is using them; the removed copies."""
    root = code_root()
    mine: list[tuple[float, str]] = []
    for marker in root.glob("*.json"):
        try:
            data = json.loads(marker.read_text())
            used = marker.stat().st_mtime
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("project") == str(project_dir):
            mine.append((used, marker.stem))
    removed: list[Path] = []
    for _, digest in sorted(mine, reverse=True)[keep:]:
        lock = FileLock(root / ".locks" / digest)
        if not lock.exclusive(blocking=False):
            continue  # a run is using it
        try:
            (root / f"{digest}.json").unlink(missing_ok=True)
            _remove_tree(root / digest)
            removed.append(root / digest)
        finally:
            lock.release()
    return removed


def _remove_tree(path: Path) -> None:
    # A copied read-only directory (0o555) cannot lose its entries until it is writable.
    for directory, _, _ in os.walk(path):
        mode = stat.S_IMODE(os.lstat(directory).st_mode)
        if mode & 0o700 != 0o700:
            os.chmod(directory, mode | 0o700)
    shutil.rmtree(path, ignore_errors=True)
