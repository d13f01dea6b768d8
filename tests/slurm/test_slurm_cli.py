"""The Slurm backend from the command line where no cluster is needed: the refusals
that come before a submission, and the batch script `--dry-run` prints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlrun.cli.main import run_cli
from mlrun.tracking import open_store
from tests.helpers import write_project
from tests.slurm.slurmtools import only_run, project


def test_without_sbatch_on_path_the_run_fails_in_one_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path / "p")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert run_cli(["run", str(root), "-b", "slurm"]) == 125
    err = capfd.readouterr().err
    assert "mlrun: error: the Slurm backend needs Slurm's `sbatch` command" in err
    run = only_run()
    assert (run.status, run.exit_code) == ("FAILED", 125)


def test_docker_projects_are_refused_before_anything_is_recorded(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    root = write_project(
        tmp_path / "d",
        'docker_env: {image: "python:3.12-slim"}\nentry_points:\n  main: {command: "true"}\n',
    )
    assert run_cli(["run", str(root), "-b", "slurm"]) == 2
    err = capfd.readouterr().err
    assert err.startswith("mlrun: error: the Slurm backend runs commands as batch jobs, not")
    assert open_store().search_runs() == []


def test_dry_run_prints_the_batch_script(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    root = project(tmp_path / "p")
    config = {"partition": "batch", "time": "10", "setup": ["module load python"]}
    assert run_cli(["run", str(root), "-b", "slurm", "-c", json.dumps(config), "--dry-run"]) == 0
    out = capfd.readouterr().out
    assert "  script:\n    #!/bin/bash\n" in out
    assert "    #SBATCH --partition=batch\n    #SBATCH --time=10\n" in out
    assert "    module load python\n" in out and "    python step.py plain 0 none\n" in out
    assert "sbatch --parsable --job-name=mlrun-RUN_ID" in out
    assert open_store().search_runs() == []
