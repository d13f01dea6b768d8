"""Fixtures for the run store tests: a real SQLite file per test, and NewRun records
that look like the ones the runner writes."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mlrun.tracking.liveness import process_start_token, this_host
from mlrun.tracking.model import NewRun
from mlrun.tracking.sqlite_store import SqliteStore

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


@pytest.fixture
def store(db_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore(db_path) as s:
        yield s
