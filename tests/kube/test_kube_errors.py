"""What can go wrong before a run's Job runs: each one clear sentence; a bad config is
exit 2 before any record exists, and everything found once the run is recorded (no
docker_env, no kube config or context, an API server that does not answer or refuses
the Job, a registry that refuses the push: test_kube_registry.py) is exit 125 with the
run recorded FAILED."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlrun.tracking import open_store
from tests.helpers import CliResult, cli, write_project
from tests.kube.kubetools import Controller, Script, kube_project, registry, require_kube
from tests.kube_emulator import KubeEmulator

CONFIG = json.dumps({"repository-uri": "127.0.0.1:5000/mlrun-test/kube-errors"})
DOCKER_PROJECT = """\
name: p
docker_env: {image: "mlrun-test/busybox:1"}
entry_points:
  main: {command: "true"}
"""


def _error(result: CliResult, code: int) -> str:
    """The one-sentence error (its first line), after checking the exit code and that
    no traceback was shown."""
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    first = next(line for line in lines if line.startswith("mlrun: error: "))
    return first.removeprefix("mlrun: error: ")


def _failed_run(code: int = 125) -> Any:
    (run,) = open_store().search_runs()
    assert (run.status, run.exit_code) == ("FAILED", code)
    return run


def test_a_project_without_docker_env_is_refused_and_recorded(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", 'entry_points:\n  main: {command: "true"}\n')
    message = _error(cli("run", str(project), "-b", "kubernetes", "-c", CONFIG), 125)
    assert message == (
        "the Kubernetes backend runs docker_env projects, and this project has no "
        "docker_env (its environment is local)"
    )
    assert _failed_run().status_reason == message


def test_no_kube_config_is_one_sentence_and_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_kube()
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    project = write_project(tmp_path / "p", DOCKER_PROJECT)
    message = _error(cli("run", str(project), "-b", "kubernetes", "-c", CONFIG), 125)
    assert message == (
        f"no kube config was found ({tmp_path / 'absent'}), so mlrun does not know which "
        "Kubernetes cluster to run on"
    )
    _failed_run()


def test_an_unknown_context_names_the_ones_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_kube()
    kubeconfig = KubeEmulator().write_kubeconfig(tmp_path / "kubeconfig", context="staging")
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    project = write_project(tmp_path / "p", DOCKER_PROJECT)
    config = json.dumps({**json.loads(CONFIG), "kube-context": "prod"})
    message = _error(cli("run", str(project), "-b", "kubernetes", "-c", config), 125)
    assert (
        message == "the kube config has no context 'prod' (kube-context); its contexts: 'staging'"
    )
    _failed_run()


def test_an_api_server_that_does_not_answer_fails_before_any_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_kube()
    emulator = KubeEmulator()
    emulator.url = "http://127.0.0.1:9"  # nothing listens on the discard port
    monkeypatch.setenv("KUBECONFIG", str(emulator.write_kubeconfig(tmp_path / "kubeconfig")))
    project = write_project(tmp_path / "p", DOCKER_PROJECT)
    result = cli("run", str(project), "-b", "kubernetes", "-c", CONFIG)
    message = _error(result, 125)
    assert message == (
        "the Kubernetes API server at http://127.0.0.1:9 did not answer (connection refused)"
    )
    assert "building" not in result.stderr and "Retrying" not in result.stderr
    _failed_run()


@pytest.mark.parametrize(
    ("config", "needle"),
    [
        ({}, "the Kubernetes backend needs 'repository-uri' in its config"),
        ({"repository-uri": "r/x", "namspace": "a"}, "(did you mean 'namespace'?)"),
        ({"repository-uri": "r/x:tag"}, "Kubernetes setting 'repository-uri' must be"),
        ({"repository-uri": "r/x", "resources": {"memory": "lots"}}, "resources.memory"),
        ({"repository-uri": "r/x", "backoff_limit": -1}, "'backoff_limit' must be a whole"),
        ({"repository-uri": "r/x", "kube-job-template-path": "/absent.yaml"}, "does not exist"),
    ],
)
def test_a_bad_config_is_exit_2_before_anything_is_recorded(
    tmp_path: Path, config: dict[str, Any], needle: str
) -> None:
    project = write_project(tmp_path / "p", DOCKER_PROJECT)
    message = _error(cli("run", str(project), "-b", "kubernetes", "-c", json.dumps(config)), 2)
    assert needle in message
    assert open_store().search_runs() == []


def test_a_template_without_a_container_is_refused(tmp_path: Path) -> None:
    template = tmp_path / "job.yaml"
    template.write_text("apiVersion: batch/v1\nkind: Job\nspec: {template: {spec: {}}}\n")
    config = json.dumps({"repository-uri": "r/x", "kube-job-template-path": str(template)})
    project = write_project(tmp_path / "p", DOCKER_PROJECT)
    message = _error(cli("run", str(project), "-b", "kubernetes", "-c", config), 2)
    assert message == (
        f"the Kubernetes job template {template} (kube-job-template-path) has no container "
        "under spec.template.spec.containers"
    )


@pytest.mark.docker
def test_a_job_the_api_server_rejects_fails_with_its_message(
    tmp_path: Path, kube: KubeEmulator, busybox_image: str
) -> None:
    import kmock

    why = 'Job.batch "x" is invalid: spec.template.spec.containers[0].resources: quota exceeded'
    kube.in_loop(
        lambda: (
            kube.emulator["post", kmock.resource("batch/v1", "jobs")]
            << kmock.KubernetesError(status=422, reason="Invalid", message=why)
        )
    )
    root = kube_project(tmp_path / "p", busybox_image)
    config = json.dumps({"repository-uri": f"{registry()}/mlrun-test/kube-jobs"})
    with Controller(kube, lambda job: Script()) as controller:
        result = cli("run", str(root), "-b", "kubernetes", "-c", config)
    message = _error(result, 125)
    name = next(iter(controller.jobs), None) or message.split("Job ")[1].split(":")[0]
    assert message == f"the Kubernetes API server refused to create the Job {name}: {why}"
    assert _failed_run().status_reason == message
    assert controller.secrets() == []  # the Secret made for the Job went with it
