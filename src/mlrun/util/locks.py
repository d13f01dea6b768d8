"""mlrun's one file lock: flock(2), shared and exclusive, with or without a timeout.

Every lock mlrun takes is this one: the env cache's, the git mirror's and checkouts'
(sources/), the docker image builds', the workflow step keys' (workflow/cache.py). It
serves rather than the `filelock` package because the env cache needs shared locks:
every run holds a shared "use" lock on its env, so `mlrun env prune` (which takes it
exclusively) can never delete an env in use, and filelock has none. What the other users
need besides -- a try-once (`blocking=False`) and a bounded wait (`timeout`, polled as
filelock polls) -- is a few lines here, over the same flock(2) filelock uses on Unix.
The kernel drops a flock when its holder dies, SIGKILL included, so a crashed run or
build never leaves a stale lock behind. Locks are per open file, not per thread: two
threads of one process holding their own FileLock on one path exclude each other.

Lock files may be deleted by whoever holds them exclusively (prune does). A process that
opened the file before the deletion then holds a lock on an orphaned inode, so every
acquisition checks that the path still names the inode it locked, and retries if not."""

from __future__ import annotations

import errno
import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_POLL = 0.05  # seconds between tries while waiting with a timeout


class FileLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None
        self.mode: int | None = None  # fcntl.LOCK_SH or fcntl.LOCK_EX while held

    def acquire(self, mode: int, *, blocking: bool = True, timeout: float | None = None) -> bool:
        """Take the lock (LOCK_SH or LOCK_EX). False when it is busy and `blocking` is
        off, or still busy after `timeout` seconds."""
        assert self.fd is None, "lock already held"
        if timeout is not None and blocking:
            deadline = time.monotonic() + timeout
            while not self.acquire(mode, blocking=False):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                time.sleep(min(_POLL, left))
            return True
        while True:
            fd = self._open()
            try:
                fcntl.flock(fd, mode | (0 if blocking else fcntl.LOCK_NB))
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    return False
                raise
            if self._still_linked(fd):
                self.fd, self.mode = fd, mode
                return True
            os.close(fd)  # deleted while we waited: lock the new file instead

    def shared(self, *, blocking: bool = True, timeout: float | None = None) -> bool:
        return self.acquire(fcntl.LOCK_SH, blocking=blocking, timeout=timeout)

    def exclusive(self, *, blocking: bool = True, timeout: float | None = None) -> bool:
        return self.acquire(fcntl.LOCK_EX, blocking=blocking, timeout=timeout)

    @contextmanager
    def holding(self) -> Iterator[None]:
        """Hold the lock exclusively for a block (waiting as long as it takes)."""
        self.exclusive()
        try:
            yield
        finally:
            self.release()

    def downgrade(self) -> None:
        """Exclusive -> shared. Linux does this as unlock + lock, so another process may
        slip in between: callers must look at the state again afterwards."""
        assert self.fd is not None
        fcntl.flock(self.fd, fcntl.LOCK_SH)
        self.mode = fcntl.LOCK_SH

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the last descriptor drops the flock
            self.fd = self.mode = None

    def unlink(self) -> None:
        """Remove the lock file; only while holding it exclusively."""
        assert self.mode == fcntl.LOCK_EX
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    @property
    def held(self) -> bool:
        return self.fd is not None

    def _open(self) -> int:
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except FileNotFoundError:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)

    def _still_linked(self, fd: int) -> bool:
        try:
            on_disk = os.stat(self.path)
        except FileNotFoundError:
            return False
        mine = os.fstat(fd)
        return (on_disk.st_ino, on_disk.st_dev) == (mine.st_ino, mine.st_dev)

    def __del__(self) -> None:
        self.release()
