"""Writes tests/data/stores/sqlite-v2.db and sqlite-v2.json with the mlrun on PYTHONPATH.

Run with the release before a schema change, e.g. from a checkout of that commit:
    PYTHONPATH=/path/to/that/checkout/src python tests/data/stores/make_sqlite_v2.py
The .json is what that mlrun read back (Run.to_json() of every run): the test of the
migration (tests/tracking/test_store_files.py) checks that today's mlrun reads the same.
Only the public store API is used, so the script runs on old and new code alike."""

from __future__ import annotations

import json
import math
import sqlite3
import sys
from pathlib import Path

from mlrun.tracking import open_store
from mlrun.tracking.model import Artifact, Metric, Model, NewRun

HERE = Path(__file__).resolve().parent


def new(run_id: str, **fields: object) -> NewRun:
    base: dict[str, object] = {
        "experiment": "Default", "run_name": None, "source_uri": "/projects/demo",
        "source_type": "local", "entry_point": "main", "params": {}, "command": ["python"],
        "command_mode": "argv", "env_kind": "local", "run_dir": f"/runs/{run_id}/outputs",
        "log_paths": {"stdout": f"/runs/{run_id}/logs/stdout.log"}, "host": "old-laptop",
        "user": "alice", "pid": 4242, "pid_start": "777", "mlrun_version": "0.9.0",
        "run_id": run_id, "status": "FINISHED", "start_time": 1.7e9, "end_time": 1.7e9 + 60,
    }  # fmt: skip
    base.update(fields)
    return NewRun(**base)  # type: ignore[arg-type]


def main(out: Path) -> None:
    db = out / "sqlite-v2.db"
    for stale in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        stale.unlink(missing_ok=True)
    store = open_store(str(db))
    wf = store.create_run(
        new("0f" * 16, experiment="wf", run_name="pipeline", entry_point="workflow:train",
            tags={"mlrun.workflow": "train"})
    )  # fmt: skip
    fit = store.create_run(
        new("a1" * 16, experiment="wf", run_name="fit", parent_run_id=wf.run_id,
            params={"alpha": "0.5", "path": "data dir/ü.csv"},
            tags={"mlrun.cache_key": "k" * 64, "team": "ml"}, start_time=1.7e9 + 1,
            command="python fit.py --alpha 0.5 | tee out", command_mode="shell",
            env_kind="virtualenv", env={"kind": "virtualenv", "key": "e" * 64},
            source_type="git", source_uri="https://example.com/repo.git#sub",
            source={"commit": "abc123", "branch": "main", "dirty": False})
    )  # fmt: skip
    store.log_params(fit.run_id, {"late": "1"})
    store.log_metrics(
        fit.run_id,
        [Metric("loss", 1.0 / (s + 1), s, 1.7e9 + s) for s in range(20)]
        + [Metric("acc", math.inf, 0, 1.7e9), Metric("loss", math.nan, 20, 1.7e9 + 30)],
    )
    store.log_outputs(fit.run_id, {"model": {"path": "m.pkl", "n": 3}, "score": 0.9})
    store.log_artifacts(fit.run_id, [Artifact("m.pkl", 10, "f" * 64), Artifact("a.txt", 0)])
    store.log_models(fit.run_id, [Model("model", "model", ["python_function", "sklearn"],
                                        "m-1", "2.22.4")])  # fmt: skip
    failed = store.create_run(
        new("b2" * 16, experiment="other", run_name="broken", start_time=1.7e9 + 2)
    )
    store.finish_run(failed.run_id, "FAILED", 3, "exited with 3")
    killed = store.create_run(new("c3" * 16, run_name="stopped", start_time=1.7e9 + 3))
    store.finish_run(killed.run_id, "KILLED", None, "SIGTERM")
    for i in range(5):  # a short history of plain runs
        run = store.create_run(new(f"d4{i:030d}", start_time=1.7e9 + 10 + i, params={"i": str(i)}))
        store.log_metrics(run.run_id, [Metric("rmse", 0.1 * i, 0, 1.7e9 + 10 + i)])
    runs = [r.to_json() for r in store.search_runs(limit=None)]
    store.close()
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("VACUUM")
    conn.close()
    (out / "sqlite-v2.json").write_text(json.dumps(runs, indent=1, sort_keys=True) + "\n")
    print(f"{db}: {len(runs)} runs")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
