"""Runs as Kubernetes Jobs against kmock's emulator (the test plays the Job controller),
with the image really built by the docker engine and pushed to the CI's registry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlrun.cli.main import run_cli
from mlrun.tracking import open_store
from tests.kube_emulator import KubeEmulator
from tests.kubernetes.kubetools import Controller, Script, backend_config, kube_project, registry

pytestmark = pytest.mark.docker
REPOSITORY = "mlrun-test/kube-jobs"


def _config(tmp_path: Path, **extra: Any) -> str:
    return str(backend_config(tmp_path / "kube.json", f"{registry()}/{REPOSITORY}", **extra))


def test_a_job_that_succeeds_streams_its_log_and_records_the_job(
    tmp_path: Path, kube: KubeEmulator, busybox_image: str, capfd: pytest.CaptureFixture[str]
) -> None:
    root = kube_project(tmp_path / "p", busybox_image)
    with Controller(kube, lambda job: Script(log="epoch 1\nepoch 2\n")) as controller:
        code = run_cli(["run", str(root), "-b", "kubernetes", "-c", _config(tmp_path)])
    assert not controller.errors
    assert code == 0
    out, _ = capfd.readouterr()
    assert "epoch 1\nepoch 2\n" in out
    (run,) = open_store().search_runs()
    assert (run.status, run.exit_code) == ("FINISHED", 0)
    assert Path(run.log_paths["stdout"]).read_text() == "epoch 1\nepoch 2\n"
    (job,) = controller.jobs.values()
    assert run.tags["mlrun.kubernetes.job"] == job["metadata"]["name"]
    assert run.tags["mlrun.kubernetes.namespace"] == "default"
    assert run.tags["mlrun.kubernetes.pod"] == controller.pods[job["metadata"]["name"]]
    assert run.tags["mlrun.kubernetes.node"] == "kmock-node-1"
    assert run.tags["mlrun.kubernetes.exit_code"] == "0"
    image = job["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image.startswith(f"{registry()}/{REPOSITORY}:") and "@sha256:" in image
    assert run.tags["mlrun.kubernetes.image"] == image
    assert job["metadata"]["labels"]["mlrun/run-id"] == run.run_id
