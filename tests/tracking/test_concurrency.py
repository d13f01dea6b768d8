"""Many mlrun processes writing one store at once lose nothing: a SQLite file, and a
PostgreSQL database (schema) many machines share.

Real processes (not threads): each opens the same *fresh* store, so they also race to
create the schema (and, for SQLite, to switch the file to WAL), then record their runs
as the runner does."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlrun.tracking import open_store
from mlrun.tracking.model import FINISHED

PROCESSES = 16
RUNS_EACH = 50

WORKER = r"""
import os, sys, time
from pathlib import Path
from mlrun.tracking import open_store
from mlrun.tracking.model import Metric, NewRun

db, go, worker, runs = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
if sys.argv[5] == "no-busy-timeout":
    # SQLite then never waits by itself: every collision goes through our retry loop.
    import mlrun.tracking.sqlite_db
    mlrun.tracking.sqlite_db.BUSY_TIMEOUT = 0.0
Path(f"{go}.ready.{worker}").touch()
while not go.exists():  # start together, to collide on schema creation too
    time.sleep(0.001)
store = open_store(db)
for n in range(runs):
    run = store.create_run(NewRun(
        experiment=f"exp{worker % 3}", run_name=f"w{worker}-{n}", source_uri="/p",
        source_type="local", entry_point="main", params={"worker": str(worker)},
        command=["python", "x.py"], command_mode="argv", env_kind="local", run_dir="/r",
        log_paths={}, host="h", user="u", pid=os.getpid(), pid_start=None,
        mlrun_version="0", tags={"worker": str(worker)},
    ))
    store.log_params(run.run_id, {"n": str(n)})
    store.log_metrics(run.run_id, [Metric("score", worker * 1000 + n, step) for step in range(3)])
    store.set_tags(run.run_id, {"n": str(n)})
    store.finish_run(run.run_id, "FINISHED", 0)
store.close()
"""


@pytest.mark.slow  # 16 processes (~1.5 s on SQLite, ~4 s on PostgreSQL)
def test_16_processes_recording_50_runs_each_lose_nothing(tmp_path: Path, store_uri: str) -> None:
    _sixteen_writers(tmp_path, store_uri, "default")


@pytest.mark.slow  # 16 processes
def test_16_processes_lose_nothing_on_sqlite_without_its_busy_timeout(
    tmp_path: Path, db_path: Path
) -> None:
    # SQLite's own busy handler off: the store's retry loop alone must keep every write.
    _sixteen_writers(tmp_path, str(db_path), "no-busy-timeout")


def _sixteen_writers(tmp_path: Path, store_uri: str, mode: str) -> None:
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, store_uri, str(go), str(w), str(RUNS_EACH), mode],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(PROCESSES)
    ]
    try:
        deadline = time.monotonic() + 60
        while len(list(tmp_path.glob("go.ready.*"))) < PROCESSES:
            assert time.monotonic() < deadline, "workers did not start"
            assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
            time.sleep(0.01)
        assert _is_empty(store_uri)  # the workers, not us, create the store
        go.touch()
        for p in procs:
            _, err = p.communicate(timeout=240)
            assert p.returncode == 0, err
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()

    with open_store(store_uri) as store:
        runs = store.search_runs(limit=None)
        assert len(runs) == PROCESSES * RUNS_EACH
        seen = set()
        for run in runs:
            worker, n = int(run.params["worker"]), int(run.params["n"])
            seen.add((worker, n))
            assert run.run_name == f"w{worker}-{n}"
            assert run.experiment == f"exp{worker % 3}"
            assert run.tags == {"worker": str(worker), "n": str(n)}
            assert [(m.key, m.value, m.step) for m in run.metrics] == [
                ("score", worker * 1000 + n, step) for step in range(3)
            ]
            assert (run.status, run.exit_code, run.end_time is not None) == (FINISHED, 0, True)
        assert seen == {(w, n) for w in range(PROCESSES) for n in range(RUNS_EACH)}
        assert sorted(store.list_experiments()) == ["exp0", "exp1", "exp2"]


def _is_empty(store_uri: str) -> bool:
    if "://" not in store_uri:
        return not Path(store_uri).exists()
    import psycopg

    with psycopg.connect(store_uri) as conn:
        found = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()"
        ).fetchone()
        return found is not None and found[0] == 0
