"""Small helpers shared by tests: writing projects, running the CLI (in this process or in
a subprocess), waiting for events."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parent.parent


def write_project(root: Path, mlproject: str, files: dict[str, str] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "MLproject").write_text(textwrap.dedent(mlproject))
    for name, text in (files or {}).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def mlrun(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
    check: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run the CLI as a user would, in a separate process."""
    proc = subprocess.run(
        [sys.executable, "-m", "mlrun", *args],
        cwd=cwd,
        env=env or dict(os.environ),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"mlrun {args} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


class CliResult(NamedTuple):
    """What an in-process CLI call left: the attributes of subprocess.CompletedProcess."""

    returncode: int
    stdout: str
    stderr: str


def cli(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    check: bool = False,
) -> CliResult:
    """Run the CLI in this process, as `mlrun()` does in a subprocess: same arguments, exit
    code and output, without the ~0.3 s of a process start. click's CliRunner isolation
    swaps stdin/stdout/stderr and the environment around `run_cli`, the function behind
    the console script. `env`, as for subprocess, is the whole environment.

    For bad input, dry runs and the run store's commands. Anything whose truth is a
    process (exit status, signals, start-up imports, the command's own output to the
    terminal) belongs to `mlrun()`."""
    from click.testing import CliRunner

    from mlrun.cli.main import run_cli

    overrides: dict[str, str | None] = {"MLRUN_DEBUG": None}
    if env is not None:
        overrides.update(dict.fromkeys(os.environ))
        overrides.update(env)
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGHUP)}
    here = os.getcwd()
    try:
        with CliRunner().isolation(env=overrides) as streams:
            if cwd is not None:
                os.chdir(cwd)
            code = run_cli(list(args))
            sys.stdout.flush()  # what was not written through click.echo is still buffered
            sys.stderr.flush()
            out, err = streams[0].getvalue(), streams[1].getvalue()
    finally:
        os.chdir(here)
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    result = CliResult(code, out.decode(errors="replace"), err.decode(errors="replace"))
    if check and code != 0:
        raise AssertionError(f"mlrun {args} exited {code}\n{result.stdout}\n{result.stderr}")
    return result


def spawn_mlrun(*args: str, cwd: Path | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mlrun", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until(predicate: Callable[[], object], what: str, timeout: float = 60) -> None:
    """Wait for an event another process or thread makes observable (a file appears, a
    record exists): poll `predicate` until it is true; fail naming `what` at `timeout`.
    Tests order events with this, never with a bare sleep."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f} s waiting for {what}"
        time.sleep(0.01)


def flock_waiters(path: Path) -> int:
    """How many flock requests are blocked on the file at `path` right now (Linux:
    /proc/locks lists each waiter as `N: -> FLOCK ... <major>:<minor>:<inode> ...`). A
    thread or process blocked on a lock is an event a test can wait for."""
    st = os.stat(path)
    ident = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    lines = Path("/proc/locks").read_text().splitlines()
    return sum(1 for line in lines if "->" in line.split() and ident in line.split())


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def loopback_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 made with openssl: (cert.pem, key.pem)."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key
