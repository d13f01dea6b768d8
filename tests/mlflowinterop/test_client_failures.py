"""A command that fails or is killed keeps everything it logged with the MLflow client,
and a param that contradicts a -P value fails as MLflow makes it fail."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from tests.dockerenv.runs import show, split_output
from tests.helpers import mlrun, spawn_mlrun
from tests.mlflowinterop.conftest import MLFLOW3, client_project

pytestmark = pytest.mark.slow

CONFLICT = """\
import mlflow
with mlflow.start_run():
    mlflow.log_metric("before", 1.0, step=0)
    mlflow.log_param("alpha", "0.75")
"""

HANG = """\
import os, time
import mlflow
mlflow.start_run()
mlflow.log_metric("epoch", 1.0, step=1)
mlflow.start_run(nested=True, run_name="open")
mlflow.log_metric("inner", 7.0)
open(os.environ["READY_FILE"], "w").close()
time.sleep(300)
"""


def test_a_param_contradicting_a_p_value_fails_as_under_mlflow(tmp_path: Path) -> None:
    project = client_project(tmp_path / "p", MLFLOW3, CONFLICT)
    proc = mlrun("run", str(project), "-P", "alpha=0.25", "--json", timeout=600)
    assert proc.returncode == 1, proc.stderr
    assert "Changing param values is not allowed" in proc.stderr
    record = show(split_output(proc.stdout)[1]["run_id"])
    assert record["status"] == "FAILED" and record["exit_code"] == 1
    assert record["params"]["alpha"] == "0.25"  # the -P value stands
    # What was logged before the error is in the run.
    assert [(m["key"], m["value"]) for m in record["metrics"]] == [("before", 1.0)]


def test_sigterm_keeps_what_was_logged_and_ends_open_child_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ready = tmp_path / "ready"
    monkeypatch.setenv("READY_FILE", str(ready))
    project = client_project(tmp_path / "p", MLFLOW3, HANG)
    proc = spawn_mlrun("run", str(project), "--json")
    deadline = time.monotonic() + 300
    while not ready.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the code never got ready"
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    record = show(split_output(out)[1]["run_id"])
    assert record["status"] == "KILLED"
    assert [(m["key"], m["value"], m["step"]) for m in record["metrics"]] == [("epoch", 1.0, 1)]
    children = json.loads(mlrun("runs", "list", "--json", check=True).stdout)
    (child,) = [c for c in children if c["parent_run_id"] == record["run_id"]]
    assert child["run_name"] == "open" and child["status"] == "KILLED"
    assert "still running" in child["status_reason"]
    assert [(m["key"], m["value"]) for m in child["metrics"]] == [("inner", 7.0)]
    # The MLflow store says the same as mlrun's record.
    meta = Path(record["run_dir"]) / "mlflow" / "0" / record["run_id"] / "meta.yaml"
    assert "status: 5" in meta.read_text().splitlines()
    assert os.path.exists(Path(record["run_dir"]) / "mlflow" / "0" / child["run_id"])
