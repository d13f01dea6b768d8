"""What the supervision tests look at: processes by a token in their command line or
environment, and run records read straight from the SQLite file (a store read would
reap, hiding a record left RUNNING)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.helpers import pid_alive


def survivors(token: str) -> list[tuple[int, str]]:
    """Live processes (zombies are dead) whose command line or environment holds
    `token`, other than this test process."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        pid = int(name)
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                cmdline = fh.read()
            with open(f"/proc/{pid}/environ", "rb") as fh:
                environ = fh.read()
        except OSError:
            continue
        if token.encode() in cmdline + environ and pid_alive(pid):
            found.append((pid, cmdline.replace(b"\0", b" ").decode(errors="replace")))
    return found


def kill_survivors(token: str) -> None:
    for pid, _ in survivors(token):
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass


def records(home: Path) -> dict[str, tuple[str, int | None, str | None]]:
    """{run id: (status, exit code, reason)} as stored, without any reaping."""
    db = home / "mlrun.db"
    if not db.exists():
        return {}
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT run_id, status, exit_code, status_reason FROM runs")
        return {r[0]: (r[1], r[2], r[3]) for r in rows}


def spawn_mlrun(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """`python -m mlrun ARGS` in a session of its own (so a test can signal exactly it),
    output to files (a pipe the test stops reading must not block it)."""
    return subprocess.Popen(
        [sys.executable, "-m", "mlrun", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,
    )
