"""Where tests find the real services CI runs (see docs/services.md).

`.ci/start-services` starts them on loopback and publishes their addresses in
/var/lib/mlrun-ci/services.env; an environment variable of the same name wins over that
file. Each finder returns None (False for Slurm) when its service does not answer, so a
test writes::

    dsn = postgres_dsn()
    require_service(dsn is not None, NO_POSTGRES)

The MLflow tracking server is not a standing service: `serve_mlflow()` starts one from
the tool venv for as long as a test (or the session fixture `mlflow_server` in
tests/conftest.py) needs it."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

SERVICES_ENV = Path(os.environ.get("MLRUN_TEST_SERVICES_ENV", "/var/lib/mlrun-ci/services.env"))
DEFAULT_MLFLOW = "/opt/mlrun-ci/mlflow/bin/mlflow"
DEFAULT_REGISTRY = "127.0.0.1:5000"

_HOW = "run .ci/start-services as root (after .ci/install-system-packages)"
NO_MLFLOW = f"no MLflow tool venv (MLRUN_TEST_MLFLOW, default {DEFAULT_MLFLOW}): {_HOW}"
NO_POSTGRES = f"no PostgreSQL answers at MLRUN_TEST_POSTGRES_DSN: {_HOW}"
NO_REGISTRY = f"no docker registry answers at MLRUN_TEST_REGISTRY ({DEFAULT_REGISTRY}): {_HOW}"
NO_AUTH_REGISTRY = f"no basic-auth docker registry answers at MLRUN_TEST_REGISTRY_AUTH: {_HOW}"
NO_SLURM = f"no Slurm cluster answers (sbatch, scontrol ping, a node up): {_HOW}"
NO_CHROMIUM = "no Chromium (MLRUN_TEST_CHROMIUM or `chromium` on PATH): apt-get install chromium"

# Flags that run Chromium headless here, as root, without touching the network.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


@functools.cache
def _published() -> dict[str, str]:
    try:
        lines = SERVICES_ENV.read_text().splitlines()
    except OSError:
        return {}
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def setting(name: str, default: str | None = None) -> str | None:
    """The environment's value of `name`, else what .ci/start-services published, else default."""
    return os.environ.get(name) or _published().get(name) or default


def _tcp_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def _http_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, ValueError):
        return None


def _run_ok(*argv: str) -> str | None:
    """stdout of argv when it exits 0 within 10 s, else None."""
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


# ---------------------------------------------------------------- standing services


def postgres_dsn() -> str | None:
    """`postgresql://mlrun_test:PASSWORD@127.0.0.1:15432/mlrun_test` when it answers."""
    dsn = setting("MLRUN_TEST_POSTGRES_DSN")
    if not dsn:
        return None
    parts = urlsplit(dsn)
    return dsn if _tcp_open(parts.hostname or "127.0.0.1", parts.port or 5432) else None


_PRIVATE_PREFIX = "mlrun_t_"


@functools.cache
def _admin(dsn: str) -> Any:
    """One autocommit connection per process for making and dropping private schemas."""
    import atexit

    import psycopg

    conn = psycopg.connect(dsn, autocommit=True)
    atexit.register(conn.close)
    return conn


@contextlib.contextmanager
def fresh_postgres_uri(dsn: str | None = None) -> Iterator[str]:
    """The test PostgreSQL's URI (password included), pointed at a private, empty schema
    (`?options=-csearch_path%3D<schema>`), dropped with everything in it afterwards.

    A schema, not a database: CREATE SCHEMA takes a millisecond and needs no CREATEDB
    privilege; the store only ever sees its current schema (postgres_schema)."""
    import uuid

    dsn = dsn or postgres_dsn()
    if dsn is None:
        raise RuntimeError(NO_POSTGRES)
    name = f"{_PRIVATE_PREFIX}{uuid.uuid4().hex[:12]}"
    _admin(dsn).execute(f"CREATE SCHEMA {name}")
    sep = "&" if "?" in dsn else "?"
    try:
        yield f"{dsn}{sep}options=-csearch_path%3D{name}"
    finally:
        _admin(dsn).execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


def registry_address() -> str | None:
    """`host:port` of an open (no auth) registry, `127.0.0.1:5000` by default."""
    address = setting("MLRUN_TEST_REGISTRY", DEFAULT_REGISTRY) or DEFAULT_REGISTRY
    return address if _http_status(f"http://{address}/v2/") == 200 else None


class RegistryLogin(NamedTuple):
    address: str
    username: str
    password: str


