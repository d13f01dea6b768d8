"""Leased slots: `<base>/<n>/` directories of one cached thing (a checkout of a commit,
an extracted bundle), each reserved for one run at a time by a file lock
(`<base>/<n>.lock`, released by the OS if mlrun dies) and made usable by a marker
(`<base>/<n>.json`) written last. Two concurrent runs never share a slot; a slot an
earlier run left changed is made again by the next one that takes it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
MAX_SLOTS = 32


def lease(
    base: Path, fill: Callable[[Path, Path], T], too_many: Callable[[], Exception]
) -> tuple[Path, T, Callable[[], None]]:
    """The first free slot under `base`, made ready by `fill(slot, marker)` (which reuses
    it or makes it again); (slot, what fill returned, release). `too_many()` is raised
    when every slot is in use."""
    from mlrun.util.locks import FileLock

    base.mkdir(parents=True, exist_ok=True)
    for n in range(MAX_SLOTS):
        # The Python API resolves in the caller's thread and releases when the run ends,
        # in the thread that ran it: a flock belongs to the open file, not the thread.
        lock = FileLock(base / f"{n}.lock")
        if not lock.exclusive(blocking=False):
            continue  # another run is using this slot
        try:
            result = fill(base / str(n), base / f"{n}.json")
        except BaseException:
            lock.release()
            raise
        return base / str(n), result, lock.release
    raise too_many()
