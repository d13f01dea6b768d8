"""`mlrun run --dry-run` shows the plan even when the run could not start here: the
command (argv or bash -c), its environment and working directory, with what would stop
it listed under `problems` and exit code 2. CI tools read every entry point's command
this way (issue 12 item 4; the acceptance over the corpus is at the end)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from mlrun.errors import SpecError
from mlrun.spec.loader import load_project
from tests.conftest import CORPUS
from tests.helpers import cli, write_project


def _dry(project: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, Any]:
    proc = cli("run", str(project), "--dry-run", "--json", *args, env=env)
    assert "Traceback" not in proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def _messages(plan: dict[str, Any]) -> list[str]:
    return [p["message"] for p in plan["problems"]]


def test_a_plan_without_problems_says_so_and_exits_0(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", 'entry_points:\n  main: {command: "echo hi"}\n')
    code, plan = _dry(project)
    assert (code, plan["problems"], plan["argv"]) == (0, [], ["echo", "hi"])


def test_unset_variable_in_a_docker_volume(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        """\
        docker_env:
          image: busybox:1
          volumes: ["${MLRUN_TEST_UNSET_DIR}:/data"]
        entry_points:
          main: {command: "ls /data"}
        """,
    )
    env = {k: v for k, v in __import__("os").environ.items() if k != "MLRUN_TEST_UNSET_DIR"}
    code, plan = _dry(project, env=env)
    assert code == 2
    assert plan["argv"] == ["ls", "/data"]
    assert plan["cwd"] == str(project)
    assert plan["env"]["kind"] == "docker"
    [problem] = plan["problems"]
    assert "MLRUN_TEST_UNSET_DIR" in problem["message"]
    assert problem["exit_code"] == 2
    # Without --dry-run the same project stops with that sentence.
    run = cli("run", str(project), env=env)
    assert run.returncode == 2 and "MLRUN_TEST_UNSET_DIR" in run.stderr


def test_missing_interpreter(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        """\
        python_env: python_env.yaml
        entry_points:
          main: {command: "python -c 'print(1)'"}
        """,
        {"python_env.yaml": "python: '3.1'\ndependencies: []\n"},
    )
    code, plan = _dry(project, "--env-manager", "virtualenv")
    assert code == 2
    assert plan["argv"] == ["python", "-c", "print(1)"]
    [problem] = plan["problems"]
    assert "3.1" in problem["message"]
    assert problem["exit_code"] == 125  # what the run itself would exit with


def test_env_file_that_cannot_be_built_and_a_missing_parameter_text_output(
    tmp_path: Path,
) -> None:
    project = write_project(
        tmp_path / "p",
        """\
        python_env: python_env.yaml
        entry_points:
          main:
            parameters: {data: path, alpha: {type: float, default: 0.5}}
            command: "python train.py --data {data} --alpha {alpha}"
        """,
        {"python_env.yaml": "dependencies: ['-r missing-requirements.txt']\n"},
    )
    code, plan = _dry(project, "-P", "alpha=zero")
    assert code == 2
    assert plan["argv"] == ["python", "train.py", "--data", "{data}", "--alpha", "zero"]
    messages = _messages(plan)
    assert any("'data'" in m for m in messages)
    assert any("'alpha' expects a float" in m for m in messages)
    assert any("missing-requirements.txt" in m for m in messages)
    text = cli("run", str(project), "--dry-run", "-P", "alpha=zero")
    assert text.returncode == 2
    assert "argv:" in text.stdout and "problems:     3 (the run would stop" in text.stdout
    errors = [line for line in text.stderr.splitlines() if line.startswith("mlrun: error: ")]
    assert len(errors) == 3 and any("missing-requirements.txt" in e for e in errors)


def test_shell_mode_plan_with_a_problem(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        """\
        entry_points:
          main:
            parameters: {path: path}
            command: "cat {path} | wc -l"
        """,
    )
    code, plan = _dry(project)
    assert code == 2
    assert plan["shell"] == "cat '{path}' | wc -l"
    assert plan["command_mode"] == "shell"


def test_an_unknown_entry_point_is_still_an_error_without_a_plan(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", 'entry_points:\n  main: {command: "true"}\n')
    proc = cli("run", str(project), "-e", "nope", "--dry-run", "--json")
    assert proc.returncode == 2
    assert proc.stdout == "" or "problems" not in proc.stdout


def _corpus_entry_points() -> list[Any]:
    found = []
    for folder in sorted(p.name for p in CORPUS.iterdir() if (p / "MLproject").is_file()):
        try:
            project = load_project(CORPUS / folder)
        except SpecError:
            continue  # "whose MLproject loads"
        # Planning a pinned Python looks for that interpreter (cold: a second or two).
        slow = [pytest.mark.slow] if (CORPUS / folder / "python_env.yaml").exists() else []
        found += [pytest.param(folder, name, marks=slow) for name in sorted(project.entry_points)]
    return found


CORPUS_ENTRY_POINTS = _corpus_entry_points()


def test_the_corpus_sweep_covers_it() -> None:
    assert len({p.values[0] for p in CORPUS_ENTRY_POINTS}) >= 26
    assert len(CORPUS_ENTRY_POINTS) >= 40


@pytest.mark.parametrize(("folder", "entry_point"), CORPUS_ENTRY_POINTS)
def test_every_corpus_entry_point_gives_a_command(
    folder: str, entry_point: str, tmp_path: Path
) -> None:
    """Acceptance (issue 12): as a CI tool asks it, with no -P at all and the default
    environment manager. Required parameters stay `{name}` placeholders."""
    project = tmp_path / folder
    shutil.copytree(CORPUS / folder, project)
    code, plan = _dry(project, "-e", entry_point)
    command = plan.get("argv") or plan.get("shell")
    assert command, plan
    assert plan["cwd"] == str(project)
    assert plan["env"]["kind"]
    assert code == (2 if plan["problems"] else 0), plan["problems"]
    for problem in plan["problems"]:
        assert problem["message"] and problem["exit_code"] in (2, 125)


def test_a_tracking_store_mlrun_cannot_serve_is_a_problem(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", 'entry_points:\n  main: {command: "echo hi"}\n')
    env = dict(__import__("os").environ, MLFLOW_TRACKING_URI="sqlite:///mlflow.db")
    code, plan = _dry(project, env=env)
    assert code == 2 and plan["argv"] == ["echo", "hi"]
    assert plan["mlflow"]["mode"] == "unsupported"
    [problem] = plan["problems"]
    assert "MLFLOW_TRACKING_URI is a database store" in problem["message"]
