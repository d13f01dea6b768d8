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
    target = tmp_path / request.param
    shutil.copytree(CORPUS / request.param, target)
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
