"""fcntl (flock) file locks, shared and exclusive.

filelock has no shared locks, and the env cache needs them: every run holds a shared
"use" lock on its env, so `mlrun env prune` (which takes it exclusively) can never delete an
env in use. The kernel drops a flock when its holder dies, SIGKILL included, so a crashed
run or build never leaves a stale lock behind.

Lock files may be deleted by whoever holds them exclusively (prune does). A process that
opened the file before the deletion then holds a lock on an orphaned inode, so every
acquisition checks that the path still names the inode it locked, and retries if not."""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path


class FileLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None
        self.mode: int | None = None  # fcntl.LOCK_SH or fcntl.LOCK_EX while held

    def acquire(self, mode: int, *, blocking: bool = True) -> bool:
        """Take the lock (LOCK_SH or LOCK_EX); False if `blocking` is off and it is busy."""
        assert self.fd is None, "lock already held"
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

    def shared(self, *, blocking: bool = True) -> bool:
        return self.acquire(fcntl.LOCK_SH, blocking=blocking)

    def exclusive(self, *, blocking: bool = True) -> bool:
        return self.acquire(fcntl.LOCK_EX, blocking=blocking)

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
