"""One psycopg 3 connection per store object, opened on first use (psycopg itself is
imported then, never before: `mlrun run` of a local project does not load it).

- The connection is in autocommit mode and each unit of work is one explicit
  transaction: writes in READ COMMITTED (the store's UPDATEs re-check their conditions,
  and a write that reads first locks the run's row: SqlStore's Dialect.lock_run), reads
  in REPEATABLE READ READ ONLY, so that several SELECTs see one snapshot as in SQLite.
- A serialization failure or a deadlock is retried with jittered backoff, as SQLite's
  "database is locked" is; any other database error fails the command with one sentence.
- A connection is never carried across fork(): the child opens its own and leaves the
  parent's alone (closing it would end the parent's session too).
- `?` placeholders (sql_rows' SQL, shared with SQLite) become psycopg's `%s`.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from mlrun.errors import StoreError, UsageError
from mlrun.tracking.postgres_uri import Target

if TYPE_CHECKING:
    import psycopg

T = TypeVar("T")
RETRY_FOR = 60.0  # seconds we keep retrying serialization failures and deadlocks
INSTALL_HINT = "pip install 'mlrun[postgres]'"
# Connections a forked child inherited: kept referenced so that it never closes them.
_INHERITED: list[Any] = []


@functools.lru_cache(maxsize=256)
def _pg(sql: str) -> str:
    return sql.replace("%", "%%").replace("?", "%s")


class Conn:
    """A psycopg connection with sqlite3's execute/executemany and `?` placeholders."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> psycopg.Cursor[Any]:
        return self._conn.execute(_pg(sql), parameters)

    def executemany(self, sql: str, seq_of_parameters: Sequence[Sequence[Any]], /) -> None:
        with self._conn.cursor() as cur:
            cur.executemany(_pg(sql), seq_of_parameters)


def import_psycopg(shown: str) -> Any:
    try:
        import psycopg
    except ImportError:
        raise StoreError(
            f"the tracking URI {shown} names a PostgreSQL store, and the PostgreSQL driver"
            " (psycopg 3) is not installed.",
            hint=INSTALL_HINT,
        ) from None
    return psycopg


class Database:
    def __init__(self, target: Target) -> None:
        self.target = target
        self._conn: psycopg.Connection[Any] | None = None
        self._pid = 0
        # The supervisor may heartbeat from a thread while the main thread writes: one
        # connection, used by one thread at a time.
        self._lock = threading.RLock()

    def read(self, fn: Callable[[Conn], T]) -> T:
        """Run `fn` in a read-only transaction: several SELECTs see one snapshot."""
        return self._transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", fn)

    def write(self, fn: Callable[[Conn], T]) -> T:
        """Run `fn` in one write transaction; all of it is committed, or none. `fn` may
        run more than once (serialization failure, deadlock): it must only touch the db."""
        return self._transaction("BEGIN", fn)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    def __del__(self) -> None:
        # An unclosed store closes quietly (psycopg would warn about the connection).
        conn = getattr(self, "_conn", None)
        try:
            if conn is not None and getattr(self, "_pid", 0) == os.getpid():
                conn.close()
        except Exception:
            pass  # at interpreter exit, modules may already be gone

    def _transaction(self, begin: str, fn: Callable[[Conn], T]) -> T:
        pg = import_psycopg(self.target.shown)
        with self._lock:
            conn = self._connection()
            deadline = time.monotonic() + RETRY_FOR
            delay = 0.002
            while True:
                try:
                    conn.execute(begin)
                    try:
                        result = fn(Conn(conn))
                        conn.execute("COMMIT")
                    except BaseException:
                        _rollback(conn)
                        raise
                    return result
                except (pg.errors.SerializationFailure, pg.errors.DeadlockDetected) as exc:
                    if time.monotonic() >= deadline:
                        raise self._failed(exc) from exc
                    import random  # only on contention: keep it off the start-up path

                    time.sleep(random.uniform(0, delay))
                    delay = min(delay * 2, 0.5)
                except pg.DataError as exc:
                    # A value PostgreSQL cannot hold (a NUL character, which SQLite takes).
                    raise UsageError(
                        f"the run store {self.target.shown} refused a value of the run:"
                        f" {_first_line(exc)}"
                    ) from exc
                except (pg.OperationalError, pg.InterfaceError) as exc:
                    if conn.closed:
                        self._conn = None  # the next command reconnects
                    raise self._failed(exc) from exc

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is not None and self._pid == os.getpid() and not self._conn.closed:
            return self._conn
        if self._conn is not None and self._pid != os.getpid():
            _INHERITED.append(self._conn)  # the parent's: never closed here
        self._conn = None
        self._conn = self._open()
        self._pid = os.getpid()
        return self._conn

    def _open(self) -> psycopg.Connection[Any]:
        pg = import_psycopg(self.target.shown)
        from mlrun.tracking.postgres_schema import ensure_schema

        try:
            conn: psycopg.Connection[Any] = pg.connect(self.target.conninfo, autocommit=True)
        except pg.Error as exc:
            raise StoreError(
                f"cannot connect to the PostgreSQL run store at {self.target.server}:"
                f" {_first_line(exc)}",
                hint="Check the host, port, database and credentials of the tracking URI"
                f" {self.target.shown} (a password can come from ~/.pgpass or PGPASSWORD).",
            ) from None
        try:
            ensure_schema(conn, self.target.shown)
        except pg.Error as exc:
            conn.close()
            raise self._failed(exc) from exc
        except BaseException:
            conn.close()
            raise
        return conn

    def _failed(self, exc: Exception) -> StoreError:
        return StoreError(
            f"the PostgreSQL run store at {self.target.server} failed: {_first_line(exc)}"
        )


def _first_line(exc: Exception) -> str:
    from mlrun.util.redact import redact

    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    return redact(text.rstrip(".") + ".")


def _rollback(conn: psycopg.Connection[Any]) -> None:
    if conn.closed:
        return
    try:
        conn.execute("ROLLBACK")
    except Exception:
        pass  # the original error is the one worth reporting
