"""Building real git repositories for the source tests (working trees, bare copies that
the loopback servers publish, submodules)."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path
from typing import Any

from tests.helpers import cli, mlrun

SHOW = """\
import os, sys
version = open("version.txt").read().strip()
lib = open("lib/lib.txt").read().strip() if os.path.exists("lib/lib.txt") else "-"
deep = open("lib/deep/deep.txt").read().strip() if os.path.exists("lib/deep/deep.txt") else "-"
print(f"version={version} alpha={sys.argv[1]} lib={lib} deep={deep} cwd={os.getcwd()}")
"""

MLPROJECT = """\
name: gitproj
entry_points:
  main:
    parameters:
      alpha: {type: float, default: 0.1}
    command: "python show.py {alpha}"
"""


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise AssertionError(f"git {args} failed in {cwd}:\n{proc.stderr}")
    return proc.stdout.strip()


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def commit(work: Path, files: dict[str, str], message: str = "change") -> str:
    write(work, files)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", message)
    return git(work, "rev-parse", "HEAD")


def project_repo(work: Path, version: str = "v1", subdir: str = "") -> str:
    """A working tree holding the test project (at `subdir`); returns the commit."""
    work.mkdir(parents=True, exist_ok=True)
    git(work, "init", "-q", "-b", "main")
    prefix = f"{subdir}/" if subdir else ""
    return commit(
        work,
        {
            f"{prefix}MLproject": MLPROJECT,
            f"{prefix}show.py": SHOW,
            f"{prefix}version.txt": version,
            "README": "top\n",
        },
        "first",
    )


def publish(work: Path, root: Path, name: str) -> Path:
    """A bare copy of `work` under the servers' root (what the servers serve)."""
    bare = root / name
    if bare.exists():
        git(work, "push", "-q", "--force", "--tags", str(bare), "refs/heads/*:refs/heads/*")
    else:
        git(root, "clone", "-q", "--bare", str(work), str(bare))
    return bare


def add_submodule(work: Path, url: str, path: str) -> str:
    git(work, "-c", "protocol.file.allow=always", "submodule", "add", "-q", url, path)
    git(work, "commit", "-q", "-m", f"submodule {path}")
    return git(work, "rev-parse", "HEAD")


def run_recorded(*args: str, cwd: Path | None = None) -> tuple[str, dict[str, Any]]:
    """`mlrun run ARGS --json`, which must succeed: (the command's output, the run record).
    Under --json, stdout is the JSON summary alone; the output is in the run's log."""
    proc = mlrun("run", *args, "--json", cwd=cwd)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(proc.stdout)
    shown = json.loads(cli("runs", "show", result["run_id"], "--json", check=True).stdout)
    return Path(shown["log_paths"]["stdout"]).read_text(), shown


def output_fields(stdout: str) -> dict[str, str]:
    """`version=v1 alpha=0.1 ...` printed by the test project -> a dict."""
    line = next(ln for ln in stdout.splitlines() if ln.startswith("version="))
    return dict(word.split("=", 1) for word in line.split())
