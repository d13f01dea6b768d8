"""Workflows: the workflow run is the parent MLflow run, each executed step a nested run
(`mlflow.parentRunId`), a cached step is not logged again, and a step that used the
MLflow client stays cached on rerun (its store is in the run directory, not in the
project)."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import write_project
from tests.mlflowinterop.clientcode import TRAIN
from tests.mlflowinterop.conftest import MLFLOW3, listing, python_env
from tests.services import MlflowServer, mlflow_python
from tests.workflow.wfhelpers import run_json, statuses

WORKFLOW = """\
name: interop-flow
python_env: python_env.yaml
entry_points:
  train:
    command: "python train.py"
  report:
    parameters:
      loss_run: string
    command: "python -c 'print(\\"report of {loss_run}\\")'"
workflows:
  flow:
    steps:
      train:
        entry_point: train
      report:
        entry_point: report
        parameters: {loss_run: "${{ steps.train.run_id }}"}
"""

pytestmark = pytest.mark.slow  # a real mlflow server, real mlrun runs


def flow_project(root: Path) -> Path:
    # A unique comment: the step cache is keyed by content, and tests share one store.
    code = f"# {uuid.uuid4().hex}\n" + TRAIN
    return write_project(root, WORKFLOW, {"python_env.yaml": python_env(MLFLOW3), "train.py": code})


def show(run_id: str) -> dict[str, Any]:
    from tests.dockerenv.runs import show as show_run

    return show_run(run_id)


def test_a_step_that_used_the_client_is_nested_and_stays_cached(tmp_path: Path) -> None:
    project = flow_project(tmp_path / "p")
    before = listing(project)
    first = run_json(project, "-e", "flow")
    assert statuses(first) == {"train": "finished", "report": "finished"}
    steps = {s["name"]: s for s in first["steps"]}
    train = show(steps["train"]["run_id"])
    assert train["parent_run_id"] == first["run_id"]
    assert [m["key"] for m in train["metrics"]].count("loss") == 3 and train["models"]
    meta_tags = Path(train["run_dir"]) / "mlflow" / "0" / train["run_id"] / "tags"
    assert (meta_tags / "mlflow.parentRunId").read_text() == first["run_id"]
    second = run_json(project, "-e", "flow")
    assert statuses(second) == {"train": "cached", "report": "cached"}
    assert {s["name"]: s["run_id"] for s in second["steps"]} == {
        n: s["run_id"] for n, s in steps.items()
    }
    assert listing(project) == before


SEARCH = """\
import json, sys
from mlflow.tracking import MlflowClient
client = MlflowClient(sys.argv[1])
parent = client.get_run(sys.argv[2])
children = client.search_runs([parent.info.experiment_id],
                              f"tags.mlflow.parentRunId = '{sys.argv[2]}'")
print(json.dumps({"status": parent.info.status, "name": parent.info.run_name,
                  "children": {c.data.tags["mlflow.runName"]: c.info.status for c in children}}))
"""

PLAIN = """\
name: plain-flow
entry_points:
  step:
    parameters: {name: string}
    command: "python -c 'print(\\"{name}\\")'"
workflows:
  flow:
    steps:
      a: {entry_point: step, parameters: {name: a-NONCE}}
      b: {entry_point: step, parameters: {name: "${{ steps.a.run_id }}"}}
"""


def children_on_server(server: MlflowServer, run_id: str) -> dict[str, Any]:
    python = mlflow_python()
    assert python is not None
    out = subprocess.run(
        [python, "-c", SEARCH, server.url, run_id],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    ).stdout
    data: dict[str, Any] = json.loads(out)
    return data


def test_on_a_server_steps_nest_under_the_workflow_run_and_cached_ones_are_not_logged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mlflow_server: MlflowServer
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.url)
    project = write_project(tmp_path / "p", PLAIN.replace("NONCE", uuid.uuid4().hex))
    first = run_json(project, "-e", "flow")
    parent = show(first["run_id"])["mlflow"]["run_id"]
    seen = children_on_server(mlflow_server, parent)
    assert seen["status"] == "FINISHED"
    assert seen["children"] == {"a": "FINISHED", "b": "FINISHED"}
    second = run_json(project, "-e", "flow")
    assert statuses(second) == {"a": "cached", "b": "cached"}
    parent2 = show(second["run_id"])["mlflow"]["run_id"]
    assert parent2 != parent
    again = children_on_server(mlflow_server, parent2)
    assert again["status"] == "FINISHED" and again["children"] == {}
    assert seen["name"].startswith("flow-") and again["name"].startswith("flow-")


def test_a_workflow_with_a_server_that_is_down_runs_no_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.helpers import mlrun
    from tests.services import free_port

    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    marker = tmp_path / "ran"
    project = write_project(
        tmp_path / "p",
        PLAIN.replace("NONCE", uuid.uuid4().hex).replace(
            'print(\\"{name}\\")', f'open(\\"{marker}\\", \\"w\\")'
        ),
    )
    assert str(marker) in (project / "MLproject").read_text()  # each step would write it
    proc = mlrun("run", str(project), "-e", "flow")
    assert proc.returncode == 125, proc.stderr
    assert f"cannot reach the MLflow tracking server at {url}" in proc.stderr
    assert not marker.exists() and "Traceback" not in proc.stderr
