"""The real MLflow client in a docker run: the embedded store is in the run directory
(mounted read-write at its own path), the code is mounted read-only and stays as it
was, and a tracking server on the host's loopback is reached from the container."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.dockerenv.runs import run_json
from tests.helpers import write_project
from tests.mlflowinterop.clientcode import TRAIN, check_landed, seen
from tests.mlflowinterop.conftest import CLIENTS, MLFLOW3, listing
from tests.mlflowinterop.images import ensure_mlflow_image
from tests.services import MlflowServer, read_mlflow_run

pytestmark = [
    pytest.mark.docker,
    pytest.mark.slow,
    pytest.mark.usefixtures("no_leftover_containers"),
]


def docker_project(root: Path, image: str) -> Path:
    return write_project(
        root,
        f"""\
        name: interop-docker
        docker_env:
          image: {image}
        entry_points:
          main:
            parameters:
              alpha: {{type: float, default: 0.5}}
            command: "python train.py --alpha {{alpha}}"
        """,
        {"train.py": TRAIN},
    )


@pytest.mark.parametrize("version", CLIENTS)
def test_everything_the_client_logs_in_a_container_lands_in_the_run(
    tmp_path: Path,
    docker_client: Any,
    python_image: str,
    version: str,
) -> None:
    project = docker_project(tmp_path / "p", ensure_mlflow_image(docker_client, version))
    before = listing(project)
    _, output, record = run_json(project, "-P", "alpha=0.25")
    assert record["env_kind"] == "docker"
    check_landed(record, output, version)
    assert listing(project) == before


def test_a_container_reaches_a_server_on_the_hosts_loopback(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    docker_client: Any,
    python_image: str,
    mlflow_server: MlflowServer,
) -> None:
    assert mlflow_server.url.startswith("http://127.0.0.1:")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.url)
    project = docker_project(tmp_path / "p", ensure_mlflow_image(docker_client, MLFLOW3))
    _, output, record = run_json(project, "-P", "alpha=0.25")
    run_id = record["mlflow"]["run_id"]
    assert seen(output)["run_id"] == run_id and seen(output)["tracking_uri"] == mlflow_server.url
    back = read_mlflow_run(mlflow_server.url, run_id)
    assert back["status"] == "FINISHED" and back["params"] == {"alpha": "0.25", "lr": "0.01"}
    assert back["history"]["loss"] == [[0, 1.0], [1, 0.5], [2, 1 / 3]]
    assert back["tags"]["mlflow.project.env"] == "docker" and back["tags"]["team"] == "wine"
    assert "notes/note.txt" in back["artifacts"]
