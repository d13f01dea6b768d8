"""Runs as real batch jobs on the CI's Slurm cluster (docs/services.md): exit codes,
live output into the run's logs, the record's job details, cancellation from either
side, Slurm's own endings that are quick to provoke, and the errors of a submission."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

import mlrun
from mlrun.cli.main import run_cli
from mlrun.tracking import open_store
from tests.helpers import mlrun as mlrun_cli
from tests.helpers import spawn_mlrun
from tests.slurm.slurmtools import (
    accounted,
    in_queue,
    job_of,
    latest_run,
    only_run,
    project,
    require_slurm,
    short_host,
    started_job,
)

pytestmark = pytest.mark.slurm


@pytest.fixture(autouse=True)
def _cluster() -> None:
    require_slurm()


def test_exit_codes_pass_through_and_the_record_names_the_job(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path / "p")
    assert run_cli(["run", str(root), "-b", "slurm"]) == 0
    out, err = capfd.readouterr()
    assert "started" in out and "to stderr" in err  # echoed as a local run's output
    assert run_cli(["run", str(root), "-b", "slurm", "-c", '{"partition": "batch"}',
                    "-P", "code=3"]) == 3  # fmt: skip
    failed, finished = open_store().search_runs()
    assert (finished.status, finished.exit_code) == ("FINISHED", 0)
    assert (failed.status, failed.exit_code, failed.status_reason) == (
        "FAILED",
        3,
        "the command exited with 3",
    )
    for run, state, partition in ((finished, "COMPLETED", "debug"), (failed, "FAILED", "batch")):
        job = job_of(run)
        assert run.tags["mlrun.backend"] == "slurm"
        assert run.tags["mlrun.slurm.partition"] == partition
        assert run.tags["mlrun.slurm.node"] == short_host()
        assert run.tags["mlrun.slurm.state"] == state
        sacct = accounted(job)
        assert (sacct["JobName"], sacct["State"]) == (f"mlrun-{run.run_id}", state)
        assert run.run_id in sacct["Comment"]
        assert f"started {job}\n" == Path(run.log_paths["stdout"]).read_text()
        assert Path(run.log_paths["stderr"]).read_text() == "to stderr\n"
        assert [m.key for m in run.metrics] == ["score"] and run.outputs == {"what": "plain"}
    shown = mlrun_cli("runs", "show", failed.run_id, check=True).stdout
    assert f"backend      slurm (exit_code=3:0, job_id={job_of(failed)}, node=" in shown


def test_output_reaches_the_logs_while_the_job_runs(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    go = tmp_path / "go"
    proc = spawn_mlrun("run", str(root), "-b", "slurm", "-P", "what=wait", "-P", f"go={go}")
    run, _ = started_job(latest_run)  # "started" is in the log, and the job still waits
    assert "after the wait" not in Path(run.log_paths["combined"]).read_text()
    go.touch()
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0
    assert Path(run.log_paths["stdout"]).read_text().endswith("after the wait\n")
    assert "after the wait" in out


def test_sigterm_to_mlrun_cancels_the_job_and_the_run_is_killed(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    proc = spawn_mlrun("run", str(root), "-b", "slurm", "-P", "what=sleep")
    run, job = started_job(latest_run)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert not in_queue(job)
    assert accounted(job)["State"].startswith("CANCELLED")
    got = open_store().get_run(run.run_id)
    assert (got.status, got.exit_code) == ("KILLED", 143)
    assert got.status_reason == "stopped by SIGTERM sent to mlrun"
    assert got.tags["mlrun.slurm.state"].startswith("CANCELLED")


def test_a_job_cancelled_from_outside_is_recorded_killed(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    proc = spawn_mlrun(
        "run", str(root), "-b", "slurm", "-P", "what=sleep", "-c", '{"poll_interval": 1}'
    )
    run, job = started_job(latest_run)
    subprocess.run(["scancel", job], check=True)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    got = open_store().get_run(run.run_id)
    assert (got.status, got.exit_code) == ("KILLED", 143)
    assert got.status_reason is not None
    assert got.status_reason.startswith(f"Slurm job {job} was cancelled")
    assert f"run {run.run_id} KILLED (Slurm job {job} was cancelled" in err


def test_a_job_over_its_memory_limit_fails_out_of_memory(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    code = run_cli(["run", str(root), "-e", "hog", "-b", "slurm", "-c", '{"mem": "20M"}'])
    run = only_run()
    assert (code, run.status, run.exit_code) == (137, "FAILED", 137)
    assert run.status_reason == f"Slurm job {job_of(run)} ran out of memory (mem=20M)"
    assert run.tags["mlrun.slurm.state"] == "OUT_OF_MEMORY"


@pytest.mark.slow
def test_a_preempted_job_is_recorded_killed(tmp_path: Path) -> None:
    # The cluster is shared: the run's job takes the memory nobody holds now, at the
    # lowest priority (so it is the first a preemptor picks); then an `urgent` job asks
    # for all that is free plus the job's share, which only cancelling it provides
    # (PreemptMode=CANCEL).
    share = _unallocated_memory()
    if share < 512:
        pytest.skip(f"the node has only {share} MB of memory nobody holds")
    root = project(tmp_path / "p")
    config = json.dumps({"mem": str(share), "poll_interval": 1, "extra": ["--nice=10000"]})
    proc = spawn_mlrun("run", str(root), "-b", "slurm", "-P", "what=sleep", "-c", config)
    run, job = started_job(latest_run)
    urgent = subprocess.run(
        ["sbatch", "--parsable", "-p", "urgent", f"--mem={_unallocated_memory() + share}",
         "-o", os.devnull, "--wrap", "true"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    try:
        _, err = proc.communicate(timeout=120)
        accounted(urgent)
    finally:
        subprocess.run(["scancel", urgent], check=False)
    got = open_store().get_run(run.run_id)
    assert (proc.returncode, got.status, got.exit_code) == (143, "KILLED", 143), err
    assert got.status_reason == f"Slurm job {job} was preempted by a job of higher priority"


def _unallocated_memory() -> int:
    """MB of the node's memory no job holds now (RealMemory - AllocMem)."""
    shown = subprocess.run(
        ["scontrol", "show", "node", "-o"], capture_output=True, text=True, check=True
    ).stdout.split()
    fields = dict(item.split("=", 1) for item in shown if "=" in item)
    return int(fields["RealMemory"]) - int(fields.get("AllocMem", "0"))


