"""Inputs that used to crash (exit 1 and a crash log) get one clear error with their
documented exit code instead (issue 11.9)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.helpers import write_project
from tests.security.conftest import Cli, workflow_project

SIMPLE = """\
entry_points:
  main:
    parameters: {a: {type: string, default: x}}
    command: "echo {a}"
"""


@pytest.fixture(autouse=True)
def _no_crash_log(mlrun_home: Path) -> object:
    yield
    assert not list(mlrun_home.glob("crash-*.log")), "an input crashed mlrun"


def _no_runs(cli: Cli) -> None:
    listed = cli("runs", "list", "--json")
    assert listed.code == 0 and json.loads(listed.out) == []


def test_nul_in_a_command(tmp_path: Path, cli: Cli) -> None:
    project = write_project(tmp_path / "p", 'entry_points: {main: {command: "echo \\0 hidden"}}\n')
    result = cli("run", str(project))
    assert result.code == 2, result.err
    assert "the command of entry point 'main' contains a NUL character" in result.err
    validated = cli("validate", str(project))
    assert "contains a NUL character" in validated.err + validated.out
    _no_runs(cli)


def test_nul_in_a_value(tmp_path: Path, cli: Cli) -> None:
    project = write_project(tmp_path / "p", SIMPLE.replace("default: x", 'default: "a\\0b"'))
    result = cli("run", str(project))
    assert result.code == 2, result.err
    assert "the value of parameter 'a' contains a NUL character" in result.err
    _no_runs(cli)


@pytest.mark.parametrize(
    "args",
    [
        ("-P", "a=\udcff"),
        ("--run-name", "caf\udce9"),
        ("--experiment-name", "\udcfe"),
    ],
)
def test_bytes_that_are_not_utf8(tmp_path: Path, cli: Cli, args: tuple[str, ...]) -> None:
    project = write_project(tmp_path / "p", SIMPLE)
    result = cli("run", str(project), *args)
    assert result.code == 2, result.err
    assert "is not valid UTF-8 text" in result.err
    _no_runs(cli)


def test_a_project_path_that_is_not_utf8(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = os.fsdecode(os.fsencode(str(tmp_path)) + b"/caf\xe9")
    monkeypatch.chdir(write_project(Path(folder), SIMPLE))
    result = cli("run", ".")  # the argument is fine; the directory it names is not
    assert result.code == 2, result.err
    assert "is not a UTF-8 path" in result.err


@pytest.mark.parametrize("limit", ["99999999999999999999999", "-1", "ten"])
def test_runs_list_limit(cli: Cli, limit: str) -> None:
    result = cli("runs", "list", "--limit", limit)
    assert result.code == 2, result.err
    assert "Invalid value for '--limit'" in result.err


@pytest.mark.parametrize("value", ["nan", "-1", "inf", "-inf", "1e999"])
def test_grace_period_must_be_finite_and_not_negative(tmp_path: Path, cli: Cli, value: str) -> None:
    project = write_project(tmp_path / "p", SIMPLE)
    result = cli("run", str(project), "--grace-period", value)
    assert result.code == 2, result.err
    assert "Invalid value for '--grace-period'" in result.err
    _no_runs(cli)
    assert cli("run", str(project), "--grace-period", "0", "-q").code == 0


@pytest.mark.parametrize("args", [("-A", "gpus=all"), ("--build-image",), ("--keep-container",)])
def test_docker_options_need_a_docker_project(
    tmp_path: Path, cli: Cli, args: tuple[str, ...]
) -> None:
    project = write_project(tmp_path / "p", SIMPLE)
    for extra in ((), ("--dry-run",)):
        result = cli("run", str(project), *args, *extra)
        assert result.code == 2, result.err
        assert "only for docker_env projects" in result.err
    _no_runs(cli)


DEEP = """\
import os
with open(os.path.join(os.environ["MLRUN_RUN_DIR"], "outputs.json"), "w") as fh:
    fh.write('{"k": ' + "[" * 200000 + "]" * 200000 + ', "ok": 1}')
with open(os.path.join(os.environ["MLRUN_RUN_DIR"], "metrics.jsonl"), "w") as fh:
    fh.write('{"key": "m", "value": ' + "[" * 200000 + "]" * 200000 + "}\\n")
    fh.write('{"key": "m", "value": 2}\\n')
print("done")
"""


def test_deeply_nested_outputs_of_a_successful_command(tmp_path: Path, cli: Cli) -> None:
    project = write_project(
        tmp_path / "p", "entry_points: {main: {command: 'python deep.py'}}\n", {"deep.py": DEEP}
    )
    result = cli("run", str(project), "--json")
    assert result.code == 0, result.err
    assert "outputs.json: ignored, nested deeper than 100 levels" in result.err
    run_id = json.loads(result.out[result.out.index("{") :])["run_id"]
    shown = cli("runs", "show", run_id, "--json")
    record = json.loads(shown.out)
    assert record["status"] == "FINISHED" and record["exit_code"] == 0
    assert [m["value"] for m in record["metrics"]] == [2.0]


def test_a_matrix_too_large_to_run(tmp_path: Path, cli: Cli) -> None:
    values = "[" + ",".join(str(i) for i in range(10)) + "]"
    matrix = ", ".join(f"k{i}: {values}" for i in range(7))  # 10**7 combinations
    project = workflow_project(
        tmp_path / "p", {"s": f"entry_point: main, matrix: {{{matrix}}}"}, "sweep"
    )
    for args in (("run", str(project), "-e", "sweep"), ("dag", str(project), "-e", "sweep")):
        result = cli(*args)
        assert result.code == 2, (args, result.err)
        assert "the matrix of step 's' makes 10,000,000 runs" in result.err
    _no_runs(cli)


def test_matrix_steps_needing_matrix_steps_are_bounded(tmp_path: Path, cli: Cli) -> None:
    values = "[" + ",".join(str(i) for i in range(100)) + "]"
    matrix = f"matrix: {{x: {values}, y: {values}}}"
    project = workflow_project(
        tmp_path / "p",
        {"a": f"entry_point: main, {matrix}", "b": f"entry_point: main, {matrix}, needs: [a]"},
        "sweep",
    )
    result = cli("run", str(project), "-e", "sweep", "--dry-run")
    assert result.code == 2, result.err
    assert "100,000,000 dependencies between runs" in result.err


def test_an_internal_error_in_a_step_leaves_a_crash_log(
    tmp_path: Path, cli: Cli, mlrun_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlrun.workflow import engine

    def broken(self: object, node: object, cancel: object) -> bool:
        raise RuntimeError("a bug in step planning, https://u:tok-99@h/x")

    monkeypatch.setattr(engine.WorkflowRun, "_work_node", broken)
    project = workflow_project(tmp_path / "p", {"s": "entry_point: main"})
    result = cli("run", str(project), "-e", "flow")
    assert result.code == 1, result.err
    (log,) = mlrun_home.glob("crash-*.log")
    text = log.read_text()
    assert "workflow flow, step s" in text
    assert "RuntimeError: a bug in step planning" in text
    assert "tok-99" not in text
    assert f"the traceback is in {log}" in result.err
    log.unlink()  # expected here; the fixture checks that nothing else crashed
