"""What the Kubernetes tests share: the emulator with a kube config pointing at it, a
test Job controller (kmock runs none: the test plays the Job controller and the kubelet),
the registry the images go to, and a docker_env project on the local busybox image.

The controller reacts to every Job mlrun creates as `Script` says: a pod with the pod
template's labels, its log served, its container running, then terminated with an exit
code (or OOMKilled), or stuck waiting (ErrImagePull), or held until the test releases
it; and the Job's own condition (Complete / Failed with a reason) at the end."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import services
from tests.conftest import require_service
from tests.helpers import write_project
from tests.kube_emulator import NO_KMOCK, KubeEmulator, kmock_available

STEP = """\
import json, os, sys
print("hello from the pod", os.environ.get("MLRUN_RUN_ID"), flush=True)
"""

MLPROJECT = """\
name: kube-test
docker_env:
  image: {image}
  environment: [["API_TOKEN", "t0ken-value-123"], "MLRUN_TEST_FROM_HOST"]
entry_points:
  main:
    parameters:
      code: {{type: int, default: 0}}
    command: "sh step.sh {{code}}"
"""
STEP_SH = 'echo "hello from the pod"\nexit "$1"\n'


FAILED_CONDITION = ("Failed", "BackoffLimitExceeded")


class Script:
    """What the test's controller does with a Job."""

    def __init__(
        self,
        *,
        log: str = "hello from the pod\n",
        exit_code: int = 0,
        reason: str | None = None,
        message: str = "",
        waiting: tuple[str, str] | None = None,
        hold: threading.Event | None = None,
        condition: tuple[str, str] | None = None,
    ) -> None:
        self.log = log
        self.exit_code = exit_code
        self.reason = reason or ("Completed" if exit_code == 0 else "Error")
        self.message = message  # the termination message (outputs.json)
        self.waiting = waiting  # (reason, message): the container never starts
        self.hold = hold  # running until set (or the Job is deleted)
        self.condition = condition  # the Job's condition; default from the exit code


class Controller:
    """Plays the Job controller and kubelet for every Job created in the emulator."""

    def __init__(self, kube: KubeEmulator, script: Callable[[dict[str, Any]], Script]) -> None:
        from kubernetes import client

        self.kube = kube
        self.script = script
        api = kube.api_client()
        self.batch, self.core = client.BatchV1Api(api), client.CoreV1Api(api)
        self.jobs: dict[str, dict[str, Any]] = {}  # name -> the Job as created
        self.pods: dict[str, str] = {}  # job name -> pod name
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> Controller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            for job in self._list("jobs"):
                name = job["metadata"]["name"]
                if name not in self.jobs:
                    self.jobs[name] = job
                    threading.Thread(target=self._play, args=(job,), daemon=True).start()
            self._stop.wait(0.02)

    def _list(self, kind: str) -> list[dict[str, Any]]:
        if kind == "jobs":
            response = self.batch.list_job_for_all_namespaces(_preload_content=False)
        else:
            response = self.core.list_secret_for_all_namespaces(_preload_content=False)
        return list(json.loads(response.data).get("items") or [])

    def exists(self, job: str, namespace: str = "default") -> bool:
        from kubernetes.client import ApiException

        try:
            self.batch.read_namespaced_job(job, namespace, _preload_content=False)
            return True
        except ApiException as exc:
            assert exc.status == 404
            return False

    def secrets(self) -> list[dict[str, Any]]:
        return self._list("secrets")

    def _play(self, job: dict[str, Any]) -> None:
        try:
            self._run_pod(job)
        except BaseException as exc:  # reported by the test through .errors
            self.errors.append(exc)

    def _run_pod(self, job: dict[str, Any]) -> None:
        meta = job["metadata"]
        name, namespace = meta["name"], meta["namespace"]
        script = self.script(job)
        template = job["spec"]["template"]
        container = template["spec"]["containers"][0]["name"]
        pod = f"{name}-x7k2p"
        self.pods[name] = pod
        self.core.create_namespaced_pod(
            namespace,
            {
                "metadata": {
                    "name": pod,
                    "namespace": namespace,
                    "labels": {**template["metadata"]["labels"], "job-name": name},
                },
                "spec": {**template["spec"], "nodeName": "kmock-node-1"},
            },
        )
        if script.waiting is not None:
            reason, message = script.waiting
            waiting = {"waiting": {"reason": reason, "message": message}}
            self._status(pod, namespace, "Pending", container, waiting)
            return
        self.kube.serve_log(namespace, pod, script.log)
        running = {"running": {"startedAt": "2026-01-01T00:00:00Z"}}
        self._status(pod, namespace, "Running", container, running)
        if script.hold is not None:
            while not script.hold.is_set() and self.exists(name, namespace):
                time.sleep(0.02)
            if not self.exists(name, namespace):
                return  # deleted: a real cluster's garbage collector removes the pod
        terminated: dict[str, Any] = {"exitCode": script.exit_code, "reason": script.reason}
        if script.message:
            terminated["message"] = script.message
        phase = "Succeeded" if script.exit_code == 0 else "Failed"
        self._status(pod, namespace, phase, container, {"terminated": terminated})
        ok = ("Complete", "Completed")
        kind, reason = script.condition or (ok if script.exit_code == 0 else FAILED_CONDITION)
        self.batch.patch_namespaced_job_status(
            name,
            namespace,
            {"status": {"conditions": [{"type": kind, "status": "True", "reason": reason,
                                        "message": f"Job {reason}"}]}},
        )  # fmt: skip

    def _status(
        self, pod: str, namespace: str, phase: str, container: str, state: dict[str, Any]
    ) -> None:
        self.core.patch_namespaced_pod_status(
            pod,
            namespace,
            {
                "status": {
                    "phase": phase,
                    "containerStatuses": [
                        {
                            "name": container,
                            "image": "x",
                            "imageID": "",
                            "ready": False,
                            "restartCount": 0,
                            "state": state,
                        }
                    ],
                }
            },
        )


def require_kube() -> None:
    require_service(kmock_available(), NO_KMOCK)


def registry() -> str:
    address = services.registry_address()
    require_service(address is not None, services.NO_REGISTRY)
    assert address is not None
    return address


def kube_project(root: Path, image: str, mlproject: str = MLPROJECT) -> Path:
    return write_project(root, mlproject.format(image=image), {"step.sh": STEP_SH})


def backend_config(path: Path, repository: str, **extra: Any) -> Path:
    path.write_text(json.dumps({"repository-uri": repository, **extra}))
    return path


@pytest.fixture
def kube(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[KubeEmulator]:
    """The emulator, with KUBECONFIG pointing at it (context "kmock")."""
    require_kube()
    with KubeEmulator() as emulator:
        monkeypatch.setenv("KUBECONFIG", str(emulator.write_kubeconfig(tmp_path / "kubeconfig")))
        yield emulator
