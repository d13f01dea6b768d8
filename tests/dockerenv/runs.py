"""Running `mlrun run --json` and reading back what it recorded."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.helpers import cli, mlrun


def split_output(stdout: str) -> tuple[str, dict[str, Any]]:
    """(the command's own stdout, mlrun's JSON summary). Under --json mlrun's stdout is
    the summary alone; the command's stdout went to stderr and to the run's log."""
    result = json.loads(stdout)
    return Path(show(result["run_id"])["log_paths"]["stdout"]).read_text(), result


def show(run_id: str) -> dict[str, Any]:
    return json.loads(cli("runs", "show", run_id, "--json", check=True).stdout)


def run_json(
    project: Path, *args: str, env: dict[str, str] | None = None, code: int = 0
) -> tuple[subprocess.CompletedProcess[str], str, dict[str, Any]]:
    """Run, check the exit code; (process, command output, run record)."""
    proc = mlrun("run", str(project), *args, "--json", env=env)
    assert proc.returncode == code, proc.stderr
    output, result = split_output(proc.stdout)
    return proc, output, show(result["run_id"])
