"""Projects for env tests."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

from tests.helpers import cli, mlrun, write_project

PYTHON = f"{sys.version_info[0]}.{sys.version_info[1]}"

# Prints what the entry point sees: installed packages, the interpreter, the env variables.
SHOW = """\
import json, os, sys
found = {}
for name in ("mlt_alpha", "mlt_beta", "mlt_gamma", "mlt_local"):
    try:
        module = __import__(name)
    except ImportError:
        continue
    found[name] = getattr(module, "VERSION", getattr(module, "NAME", "?"))
print(json.dumps({"packages": found, "prefix": sys.prefix, "executable": sys.executable,
                  "VIRTUAL_ENV": os.environ.get("VIRTUAL_ENV"),
                  "CONDA_PREFIX": os.environ.get("CONDA_PREFIX"),
                  "PATH0": os.environ["PATH"].split(os.pathsep)[0]}))
"""


def python_project(
    root: Path, env_yaml: str, files: dict[str, str] | None = None, command: str = "python show.py"
) -> Path:
    return write_project(
        root,
        f"""\
        name: envtest
        python_env: python_env.yaml
        entry_points:
          main:
            command: "{command}"
        """,
        {"python_env.yaml": textwrap.dedent(env_yaml), "show.py": SHOW, **(files or {})},
    )


def run_json(project: Path, *args: str, check: bool = True) -> tuple[dict[str, Any], Any]:
    """Run the project offline; (what the entry point printed, the run record)."""
    proc = mlrun("run", str(project), "--offline", "--json", *args, timeout=300)
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(proc.stdout)  # --json: the summary alone; the output is in the log
    shown = json.loads(cli("runs", "show", result["run_id"], "--json", check=True).stdout)
    seen = json.loads(Path(shown["log_paths"]["stdout"]).read_text().splitlines()[0])
    return seen, shown


def dry_env(project: Path, *args: str) -> dict[str, Any]:
    proc = cli("run", str(project), "--dry-run", "--json", *args)
    assert proc.returncode == 0, proc.stderr
    env: dict[str, Any] = json.loads(proc.stdout)["env"]
    return env
