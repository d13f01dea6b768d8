"""Acceptance: the 28 real MLproject files through the CLI, against what MLflow made of them.
`validate` and `run --dry-run` stop before anything runs: the CLI runs in this process."""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CORPUS
from tests.helpers import cli

EXPECTED: dict[str, Any] = json.loads((CORPUS / "mlflow-expected.json").read_text())
# mlrun supports docker_env's build variant (dockerfile:), which MLflow 3.17 rejects.
EXTENSIONS = {"mlflow__mlflow__tests__resources__example_docker_project__MLproject_dockerfile"}


@pytest.fixture
def corpus_project(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    return copy_project(request.param, tmp_path)


def copy_project(folder: str, tmp_path: Path) -> Path:
    """A copy as deep as in the repository: a requirement `../../..` (MLflow's tests name
    their checkout so) is then tmp_path, not every test's temporary directory."""
    target = tmp_path / "data" / "mlproject" / folder
    shutil.copytree(CORPUS / folder, target)
    return target


@pytest.mark.parametrize("corpus_project", sorted(EXPECTED), indirect=True)
def test_validate_and_dry_run_match_mlflow(corpus_project: Path) -> None:
    expected = EXPECTED[corpus_project.name]
    proc = cli("validate", str(corpus_project), "--json")
    assert "Traceback" not in proc.stderr
    if "error" in expected and corpus_project.name not in EXTENSIONS:
        assert proc.returncode == 2
        lines = proc.stderr.strip().splitlines()
        assert any(line.startswith("mlrun: error: ") for line in lines)
        # Every error and warning at once, nothing else: no traceback, no "OK".
        assert all(
            line.startswith(("mlrun: error: ", "mlrun: warning: ", "  hint: ")) for line in lines
        )
        assert "error" in json.loads(proc.stdout)  # --json: the errors as JSON
        return
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    if corpus_project.name in EXTENSIONS:
        assert any("MLflow" in w for w in summary["warnings"])
        return
    assert summary["name"] == expected["name"]
    assert summary["env"]["kind"] in (expected["env_type"], "local")
    assert sorted(summary["entry_points"]) == sorted(expected["entry_points"])
    for name, ep in expected["entry_points"].items():
        got = summary["entry_points"][name]
        assert got["command"] == ep["command_template"]
        assert sorted(got["parameters"]) == sorted(ep["parameters"])
        for pname, param in ep["parameters"].items():
            assert got["parameters"][pname]["type"] == param["type"], (name, pname)
            want = None if param["default"] is None else str(param["default"])
            assert got["parameters"][pname]["default"] == want, (name, pname)
        if "words" not in ep:
            continue
        dry = cli(
            "run", str(corpus_project), "-e", name, "--dry-run", "--json", "--env-manager", "local"
        )
        if expected["env_type"] == "docker_env":
            dry = cli("run", str(corpus_project), "-e", name, "--dry-run", "--json")
        assert dry.returncode == 0, dry.stderr
        plan = json.loads(dry.stdout)
        words = plan["argv"] if "argv" in plan else shlex.split(plan["shell"])
        assert words == ep["words"], name


# A value of each parameter type, for the entry points MLflow's loader says need one.
VALUES = {"float": "0.5", "int": "1", "string": "x", "uri": "file:///tmp/x", "bool": "true"}
# Their env files name `~/mlflow` (a checkout of MLflow in the home of MLflow's CI): the
# env cannot be built here, and --dry-run stops at that today.
UNBUILDABLE = {
    "mlflow__mlflow__tests__resources__example_virtualenv_conda_project",
    "mlflow__mlflow__tests__resources__example_virtualenv_project",
}
ENTRY_POINTS = [
    pytest.param(folder, name, id=f"{folder}:{name}")
    for folder, expected in sorted(EXPECTED.items())
    if "error" not in expected
    for name in sorted(expected["entry_points"])
]


@pytest.mark.slow  # up to three dry runs each
@pytest.mark.parametrize(("folder", "entry_point"), ENTRY_POINTS)
def test_dry_run_gives_the_command_of_every_entry_point(
    folder: str, entry_point: str, tmp_path: Path
) -> None:
    """Every entry point of every corpus project whose MLproject loads: `--dry-run --json`
    gives its command with the project's own env manager and, for projects that are not
    docker ones, with each manager that needs no conda (conda.yaml built as MLflow does
    without conda); the same words whichever builds the env."""
    project = copy_project(folder, tmp_path)
    expected = EXPECTED[folder]
    ep = expected["entry_points"][entry_point]
    data = tmp_path / "data.csv"  # path parameters must name something that exists
    data.write_text("a,b\n1,2\n")
    params: list[str] = []
    for name in ep.get("required", []):
        kind = ep["parameters"][name]["type"]
        params += ["-P", f"{name}={data if kind == 'path' else VALUES[kind]}"]
    managers = [[]] + (
        []
        if expected["env_type"] == "docker_env"
        else [["--env-manager", m] for m in ("uv", "virtualenv")]
    )
    commands = []
    for manager in managers:
        args = ["run", str(project), "-e", entry_point, "--dry-run", "--json", *params, *manager]
        proc = cli(*args)
        plan = json.loads(proc.stdout)
        # An env file this machine cannot build: the plan, its problem listed, exit 2.
        unbuildable = folder in UNBUILDABLE
        assert proc.returncode == (2 if unbuildable else 0), (manager, proc.stderr)
        assert bool(plan["problems"]) == unbuildable, plan["problems"]
        commands.append(plan["argv"] if "argv" in plan else shlex.split(plan["shell"]))
    assert all(words for words in commands)
    assert all(words == commands[0] for words in commands), commands
    if "words" in ep:
        assert commands[0] == ep["words"]
