"""One SQLite connection per store object, and the discipline that makes a single file
safe for many mlrun processes at once.

- WAL journal: readers never block the writer and the writer never blocks readers.
  synchronous=NORMAL: in WAL mode this cannot corrupt the file, and it takes the fsync
  off each commit (a power cut may lose the last few commits, never half of one); that
  is what keeps creating and finishing a run down to a fraction of a millisecond.
- Writes open with BEGIN IMMEDIATE. A deferred transaction that reads and then writes
  can fail with SQLITE_BUSY *without* the busy handler ever being called (its read
  snapshot is stale); taking the write lock first means waiting is always enough.
- busy_timeout covers ordinary contention; a retry loop with jittered backoff covers
  the rest: locks that SQLite reports without waiting (the switch to WAL, WAL recovery
  after a crash, schema creation by a racing process) and waits longer than the timeout.
- A connection is opened lazily and never carried across fork(): SQLite forbids it.

WAL needs shared memory between the processes, so the file must be on a local disk
(not NFS/SMB); that is where the default location puts it.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from mlrun.errors import StoreError
from mlrun.tracking.sqlite_schema import ensure_schema

T = TypeVar("T")

BUSY_TIMEOUT = 5.0  # seconds SQLite itself waits for a lock
RETRY_FOR = 60.0  # seconds we keep retrying a locked database before giving up

# Primary result codes (sqlite_errorcode exists from Python 3.11; messages before).
_BUSY, _LOCKED, _READONLY, _CANTOPEN = 5, 6, 8, 14
_CORRUPT, _FULL, _NOTADB = 11, 13, 26


def _code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def is_busy(exc: sqlite3.Error) -> bool:
    code = _code(exc)
    if code is not None:
        return code in (_BUSY, _LOCKED)
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def store_error(path: Path, exc: sqlite3.Error) -> StoreError:
    """One sentence naming the file, for the user; the sqlite error stays the cause."""
    code, text = _code(exc), str(exc)
    if code in (_CORRUPT, _NOTADB) or "not a database" in text or "malformed" in text:
        return StoreError(
            f"{path} is not a usable mlrun run store (not a SQLite database, or corrupt).",
            hint="Move the file aside (mlrun then starts a new store) or use another path.",
        )
    if code == _CANTOPEN or "unable to open" in text:
        return StoreError(
            f"cannot open the run store {path}.",
            hint="Check that its directory exists and is writable.",
        )
    if code == _READONLY or "readonly" in text:
        return StoreError(f"the run store {path} is read-only.")
    if code == _FULL or "disk is full" in text:
        return StoreError(f"the disk holding the run store {path} is full.")
    if is_busy(exc):
        return StoreError(
            f"the run store {path} stayed locked for more than {RETRY_FOR:.0f} s.",
            hint="Another process holds a long write lock on it; is it on a network drive?",
        )
    return StoreError(f"the run store {path} failed: {text}.")


def _mapped(exc: sqlite3.Error) -> bool:
    """Errors that describe the file (not a bug in our SQL) become StoreErrors."""
    return type(exc) in (sqlite3.OperationalError, sqlite3.DatabaseError) or _code(exc) in (
        _CORRUPT,
        _NOTADB,
        _FULL,
        _READONLY,
    )


class Database:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        # The supervisor may heartbeat from a thread while the main thread writes: one
        # connection, used by one thread at a time.
        self._lock = threading.RLock()

    def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn` in a read transaction: several SELECTs see one snapshot."""
        return self._transaction("BEGIN", fn)

    def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn` in one write transaction; all of it is committed, or none.
        `fn` may run more than once (on lock contention), so it must only touch the db."""
        return self._transaction("BEGIN IMMEDIATE", fn)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    def _transaction(self, begin: str, fn: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            conn = self._connection()

            def attempt() -> T:
                conn.execute(begin)
                try:
                    result = fn(conn)
                    conn.execute("COMMIT")
                except BaseException:
                    _rollback(conn)
                    raise
                return result

            return self._retry(attempt)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        # After fork() the inherited connection belongs to the parent: drop it unclosed
        # (closing could checkpoint or unlink the parent's WAL) and open our own.
        self._conn = None
        self._conn = self._open()
        self._pid = os.getpid()
        return self._conn

    def _open(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                str(self.path),
                timeout=BUSY_TIMEOUT,
                isolation_level=None,  # we issue BEGIN/COMMIT ourselves
                check_same_thread=False,  # guarded by self._lock
            )
        except sqlite3.Error as exc:
            raise store_error(self.path, exc) from exc
        try:
            self._retry(lambda: _use_wal(conn))
            self._retry(lambda: ensure_schema(conn, self.path))
        except BaseException:
            conn.close()
            raise
        _remember_opened(self.path)
        return conn

    def _retry(self, fn: Callable[[], T]) -> T:
        deadline = time.monotonic() + RETRY_FOR
        delay = 0.002
        while True:
            try:
                return fn()
            except sqlite3.Error as exc:
                if is_busy(exc) and time.monotonic() < deadline:
                    # Full jitter: processes that collided must not retry in lockstep.
                    import random  # only on contention: keep it off the start-up path

                    time.sleep(random.uniform(0, delay))
                    delay = min(delay * 2, 0.5)
                    continue
                if _mapped(exc):
                    raise store_error(self.path, exc) from exc
                raise


def _remember_opened(path: Path) -> None:
    from mlrun.tracking.uri import OPENED_BY_SQLITE

    try:
        st = os.stat(path)
    except OSError:
        return
    OPENED_BY_SQLITE.add((st.st_dev, st.st_ino))


def _use_wal(conn: sqlite3.Connection) -> None:
    # Per-connection settings first: the first statement is also where a file that is
    # not a database shows itself.
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = NORMAL")
    # WAL is a property of the file: only the first opener switches, the others read it.
    # The switch needs an exclusive lock and reports "locked" without waiting.
    if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
        conn.execute("PRAGMA journal_mode = WAL").fetchone()


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # the original error is the one worth reporting
