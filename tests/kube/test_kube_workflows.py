"""Workflows on Kubernetes: mlrun stays the driver, every executed step is a Job, and a
step's outputs.json comes back through the container's termination message, so a
later step's `${{ steps.S.outputs.K }}` is resolved on this side, as on Slurm."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlrun.tracking import open_store
from tests.helpers import write_project
from tests.kube.kubetools import Controller, Script, backend_config, registry
from tests.kube_emulator import KubeEmulator
from tests.workflow.wfhelpers import run_json, statuses

pytestmark = pytest.mark.docker

MLPROJECT = """\
name: kube-flow
docker_env:
  image: {image}
entry_points:
  prepare:
    command: "sh prepare.sh"
  train:
    parameters:
      rows: string
    command: "sh train.sh {{rows}}"
workflows:
  pipeline:
    steps:
      prepare:
        entry_point: prepare
      train:
        entry_point: train
        parameters:
          rows: "${{{{ steps.prepare.outputs.rows }}}}"
"""


def test_a_two_step_workflow_runs_each_step_as_a_job_and_passes_outputs(
    tmp_path: Path, kube: KubeEmulator, busybox_image: str
) -> None:
    root = write_project(
        tmp_path / "flow",
        MLPROJECT.format(image=busybox_image),
        {"prepare.sh": "echo prepared\n", "train.sh": 'echo "trained on $1"\n'},
    )
    config = str(backend_config(tmp_path / "kube.json", f"{registry()}/mlrun-test/kube-flow"))

    def script(job: dict[str, Any]) -> Script:
        command = job["spec"]["template"]["spec"]["containers"][0]["command"]
        if command == ["sh", "prepare.sh"]:  # the step writes outputs.json; it comes back
            return Script(log="prepared\n", message=json.dumps({"rows": "1000"}))
        return Script(log=f"trained on {command[-1]}\n", message=json.dumps({"score": 0.9}))

    with Controller(kube, script) as controller:
        first = run_json(root, "-e", "pipeline", "-b", "kubernetes", "-c", config)
        again = run_json(root, "-e", "pipeline", "-b", "kubernetes", "-c", config)
    assert not controller.errors
    assert statuses(first) == {"prepare": "finished", "train": "finished"}
    steps = open_store().search_runs(parent_run_id=first["run_id"], limit=None)
    assert len(steps) == 2 and len(controller.jobs) == 2  # one Job per step
    by_step = {run.entry_point: run for run in steps}
    for run in steps:
        job = controller.jobs[run.tags["mlrun.kubernetes.job"]]
        assert job["metadata"]["labels"]["mlrun/run-id"] == run.run_id
    train_job = controller.jobs[by_step["train"].tags["mlrun.kubernetes.job"]]
    assert train_job["spec"]["template"]["spec"]["containers"][0]["command"] == [
        "sh", "train.sh", "1000",
    ]  # fmt: skip
    assert by_step["prepare"].outputs == {"rows": "1000"}
    assert first["outputs"]["train"] == {"score": 0.9}
    assert Path(by_step["train"].log_paths["stdout"]).read_text() == "trained on 1000\n"
    assert statuses(again) == {"prepare": "cached", "train": "cached"}
    assert len(controller.jobs) == 2  # the rerun submitted nothing
