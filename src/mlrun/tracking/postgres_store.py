"""The PostgreSQL run store: one database (or schema) shared by every machine and CI job
of a team. Records, searches and liveness are SqlStore's, the same code as the embedded
SQLite store; this module adds the connection (postgres_db), the schema
(postgres_schema) and PostgreSQL's dialect.

`uri` is the URI without its password (postgres_uri): it is what messages, run records
and a run's MLRUN_TRACKING_URI carry. The password lives only in the connection string
and is registered with mlrun.util.redact, so that no message can show it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mlrun.tracking import postgres_uri
from mlrun.tracking.postgres_db import Database
from mlrun.tracking.sql_store import Dialect, SqlStore

_CHUNK = 10_000  # ids per "= ANY(array)": one parameter, however many


def _any_of(ids: list[str]) -> Iterable[tuple[str, list[Any]]]:
    for i in range(0, len(ids), _CHUNK):
        yield "= ANY(?)", [ids[i : i + _CHUNK]]


POSTGRES = Dialect(
    same="IS NOT DISTINCT FROM",
    tiebreak="r.seq",
    status_beside_tags="r.status = ?",  # PostgreSQL's planner weighs the tag by statistics
    lock_run=" FOR UPDATE",
    any_of=_any_of,
    clock="SELECT extract(epoch FROM clock_timestamp())::float8",
)


class PostgresStore(SqlStore):
    dialect = POSTGRES

    def __init__(self, uri: str) -> None:
        from mlrun.util.redact import register_secret

        target = postgres_uri.parse(uri)
        for secret in target.secrets:
            register_secret(secret)
        self.uri = target.shown
        self.server = target.server
        self._db = Database(target)

    def __repr__(self) -> str:
        return f"PostgresStore({self.uri!r})"
