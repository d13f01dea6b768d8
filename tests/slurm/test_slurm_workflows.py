"""Workflows on Slurm: mlrun stays the driver (references resolved from the steps'
outputs), every executed step is a batch job, `-j N` caps the jobs in flight, the step
cache works unchanged, and stopping the workflow cancels its jobs."""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

import pytest

from mlrun.tracking import open_store
from mlrun.tracking.model import Run
from tests.helpers import REPO, spawn_mlrun, write_project
from tests.slurm.slurmtools import accounted, in_queue, require_slurm, wait_for
from tests.workflow.wfhelpers import run_json, statuses

pytestmark = pytest.mark.slurm


@pytest.fixture(autouse=True)
def _cluster() -> None:
    require_slurm()


def _steps(workflow_run_id: str) -> list[Run]:
    return open_store().search_runs(parent_run_id=workflow_run_id, limit=None)


@pytest.mark.slow
def test_the_example_pipeline_runs_its_steps_as_jobs_and_reruns_fully_cached(
    tmp_path: Path,
) -> None:
    project = tmp_path / "wine-pipeline"
    shutil.copytree(REPO / "example_projects" / "wine-pipeline", project)
    first = run_json(project, "-e", "pipeline", "-b", "slurm", "-j", "4")
    assert set(statuses(first).values()) == {"finished"}
    steps = _steps(first["run_id"])
    assert len(steps) == 6  # download, prepare, train x3, evaluate
    jobs = {run.run_name: run.tags["mlrun.slurm.job_id"] for run in steps}
    assert len(set(jobs.values())) == 6
    for run in steps:
        record = accounted(run.tags["mlrun.slurm.job_id"])
        assert (record["JobName"], record["State"]) == (f"mlrun-{run.run_id}", "COMPLETED")
    # evaluate got the three train steps' outputs, resolved by mlrun on this side
    assert first["outputs"]["evaluate"]["best_alpha"] in (0.01, 0.1, 1.0)
    again = run_json(project, "-e", "pipeline", "-b", "slurm", "-j", "4")
    assert set(statuses(again).values()) == {"cached"}
    assert _steps(again["run_id"]) == []  # no step ran: no job was submitted
    assert again["outputs"] == first["outputs"]


MATRIX = """\
name: matrix
entry_points:
  work:
    parameters: {i: int}
    command: "python -c 'import time; time.sleep(1)'"
workflows:
  many:
    steps:
      work:
        entry_point: work
        matrix: {i: [1, 2, 3]}
        parameters: {i: "${{ matrix.i }}"}
"""


def test_jobs_in_flight_are_capped_by_j(tmp_path: Path) -> None:
    project = write_project(tmp_path / "m", MATRIX)
    result = run_json(project, "-e", "many", "-b", "slurm", "-j", "2")
    assert set(statuses(result).values()) == {"finished"}
    steps = _steps(result["run_id"])
    assert len({run.tags["mlrun.slurm.job_id"] for run in steps}) == 3
    # A step is in flight from its record's start (before sbatch) to its end.
    events = sorted(
        [(run.start_time, 1) for run in steps] + [(run.end_time or 0.0, -1) for run in steps]
    )
    in_flight, most = 0, 0
    for _, change in events:
        in_flight += change
        most = max(most, in_flight)
    assert most == 2


def test_stopping_a_workflow_cancels_its_jobs(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "m", MATRIX.replace("time.sleep(1)", "print(1, flush=True); time.sleep(300)")
    )
    proc = spawn_mlrun("run", str(project), "-e", "many", "-b", "slurm", "-j", "3")

    def three_running() -> list[Run] | None:
        runs = [
            r
            for r in open_store().search_runs(limit=None)
            if "mlrun.slurm.job_id" in r.tags
            and Path(r.log_paths["stdout"]).exists()
            and Path(r.log_paths["stdout"]).read_text()
        ]
        return runs if len(runs) == 3 else None

    running = wait_for(three_running, "three jobs to run")
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=120)
    assert proc.returncode == 143
    for run in running:
        job = run.tags["mlrun.slurm.job_id"]
        assert not in_queue(job)
        assert accounted(job)["State"].startswith("CANCELLED")
        assert open_store().get_run(run.run_id).status == "KILLED"
    workflow = [r for r in open_store().search_runs() if r.env_kind == "workflow"]
    assert [w.status for w in workflow] == ["KILLED"]
