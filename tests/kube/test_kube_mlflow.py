"""MLflow users bring their Kubernetes configuration unchanged: MLflow's own example
backend config and job template (tests/data/kubernetes, from MLflow's docs) produce the
Job MLflow would submit, checked field by field against MLflow's documented rules:

- metadata.name: the project's name and something unique; the namespace the template's;
- containers[0].name: the project's name; .image: the pushed image with its digest
  (`<repository-uri>:<tag>@sha256:...`); .command: the entry point's command, its words;
- containers[0].env: the template's own, then MLFLOW_RUN_ID, MLFLOW_TRACKING_URI
  (KUBE_MLFLOW_TRACKING_URI when set) and MLFLOW_EXPERIMENT_ID, in that order;
- everything else as the template has it.

The template's `env: ["{appended with ...}"]` is a placeholder in MLflow's docs (an API
server would refuse a string there); mlrun drops it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from mlrun.cli.main import run_cli
from mlrun.tracking import open_store
from tests.conftest import REPO
from tests.helpers import write_project
from tests.kube.kubetools import Controller, Script, registry, require_kube
from tests.kube_emulator import KubeEmulator

pytestmark = pytest.mark.docker
EXAMPLES = REPO / "tests" / "data" / "kubernetes"
# MLflow's docker example project (examples/docker): its name and entry point.
MLPROJECT = """\
name: docker-example
docker_env:
  image: {image}
entry_points:
  main:
    parameters:
      alpha: float
      l1_ratio: {{type: float, default: 0.1}}
    command: "python train.py --alpha {{alpha}} --l1-ratio {{l1_ratio}}"
"""


def test_mlflows_example_config_and_template_give_the_job_mlflow_would_submit(
    tmp_path: Path, busybox_image: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_kube()
    config = json.loads((EXAMPLES / "kubernetes_config.json").read_text())
    template = yaml.safe_load((EXAMPLES / "kubernetes_job_template.yaml").read_text())
    # Pointed at the test's cluster, registry and files; the keys are MLflow's.
    assert sorted(config) == ["kube-context", "kube-job-template-path", "repository-uri"]
    repository = f"{registry()}/{config['repository-uri']}"
    config["repository-uri"] = repository
    config["kube-job-template-path"] = str(EXAMPLES / "kubernetes_job_template.yaml")
    config_file = tmp_path / "kubernetes_config.json"
    config_file.write_text(json.dumps(config))
    monkeypatch.setenv("KUBE_MLFLOW_TRACKING_URI", "http://mlflow.mlflow.svc:5000")
    monkeypatch.setenv("MLFLOW_EXPERIMENT_ID", "7")
    monkeypatch.setenv("MLRUN_MLFLOW", "off")  # the values above, not a tracker's
    root = write_project(tmp_path / "docker-example", MLPROJECT.format(image=busybox_image))
    (root / "train.py").write_text("print('training')\n")
    with KubeEmulator() as kube:
        kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig", context="docker-for-desktop")
        monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
        with Controller(kube, lambda job: Script(log="training\n")) as controller:
            args = ["run", str(root), "-b", "kubernetes", "--backend-config", str(config_file)]
            assert run_cli([*args, "-P", "alpha=0.5"]) == 0
    assert not controller.errors
    (run,) = open_store().search_runs()
    (job,) = controller.jobs.values()

    assert re.fullmatch(r"docker-example-[0-9a-f]{32}", job["metadata"]["name"])
    assert job["metadata"]["namespace"] == template["metadata"]["namespace"] == "mlflow"
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["name"] == "docker-example"
    reference, _, digest = container["image"].partition("@")
    assert re.fullmatch(re.escape(repository) + r":[0-9a-f]{20}", reference)
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest)
    assert container["command"] == [
        "python", "train.py", "--alpha", "0.5", "--l1-ratio", "0.1",
    ]  # fmt: skip
    assert container["env"][:3] == [
        {"name": "MLFLOW_RUN_ID", "value": run.run_id},
        {"name": "MLFLOW_TRACKING_URI", "value": "http://mlflow.mlflow.svc:5000"},
        {"name": "MLFLOW_EXPERIMENT_ID", "value": "7"},
    ]
    assert all(not e["name"].startswith("MLFLOW_") for e in container["env"][3:])
    # The rest is the template's.
    assert (
        container["resources"] == template["spec"]["template"]["spec"]["containers"][0]["resources"]
    )
    assert job["spec"]["ttlSecondsAfterFinished"] == 100
    assert job["spec"]["backoffLimit"] == 0
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert job["apiVersion"] == "batch/v1" and job["kind"] == "Job"
    assert run.tags["mlrun.kubernetes.context"] == "docker-for-desktop"
    assert Path(run.log_paths["stdout"]).read_text() == "training\n"
