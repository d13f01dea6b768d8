"""A run's writable working directory, and what the run left in it.

The code copy (codecopy.py) is the lower layer of an overlay that the engine mounts at
/mlflow/projects/code, as a volume of the `local` driver; each run gets an empty upper
layer of its own, so whatever the run writes, changes or deletes there lands in that
upper directory on the host, and neither the copy nor the project is ever written. No
image is built and nothing is copied per run: an unchanged project costs one mount.
Afterwards the upper directory *is* the list of what the run left: new and changed
files as themselves, deleted ones as whiteouts (0/0 character devices).

Not every engine can mount it (Docker Desktop's VM does not see the host's paths; an
upper directory on NFS or on another overlay is refused), so `overlay_supported()` asks
once per engine and cache filesystem, with a container that mounts it and starts
nothing; the answer is remembered. The docker manager then bakes the code into an
image instead (as --build-image does), whose changes the container's own diff lists.

Per run, under `<cache>/docker/workdirs/`: `<run id>/{upper,work}` and `<run id>.lock`
(held by the run). A directory left by a run that ended without cleaning up (mlrun
was killed) is removed by a later run once its lock is free and it is a week old."""

from __future__ import annotations

import os
import shutil
import stat
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrun.util.locks import FileLock

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.containers import Container

LISTED = 1000  # files named in the run record; the rest are counted
_STALE = 7 * 86400
_UNSAFE = frozenset(",:\\\n")  # cannot be written in overlay mount options
_SKIPPED_DIRS = frozenset({"__pycache__"})  # Python's bytecode caches: noise, not results
# A diff entry's Kind, as the engine reports it.
_DIFF_KINDS = {0: "changed", 1: "added", 2: "deleted"}


def workdirs_root() -> Path:
    from mlrun.util.paths import cache_dir

    return cache_dir() / "docker" / "workdirs"


class Overlay:
    """The directories of one run's overlay, created empty; `remove()` when done."""

    def __init__(self, lower: Path, run_id: str) -> None:
        root = workdirs_root()
        self.lower = lower
        self.directory = root / run_id
        self.upper = self.directory / "upper"
        self.work = self.directory / "work"
        self.lock = FileLock(root / f"{run_id}.lock")
        self.lock.exclusive()
        _remove_stale(root)
        self.upper.mkdir(parents=True, mode=0o755)
        self.work.mkdir(mode=0o755)

    def options(self) -> dict[str, str]:
        """The `local` volume driver's options that mount this overlay."""
        return mount_options(self.lower, self.upper, self.work)

    def remove(self) -> None:
        _remove_overlay_dirs(self.directory, self.work)
        self.lock.unlink()
        self.lock.release()

    def leave(self) -> None:
        """Keep the directories (a kept container still names them); a later run
        removes them once they are a week old."""
        self.lock.release()


def _remove_overlay_dirs(directory: Path, work: Path) -> None:
    # The kernel leaves an empty directory owned by root, without permissions, in
    # `work`: removing an empty directory needs rights on its parent only (a recursive
    # removal that looks inside it first fails for anyone but root).
    for entry in os.scandir(work) if work.is_dir() else ():
        try:
            os.rmdir(entry.path)
        except OSError:
            pass
    shutil.rmtree(directory, ignore_errors=True)


def mount_options(lower: Path, upper: Path, work: Path) -> dict[str, str]:
    data = f"lowerdir={lower},upperdir={upper},workdir={work}"
    return {"type": "overlay", "device": "overlay", "o": data}


def expressible(*paths: Path) -> bool:
    """Whether the paths can be written in overlay mount options at all."""
    return not any(_UNSAFE & set(str(path)) for path in paths)


def _remove_stale(root: Path) -> None:
    now = time.time()
    for lock_path in root.glob("*.lock"):
        directory = lock_path.with_suffix("")
        try:
            if now - lock_path.stat().st_mtime < _STALE:
                continue
        except FileNotFoundError:
            continue
        lock = FileLock(lock_path)
        if lock.exclusive(blocking=False):
            shutil.rmtree(directory, ignore_errors=True)
            lock.unlink()
            lock.release()


# -- can this engine mount it? ------------------------------------------------------


