"""A small workflow project for the integration tests, and a runner that returns the
CLI's --json result."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from tests.helpers import mlrun, write_project

# One script for every step: records its inputs as outputs, fails on request.
STEP_PY = """\
import argparse, json, os, sys
p = argparse.ArgumentParser()
p.add_argument("--name")
p.add_argument("--value", default="")
p.add_argument("--input", default="")
a = p.parse_args()
if a.name in os.environ.get("WF_FAIL", "").split(","):
    print(f"{a.name}: failing on purpose", file=sys.stderr)
    sys.exit(3)
with open(os.path.join(os.environ["MLRUN_RUN_DIR"], "outputs.json"), "w") as fh:
    json.dump({"name": a.name, "value": f"{a.name}:{a.value}", "input": a.input}, fh)
print(f"{a.name} done")
"""

FLOW = """\
name: flow-test
entry_points:
  step:
    parameters:
      name: string
      value: {{type: string, default: x}}
      input: {{type: string, default: ""}}
    command: "python step.py --name {{name}} --value {{value}} --input {{input}}"
workflows:
  flow:
    parameters:
      va: {{type: string, default: "1"}}
      vb: {{type: string, default: "1"}}
    steps:
      a:
        entry_point: step
        parameters: {{name: a, value: "${{{{ params.va }}}}"}}
      b:
        entry_point: step
        parameters:
          name: b
          value: "${{{{ params.vb }}}}"
          input: "${{{{ steps.a.outputs.name }}}}"
        deps: ["{dep}"]
      c:
        entry_point: step
        parameters: {{name: c, input: "${{{{ steps.b.outputs.value }}}}"}}
      d:
        entry_point: step
        parameters: {{name: d}}
"""


def flow_project(tmp_path: Path) -> tuple[Path, Path]:
    """(project dir, the dep file of step b, outside the project)."""
    dep = tmp_path / "dep.txt"
    dep.write_text("one\n")
    project = write_project(tmp_path / "flow", FLOW.format(dep=dep), {"step.py": STEP_PY})
    return project, dep


def run_json(
    project: Path, *args: str, env: dict[str, str] | None = None, expect: int | None = 0
) -> dict[str, Any]:
    proc = mlrun("run", str(project), *args, "--json", "-q", env=env)
    if expect is not None:
        assert proc.returncode == expect, (proc.returncode, proc.stdout, proc.stderr)
    data: dict[str, Any] = json.loads(proc.stdout)
    data["_proc"] = proc
    return data


def statuses(result: dict[str, Any]) -> dict[str, str]:
    return {s["name"]: s["status"] for s in result["steps"]}


def reasons(result: dict[str, Any]) -> dict[str, str]:
    return {s["name"]: s["reason"] or "" for s in result["steps"]}


def env_with(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    return env


def read_stream_until(proc: subprocess.Popen[str], needle: str, timeout: float) -> str:
    """Read proc's stderr lines until one contains `needle` (in a thread, bounded)."""
    import threading

    seen: list[str] = []
    found = threading.Event()

    def _read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            seen.append(line)
            if needle in line:
                found.set()
                return

    threading.Thread(target=_read, daemon=True).start()
    found.wait(timeout)
    return "".join(seen)
