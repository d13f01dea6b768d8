"""Running `mlrun run --json` and reading back what it recorded."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.helpers import cli, mlrun, write_project


def split_output(stdout: str) -> tuple[str, dict[str, Any]]:
    """(the command's own stdout, mlrun's JSON summary). Under --json mlrun's stdout is
    the summary alone; the command's stdout went to stderr and to the run's log."""
    result = json.loads(stdout)
    return Path(show(result["run_id"])["log_paths"]["stdout"]).read_text(), result


def show(run_id: str) -> dict[str, Any]:
    return json.loads(cli("runs", "show", run_id, "--json", check=True).stdout)


def run_json(
    project: Path,
    *args: str,
    env: dict[str, str] | None = None,
    code: int = 0,
    cwd: Path | None = None,
) -> tuple[subprocess.CompletedProcess[str], str, dict[str, Any]]:
    """Run, check the exit code; (process, command output, run record)."""
    proc = mlrun("run", str(project), *args, "--json", env=env, cwd=cwd)
    assert proc.returncode == code, proc.stderr
    output, result = split_output(proc.stdout)
    return proc, output, show(result["run_id"])


def docker_project(
    root: Path,
    image: str,
    command: str,
    *,
    name: str | None = None,
    extra: str = "",
    files: dict[str, str] | None = None,
) -> Path:
    """A docker_env project with one entry point, `main`, running `command` (shell
    quoting is the caller's); `extra` adds lines to the docker_env section."""
    head = f"name: {name}\n" if name else ""
    text = (
        f"{head}docker_env:\n  image: {image}\n{extra}"
        f"entry_points:\n  main:\n    command: {json.dumps(command)}\n"
    )
    return write_project(root, text, files)


def bash_expands(value: str, cwd: Path, env: dict[str, str], *, quoted: bool = True) -> str:
    """What bash makes of `value` in a double-quoted word, run from `cwd` as MLflow runs
    its `docker run` line: the meaning of a docker_env value (MLflow leaves the word
    unquoted, which agrees for values without blanks or quotes). `quoted=False`: the
    unquoted word itself, as MLflow's line has it (where bash also expands `~`)."""
    import shutil

    bash = shutil.which("bash")
    assert bash is not None
    word = f'"{value}"' if quoted else value
    return subprocess.run(
        [bash, "-c", f"printf %s {word}"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