def test_secrets_reach_the_job_but_not_the_controllers_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLRUN_TEST_SECRET", "s3cret-value")
    root = project(tmp_path / "p")
    assert run_cli(["run", str(root), "-b", "slurm", "-P", "what=secret"]) == 0
    run = only_run()
    assert "secret seen: True" in Path(run.log_paths["stdout"]).read_text()
    config = subprocess.run(
        ["scontrol", "show", "config"], capture_output=True, text=True, check=True
    )
    state_dir = Path(
        next(
            line.split("=", 1)[1].strip()
            for line in config.stdout.splitlines()
            if line.startswith("StateSaveLocation")
        )
    )
    kept = list(state_dir.glob(f"hash.*/job.{job_of(run)}/*"))
    assert {p.name for p in kept} >= {"environment", "script"}  # what the controller keeps
    for path in kept:
        assert b"s3cret-value" not in path.read_bytes(), path
    job_dir = Path(run.run_dir).parent / "slurm"
    assert job_dir.stat().st_mode & 0o777 == 0o700
    assert not (job_dir / "environ").exists()  # the job read it and removed it


def test_the_python_api_runs_on_slurm(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    submitted = mlrun.run(
        str(root),
        parameters={"code": "3"},
        backend="slurm",
        backend_config={"partition": "batch", "time": "5"},
        synchronous=False,
        echo=False,
    )
    assert submitted.wait() is False
    run = open_store().get_run(submitted.run_id)
    assert (run.exit_code, run.tags["mlrun.slurm.partition"]) == (3, "batch")


def _submission_fails(root: Path, *args: str, env: dict[str, str] | None = None) -> str:
    proc = mlrun_cli("run", str(root), "-b", "slurm", *args, env=env)
    assert proc.returncode == 125, proc.stderr
    assert "Traceback" not in proc.stderr
    error = proc.stderr.splitlines()[-2] if "hint:" in proc.stderr else proc.stderr
    run = only_run()
    assert (run.status, run.exit_code) == ("FAILED", 125)
    assert run.status_reason is not None and run.status_reason in error
    return proc.stderr


def test_an_unknown_partition_is_one_sentence_naming_the_known_ones(tmp_path: Path) -> None:
    said = _submission_fails(project(tmp_path / "p"), "-c", '{"partition": "nosuch"}')
    assert "mlrun: error: Slurm has no partition 'nosuch': sbatch refused the job" in said
    assert "debug*, batch, urgent" in said


def test_a_rejected_submission_says_what_slurm_said(tmp_path: Path) -> None:
    said = _submission_fails(project(tmp_path / "p"), "-c", '{"mem": "999999G"}')
    assert "mlrun: error: Slurm refused the job: " in said
    assert "node configuration is not available" in said.lower()


def test_a_controller_that_does_not_answer(tmp_path: Path) -> None:
    conf = tmp_path / "slurm.conf"
    text = Path("/etc/slurm/slurm.conf").read_text()
    conf.write_text(text.replace("SlurmctldPort=16817", "SlurmctldPort=9") + "MessageTimeout=1\n")
    env = dict(os.environ, SLURM_CONF=str(conf))
    said = _submission_fails(project(tmp_path / "p"), env=env)
    assert "mlrun: error: the Slurm controller did not answer (sbatch: " in said
    assert "scontrol ping" in said


def test_a_controller_that_stops_answering_never_holds_mlrun_forever(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlrun.backends.slurm import child

    monkeypatch.setattr(child, "UNCONFIRMED_AFTER", 1.0)
    conf = tmp_path / "slurm.conf"
    text = Path("/etc/slurm/slurm.conf").read_text()
    conf.write_text(text.replace("SlurmctldPort=16817", "SlurmctldPort=9") + "MessageTimeout=1\n")
    submitted = mlrun.run(
        str(project(tmp_path / "p")),
        parameters={"what": "sleep"},
        backend="slurm",
        backend_config={"poll_interval": 1},
        synchronous=False,
        echo=False,
    )
    _, job = started_job(latest_run)
    monkeypatch.setenv("SLURM_CONF", str(conf))  # from now on the controller is silent
    try:
        submitted.cancel()
        submitted.cancel()  # a second request kills at once; scancel cannot reach Slurm
        submitted.wait(timeout=120)
        got = open_store().get_run(submitted.run_id)
        assert (got.status, got.tags["mlrun.slurm.state"]) == ("KILLED", "UNCONFIRMED")
    finally:
        monkeypatch.delenv("SLURM_CONF")
        subprocess.run(["scancel", job], check=True)
    assert accounted(job)["State"].startswith("CANCELLED")
