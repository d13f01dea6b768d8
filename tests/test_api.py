"""The Python API, shaped like mlflow.projects.run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import mlrun
from mlrun.errors import ExecutionError, NotAvailableError
from mlrun.tracking import open_store
from tests.helpers import wait_until, write_project


def _project(tmp_path: Path) -> Path:
    return write_project(
        tmp_path / "p",
        """\
        entry_points:
          main:
            parameters: {code: {type: int, default: 0}}
            command: "python -c 'import sys; print(\\"hello\\"); sys.exit({code})'"
          slow:
            command: "python -c 'import os, time; os.mkdir(\\"started\\"); time.sleep(120)'"
        """,
    )


def test_synchronous_run_records_and_returns(tmp_path: Path) -> None:
    submitted = mlrun.run(str(_project(tmp_path)), echo=False)
    assert submitted.wait() is True
    assert submitted.get_status() == "FINISHED"
    run = open_store().get_run(submitted.run_id)
    assert run.status == "FINISHED" and run.exit_code == 0


def test_synchronous_failure_raises_like_mlflow(tmp_path: Path) -> None:
    with pytest.raises(ExecutionError) as info:
        mlrun.run(str(_project(tmp_path)), parameters={"code": 4}, echo=False)
    assert info.value.exit_code == 4
    assert open_store().get_run(info.value.run_id).status == "FAILED"


def test_asynchronous_run_can_be_cancelled(tmp_path: Path) -> None:
    project = _project(tmp_path)
    submitted = mlrun.run(str(project), "slow", synchronous=False, echo=False)
    assert submitted.run_id
    assert submitted.get_status() == "RUNNING"
    assert open_store().get_run(submitted.run_id).status == "RUNNING"
    wait_until((project / "started").exists, "the command to start")
    submitted.cancel()
    assert submitted.wait() is False
    assert submitted.get_status() == "KILLED"
    assert open_store().get_run(submitted.run_id).status == "KILLED"


def test_unsupported_mlflow_arguments_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(NotAvailableError, match="backend"):
        mlrun.run(str(_project(tmp_path)), backend="databricks")
    with pytest.raises(NotAvailableError, match="experiment_id"):
        mlrun.run(str(_project(tmp_path)), experiment_id="3")


def test_nested_run_inside_a_step_is_recorded_as_child(tmp_path: Path) -> None:
    """MLflow-style chaining: a step calling mlrun.run() gets child runs."""
    src = Path(mlrun.__file__).resolve().parent.parent
    project = write_project(
        tmp_path / "chain",
        """\
        entry_points:
          main:
            command: "python driver.py"
          leaf:
            parameters: {n: int}
            command: "python -c 'print({n})'"
        """,
        {
            "driver.py": """\
        import mlrun
        for n in (1, 2):
            mlrun.run(".", "leaf", parameters={"n": n})
        """
        },
    )
    env = dict(os.environ, PYTHONPATH=str(src))
    proc = subprocess.run(
        [sys.executable, "-m", "mlrun", "run", str(project), "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    parent = json.loads(proc.stdout)["run_id"]
    children = open_store().search_runs(parent_run_id=parent)
    assert sorted(c.params["n"] for c in children) == ["1", "2"]
    assert all(c.entry_point == "leaf" and c.status == "FINISHED" for c in children)


def test_dir_shows_the_api_without_loading_it() -> None:
    """`dir(mlrun)` (and REPL completion) lists the lazily loaded API (issue 18)."""
    import subprocess
    import sys

    code = (
        "import sys, mlrun\n"
        "names = dir(mlrun)\n"
        "print(all(n in names for n in mlrun.__all__), 'run' in names, 'log_metric' in names,"
        " 'mlrun.api' in sys.modules, 'mlrun.steplog' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["True", "True", "True", "False", "False"]


def test_synchronous_failure_says_what_failed(tmp_path: Path) -> None:
    """What the README promises of a failed synchronous run: ExecutionError (an
    MlrunError) with the run id, its status and exit code."""
    from mlrun.errors import MlrunError

    with pytest.raises(ExecutionError) as info:
        mlrun.run(str(_project(tmp_path)), parameters={"code": 5}, echo=False)
    error = info.value
    assert isinstance(error, MlrunError)
    assert (error.status, error.exit_code) == ("FAILED", 5)
    assert str(error) == f"run {error.run_id} FAILED with exit code 5"
