"""A run whose mlrun process died while its Slurm job was queued or running: the job's
own state decides. While the job runs the run stays RUNNING (never declared KILLED by
the pid check); once it ended, the next reader of the store finishes the run from
Slurm's records, with the output and outputs the job wrote after mlrun died."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from mlrun.tracking import open_store
from mlrun.tracking.liveness import BACKEND_TAG, this_host
from mlrun.tracking.model import NewRun
from tests.helpers import mlrun as mlrun_cli
from tests.helpers import spawn_mlrun
from tests.slurm.slurmtools import accounted, latest_run, project, require_slurm, started_job


def _orphan(tmp_path: Path, *args: str) -> tuple[str, str]:
    """A run whose mlrun is SIGKILLed once its job has started: (run id, job id)."""
    proc = spawn_mlrun("run", str(project(tmp_path / "p")), "-b", "slurm", *args)
    run, job = started_job(latest_run)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    return run.run_id, job


@pytest.mark.slurm
def test_a_run_whose_mlrun_died_stays_running_with_its_job_then_is_reconciled(
    tmp_path: Path,
) -> None:
    require_slurm()
    go = tmp_path / "go"
    run_id, job = _orphan(tmp_path, "-P", "what=wait", "-P", f"go={go}", "-P", "code=3")
    listed = mlrun_cli("runs", "list", "--json", check=True).stdout
    assert '"status": "RUNNING"' in listed  # the pid is dead, but the job is not
    assert open_store().get_run(run_id).status == "RUNNING"
    go.touch()
    accounted(job)  # the job ended; the store does not know yet
    run = open_store().get_run(run_id)  # this read reconciles it
    assert (run.status, run.exit_code) == ("FAILED", 3)
    assert run.status_reason is not None
    assert run.status_reason.startswith("the command exited with 3 (reconciled from Slurm: ")
    assert "died" not in run.status_reason  # `runs list` says "mlrun died" only for deaths
    assert run.tags["mlrun.slurm.state"] == "FAILED"
    assert run.tags["mlrun.slurm.exit_code"] == "3:0"
    assert [m.key for m in run.metrics] == ["score"] and run.outputs == {"what": "wait"}
    log = Path(run.log_paths["stdout"]).read_text()
    assert log == f"started {job}\nafter the wait\n"  # the rest of the output, once
    assert Path(run.log_paths["combined"]).read_text().count("after the wait") == 1
    again = open_store().get_run(run_id)  # a second reader changes nothing
    assert (again.metrics, again.status_reason) == (run.metrics, run.status_reason)


@pytest.mark.slurm
def test_a_job_cancelled_after_mlrun_died_is_reconciled_killed(tmp_path: Path) -> None:
    require_slurm()
    run_id, job = _orphan(tmp_path, "-P", "what=sleep")
    subprocess.run(["scancel", job], check=True)
    accounted(job)
    listed = mlrun_cli("runs", "list", check=True).stdout
    assert "KILLED" in listed and "mlrun died" not in listed
    run = open_store().get_run(run_id)
    assert (run.status, run.exit_code) == ("KILLED", 143)
    assert run.status_reason is not None
    assert run.status_reason.startswith(f"Slurm job {job} was cancelled (by uid ")


def _dead_run(tags: dict[str, str], run_dir: str = "/nonexistent/outputs") -> str:
    store = open_store()
    return store.create_run(
        NewRun(
            experiment="Default",
            run_name=None,
            source_uri=".",
            source_type="local",
            entry_point="main",
            params={},
            command=["true"],
            command_mode="argv",
            env_kind="local",
            run_dir=run_dir,
            log_paths={},
            host=this_host(),
            user="u",
            pid=2**22 + 7,
            pid_start="1",
            mlrun_version="0",
            tags=tags,
        )
    ).run_id


def test_a_slurm_run_that_never_got_a_job_died_with_its_mlrun() -> None:
    run_id = _dead_run({BACKEND_TAG: "slurm"})  # mlrun died before sbatch answered
    run = open_store().get_run(run_id)
    assert run.status == "KILLED" and "died" in (run.status_reason or "")


def test_a_run_of_a_backend_not_installed_here_is_left_running() -> None:
    run_id = _dead_run({BACKEND_TAG: "some-cluster-plugin"})
    assert open_store().get_run(run_id).status == "RUNNING"
    local = _dead_run({})
    assert open_store().get_run(local).status == "KILLED"


@pytest.mark.slurm
def test_a_job_slurm_forgot_is_recorded_killed(tmp_path: Path) -> None:
    require_slurm()
    gone = tmp_path / "gone"  # the run's directory was removed, too
    tags = {BACKEND_TAG: "slurm", "mlrun.slurm.job_id": "999999999"}
    for _ in range(2):  # each such run is finished, whatever came before it
        run_id = _dead_run(tags, str(gone / "outputs"))
        run = open_store().get_run(run_id)
        assert run.status == "KILLED"
        assert "Slurm no longer knows job 999999999" in (run.status_reason or "")
    assert not gone.exists()  # reconciling never creates a run's directory
