"""A real `mlflow server` for the interop tests, from the tool venv (PyPI `mlflow`) at
MLRUN_TEST_MLFLOW (default /opt/mlrun-ci/mlflow/bin/mlflow), and runs read back with
that venv's MlflowClient.

Stand-in until tests/services.py (branch wip-services) is merged: same names
(mlflow_executable, mlflow_python, serve_mlflow, read_mlflow_run), to be replaced by
imports from there."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

DEFAULT_MLFLOW = "/opt/mlrun-ci/mlflow/bin/mlflow"
NO_MLFLOW = (
    f"no MLflow tool venv (MLRUN_TEST_MLFLOW, default {DEFAULT_MLFLOW}): "
    "python3 -m venv /opt/mlrun-ci/mlflow && /opt/mlrun-ci/mlflow/bin/pip install mlflow"
)


def mlflow_executable() -> str | None:
    path = os.environ.get("MLRUN_TEST_MLFLOW") or DEFAULT_MLFLOW
    return path if os.access(path, os.X_OK) else None


def mlflow_python() -> str | None:
    exe = mlflow_executable()
    python = Path(exe).with_name("python") if exe else None
    return str(python) if python is not None and os.access(python, os.X_OK) else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "MLRUN_"))}
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
    env.update(extra or {})
    return env


class MlflowServer:
    def __init__(self, root: Path, url: str, process: subprocess.Popen[bytes]) -> None:
        self.root, self.url, self.process = root, url, process

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                return bool(response.read().strip() == b"OK")
        except (OSError, ValueError):
            return False

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@contextlib.contextmanager
def serve_mlflow(
    root: Path,
    *,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
) -> Iterator[MlflowServer]:
    """`mlflow server` on a free loopback port: SQLite backend, artifacts served, under
    root (also its working directory: the basic-auth app keeps its users there)."""
    exe = mlflow_executable()
    if exe is None:
        raise RuntimeError(NO_MLFLOW)
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    argv = [exe, "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    argv += ["--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}"]
    argv += ["--artifacts-destination", str(root / "artifacts"), *args]
    with (root / "server.log").open("wb") as log:
        process = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=_clean_env(env),
            cwd=root,
            start_new_session=True,
        )
    server = MlflowServer(root, f"http://127.0.0.1:{port}", process)
    try:
        deadline = time.monotonic() + timeout
        while not server.healthy():
            if process.poll() is not None or time.monotonic() > deadline:
                tail = (root / "server.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"mlflow server did not come up:\n{tail}")
            time.sleep(0.2)
        yield server
    finally:
        server.stop()


_READ_RUN = """
import json, sys
from mlflow.tracking import MlflowClient

client = MlflowClient(tracking_uri=sys.argv[1])
run = client.get_run(sys.argv[2])

def walk(path=None):
    for item in client.list_artifacts(run.info.run_id, path):
        yield from walk(item.path) if item.is_dir else [item.path]

print(json.dumps({
    "status": run.info.status,
    "end_time": run.info.end_time,
    "experiment_id": run.info.experiment_id,
    "params": run.data.params,
    "metrics": run.data.metrics,
    "history": {k: [(m.step, m.value) for m in client.get_metric_history(run.info.run_id, k)]
                for k in run.data.metrics},
    "tags": run.data.tags,
    "artifacts": sorted(walk()),
}))
"""


def read_mlflow_run(url: str, run_id: str, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A run as the real MlflowClient of the tool venv reads it from the server."""
    python = mlflow_python()
    if python is None:
        raise RuntimeError(NO_MLFLOW)
    proc = subprocess.run(
        [python, "-c", _READ_RUN, url, run_id],
        capture_output=True,
        text=True,
        env=_clean_env(env),
        timeout=300,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"MlflowClient could not read run {run_id}:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout)
    return result
