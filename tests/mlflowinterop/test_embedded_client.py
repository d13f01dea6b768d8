"""The embedded store with the real MLflow client in a uv env: everything the code logs
lands in mlrun's run, and nothing is written into the project."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.dockerenv.runs import run_json, show
from tests.mlflowinterop.clientcode import TRAIN
from tests.mlflowinterop.clientcode import seen as seen_by_code
from tests.mlflowinterop.conftest import CLIENTS, MLFLOW3, client_project, listing

pytestmark = pytest.mark.slow

READ_BACK = """\
import json, sys
from mlflow.tracking import MlflowClient
run = MlflowClient(sys.argv[1]).get_run(sys.argv[2])
print(json.dumps({"status": run.info.status, "params": run.data.params,
                  "tags": run.data.tags, "metrics": run.data.metrics}))
"""


def read_back(record: dict[str, Any], uri: str, run_id: str) -> dict[str, Any]:
    """The run as the MLflow client of the run's own env reads it afterwards."""
    python = Path(record["env"]["path"]) / "bin" / "python"
    out = subprocess.run(
        [str(python), "-c", READ_BACK, uri, run_id],
        capture_output=True,
        text=True,
        check=True,
        env={"MLFLOW_ALLOW_FILE_STORE": "true", "PATH": "/usr/bin:/bin"},
    ).stdout
    data: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return data


@pytest.mark.parametrize("version", CLIENTS)
def test_everything_the_client_logs_lands_in_the_run(tmp_path: Path, version: str) -> None:
    project = client_project(tmp_path / "p", version, TRAIN)
    before = listing(project)
    _, output, record = run_json(project, "-P", "alpha=0.25", "--env-manager", "uv")
    seen = seen_by_code(output)
    run_id = record["run_id"]
    assert seen["version"] == version
    # The code attached to the run mlrun created (one id for both), in the run directory.
    assert seen["run_id"] == seen["env_run_id"] == run_id
    store = Path(record["run_dir"]) / "mlflow"
    assert seen["tracking_uri"] == store.as_uri()
    assert record["status"] == "FINISHED"
    assert record["params"] == {"alpha": "0.25", "lr": "0.01"}
    loss = [(m["step"], m["value"]) for m in record["metrics"] if m["key"] == "loss"]
    assert loss == [(0, 1.0), (1, 0.5), (2, 1 / 3)]
    assert all(m["timestamp"] > 1e9 for m in record["metrics"])
    assert record["tags"]["team"] == "wine"
    assert record["tags"]["mlrun.mlflow.run_id"] == run_id
    assert record["tags"]["mlrun.mlflow.tracking_uri"] == seen["tracking_uri"]
    artifacts = {a["path"]: a for a in record["artifacts"]}
    assert artifacts["notes/note.txt"]["size"] == len("hello from the code")
    (model,) = record["models"]
    assert model["flavors"] == ["python_function"] and model["mlflow_version"] == version
    assert (Path(record["run_dir"]) / "artifacts" / model["path"] / "MLmodel").is_file()
    if version == MLFLOW3:  # 3.x keeps a logged model with the model, not the run
        assert model["name"] == "model" and model["model_id"].startswith("m-")
    else:
        assert model["path"] == "model"
    # The nested run is a child run with its own metric.
    child = show(seen["child_id"])
    assert child["parent_run_id"] == run_id and child["run_name"] == "inner"
    assert child["status"] == "FINISHED" and child["tags"]["mlrun.kind"] == "mlflow"
    assert [(m["key"], m["value"]) for m in child["metrics"]] == [("inner_score", 0.5)]
    # Nothing was written into the project directory.
    assert listing(project) == before
    # The store stays an MLflow store: the client reads the run back, ended as mlrun ended it.
    back = read_back(record, seen["tracking_uri"], run_id)
    assert back["status"] == "FINISHED"
    assert back["params"] == {"alpha": "0.25", "lr": "0.01"}
    assert back["tags"]["mlflow.project.entryPoint"] == "main"
    assert back["tags"]["mlflow.source.type"] == "PROJECT"
