"""Projects for the packaging and reproducing tests: a git working tree whose entry point
records an output, a metric and an artifact, and imports a package of its env."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.envs.projects import PYTHON
from tests.helpers import cli, mlrun
from tests.sources.gitrepos import commit, git

MLPROJECT = """\
name: packed
python_env: python_env.yaml
entry_points:
  main:
    parameters:
      n: {type: int, default: 3}
      data: {type: path, default: data/input.txt}
    command: "python train.py --n {n} --data {data}"
  clock:
    command: "python clock.py"
"""

TRAIN = """\
import argparse, json, os
import mlt_beta
parser = argparse.ArgumentParser()
parser.add_argument("--n", type=int)
parser.add_argument("--data")
args = parser.parse_args()
out = os.environ["MLRUN_RUN_DIR"]
text = open(args.data).read().strip()
with open(os.path.join(out, "metrics.jsonl"), "a") as fh:
    for step in range(args.n):
        fh.write(json.dumps({"key": "loss", "value": 1.0 / (step + 1), "step": step}) + "\\n")
with open(os.path.join(out, "outputs.json"), "w") as fh:
    json.dump({"beta": mlt_beta.VERSION, "data": text, "n": args.n}, fh)
os.makedirs(os.path.join(out, "artifacts"), exist_ok=True)
with open(os.path.join(out, "artifacts", "model.txt"), "w") as fh:
    fh.write(f"model of {text} x{args.n}")
# An MLflow model's MLmodel names the run and the time that logged it.
os.makedirs(os.path.join(out, "artifacts", "model"), exist_ok=True)
with open(os.path.join(out, "artifacts", "model", "MLmodel"), "w") as fh:
    fh.write(f"artifact_path: model\\nflavors:\\n  python_function: {{loader_module: m{args.n}}}\\n"
             f"model_uuid: {os.urandom(8).hex()}\\nrun_id: {os.environ['MLRUN_RUN_ID']}\\n"
             f"utc_time_created: '{__import__('time').time()}'\\n")
print(f"beta={mlt_beta.VERSION} data={text} n={args.n}")
"""

# An entry point whose result depends on the clock: it never reproduces.
CLOCK = """\
import json, os, time
with open(os.path.join(os.environ["MLRUN_RUN_DIR"], "metrics.jsonl"), "a") as fh:
    fh.write(json.dumps({"key": "started_at", "value": time.time_ns() / 1e9}) + "\\n")
    fh.write(json.dumps({"key": "constant", "value": 1.0}) + "\\n")
"""

ENV = f"""\
python: "{PYTHON}"
dependencies: [mlt-alpha]
"""


def git_project(work: Path) -> str:
    """A git working tree holding the project; returns its commit."""
    work.mkdir(parents=True)
    git(work, "init", "-q", "-b", "main")
    return commit(
        work,
        {
            "MLproject": MLPROJECT,
            "python_env.yaml": ENV,
            "train.py": TRAIN,
            "clock.py": CLOCK,
            "data/input.txt": "committed\n",
            ".gitignore": "ignored/\n",
        },
    )


def run(target: str | Path, *args: str, cwd: Path | None = None) -> dict[str, Any]:
    """`mlrun run TARGET --json ARGS` in a subprocess; the run's record."""
    proc = mlrun("run", str(target), "--json", *args, cwd=cwd, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return show(json.loads(proc.stdout)["run_id"])


def show(run_id: str) -> dict[str, Any]:
    shown: dict[str, Any] = json.loads(cli("runs", "show", run_id, "--json", check=True).stdout)
    return shown


def package(target: str | Path, output: Path, *args: str) -> dict[str, Any]:
    proc = mlrun("package", str(target), "-o", str(output), "--json", *args, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary: dict[str, Any] = json.loads(proc.stdout)
    return summary


def output_of(record: dict[str, Any]) -> str:
    return Path(record["log_paths"]["stdout"]).read_text()
