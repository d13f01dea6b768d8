"""The embedded run store: one SQLite file shared by every mlrun process of a user.

Records, searches and liveness are SqlStore's (shared with the PostgreSQL store); this
module adds the file, its connection discipline (sqlite_db) and SQLite's dialect.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mlrun.tracking.sql_store import Dialect, SqlStore
from mlrun.tracking.sqlite_db import Database

_CHUNK = 500  # ids per "IN (...)": under SQLite's variable limit, old builds included


def _any_of(ids: list[str]) -> Iterable[tuple[str, list[Any]]]:
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i : i + _CHUNK]
        yield f"IN ({', '.join('?' * len(chunk))})", chunk


SQLITE = Dialect(
    same="IS",
    tiebreak="r.rowid",
    status_beside_tags="+r.status = ?",
    lock_run="",
    any_of=_any_of,
    clock=None,  # one machine's file: its clock
)


class SqliteStore(SqlStore):
    dialect = SQLITE

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).absolute()
        self.uri = str(self.path)
        self._db = Database(self.path)

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"
