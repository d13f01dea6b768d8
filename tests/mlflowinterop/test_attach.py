"""--run-id and --experiment-id with an MLflow tracking server, as `mlflow run` takes
them (issue 12 item 3): the ids are the server's. A run created beforehand on the
server (here through the REST API, as MlflowClient.create_run does) is the one the
command logs into and that mlrun finishes; its experiment is the run's."""

from __future__ import annotations

import json
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.dockerenv.runs import run_json
from tests.helpers import cli, write_project
from tests.services import MlflowServer, read_mlflow_run

pytestmark = pytest.mark.slow  # a real mlflow server

_SHOW = """\
import os
print("SEEN", os.environ["MLFLOW_RUN_ID"], os.environ["MLFLOW_EXPERIMENT_ID"])
"""


def _post(server: MlflowServer, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{server.url}/api/2.0/mlflow/{endpoint}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        result: dict[str, Any] = json.loads(response.read())
        return result


def _project(root: Path) -> Path:
    return write_project(
        root,
        """\
        entry_points:
          main:
            parameters: {alpha: {type: float, default: 0.5}}
            command: "python show.py --alpha {alpha}"
        """,
        {"show.py": _SHOW},
    )


def _experiment(server: MlflowServer) -> tuple[str, str]:
    name = f"exp-{uuid.uuid4().hex[:8]}"
    return _post(server, "experiments/create", {"name": name})["experiment_id"], name


def test_run_id_attaches_to_a_server_run_created_beforehand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mlflow_server: MlflowServer
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.url)
    experiment_id, name = _experiment(mlflow_server)
    created = _post(
        mlflow_server, "runs/create", {"experiment_id": experiment_id, "run_name": "planned"}
    )
    run_id = created["run"]["info"]["run_id"]

    _, output, record = run_json(_project(tmp_path / "p"), "--run-id", run_id, "-P", "alpha=0.3")
    assert f"SEEN {run_id} {experiment_id}" in output  # the command logs into that run
    assert record["run_id"] == run_id and record["experiment"] == name
    assert record["mlflow"]["run_id"] == run_id
    back = read_mlflow_run(mlflow_server.url, run_id)
    assert back["status"] == "FINISHED" and back["experiment_id"] == experiment_id
    assert back["params"]["alpha"] == "0.3"
    assert back["tags"]["mlflow.runName"] == "planned"  # its creator's name stays
    assert back["tags"]["mlflow.source.type"] == "PROJECT"

    again = cli("run", str(tmp_path / "p"), "--run-id", run_id)
    assert again.returncode == 2 and "already holds that run" in again.stderr


def test_unknown_server_run_and_experiment_are_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mlflow_server: MlflowServer
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.url)
    project = _project(tmp_path / "p")
    missing = cli("run", str(project), "--run-id", uuid.uuid4().hex)
    assert missing.returncode == 2
    assert "has no such run to attach to" in missing.stderr
    unknown = cli("run", str(project), "--experiment-id", "987654")
    assert unknown.returncode == 2
    assert "no experiment has the id '987654' on the MLflow tracking server" in unknown.stderr
    experiment_id, _ = _experiment(mlflow_server)
    other = _post(mlflow_server, "runs/create", {"experiment_id": experiment_id})
    clash = cli(
        "run", str(project), "--run-id", other["run"]["info"]["run_id"],
        "--experiment-name", "elsewhere",
    )  # fmt: skip
    assert clash.returncode == 2 and "an attached run stays in its own" in clash.stderr


def test_experiment_id_is_the_servers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mlflow_server: MlflowServer
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.url)
    experiment_id, name = _experiment(mlflow_server)
    _, output, record = run_json(_project(tmp_path / "p"), "--experiment-id", experiment_id)
    assert record["experiment"] == name
    mlflow_run = record["mlflow"]["run_id"]
    assert f"SEEN {mlflow_run} {experiment_id}" in output
    assert read_mlflow_run(mlflow_server.url, mlflow_run)["experiment_id"] == experiment_id
