"""Writing a file so that readers see its old content or its new, never half of it: the
data goes to a temporary file next to it, which is then renamed over it (a rename within
a directory is atomic). Every marker, cache and index mlrun writes goes through here;
only steplog.py keeps its own few lines, as it must stay dependency-free."""

from __future__ import annotations

import os
from _thread import get_ident
from pathlib import Path


def atomic_write(path: Path, data: bytes | str, *, durable: bool = False) -> None:
    """Replace `path` with `data` (str is written as UTF-8). `durable` flushes it to the
    disk first, for markers that must not name an empty file after a power cut. The
    temporary name carries the process and the thread, so concurrent writers never
    share one; it is removed when writing fails."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{get_ident()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data.encode() if isinstance(data, str) else data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_all(fd: int, data: bytes) -> None:
    """os.write until all of `data` is written (a write may take only part of it)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
