"""Mapping between Run records and the tables of the SQL stores (SQLite, PostgreSQL):
plain functions of a connection, called inside the transactions of SqlStore.

The SQL here is written once for both databases, with `?` placeholders (the PostgreSQL
connection translates them): ON CONFLICT upserts, quoted column names ("user" is a
reserved word in PostgreSQL), and NULL standing for NaN in both.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from mlrun.errors import UsageError
from mlrun.tracking.model import Artifact, Metric, Model, Run


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Any: ...


class Conn(Protocol):
    """What the stores need of a connection: sqlite3.Connection as it is, and
    postgres_db's adapter of a psycopg connection."""

    def execute(self, sql: str, parameters: Any = ..., /) -> Any: ...

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> Any: ...


# Columns of `runs` named like the Run field they hold.
SCALARS = (
    "run_name", "status", "exit_code", "status_reason", "start_time", "end_time",
    "heartbeat_time", "source_uri", "source_type", "entry_point", "command_mode", "env_kind",
    "run_dir", "host", "user", "pid", "pid_start", "mlrun_version", "parent_run_id",
)  # fmt: skip
# Run fields stored as JSON text in a `<name>_json` column.
JSON_FIELDS = ("source", "env", "command", "log_paths")

# The experiment's name by a subquery, not a join: with a join, and statistics saying
# `experiments` is small (ANALYZE), SQLite walks the experiments first and sorts every run
# to find the newest page (86 ms over 100,000 runs instead of 0.2 ms).
_SELECT = (
    "SELECT r.run_id,"
    " (SELECT e.name FROM experiments e WHERE e.experiment_id = r.experiment_id),"
    " r.experiment_id, "
    + ", ".join(f'r."{c}"' for c in SCALARS)
    + ", "
    + ", ".join(f"r.{c}_json" for c in JSON_FIELDS)
    + " FROM runs r"
)


def column(name: str) -> str:
    """A column of `runs` as SQL: quoted, as "user" must be in PostgreSQL."""
    return f'"{name}"'


def _upsert(table: str, keys: tuple[str, ...], values: tuple[str, ...]) -> str:
    names = ("run_id", *keys, *values)
    return (
        f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        f" ON CONFLICT (run_id, {', '.join(keys)}) DO UPDATE SET "
        + ", ".join(f"{v} = excluded.{v}" for v in values)
    )


_PUT = {
    "params": _upsert("params", ("key",), ("value",)),
    "tags": _upsert("tags", ("key",), ("value",)),
    "outputs": _upsert("outputs", ("key",), ("value_json",)),
    "artifacts": _upsert("artifacts", ("path",), ("size", "sha256")),
    "models": _upsert("models", ("path",), ("name", "flavors_json", "model_id", "mlflow_version")),
}


def dumps(value: Any, what: str) -> str:
    try:
        return json.dumps(value, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise UsageError(f"the {what} of a run cannot be stored as JSON: {exc}.") from exc


def experiment_id(conn: Conn, name: str, now: float) -> int:
    """The id of experiment `name`, created on first use."""
    conn.execute(
        "INSERT INTO experiments (name, created_time) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
        (name, now),
    )
    row = conn.execute("SELECT experiment_id FROM experiments WHERE name = ?", (name,)).fetchone()
    return int(row[0])


def put(conn: Conn, table: str, run_id: str, rows: Iterable[Sequence[Any]]) -> None:
    """Upsert child rows: a key logged again keeps its latest value."""
    values = [(run_id, *row) for row in rows]
    if values:
        conn.executemany(_PUT[table], values)


class IdList(Protocol):
    """How a dialect matches `run_id` against a list of ids: (SQL, parameters) chunks."""

    def __call__(self, ids: list[str]) -> Iterable[tuple[str, list[Any]]]: ...


def select_runs(conn: Conn, any_of: IdList, tail: str = "", args: Sequence[Any] = ()) -> list[Run]:
    """Whole Run records for `SELECT ... FROM runs r <tail>` (WHERE/ORDER BY/LIMIT on r)."""
    rows = conn.execute(f"{_SELECT} {tail}", tuple(args)).fetchall()
    ids = [row[0] for row in rows]
    if not ids:
        return []

    def children(sql: str) -> dict[str, list[Any]]:
        """{run_id: [rest of row, ...]} for `sql`, which selects run_id first."""
        out: dict[str, list[Any]] = {}
        for match, chunk_args in any_of(ids):
            for row in conn.execute(sql.format(match), chunk_args):
                out.setdefault(row[0], []).append(row[1:])
        return out

    # One query per child table for all the runs, not one per run.
    params = children("SELECT run_id, key, value FROM params WHERE run_id {} ORDER BY run_id, key")
    tags = children("SELECT run_id, key, value FROM tags WHERE run_id {} ORDER BY run_id, key")
    outputs = children(
        "SELECT run_id, key, value_json FROM outputs WHERE run_id {} ORDER BY run_id, key"
    )
    artifacts = children(
        "SELECT run_id, path, size, sha256 FROM artifacts WHERE run_id {} ORDER BY run_id, path"
    )
    models = children(
        "SELECT run_id, path, name, flavors_json, model_id, mlflow_version FROM models"
        " WHERE run_id {} ORDER BY run_id, path"
    )
    metrics = children(  # history in the order it was logged
        "SELECT run_id, key, value, step, timestamp FROM metric_values WHERE run_id {}"
        " ORDER BY run_id, seq"
    )
    runs = []
    for row in rows:
        run_id = row[0]
        scalars = dict(zip(SCALARS, row[3 : 3 + len(SCALARS)], strict=False))
        json_values = row[3 + len(SCALARS) :]
        decoded = {c: json.loads(v) for c, v in zip(JSON_FIELDS, json_values, strict=False)}
        runs.append(
            Run(
                run_id=run_id,
                experiment=row[1],
                experiment_id=str(row[2]),
                params=dict(params.get(run_id, [])),
                tags=dict(tags.get(run_id, [])),
                outputs={k: json.loads(v) for k, v in outputs.get(run_id, [])},
                artifacts=[Artifact(p, s, h) for p, s, h in artifacts.get(run_id, [])],
                models=tuple(
                    Model(p, n, json.loads(f), i, v) for p, n, f, i, v in models.get(run_id, [])
                ),
                metrics=[
                    Metric(k, math.nan if v is None else v, step, ts)  # NULL stands for NaN
                    for k, v, step, ts in metrics.get(run_id, [])
                ],
                **scalars,
                **decoded,
            )
        )
    return runs