def overlay_supported(client: DockerClient, image_id: str) -> bool:
    """Whether the engine mounts an overlay of mlrun's cache (asked once, remembered per
    engine address and cache filesystem)."""
    import json

    from mlrun.envs.docker.engine import engine_address
    from mlrun.util.files import atomic_write
    from mlrun.util.sha import sha256

    root = workdirs_root()
    root.mkdir(parents=True, exist_ok=True)
    if not expressible(root):
        return False
    key = sha256(f"{engine_address()}\0{os.stat(root).st_dev}".encode()).hexdigest()[:16]
    answer = root.parent / f"overlay-{key}.json"
    try:
        return bool(json.loads(answer.read_text())["supported"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    supported = _probe(client, image_id, root)
    if supported is not None:
        atomic_write(answer, json.dumps({"supported": supported}))
    return bool(supported)


def _probe(client: DockerClient, image_id: str, root: Path) -> bool | None:
    """Mount an overlay in a container whose command does not exist: the engine mounts
    volumes before it looks for the command, so "not found" means the mount worked.
    None when the answer is unclear (not remembered)."""
    import tempfile
    import uuid

    from docker.errors import APIError, DockerException
    from docker.types import DriverConfig, Mount

    temp = Path(tempfile.mkdtemp(prefix=".probe-", dir=root))
    lower, upper, work = (temp / name for name in ("lower", "upper", "work"))
    try:
        for directory in (lower, upper, work):
            directory.mkdir()
        mount = Mount(
            "/mlrun-probe",
            None,
            type="volume",
            no_copy=True,
            driver_config=DriverConfig("local", mount_options(lower, upper, work)),
        )
        name = f"mlrun-overlay-probe-{uuid.uuid4().hex[:12]}"
        try:
            container = client.containers.create(
                image_id, entrypoint=["/mlrun-overlay-probe"], name=name, mounts=[mount]
            )
        except DockerException:
            return None
        try:
            container.start()
            return None  # the image has that command: no answer
        except APIError as exc:
            text = str(exc.explanation or exc).lower()
            if "mounting volume" in text or "mount local volume" in text:
                return False
            if "no such file" in text or "not found" in text:
                return True
            return None
        finally:
            try:
                container.remove(force=True, v=True)
            except DockerException:
                pass
    finally:
        _remove_overlay_dirs(temp, work)


# -- what the run left ------------------------------------------------------------


class Leftovers:
    """What a container's finish step does about its working directory: list what the
    run left there (from the overlay's upper layer, or the container's diff when the
    code is in the image), keep those files in `keep_to` on request, and finally remove
    the run's overlay directories."""

    def __init__(
        self, workdir: str, keep_to: Path | None, overlay: Overlay | None, *, confine: Path
    ) -> None:
        self.workdir = workdir
        self.keep_to = keep_to  # inside `confine` (the run directory, mounted writable)
        self.overlay = overlay
        self.confine = confine

    def collect(self, container: Container) -> tuple[dict[str, Any], list[str]]:
        """(what the run record's env gains, the files that could not be kept)."""
        if self.overlay is not None:
            changes = overlay_changes(self.overlay.upper, self.overlay.lower)
        else:
            changes = diff_changes(container, self.workdir)
        problems: list[str] = []
        if self.keep_to is not None:
            wanted = kept(changes)
            targets = _targets(self.keep_to, wanted, self.confine, problems)
            if self.overlay is not None:
                problems += keep_from_upper(self.overlay.upper, targets)
            else:
                problems += keep_from_container(container, self.workdir, targets)
        return record(changes), problems

    def discard(self, *, container_removed: bool) -> None:
        if self.overlay is not None:
            if container_removed:
                self.overlay.remove()
            else:
                self.overlay.leave()


def overlay_changes(upper: Path, lower: Path) -> list[dict[str, Any]]:
    """The files the run added, changed or deleted, from its upper layer."""
    changes: list[dict[str, Any]] = []
    for rel, st in _walk(upper):
        if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
            changes.append({"path": rel, "change": "deleted"})
        elif stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode):
            change = "changed" if os.path.lexists(lower / rel) else "added"
            entry: dict[str, Any] = {"path": rel, "change": change, "size": st.st_size}
            if stat.S_ISLNK(st.st_mode):
                entry["link"] = True
            changes.append(entry)
    return changes


def _walk(top: Path) -> Iterator[tuple[str, os.stat_result]]:
    for directory, subdirs, files in os.walk(top):
        subdirs[:] = sorted(d for d in subdirs if d not in _SKIPPED_DIRS)
        base = os.path.relpath(directory, top)
        for name in sorted(files + [d for d in subdirs if os.path.islink(Path(directory, d))]):
            rel = name if base == "." else f"{base}/{name}"
            yield rel, os.lstat(Path(directory, name))


def diff_changes(container: Container, workdir: str) -> list[dict[str, Any]]:
    """The files the run added, changed or deleted under `workdir`, from the engine's
    diff of the container (for code baked into the image)."""
    prefix = workdir.rstrip("/") + "/"
    entries = {
        d["Path"][len(prefix) :]: _DIFF_KINDS.get(d["Kind"], "changed")
        for d in container.diff() or []
        if d["Path"].startswith(prefix)
    }
    # A directory is listed when something under it changed: keep the leaves only.
    parents = {p.rsplit("/", 1)[0] for p in entries if "/" in p}
    return [
        {"path": rel, "change": change}
        for rel, change in sorted(entries.items())
        if rel not in parents and not (_SKIPPED_DIRS & set(rel.split("/")))
    ]


def record(changes: list[dict[str, Any]]) -> dict[str, Any]:
    """What the run record's env keeps: the first LISTED changes, and how many more."""
    kept: dict[str, Any] = {"workdir_files": changes[:LISTED]}
    if len(changes) > LISTED:
        kept["workdir_files_omitted"] = len(changes) - LISTED
    return kept


# -- keeping them (--keep-workdir) --------------------------------------------------


def kept(changes: Iterable[dict[str, Any]]) -> list[str]:
    """The paths worth keeping: files the run added or changed (links are not followed
    out of the container: they are listed, not kept)."""
    return [c["path"] for c in changes if c["change"] != "deleted" and not c.get("link")]


def _targets(
    dest: Path, paths: Iterable[str], confine: Path, problems: list[str]
) -> list[tuple[str, Path]]:
    """(path, where to keep it) for the paths that can be kept in `dest`. The run could
    write to the run directory: a link it left there must not lead mlrun's copy out of
    it, and what it wrote itself is not overwritten."""
    from mlrun.util.confine import escapes

    targets: list[tuple[str, Path]] = []
    for rel in paths:
        target = dest / rel
        if os.path.lexists(target):
            problems.append(f"{rel}: the run already wrote {target}")
        elif (real := escapes(confine, target.parent)) is not None:
            problems.append(f"{rel}: {target.parent} leads outside the run directory ({real})")
        else:
            targets.append((rel, target))
    return targets


def keep_from_upper(upper: Path, targets: Iterable[tuple[str, Path]]) -> list[str]:
    """Move the files from the upper layer to their targets (in the run's artifacts);
    the paths that could not be kept, with why."""
    problems: list[str] = []
    for rel, target in targets:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(upper / rel, target)
        except OSError as exc:
            problems.append(f"{rel}: {exc.strerror or exc}")
    return problems


def keep_from_container(
    container: Container, workdir: str, targets: Iterable[tuple[str, Path]]
) -> list[str]:
    """Copy the files out of the (stopped) container to their targets; the problems."""
    import tarfile
    import tempfile

    from docker.errors import DockerException

    problems: list[str] = []
    for rel, target in targets:
        try:
            chunks, _ = container.get_archive(f"{workdir.rstrip('/')}/{rel}")
            with tempfile.SpooledTemporaryFile(max_size=8 << 20) as spool:
                for chunk in chunks:
                    spool.write(chunk)
                spool.seek(0)
                with tarfile.open(fileobj=spool, mode="r:") as tar:
                    member = tar.next()
                    source = tar.extractfile(member) if member and member.isfile() else None
                    if source is None:
                        problems.append(f"{rel}: not a regular file")
                        continue
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with open(target, "wb") as out:
                        shutil.copyfileobj(source, out)
        except (DockerException, OSError, tarfile.TarError) as exc:
            problems.append(f"{rel}: {exc}")
    return problems
