"""The embedded store with the real MLflow client in a uv env: everything the code logs
lands in mlrun's run, and nothing is written into the project."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.dockerenv.runs import run_json
from tests.mlflowinterop.clientcode import TRAIN, check_landed
from tests.mlflowinterop.conftest import CLIENTS, client_project, listing

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
    seen = check_landed(record, output, version)
    assert listing(project) == before  # nothing was written into the project
    # The store stays an MLflow store: the client reads the run back, ended as mlrun ended it.
    back = read_back(record, seen["tracking_uri"], record["run_id"])
    assert back["status"] == "FINISHED"
    assert back["params"] == {"alpha": "0.25", "lr": "0.01"}
    assert back["tags"]["mlflow.project.entryPoint"] == "main"
    assert back["tags"]["mlflow.source.type"] == "PROJECT"
