"""A python_env project on Slurm: its env is built once, on the submitting side, in the
shared cache the config names (`env_cache`), and the job runs in it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mlrun.tracking import open_store
from tests.envs.conftest import isolated_tools, tool_dirs  # noqa: F401  (offline builds)
from tests.envs.projects import PYTHON, dry_env, python_project, run_json
from tests.slurm.slurmtools import require_slurm

pytestmark = pytest.mark.slurm

ENV = f"""\
python: "{PYTHON}"
dependencies:
  - mlt-alpha==1.0
"""


def test_a_python_env_is_built_once_in_the_shared_cache_and_used_by_the_job(
    tmp_path: Path,
) -> None:
    require_slurm()
    shared = tmp_path / "shared" / "envs"
    project = python_project(tmp_path / "p", ENV)
    config = json.dumps({"env_cache": str(shared)})
    planned = dry_env(project, "-b", "slurm", "-c", config)
    assert planned["cached"] is False
    seen, shown = run_json(project, "-b", "slurm", "-c", config)
    env = shown["env"]
    prefix = str(shared / env["key"] / "env")
    assert (env["path"], env["built"]) == (prefix, True)
    # The job ran in it: its interpreter, its packages, its bin first on PATH.
    assert seen["prefix"] == prefix and seen["executable"].startswith(prefix)
    assert seen["packages"]["mlt_alpha"] == "1.0"
    assert seen["PATH0"] == f"{prefix}/bin"
    assert open_store().get_run(shown["run_id"]).tags["mlrun.slurm.job_id"].isdigit()
    assert not (Path(os.environ["MLRUN_HOME"]) / "cache" / "envs" / env["key"]).exists()
    assert dry_env(project, "-b", "slurm", "-c", config)["cached"] is True
    seen2, shown2 = run_json(project, "-b", "slurm", "-c", config)
    assert (shown2["env"]["path"], shown2["env"]["built"]) == (prefix, False)
    assert seen2 == seen
    assert Path(env["build_log"]).read_text().count("installing dependencies") == 1
