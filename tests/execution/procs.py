"""What the supervision tests look at: processes by a token in their command line or
environment, and run records read straight from the SQLite file (a store read would
reap, hiding a record left RUNNING)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.helpers import pid_alive, write_project


def survivors(token: str) -> list[tuple[int, str]]:
    """Live processes (zombies are dead) whose command line or environment holds
    `token`, other than this test process. A token is the calling test's own (its pid
    at a fixed width and a number, or a path under its tmp_path): what it finds -- and
    `kill_survivors` kills -- is only what that test started, even with other test
    sessions running on the machine."""
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


def script_project(root: Path, script: str, arg: str = "{arg}") -> Path:
    """A project whose one entry point runs `script` with sh, given `arg` (by default the
    parameter `arg`, a string)."""
    params = "\n    parameters: {arg: string}" if "{arg}" in arg else ""
    return write_project(
        root,
        f"""\
entry_points:
  main:{params}
    command: "sh script.sh {arg}"
""",
        {"script.sh": script},
    )
