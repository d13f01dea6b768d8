"""The Python API, shaped like mlflow.projects.run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import mlrun
from mlrun.errors import ExecutionError, NotAvailableError, UsageError
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
    with pytest.raises(NotAvailableError, match=r"backend 'databricks'.*known backends: local"):
        mlrun.run(str(_project(tmp_path)), backend="databricks")


def test_experiment_id_chooses_an_existing_experiment(tmp_path: Path) -> None:
    project = str(_project(tmp_path))
    first = mlrun.run(project, experiment_name="tuning", echo=False)
    exp_id = open_store().get_run(first.run_id).experiment_id
    assert exp_id.isdigit()
    again = mlrun.run(project, experiment_id=exp_id, echo=False)  # str, as MLflow's
    assert open_store().get_run(again.run_id).experiment == "tuning"
    with pytest.raises(UsageError, match="no experiment has the id '999'"):
        mlrun.run(project, experiment_id=999, echo=False)
    with pytest.raises(UsageError, match="give one"):
        mlrun.run(project, experiment_id=exp_id, experiment_name="tuning", echo=False)
    assert len(open_store().search_runs()) == 2  # the refused calls recorded nothing


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
    """What the README promises of a failed synchronous run: mlrun.ExecutionException
    (an MlrunError), worded and shaped as MLflow's, with the run id, status, exit code."""
    import json

    from mlrun.errors import MlrunError

    with pytest.raises(mlrun.ExecutionException) as info:
        mlrun.run(str(_project(tmp_path)), parameters={"code": 5}, echo=False)
    error = info.value
    assert type(error).__name__ == "ExecutionException"
    assert isinstance(error, MlrunError)
    assert (error.status, error.exit_code) == ("FAILED", 5)
    assert str(error) == f"Run (ID '{error.run_id}') failed: the run FAILED with exit code 5"
    assert error.message == str(error)
    assert error.error_code == "INTERNAL_ERROR"
    assert error.get_http_status_code() == 500
    assert json.loads(error.serialize_as_json())["message"] == str(error)


@pytest.mark.slow  # imports mlflow in its tool venv: several seconds
def test_execution_exception_has_mlflows_shape(tmp_path: Path) -> None:
    """Compared with the real class in the MLflow tool venv: the same public names, and
    the same JSON and HTTP status for the same message."""
    from tests import services
    from tests.conftest import require_service

    python = services.mlflow_python()
    require_service(python is not None, services.NO_MLFLOW)
    assert python is not None
    code = (
        "import json; from mlflow.exceptions import ExecutionException as E\n"
        "e = E(\"Run (ID 'x') failed\"); v = E.invalid_parameter_value('m')\n"
        "print(json.dumps([sorted(a for a in dir(e) if not a.startswith('_')),"
        " e.serialize_as_json(), e.get_http_status_code(),"
        " v.serialize_as_json(), v.get_http_status_code()]))"
    )
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    names, as_json, status, invalid_json, invalid_status = json.loads(out.stdout)
    ours = mlrun.ExecutionException("Run (ID 'x') failed", "x", "FAILED", 1)
    invalid = mlrun.ExecutionException.invalid_parameter_value("m")
    assert set(names) <= {a for a in dir(ours) if not a.startswith("_")}
    assert json.loads(ours.serialize_as_json()) == json.loads(as_json)
    assert ours.get_http_status_code() == status
    assert json.loads(invalid.serialize_as_json()) == json.loads(invalid_json)
    assert invalid.get_http_status_code() == invalid_status


def test_run_id_storage_dir_and_docker_auth_are_taken(tmp_path: Path) -> None:
    """mlrun.run() takes mlflow.projects.run()'s arguments; each is checked as the CLI
    checks its option (UsageError before anything runs)."""
    project = str(_project(tmp_path))
    chosen = "feedface" * 4
    submitted = mlrun.run(project, run_id=chosen, storage_dir=str(tmp_path / "s"), echo=False)
    assert submitted.run_id == chosen
    assert open_store().get_run(chosen).status == "FINISHED"
    with pytest.raises(UsageError, match="already holds that run"):
        mlrun.run(project, run_id=chosen, echo=False)
    with pytest.raises(UsageError, match="is not a run id"):
        mlrun.run(project, run_id="../x", echo=False)
    with pytest.raises(UsageError, match="unknown key 'user'"):
        mlrun.run(project, docker_auth={"user": "u"}, echo=False)
    with pytest.raises(UsageError, match="--docker-auth: only for docker_env projects"):
        mlrun.run(project, docker_auth={"username": "u", "password": "p"}, echo=False)
    assert len(open_store().search_runs()) == 1
