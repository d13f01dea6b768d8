"""`mlrun runs gc`: the run directories under an artifact root whose run the store no
longer holds (deleted with `mlrun runs delete`, or lost), and their removal.

What is never removed:
- anything that is not a real directory directly under the root, named like a run id and
  shaped like a run directory (`logs/` or `outputs/` in it): a symlink is not followed
  (nor removed), and the removal itself never follows one (`shutil.rmtree` on a
  platform where it resists symlink attacks; elsewhere gc refuses);
- a directory whose run is in the store (a live run, a finished one);
- a directory that names another store as its owner (the `mlrun-store` file a run
  writes first): gc run against the wrong store (a forgotten --tracking-uri) leaves a
  shared root alone;
- a directory changed more recently than `min_age` seconds: a run being created right
  now has its directory before its record is committed. The store is asked again just
  before each removal.
"""

from __future__ import annotations

import os
import shutil
import stat
import time
from pathlib import Path
from typing import Any, NamedTuple

from mlrun.errors import NotAvailableError
from mlrun.tracking.artifacts import MARKER, ArtifactRoot, is_run_id
from mlrun.tracking.base import RunStore


class Entry(NamedTuple):
    path: Path
    run_id: str
    action: str  # "remove" | "removed" | "failed" | "skipped"
    reason: str
    size: int

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "path": str(self.path),
            "action": self.action,
            "reason": self.reason,
            "bytes": self.size,
        }


def collect(
    store: RunStore, root: ArtifactRoot, min_age: float, now: float | None = None
) -> list[Entry]:
    """Every run directory under `root` whose run `store` does not hold ("remove"),
    and those that look like one but must stay for another reason ("skipped"). Run
    directories of runs in the store are not listed."""
    now = time.time() if now is None else now
    found = []
    looked: list[tuple[Path, os.stat_result]] = []
    for path in root.entries():
        if not is_run_id(path.name):
            continue  # not mlrun's: lost+found, a README...
        try:
            st = os.lstat(path)
        except OSError:
            continue  # gone meanwhile
        if stat.S_ISLNK(st.st_mode):
            found.append(Entry(path, path.name, "skipped", "a symlink: never followed", 0))
        elif stat.S_ISDIR(st.st_mode) and _shaped_like_run_dir(path):
            looked.append((path, st))
    held = store.held(path.name for path, _ in looked)
    for path, st in looked:
        name = path.name
        if name in held:
            continue
        owner = _owner(path)
        if owner is not None and owner != store.uri:
            found.append(Entry(path, name, "skipped", f"a run of another store ({owner})", 0))
            continue
        age = now - _newest_change(path, st.st_mtime)
        if age < min_age:
            found.append(
                Entry(
                    path,
                    name,
                    "skipped",
                    f"changed {age:.0f}s ago, within --older-than: may be a run starting",
                    0,
                )
            )
            continue
        found.append(Entry(path, name, "remove", "its run is not in the store", _size(path)))
    return found


def remove(store: RunStore, entries: list[Entry]) -> list[Entry]:
    """Remove the "remove" entries (the store asked once more for each); the others
    are returned as they are."""
    if not shutil.rmtree.avoids_symlink_attacks:
        raise NotAvailableError(
            "mlrun runs gc is not available on this platform: its directory removal "
            "could follow symlinks out of the artifact root."
        )
    done = []
    for entry in entries:
        if entry.action != "remove":
            done.append(entry)
            continue
        if store.held([entry.run_id]):  # recorded since collect(): a live run now
            done.append(entry._replace(action="skipped", reason="its run is in the store now"))
            continue
        try:
            if not stat.S_ISDIR(os.lstat(entry.path).st_mode):
                continue
            shutil.rmtree(entry.path)
        except FileNotFoundError:
            continue  # removed by someone else meanwhile
        except OSError as exc:
            done.append(entry._replace(action="failed", reason=f"cannot remove it: {exc}"))
            continue
        done.append(entry._replace(action="removed"))
    return done


def _shaped_like_run_dir(path: Path) -> bool:
    for part in ("outputs", "logs"):
        try:
            if stat.S_ISDIR(os.lstat(path / part).st_mode):
                return True
        except OSError:
            pass
    return False


def _owner(path: Path) -> str | None:
    try:
        with open(path / MARKER, encoding="utf-8", errors="replace") as fh:
            return fh.read(4096).strip() or None
    except OSError:
        return None  # made by an older mlrun: no owner said


def _newest_change(path: Path, mtime: float) -> float:
    newest = mtime
    for part in ("outputs", "logs", MARKER):
        try:
            newest = max(newest, os.lstat(path / part).st_mtime)
        except OSError:
            pass
    return newest


def _size(path: Path) -> int:
    """The bytes of the files under `path` (a symlink counts as itself, not followed)."""
    total = 0
    for top, _dirs, files in os.walk(path, followlinks=False):
        for name in files:
            try:
                total += os.lstat(os.path.join(top, name)).st_size
            except OSError:
                pass
    return total
