"""The image part, for real: the docker engine builds the code image and pushes it to
the CI's registries (docs/services.md); the cluster side is kmock's emulator."""

from __future__ import annotations

import base64
import json
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from mlrun.cli.main import run_cli
from mlrun.tracking import open_store
from tests import services
from tests.conftest import require_service
from tests.kube.kubetools import Controller, Script, backend_config, kube_project, registry
from tests.kube_emulator import KubeEmulator

pytestmark = pytest.mark.docker
MANIFESTS = (
    "application/vnd.docker.distribution.manifest.v2+json,"
    "application/vnd.oci.image.manifest.v1+json"
)


def _registry_digest(address: str, repository: str, tag: str) -> str:
    request = urllib.request.Request(
        f"http://{address}/v2/{repository}/manifests/{tag}",
        method="HEAD",
        headers={"Accept": MANIFESTS},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(response.headers["Docker-Content-Digest"])


def _pushes(docker_client: Any, repository: str, since: float) -> list[str]:
    """The engine's push events for `repository` since `since` (their id: repo:tag)."""
    events = docker_client.events(
        since=int(since) - 1,
        until=int(time.time()) + 1,
        filters={"type": "image", "event": "push"},
        decode=True,
    )
    return [str(e["id"]) for e in events if str(e.get("id")).startswith(repository + ":")]


def test_a_second_run_pushes_nothing_and_runs_the_same_digest(
    tmp_path: Path, kube: KubeEmulator, busybox_image: str, docker_client: Any
) -> None:
    address = registry()
    name = f"mlrun-test/kube-{uuid.uuid4().hex[:12]}"
    repository = f"{address}/{name}"
    config = str(backend_config(tmp_path / "kube.json", repository))
    root = kube_project(tmp_path / "p", busybox_image)
    started = time.time()
    with Controller(kube, lambda job: Script()) as controller:
        for _ in range(2):
            assert run_cli(["run", str(root), "-b", "kubernetes", "-c", config]) == 0
        second, first = open_store().search_runs()
        (root / "step.sh").write_text('echo "changed"\n')
        assert run_cli(["run", str(root), "-b", "kubernetes", "-c", config]) == 0
    assert not controller.errors
    third = open_store().search_runs()[0]
    image = first.tags["mlrun.kubernetes.image"]
    tagged, _, digest = image.partition("@")
    tag = tagged.rpartition(":")[2]
    assert tagged == f"{repository}:{tag}" and digest.startswith("sha256:")
    assert _registry_digest(address, name, tag) == digest  # what the Job runs is there
    assert first.tags["mlrun.kubernetes.image_pushed"] == "true"
    assert second.tags["mlrun.kubernetes.image"] == image
    assert second.tags["mlrun.kubernetes.image_pushed"] == "false"
    jobs = list(controller.jobs.values())
    images = [job["spec"]["template"]["spec"]["containers"][0]["image"] for job in jobs]
    assert images[:2] == [image, image]
    # A changed file: a new content tag, pushed once, with its own digest.
    changed = third.tags["mlrun.kubernetes.image"]
    assert third.tags["mlrun.kubernetes.image_pushed"] == "true"
    assert changed.partition("@")[0] != tagged and changed.partition("@")[2] != digest
    # The engine saw exactly two pushes: the first run's and the changed code's.
    assert sorted(_pushes(docker_client, repository, started)) == sorted(
        [tagged, changed.partition("@")[0]]
    )


def test_registry_credentials_come_from_the_docker_config_and_appear_nowhere(
    tmp_path: Path,
    kube: KubeEmulator,
    busybox_image: str,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    login = services.auth_registry()
    require_service(login is not None, services.NO_AUTH_REGISTRY)
    assert login is not None
    repository = f"{login.address}/mlrun-test/kube-{uuid.uuid4().hex[:12]}"
    config = str(backend_config(tmp_path / "kube.json", repository))
    root = kube_project(tmp_path / "p", busybox_image)
    anonymous = tmp_path / "anonymous"
    anonymous.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(anonymous))
    with Controller(kube, lambda job: Script()) as controller:
        refused = run_cli(["run", str(root), "-b", "kubernetes", "-c", config])
        _, err = capfd.readouterr()
        logged_in = tmp_path / "docker-config"
        logged_in.mkdir()
        auth = base64.b64encode(f"{login.username}:{login.password}".encode()).decode()
        docker_config = {"auths": {login.address: {"auth": auth}}}
        (logged_in / "config.json").write_text(json.dumps(docker_config))
        monkeypatch.setenv("DOCKER_CONFIG", str(logged_in))
        assert run_cli(["run", str(root), "-b", "kubernetes", "-c", config]) == 0
    assert refused == 125
    first = err.splitlines()[-2] if err.splitlines()[-1].startswith("  hint") else err
    assert first.startswith(f"mlrun: error: the registry refused the push of {repository}:")
    assert "no basic auth credentials" in first
    done, failed = open_store().search_runs()
    assert (failed.status, failed.exit_code) == ("FAILED", 125)
    assert (done.status, done.exit_code) == ("FINISHED", 0)
    assert len(controller.jobs) == 1  # the refused run created no Job
    (job,) = controller.jobs.values()
    written = json.dumps(job) + json.dumps(done.tags) + err + "".join(capfd.readouterr())
    written += Path(done.log_paths["combined"]).read_text()
    assert login.password not in written and auth not in written
