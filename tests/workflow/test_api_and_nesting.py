"""The Python API runs workflows too; mlrun.run() inside a step records a child run."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import mlrun as mlrun_api
from mlrun.errors import ExecutionError
from tests.helpers import cli, mlrun, write_project
from tests.workflow.wfhelpers import flow_project

# A step that runs another entry point of its own project from Python, the MLflow way.
OUTER_PY = """\
import sys
import mlrun
sub = mlrun.run(sys.argv[1], "inner", parameters={"x": 7}, echo=False)
print("child", sub.run_id)
"""


def test_python_api_runs_a_workflow(tmp_path: Path) -> None:
    project, _ = flow_project(tmp_path)
    submitted = mlrun_api.run(str(project), "flow", parameters={"vb": 3})
    assert submitted.get_status() == "FINISHED" and submitted.wait()
    shown = json.loads(cli("runs", "show", submitted.run_id, "--json").stdout)
    assert shown["entry_point"] == "flow" and shown["params"] == {"va": "1", "vb": "3"}
    steps = shown["outputs"]["steps"]
    assert {k: v["status"] for k, v in steps.items()} == {
        "a": "finished",
        "b": "finished",
        "c": "finished",
        "d": "finished",
    }
    again = mlrun_api.run(
        str(project), "flow", parameters={"vb": 3}, workflow_options={"jobs": 2}, synchronous=False
    )
    assert again.wait()
    shown = json.loads(cli("runs", "show", again.run_id, "--json").stdout)
    assert {v["status"] for v in shown["outputs"]["steps"].values()} == {"cached"}


def test_python_api_failed_workflow_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project, _ = flow_project(tmp_path)
    monkeypatch.setenv("WF_FAIL", "a")
    with pytest.raises(ExecutionError) as info:
        mlrun_api.run(str(project), "flow")
    assert info.value.exit_code == 3 and info.value.status == "FAILED"


@pytest.mark.slow  # nested mlrun processes (~1.5 s)
def test_nested_mlrun_run_in_a_step_is_a_child_of_the_step(tmp_path: Path) -> None:
    python = sys.executable  # an interpreter that has mlrun installed
    project = write_project(
        tmp_path / "p",
        f"""\
        entry_points:
          outer: {{command: "{python} outer.py {tmp_path / "p"}"}}
          inner:
            parameters: {{x: int}}
            command: "{python} -c 'print(1)' {{x}}"
        workflows:
          w:
            steps:
              top: {{entry_point: outer}}
        """,
        {"outer.py": OUTER_PY},
    )
    # A plain entry point calling mlrun.run(): the sub-run is its child.
    proc = mlrun("run", str(project), "-e", "outer", "--json")
    assert proc.returncode == 0, proc.stderr
    outer_id = json.loads(proc.stdout)["run_id"]
    children = [
        r for r in json.loads(cli("runs", "list", "--json").stdout) if r["entry_point"] == "inner"
    ]
    assert len(children) == 1 and children[0]["parent_run_id"] == outer_id
    assert children[0]["params"] == {"x": "7"}
    # In a workflow: workflow run <- step run <- the step's own sub-run.
    proc = mlrun("run", str(project), "-e", "w", "--json", "-q")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    step_id = result["steps"][0]["run_id"]
    step = json.loads(cli("runs", "show", step_id, "--json").stdout)
    assert step["parent_run_id"] == result["run_id"]
    inner = [
        r
        for r in json.loads(cli("runs", "list", "--json").stdout)
        if r["entry_point"] == "inner" and r["parent_run_id"] == step_id
    ]
    assert len(inner) == 1
