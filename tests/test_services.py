"""Each CI service works end to end through the helpers tests use to find it
(tests/services.py, tests/chromium.py, tests/kube_emulator.py). Without a service these
skip; under MLRUN_REQUIRE_SERVICES=1 (CI) they fail."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import struct
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import services
from tests.conftest import require_service
from tests.docker_support import BUSYBOX, engine, ensure_busybox

# --------------------------------------------------------------------------- finders


def test_finders_answer_none_when_nothing_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = services.free_port()  # nothing listens there
    monkeypatch.setenv("MLRUN_TEST_POSTGRES_DSN", f"postgresql://u:p@127.0.0.1:{closed}/db")
    monkeypatch.setenv("MLRUN_TEST_REGISTRY", f"127.0.0.1:{closed}")
    monkeypatch.setenv("MLRUN_TEST_REGISTRY_AUTH", f"u:p@127.0.0.1:{closed}")
    monkeypatch.setenv("MLRUN_TEST_MLFLOW", str(tmp_path / "no-such-mlflow"))
    (tmp_path / "not-executable").write_text("")
    monkeypatch.setenv("MLRUN_TEST_CHROMIUM", str(tmp_path / "not-executable"))
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch, no scontrol
    assert services.postgres_dsn() is None
    assert services.registry_address() is None
    assert services.auth_registry() is None
    assert services.mlflow_executable() is None
    assert services.mlflow_python() is None
    assert services.chromium_executable() is None
    assert services.slurm_available() is False


# ------------------------------------------------------------------------------ Slurm


def _run(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


def _sacct(job_id: str) -> tuple[str, str]:
    """(State, ExitCode) of a finished job from accounting, which slurmctld sends to
    slurmdbd shortly after the job ends."""
    deadline = time.monotonic() + 60
    row = ""
    while time.monotonic() < deadline:
        out = _run("sacct", "-X", "-n", "-P", "-j", job_id, "-o", "State,ExitCode").stdout
        row = out.strip()
        if row and row.split("|")[0].split()[0] not in {"PENDING", "RUNNING", "COMPLETING"}:
            state, exit_code = row.split("|")
            return state.split()[0], exit_code  # "CANCELLED by 0" -> "CANCELLED"
        time.sleep(0.5)
    raise AssertionError(f"sacct has no final state for job {job_id}: {row!r}")


def _scontrol_job(job_id: str) -> dict[str, str]:
    out = _run("scontrol", "show", "job", "-o", job_id).stdout
    return dict(f.split("=", 1) for f in out.split() if "=" in f)


@pytest.fixture
def slurm() -> None:
    require_service(services.slurm_available(), services.NO_SLURM)


@pytest.mark.slow  # a real service: Slurm
@pytest.mark.usefixtures("slurm")
def test_slurm_batch_job_passes_exit_code_state_and_output(tmp_path: Path) -> None:
    script = tmp_path / "job.sh"
    script.write_text(
        '#!/bin/sh\necho "hello from $SLURM_JOB_ID on $SLURM_JOB_PARTITION"\nexit 3\n'
    )
    proc = _run(
        "sbatch", "--parsable", "--wait", "-p", "batch", "-J", "mlrun-services-test",
        "-o", str(tmp_path / "out.txt"), str(script),
    )  # fmt: skip
    assert proc.returncode == 3, proc.stderr  # sbatch --wait exits with the job's code
    job_id = proc.stdout.strip().split(";")[0]
    job = _scontrol_job(job_id)
    assert (job["JobState"], job["ExitCode"], job["Partition"]) == ("FAILED", "3:0", "batch")
    assert _sacct(job_id) == ("FAILED", "3:0")
    assert (tmp_path / "out.txt").read_text() == f"hello from {job_id} on batch\n"


@pytest.mark.slow  # a real service: Slurm
@pytest.mark.usefixtures("slurm")
def test_slurm_scancel_ends_a_running_job_cancelled() -> None:
    job_id = _run("sbatch", "--parsable", "-o", "/dev/null", "--wrap", "sleep 300").stdout.strip()
    assert job_id.isdigit()
    deadline = time.monotonic() + 60
    while _scontrol_job(job_id).get("JobState") != "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _run("scancel", job_id).returncode == 0
    while _run("squeue", "-h", "-j", job_id).stdout.strip() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _run("squeue", "-h", "-j", job_id).stdout.strip() == ""
    assert _sacct(job_id)[0] == "CANCELLED"


@pytest.mark.slow  # a real service: Slurm
@pytest.mark.usefixtures("slurm")
def test_slurm_job_over_its_memory_ends_out_of_memory() -> None:
    # tail holds a newline-free stream in memory, without end, against a 20 MB limit. One
    # process, no pipe: a writer into a pipe whose reader was killed keeps charging pipe
    # pages to the job's cgroup, and the kernel then killed slurmstepd itself, leaving the
    # job RUNNING forever (seen once in CI).
    proc = _run(
        "sbatch", "--parsable", "--mem=20M", "-o", "/dev/null", "--wrap", "tail /dev/zero"
    )  # fmt: skip
    job_id = proc.stdout.strip()
    assert job_id.isdigit(), proc.stderr
    plugin = _run("scontrol", "show", "config").stdout
    if "task/cgroup" in plugin:  # cgroup v1 memory controller: Slurm sees the OOM kill
        assert _sacct(job_id) == ("OUT_OF_MEMORY", "0:125")
    else:  # task/none: jobacct_gather kills the job with SIGKILL
        assert _sacct(job_id)[0] == "FAILED"


@pytest.mark.slow  # a real service: Slurm
@pytest.mark.usefixtures("slurm")
def test_slurm_urgent_partition_preempts_a_job() -> None:
    # Both jobs ask for the node's whole memory (cores are shared, memory is not), so the
    # job in the higher PriorityTier partition cancels the running one to start.
    memory = _run("sinfo", "-h", "-N", "-o", "%m").stdout.split()[0]
    sleeper = ("--parsable", f"--mem={memory}", "-o", "/dev/null", "--wrap", "sleep 120")
    low = _run("sbatch", *sleeper).stdout.strip()
    deadline = time.monotonic() + 60
    while _scontrol_job(low).get("JobState") != "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.2)
    high = _run("sbatch", "-p", "urgent", *sleeper[:-1], "true")
    assert high.returncode == 0, high.stderr
    assert _sacct(low) == ("PREEMPTED", "0:0")
    assert _sacct(high.stdout.strip()) == ("COMPLETED", "0:0")


@pytest.mark.slow  # a real service: Slurm
@pytest.mark.usefixtures("slurm")
def test_slurm_refuses_an_unknown_partition_and_runs_other_users() -> None:
    proc = _run("sbatch", "-p", "no-such-partition", "--wrap", "true")
    assert proc.returncode == 1
    assert "invalid partition" in proc.stderr.lower()
    if os.geteuid() != 0:
        return
    proc = _run(
        "runuser", "-u", "nobody", "--", "sbatch", "--parsable", "-D", "/",
        "-o", "/dev/null", "--wrap", 'test "$(id -un)" = nobody',
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert _sacct(proc.stdout.strip()) == ("COMPLETED", "0:0")


# ------------------------------------------------------------------------- PostgreSQL


@pytest.mark.slow  # a real service: PostgreSQL
def test_postgres_dsn_connects_with_its_password_only() -> None:
    dsn = services.postgres_dsn()
    require_service(dsn is not None, services.NO_POSTGRES)
    assert dsn is not None
    import psycopg

    table = f"services_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dsn, connect_timeout=10) as conn:
        conn.execute(f"CREATE TABLE {table} (id serial PRIMARY KEY, note text)")
        try:
            conn.execute(f"INSERT INTO {table} (note) VALUES (%s)", ("written by a test",))
            rows = conn.execute(f"SELECT note FROM {table}").fetchall()
        finally:
            conn.execute(f"DROP TABLE {table}")
    assert rows == [("written by a test",)]
    wrong = psycopg.conninfo.make_conninfo(dsn, password="not-the-password")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(wrong, connect_timeout=10).close()


# --------------------------------------------------------------------------- registry

_MANIFESTS = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
    ]
)


def _manifest_digest(address: str, repo: str, tag: str, auth: str = "") -> str:
    request = urllib.request.Request(f"http://{address}/v2/{repo}/manifests/{tag}", method="HEAD")
    request.add_header("Accept", _MANIFESTS)
    if auth:
        request.add_header("Authorization", auth)
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(response.headers["Docker-Content-Digest"])


def _push(client: Any, image: str, auth_config: dict[str, str] | None = None) -> tuple[str, str]:
    """(digest, error) of a push through the engine."""
    digest = error = ""
    for line in client.images.push(image, stream=True, decode=True, auth_config=auth_config):
        digest = line.get("aux", {}).get("Digest", digest)
        error = line.get("error", error)
    return digest, error


@pytest.fixture
def pushable_image() -> Iterator[tuple[Any, Any]]:
    """(docker client, a small local image) to tag and push."""
    client, why = engine()
    require_service(client is not None, why)
    problem = ensure_busybox(client)
    require_service(not problem, problem)
    yield client, client.images.get(BUSYBOX)
    client.close()


@contextlib.contextmanager
def _tagged(pushable: tuple[Any, Any], address: str) -> Iterator[tuple[str, str]]:
    """(repository, tag) of a fresh tag of the image for the registry at address."""
    client, image = pushable
    repo, tag = "mlrun-services-test/busybox", uuid.uuid4().hex[:12]
    image.tag(f"{address}/{repo}", tag)
    try:
        yield repo, tag
    finally:
        client.images.remove(f"{address}/{repo}:{tag}")


@pytest.mark.docker
def test_registry_push_is_readable_by_digest(pushable_image: tuple[Any, Any]) -> None:
    address = services.registry_address()
    require_service(address is not None, services.NO_REGISTRY)
    assert address is not None
    client = pushable_image[0]
    with _tagged(pushable_image, address) as (repo, tag):
        digest, error = _push(client, f"{address}/{repo}:{tag}")
        assert error == ""
        assert digest.startswith("sha256:")
        assert _manifest_digest(address, repo, tag) == digest
        pushed = client.images.get(f"{address}/{repo}:{tag}")
        assert f"{address}/{repo}@{digest}" in pushed.attrs["RepoDigests"]


@pytest.mark.docker
def test_auth_registry_refuses_anonymous_pushes(pushable_image: tuple[Any, Any]) -> None:
    login = services.auth_registry()
    require_service(login is not None, services.NO_AUTH_REGISTRY)
    assert login is not None
    client = pushable_image[0]
    with _tagged(pushable_image, login.address) as (repo, tag):
        image = f"{login.address}/{repo}:{tag}"
        digest, error = _push(client, image)
        assert (digest, error) == ("", "no basic auth credentials")
        creds = {"username": login.username, "password": login.password}
        digest, error = _push(client, image, auth_config=creds)
        assert error == ""
        basic = base64.b64encode(f"{login.username}:{login.password}".encode()).decode()
        assert _manifest_digest(login.address, repo, tag, f"Basic {basic}") == digest


# ----------------------------------------------------------------------------- MLflow


def _mlflow_api(url: str, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{url}/api/2.0/mlflow/{endpoint}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        result: dict[str, Any] = json.loads(response.read() or b"{}")
        return result


@pytest.mark.slow
def test_mlflow_server_takes_a_run_over_rest_and_mlflowclient_reads_it(
    mlflow_server: services.MlflowServer,
) -> None:
    url = mlflow_server.url
    name = f"services-test-{uuid.uuid4().hex[:8]}"
    experiment_id = _mlflow_api(url, "experiments/create", {"name": name})["experiment_id"]
    now = int(time.time() * 1000)
    run = _mlflow_api(
        url, "runs/create", {"experiment_id": experiment_id, "start_time": now, "run_name": "r"}
    )["run"]["info"]
    run_id = run["run_id"]
    _mlflow_api(
        url,
        "runs/log-batch",
        {
            "run_id": run_id,
            "params": [{"key": "alpha", "value": "0.5"}],
            "metrics": [
                {"key": "rmse", "value": v, "timestamp": now, "step": s}
                for s, v in enumerate([0.9, 0.7])
            ],
            "tags": [{"key": "team", "value": "ml"}],
        },
    )
    # An artifact through the server's artifact proxy, where the run's artifact_uri says.
    assert run["artifact_uri"] == f"mlflow-artifacts:/{experiment_id}/{run_id}/artifacts"
    upload = urllib.request.Request(
        f"{url}/api/2.0/mlflow-artifacts/artifacts/{experiment_id}/{run_id}/artifacts/notes.txt",
        data=b"hello",
        method="PUT",
    )
    urllib.request.urlopen(upload, timeout=30).close()
    _mlflow_api(url, "runs/update", {"run_id": run_id, "status": "FINISHED", "end_time": now})

    read = services.read_mlflow_run(url, run_id)
    assert read["status"] == "FINISHED"
    assert read["experiment_id"] == experiment_id
    assert read["params"] == {"alpha": "0.5"}
    assert read["metrics"] == {"rmse": 0.7}
    assert read["tags"]["team"] == "ml"
    assert read["artifacts"] == ["notes.txt"]


@pytest.mark.slow
def test_serve_mlflow_stops_its_server(tmp_path: Path) -> None:
    require_service(services.mlflow_executable() is not None, services.NO_MLFLOW)
    with services.serve_mlflow(tmp_path / "server") as server:
        assert server.healthy()
        group = server.process.pid  # the server leads its own process group
        assert len(_live_members(group)) >= 2  # the CLI and its uvicorn worker
    assert _live_members(group) == []
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{server.url}/health", timeout=5)


def _live_members(pgid: int) -> list[int]:
    """Pids of processes in group pgid that are not zombies (PID 1 here does not reap)."""
    members = []
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


# --------------------------------------------------------------------------- Chromium

_PAGE = """<!doctype html><html><head><title>page</title></head><body>
<h1>static</h1><div id="chart"></div>
<script>
setTimeout(() => {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("width", "300"); svg.setAttribute("height", "120");
  for (const [i, h] of [40, 90, 60].entries()) {
    const bar = document.createElementNS(ns, "rect");
    bar.setAttribute("x", 20 + i * 90); bar.setAttribute("y", 120 - h);
    bar.setAttribute("width", 60); bar.setAttribute("height", h);
    bar.setAttribute("fill", "steelblue");
    svg.appendChild(bar);
  }
  document.getElementById("chart").appendChild(svg);
}, 100);
</script></body></html>
"""


@pytest.mark.slow  # a real service: Chromium
def test_chromium_renders_a_pages_own_elements(tmp_path: Path) -> None:
    exe = services.chromium_executable()
    require_service(exe is not None, services.NO_CHROMIUM)
    assert exe is not None
    from tests.chromium import ChromiumPage

    page_file = tmp_path / "page.html"
    page_file.write_text(_PAGE)
    with ChromiumPage(exe, tmp_path / "profile", width=640, height=480) as page:
        page.open(page_file.as_uri())
        assert page.wait_for("document.querySelectorAll('#chart svg rect').length") == 3
        heights = page.evaluate(
            "[...document.querySelectorAll('rect')].map(r => r.getBoundingClientRect().height)"
        )
        shot = page.screenshot(tmp_path / "page.png")
        assert page.errors == []
    assert heights == [40, 90, 60]
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (640, 480)  # IHDR width, height


# --------------------------------------------------------------------- Kubernetes (kmock)


@pytest.mark.slow  # a real service: kmock's API server
def test_kmock_serves_jobs_pods_statuses_and_logs_to_the_kubernetes_client(
    tmp_path: Path,
) -> None:
    from tests.kube_emulator import NO_KMOCK, KubeEmulator, kmock_available

    require_service(kmock_available(), NO_KMOCK)
    from kubernetes import client, config

    with KubeEmulator() as kube:
        kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig", context="ci")
        api = config.new_client_from_config(config_file=str(kubeconfig), context="ci")
        batch, core = client.BatchV1Api(api), client.CoreV1Api(api)
        container = {"name": "main", "image": "reg/x@sha256:" + "0" * 64, "command": ["true"]}
        pod_spec = {"restartPolicy": "Never", "containers": [container]}
        job = {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "run-1", "namespace": "default", "labels": {"run": "1"}},
            "spec": {"backoffLimit": 0, "template": {"spec": pod_spec}},
        }
        batch.create_namespaced_job("default", job)
        read = batch.read_namespaced_job("run-1", "default")
        assert read.metadata.labels == {"run": "1"}
        assert read.spec.template.spec.containers[0].image == container["image"]

        # The test plays the Job controller and the kubelet.
        pod = {"metadata": {"name": "run-1-abc", "namespace": "default"}, "spec": pod_spec}
        core.create_namespaced_pod("default", pod)
        terminated = {"exitCode": 3, "reason": "Error"}
        status = {"phase": "Failed", "containerStatuses": [
            {"name": "main", "image": "x", "imageID": "", "ready": False, "restartCount": 0,
             "state": {"terminated": terminated}},
        ]}  # fmt: skip
        core.patch_namespaced_pod_status("run-1-abc", "default", {"status": status})
        batch.patch_namespaced_job_status(
            "run-1", "default", {"status": {"failed": 1, "conditions": [
                {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]}},
        )  # fmt: skip
        kube.serve_log("default", "run-1-abc", "epoch 1\nepoch 2\n")

        pod_read = core.read_namespaced_pod("run-1-abc", "default")
        assert pod_read.status.container_statuses[0].state.terminated.exit_code == 3
        job_read = batch.read_namespaced_job_status("run-1", "default")
        assert job_read.status.conditions[0].reason == "BackoffLimitExceeded"
        assert core.read_namespaced_pod_log("run-1-abc", "default") == "epoch 1\nepoch 2\n"

        batch.delete_namespaced_job("run-1", "default", propagation_policy="Background")
        with pytest.raises(client.ApiException) as gone:
            batch.read_namespaced_job("run-1", "default")
        assert gone.value.status == 404