def auth_registry() -> RegistryLogin | None:
    """A registry that refuses anonymous pushes (HTTP basic auth), with its credentials."""
    value = setting("MLRUN_TEST_REGISTRY_AUTH")
    if not value or "@" not in value:
        return None
    userinfo, address = value.rsplit("@", 1)
    username, _, password = userinfo.partition(":")
    if _http_status(f"http://{address}/v2/") != 401:
        return None
    return RegistryLogin(address, username, password)


def slurm_available() -> bool:
    """True when sbatch is on PATH, the controller answers and a node takes jobs."""
    if shutil.which("sbatch") is None or _run_ok("scontrol", "ping") is None:
        return False
    states = _run_ok("sinfo", "-h", "-N", "-o", "%T") or ""
    # `planned`: the backfill scheduler has planned a job on the node (seen for ~30 s
    # after a preemption); the node is up and takes jobs.
    up = {"idle", "mixed", "allocated", "completing", "planned"}
    return any(state in up for state in states.split())


# -------------------------------------------------------------------- tools


def chromium_executable() -> str | None:
    found = setting("MLRUN_TEST_CHROMIUM")
    if found:
        return found if os.access(found, os.X_OK) else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def mlflow_executable() -> str | None:
    """The `mlflow` CLI of the tool venv (never the test venv's)."""
    path = setting("MLRUN_TEST_MLFLOW", DEFAULT_MLFLOW) or DEFAULT_MLFLOW
    return path if os.access(path, os.X_OK) else None


def mlflow_python() -> str | None:
    """The tool venv's interpreter, which can import mlflow (MlflowClient)."""
    exe = mlflow_executable()
    if exe is None:
        return None
    python = Path(exe).with_name("python")
    return str(python) if os.access(python, os.X_OK) else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MlflowServer:
    """A running `mlflow server`: SQLite backend and served artifacts under `root`."""

    def __init__(self, root: Path, url: str, process: subprocess.Popen[bytes], log: Path):
        self.root = root
        self.url = url
        self.process = process
        self.log = log

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                return bool(response.read().strip() == b"OK")
        except (OSError, ValueError):
            return False

    def stop(self) -> None:
        """Stop the server and its workers (idempotent)."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # a worker left behind

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _mlflow_env(extra: Mapping[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"  # no job-runner process to start
    env.update(extra or {})
    return env


def _start_mlflow(
    exe: str, root: Path, args: Sequence[str], env: dict[str, str], timeout: float
) -> MlflowServer | None:
    """One attempt on a fresh port; None if the process died first (e.g. the port was taken)."""
    port = free_port()
    log = root / f"server-{port}.log"
    argv = [exe, "server", "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}"]
    argv += ["--artifacts-destination", str(root / "artifacts"), "--workers", "1", *args]
    with log.open("wb") as out:
        # The store's directory is also the server's working directory: the basic-auth
        # app keeps its users in ./basic_auth.db.
        proc = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=root, start_new_session=True
        )
    server = MlflowServer(root, f"http://127.0.0.1:{port}", proc, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.healthy():
            return server
        if proc.poll() is not None:
            server.stop()
            return None
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"mlflow server not healthy after {timeout:.0f} s:\n{server.log_tail()}")


@contextlib.contextmanager
def serve_mlflow(
    root: Path,
    *,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
) -> Iterator[MlflowServer]:
    """Run `mlflow server` on a free loopback port with its store under `root`.

    `args` adds server options (e.g. `--app-name basic-auth`); MLFLOW_* variables of the
    test's environment are not passed on. Start-up takes seconds on an idle machine and
    can take a minute on a loaded one (hence the generous timeout)."""
    exe = mlflow_executable()
    if exe is None:
        raise RuntimeError(NO_MLFLOW)
    root.mkdir(parents=True, exist_ok=True)
    server_env = _mlflow_env(env)
    for _attempt in range(3):
        server = _start_mlflow(exe, root, args, server_env, timeout)
        if server is not None:
            break
    else:
        logs = sorted(root.glob("server-*.log"))
        tail = logs[-1].read_text(errors="replace")[-3000:] if logs else ""
        raise RuntimeError(f"mlflow server exited before it was healthy:\n{tail}")
    try:
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
    """A run as the real MlflowClient (of the tool venv) reads it back from a server:
    status, end_time, experiment_id, params, metrics (latest values), history (every
    metric's (step, value) pairs), tags, artifacts (paths)."""
    python = mlflow_python()
    if python is None:
        raise RuntimeError(NO_MLFLOW)
    proc = subprocess.run(
        [python, "-c", _READ_RUN, url, run_id],
        capture_output=True,
        text=True,
        env=_mlflow_env(env),
        timeout=300,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"MlflowClient could not read run {run_id}:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout)
    return result
