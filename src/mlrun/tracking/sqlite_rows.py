"""Mapping between Run records and the SQLite tables: plain functions of a connection,
called inside the transactions of SqliteStore."""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from mlrun.errors import UsageError
from mlrun.tracking.model import Artifact, Metric, Model, Run

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
    + ", ".join(f"r.{c}" for c in SCALARS)
    + ", "
    + ", ".join(f"r.{c}_json" for c in JSON_FIELDS)
    + " FROM runs r"
)
CHUNK = 500  # ids per "IN (...)": under SQLite's variable limit, old builds included

_PUT = {
    "params": "INSERT OR REPLACE INTO params (run_id, key, value) VALUES (?, ?, ?)",
    "tags": "INSERT OR REPLACE INTO tags (run_id, key, value) VALUES (?, ?, ?)",
    "outputs": "INSERT OR REPLACE INTO outputs (run_id, key, value_json) VALUES (?, ?, ?)",
    "artifacts": "INSERT OR REPLACE INTO artifacts (run_id, path, size, sha256)"
    " VALUES (?, ?, ?, ?)",
    "models": "INSERT OR REPLACE INTO models"
    " (run_id, path, name, flavors_json, model_id, mlflow_version) VALUES (?, ?, ?, ?, ?, ?)",
}


def dumps(value: Any, what: str) -> str:
    try:
        return json.dumps(value, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise UsageError(f"the {what} of a run cannot be stored as JSON: {exc}.") from exc


def experiment_id(conn: sqlite3.Connection, name: str, now: float) -> int:
    """The id of experiment `name`, created on first use."""
    conn.execute(
        "INSERT INTO experiments (name, created_time) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
        (name, now),
    )
    row = conn.execute("SELECT experiment_id FROM experiments WHERE name = ?", (name,)).fetchone()
    return int(row[0])


def put(conn: sqlite3.Connection, table: str, run_id: str, rows: Iterable[Sequence[Any]]) -> None:
    """Upsert child rows: a key logged again keeps its latest value."""
    conn.executemany(_PUT[table], ((run_id, *row) for row in rows))


def select_runs(conn: sqlite3.Connection, tail: str = "", args: Sequence[Any] = ()) -> list[Run]:
    """Whole Run records for `SELECT ... FROM runs r <tail>` (WHERE/ORDER BY/LIMIT on r)."""
    rows = conn.execute(f"{_SELECT} {tail}", args).fetchall()
    ids = [row[0] for row in rows]
    # One query per child table for all the runs, not one per run.
    params = _children(conn, "SELECT run_id, key, value FROM params WHERE run_id IN ({})", ids)
    tags = _children(conn, "SELECT run_id, key, value FROM tags WHERE run_id IN ({})", ids)
    outputs = _children(
        conn, "SELECT run_id, key, value_json FROM outputs WHERE run_id IN ({})", ids
    )
    artifacts = _children(
        conn, "SELECT run_id, path, size, sha256 FROM artifacts WHERE run_id IN ({})", ids
    )
    models = _children(
        conn,
        "SELECT run_id, path, name, flavors_json, model_id, mlflow_version FROM models"
        " WHERE run_id IN ({}) ORDER BY path",
        ids,
    )
    metrics = _children(  # history in the order it was logged
        conn,
        "SELECT run_id, key, value, step, timestamp FROM metric_values WHERE run_id IN ({})"
        " ORDER BY run_id, seq",
        ids,
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


def _children(conn: sqlite3.Connection, sql: str, ids: list[str]) -> dict[str, list[Any]]:
    """{run_id: [rest of row, ...]} for `sql`, which selects run_id first."""
    out: dict[str, list[Any]] = {}
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i : i + CHUNK]
        for row in conn.execute(sql.format(", ".join("?" * len(chunk))), chunk):
            out.setdefault(row[0], []).append(row[1:])
    return out
