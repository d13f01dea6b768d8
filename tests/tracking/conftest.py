"""Fixtures for the run store tests: every store test runs on each store -- a real
SQLite file, and a private schema of the real PostgreSQL CI runs (skipped when absent,
failed when MLRUN_REQUIRE_SERVICES=1) -- and NewRun records that look like the ones the
runner writes."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mlrun.tracking import open_store
from mlrun.tracking.liveness import process_start_token, this_host
from mlrun.tracking.model import NewRun
from mlrun.tracking.sql_store import SqlStore

STORES = ("sqlite", "postgres")

NewRunFactory = Callable[..., NewRun]


def make_new_run(**overrides: Any) -> NewRun:
    """A NewRun supervised by the current (live) process, unless overridden."""
    fields: dict[str, Any] = {
        "experiment": "exp",
        "run_name": "train",
        "source_uri": "/projects/demo",
        "source_type": "local",
        "entry_point": "main",
        "params": {"alpha": "0.5"},
        "command": ["python", "train.py", "--alpha", "0.5"],
        "command_mode": "argv",
        "env_kind": "local",
        "run_dir": "/tmp/run",
        "log_paths": {"stdout": "/tmp/run/stdout.log"},
        "host": this_host(),
        "user": "tester",
        "pid": os.getpid(),
        "pid_start": process_start_token(os.getpid()),
        "mlrun_version": "0.1.0",
    }
    fields.update(overrides)
    return NewRun(**fields)


@pytest.fixture
def new_run() -> NewRunFactory:
    return make_new_run


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "mlrun.db"


@pytest.fixture(params=STORES)
def store_uri(request: pytest.FixtureRequest, db_path: Path) -> Iterator[str]:
    """The URI of a new, empty store of each kind."""
    if request.param == "sqlite":
        yield str(db_path)
        return
    yield request.getfixturevalue("postgres_uri")


@pytest.fixture
def store(store_uri: str) -> Iterator[SqlStore]:
    with open_store(store_uri) as s:
        assert isinstance(s, SqlStore)
        yield s


def integrity_errors() -> tuple[type[Exception], ...]:
    """What a constraint violation raises in either store (the driver's own error)."""
    import sqlite3

    import psycopg

    return (sqlite3.IntegrityError, psycopg.IntegrityError)
