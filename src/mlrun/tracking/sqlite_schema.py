"""The SQLite store's schema, versioned with PRAGMA user_version.

`ensure_schema` is safe when many processes open a fresh file at once: whoever takes the
write lock first (BEGIN IMMEDIATE) creates everything, the others re-read the version
under the same lock and find nothing left to do. The caller retries on "database is
locked". The file is tagged with PRAGMA application_id so that we never write into a
SQLite file that belongs to something else (an MLflow database passed by mistake).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from mlrun.errors import StoreError

SCHEMA_VERSION = 2
APPLICATION_ID = 0x6D6C726E  # "mlrn"

# Version 0 -> 1. Later versions append a list here; each runs in one transaction.
# These are history: they are never edited, so they spell out their own values (the
# status CHECK is tracking.status.STATUSES as of version 1; a test keeps them equal).
_V1 = [
    """CREATE TABLE experiments (
        experiment_id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created_time REAL NOT NULL
    )""",
    # A rowid table: the rowid breaks start_time ties in insertion order, and every
    # index below carries it for free.
    """CREATE TABLE runs (
        run_id TEXT NOT NULL PRIMARY KEY,
        experiment_id INTEGER NOT NULL REFERENCES experiments (experiment_id),
        run_name TEXT,
        status TEXT NOT NULL CHECK (status IN ('RUNNING', 'FINISHED', 'FAILED', 'KILLED')),
        exit_code INTEGER,
        status_reason TEXT,
        start_time REAL NOT NULL,
        end_time REAL,
        heartbeat_time REAL,
        source_uri TEXT NOT NULL,
        source_type TEXT NOT NULL,
        source_json TEXT NOT NULL,
        entry_point TEXT NOT NULL,
        command_json TEXT NOT NULL,
        command_mode TEXT NOT NULL,
        env_kind TEXT NOT NULL,
        env_json TEXT NOT NULL,
        run_dir TEXT NOT NULL,
        log_paths_json TEXT NOT NULL,
        host TEXT NOT NULL,
        user TEXT NOT NULL,
        pid INTEGER NOT NULL,
        pid_start TEXT,
        mlrun_version TEXT NOT NULL,
        parent_run_id TEXT,
        -- 1 when a reader declared the run KILLED because its supervisor looked dead;
        -- the supervisor's own finish_run or heartbeat then still wins.
        reaped INTEGER NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX runs_by_start ON runs (start_time DESC)",
    "CREATE INDEX runs_by_experiment ON runs (experiment_id, start_time DESC)",
    "CREATE INDEX runs_by_status ON runs (status, start_time DESC)",
    "CREATE INDEX runs_by_parent ON runs (parent_run_id, start_time DESC)",
    """CREATE TABLE params (
        run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (run_id, key)
    ) WITHOUT ROWID""",
    """CREATE TABLE tags (
        run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (run_id, key)
    ) WITHOUT ROWID""",
    # The workflow cache looks up runs by (mlrun.cache_key, <hash>): one index seek.
    "CREATE INDEX tags_by_key_value ON tags (key, value)",
    """CREATE TABLE metrics (
        id INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value REAL,  -- NULL stands for NaN, which SQLite cannot store
        step INTEGER NOT NULL,
        timestamp REAL NOT NULL
    )""",
    "CREATE INDEX metrics_by_run ON metrics (run_id, key)",
    """CREATE TABLE outputs (
        run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value_json TEXT NOT NULL,
        PRIMARY KEY (run_id, key)
    ) WITHOUT ROWID""",
    """CREATE TABLE artifacts (
        run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
        path TEXT NOT NULL,
        size INTEGER NOT NULL,
        sha256 TEXT,
        PRIMARY KEY (run_id, path)
    ) WITHOUT ROWID""",
]

# Version 1 -> 2 (MLflow interop): models the code logged (directories with an MLmodel
# file); metrics clustered by run in logging order (one B-tree instead of a table and an
# index: a run's 100,000 imported values go in at half the cost), and each run's latest
# value per metric kept apart, as MLflow's SQL store does, for `runs list --metric K`.
_V2 = [
    """CREATE TABLE models (
        run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
        path TEXT NOT NULL,
        name TEXT NOT NULL,
        flavors_json TEXT NOT NULL,
        model_id TEXT,
        mlflow_version TEXT,
        PRIMARY KEY (run_id, path)
    ) WITHOUT ROWID""",
    """CREATE TABLE metric_values (
        run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,  -- the order values were logged in, per run
        key TEXT NOT NULL,
        value REAL,  -- NULL stands for NaN, which SQLite cannot store
        step INTEGER NOT NULL,
        timestamp REAL NOT NULL,
        PRIMARY KEY (run_id, seq)
    ) WITHOUT ROWID""",
    """INSERT INTO metric_values (run_id, seq, key, value, step, timestamp)
        SELECT run_id, id, key, value, step, timestamp FROM metrics""",
    """CREATE TABLE latest_metrics (
        run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value REAL,
        step INTEGER NOT NULL,
        timestamp REAL NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (run_id, key)
    ) WITHOUT ROWID""",
    # The latest value: the highest step, then the latest timestamp, then the last logged.
    """INSERT INTO latest_metrics (run_id, key, value, step, timestamp, seq)
        SELECT run_id, key, value, step, timestamp, seq FROM (
            SELECT *, row_number() OVER (
                PARTITION BY run_id, key ORDER BY step DESC, timestamp DESC, seq DESC) AS n
            FROM metric_values)
        WHERE n = 1""",
    "DROP TABLE metrics",
    "CREATE INDEX latest_metrics_by_key ON latest_metrics (key, value)",
]

MIGRATIONS: dict[int, list[str]] = {0: _V1, 1: _V2}


def _pragma(conn: sqlite3.Connection, name: str) -> int:
    row = conn.execute(f"PRAGMA {name}").fetchone()
    return int(row[0])


def is_current(conn: sqlite3.Connection) -> bool:
    """The fast path of every open: one read, no lock."""
    return (
        _pragma(conn, "user_version") == SCHEMA_VERSION
        and _pragma(conn, "application_id") == APPLICATION_ID
    )


def ensure_schema(conn: sqlite3.Connection, path: Path) -> None:
    """Create or upgrade the schema. Must run outside a transaction; retried by the
    caller when the database is locked."""
    if is_current(conn):
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        _upgrade(conn, path)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _upgrade(conn: sqlite3.Connection, path: Path) -> None:
    # Re-read under the write lock: another process may have done the work meanwhile.
    version = _pragma(conn, "user_version")
    app_id = _pragma(conn, "application_id")
    if version == 0:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        if tables:
            shown = ", ".join(sorted(tables)[:5])
            raise StoreError(
                f"{path} is a SQLite database but not an mlrun run store "
                f"(it already holds the tables {shown}).",
                hint="An MLflow tracking database cannot be shared; give mlrun its own file.",
            )
    elif app_id != APPLICATION_ID:
        raise StoreError(f"{path} is a SQLite database but not an mlrun run store.")
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"the run store {path} was written by a newer mlrun "
            f"(schema {version}; this mlrun knows up to {SCHEMA_VERSION}).",
            hint="Upgrade mlrun, or point MLRUN_TRACKING_URI at another file.",
        )
    for step in range(version, SCHEMA_VERSION):
        for statement in MIGRATIONS[step]:
            conn.execute(statement)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
