"""Runs as Kubernetes Jobs against kmock's emulator (the test plays the Job controller),
with the image really built by the docker engine and pushed to the CI's registry."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import Any

import pytest

from mlrun.cli.main import run_cli
from mlrun.tracking import open_store
from tests.helpers import spawn_mlrun, wait_until
from tests.kube.kubetools import Controller, Script, backend_config, kube_project, registry
from tests.kube_emulator import KubeEmulator

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


def _run(tmp_path: Path, root: Path, *args: str, **config: Any) -> int:
    return run_cli(["run", str(root), "-b", "kubernetes", "-c", _config(tmp_path, **config), *args])


def test_exit_3_is_passed_through_and_recorded_failed(
    tmp_path: Path, kube: KubeEmulator, busybox_image: str
) -> None:
    root = kube_project(tmp_path / "p", busybox_image)
    with Controller(kube, lambda job: Script(exit_code=3)) as controller:
        assert _run(tmp_path, root, "-P", "code=3") == 3
    assert not controller.errors
    (run,) = open_store().search_runs()
    assert (run.status, run.exit_code, run.status_reason) == (
        "FAILED",
        3,
        "the command exited with 3",
    )
    assert run.tags["mlrun.kubernetes.exit_code"] == "3"
    assert run.tags["mlrun.kubernetes.state"] == "Failed"
    (job,) = controller.jobs.values()
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["sh", "step.sh", "3"]


def test_an_oom_killed_container_fails_the_run_naming_the_memory_limit(
    tmp_path: Path, kube: KubeEmulator, busybox_image: str
) -> None:
    root = kube_project(tmp_path / "p", busybox_image)
    script = Script(exit_code=137, reason="OOMKilled")
    with Controller(kube, lambda job: script) as controller:
        assert _run(tmp_path, root, resources={"memory": "64Mi", "cpu": "500m"}) == 137
    (run,) = open_store().search_runs()
    assert (run.status, run.exit_code, run.status_reason) == (
        "FAILED",
        137,
        "the container ran out of memory (OOMKilled) (memory limit 64Mi)",
    )
    (job,) = controller.jobs.values()
    resources = job["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert resources["requests"] == {"cpu": "500m", "memory": "64Mi"}
    assert resources["limits"] == {"memory": "64Mi"}


def test_a_job_past_its_deadline_fails_with_the_reason(
    tmp_path: Path, kube: KubeEmulator, busybox_image: str
) -> None:
    root = kube_project(tmp_path / "p", busybox_image)
    script = Script(exit_code=143, condition=("Failed", "DeadlineExceeded"))
    with Controller(kube, lambda job: script) as controller:
        assert _run(tmp_path, root, active_deadline_seconds=5) == 143
    (run,) = open_store().search_runs()
    (job,) = controller.jobs.values()
    assert job["spec"]["activeDeadlineSeconds"] == 5
    assert (run.status, run.status_reason) == (
        "FAILED",
        f"Job {job['metadata']['name']} reached its activeDeadlineSeconds (5 s)",
    )


def test_an_image_pull_failure_is_reported_while_pending_and_fails_the_run(
    tmp_path: Path, kube: KubeEmulator, busybox_image: str, capfd: pytest.CaptureFixture[str]
) -> None:
    root = kube_project(tmp_path / "p", busybox_image)
    why = 'failed to pull image "x": manifest unknown'
    script = Script(waiting=("ErrImagePull", why))
    with Controller(kube, lambda job: script) as controller:
        assert _run(tmp_path, root, pending_timeout=0.5) == 125
    _, err = capfd.readouterr()
    (job,) = controller.jobs.values()
    name = job["metadata"]["name"]
    pod = controller.pods[name]
    assert f"pod {pod} is waiting: ErrImagePull: {why}" in err
    (run,) = open_store().search_runs()
    assert (run.status, run.exit_code, run.status_reason) == (
        "FAILED",
        125,
        f"the pod {pod} could not start: ErrImagePull: {why}",
    )
    assert not controller.exists(name)  # given up: the Job is deleted


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_mlrun_deletes_the_job_in_the_background_and_the_run_is_killed(
    tmp_path: Path, kube: KubeEmulator, busybox_image: str, signum: int
) -> None:
    import kmock

    root = kube_project(tmp_path / "p", busybox_image)
    hold = threading.Event()  # never set: the command runs until the Job goes
    with Controller(kube, lambda job: Script(log="started\n", hold=hold)) as controller:
        proc = spawn_mlrun("run", str(root), "-b", "kubernetes", "-c", _config(tmp_path))

        def running() -> bool:
            runs = open_store().search_runs()
            log = Path(runs[0].log_paths["stdout"]) if runs else None
            return log is not None and log.exists() and "started" in log.read_text()

        wait_until(running, "the pod's log in the run's log", timeout=120)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signum, err
    (run,) = open_store().search_runs()
    assert (run.status, run.exit_code) == ("KILLED", 128 + signum)
    (name,) = controller.jobs
    assert not controller.exists(name)
    deletes = list(kube.emulator["delete", kmock.resource("batch/v1", "jobs")])
    assert [d.params.get("propagationPolicy") for d in deletes] == ["Background"]
    assert controller.secrets() == []  # the run's Secret went with it
    assert run.tags["mlrun.kubernetes.state"] == "Deleted"
    assert "Traceback" not in err


def test_the_environment_and_tracking_credentials_travel_in_a_secret_deleted_with_the_run(
    tmp_path: Path,
    kube: KubeEmulator,
    busybox_image: str,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MLRUN_TEST_FROM_HOST", "from-host-value-456")
    # The URI and credentials as `mlflow run` takes them from its environment; no MLflow
    # run is made on that (unreachable) server by mlrun's interop.
    monkeypatch.setenv("MLRUN_MLFLOW", "off")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "https://mlflow.example.com")
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "ci-user")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "tracking-pass-789")
    root = kube_project(tmp_path / "p", busybox_image)
    seen: list[list[dict[str, Any]]] = []

    def script(job: dict[str, Any]) -> Script:
        seen.append(controller.secrets())  # while the Job runs
        return Script()

    with Controller(kube, script) as controller:
        assert _run(tmp_path, root) == 0
    assert not controller.errors
    (job,) = controller.jobs.values()
    name = job["metadata"]["name"]
    ((secret,),) = seen
    assert secret["metadata"]["name"] == f"{name}-env"
    assert secret["stringData"] == {
        "API_TOKEN": "t0ken-value-123",
        "MLRUN_TEST_FROM_HOST": "from-host-value-456",
        "MLFLOW_TRACKING_USERNAME": "ci-user",
        "MLFLOW_TRACKING_PASSWORD": "tracking-pass-789",
    }
    env = job["spec"]["template"]["spec"]["containers"][0]["env"]
    by_name = {e["name"]: e for e in env}
    for secret_name in secret["stringData"]:
        assert by_name[secret_name] == {
            "name": secret_name,
            "valueFrom": {"secretKeyRef": {"name": f"{name}-env", "key": secret_name}},
        }
    assert by_name["MLFLOW_TRACKING_URI"] == {
        "name": "MLFLOW_TRACKING_URI",
        "value": "https://mlflow.example.com",
    }
    (run,) = open_store().search_runs()
    written = json.dumps(job) + json.dumps(run.tags) + "".join(capfd.readouterr())
    for value in ("t0ken-value-123", "from-host-value-456", "tracking-pass-789"):
        assert value not in written
    assert controller.secrets() == []


def test_the_python_api_runs_on_kubernetes_with_a_config_mapping(
    tmp_path: Path, kube: KubeEmulator, busybox_image: str
) -> None:
    import mlrun
    from mlrun.errors import ExecutionError

    root = kube_project(tmp_path / "p", busybox_image)
    config = {"repository-uri": f"{registry()}/{REPOSITORY}", "namespace": "team-a"}
    with Controller(kube, lambda job: Script(exit_code=3)) as controller:
        with pytest.raises(ExecutionError, match="FAILED with exit code 3") as failed:
            mlrun.run(str(root), backend="kubernetes", backend_config=config)
    assert not controller.errors
    (job,) = controller.jobs.values()
    assert job["metadata"]["namespace"] == "team-a"
    run = open_store().get_run(failed.value.run_id)
    assert run.tags["mlrun.kubernetes.namespace"] == "team-a"
    assert (run.status, run.exit_code) == ("FAILED", 3)
