"""A cache of parsed YAML files (MLproject, python_env.yaml, conda.yaml).

Parsing is cheap; importing PyYAML is not (about 25 ms of every run's start-up, most of
it compiling its regular expressions). So each parse result is kept in the cache dir,
marshalled, under the file's identity (path, size, mtime_ns, inode, ctime_ns): a file
that did not change is not parsed again. Like git's index, a file modified within the
last two seconds is not cached, since its mtime may not yet tell a later write apart.
Values PyYAML builds that marshal cannot hold (dates) simply are not cached. Any problem
with the cache means a normal parse: it can only make a run faster, never different.
Only results that passed yamlio's size and alias limits are written (the file's size is
checked again before every lookup); an entry larger than _MAX_ENTRY is ignored."""

from __future__ import annotations

import marshal
import os
import time
import zlib
from pathlib import Path
from typing import Any

_FORMAT = 2  # 2: entries are written only for files within yamlio's limits
_MAX_ENTRY = 64 << 20  # a larger entry is not ours: ignored
_RACY_NS = 2_000_000_000


def _identity(path: Path, st: os.stat_result) -> str:
    from mlrun import __version__

    return (
        f"{_FORMAT}\0{__version__}\0{os.path.abspath(path)}\0{st.st_size}\0"
        f"{st.st_mtime_ns}\0{st.st_ino}\0{st.st_ctime_ns}"
    )


def _slot(identity: str) -> Path:
    from mlrun.util.paths import cache_dir

    # The name only spreads entries; the full identity is checked inside the entry.
    name = f"{zlib.crc32(identity.split(chr(0), 3)[2].encode()):08x}.marshal"
    return cache_dir() / "parsed" / name


def get(path: Path, st: os.stat_result) -> Any | None:
    identity = _identity(path, st)
    try:
        with open(_slot(identity), "rb") as fh:
            blob = fh.read(_MAX_ENTRY + 1)
        if len(blob) > _MAX_ENTRY:
            return None
        stored_identity, value = marshal.loads(blob)
    except (OSError, ValueError, EOFError, TypeError):
        return None
    return value if stored_identity == identity else None


def put(path: Path, st: os.stat_result, value: Any) -> None:
    if time.time_ns() - st.st_mtime_ns < _RACY_NS:
        return
    from mlrun.util.files import atomic_write

    identity = _identity(path, st)
    try:
        blob = marshal.dumps((identity, value))
        slot = _slot(identity)
        slot.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(slot, blob)
    except (OSError, ValueError):
        pass
