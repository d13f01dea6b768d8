"""Runs whose mlrun process died while their Slurm job was queued or running.

The job does not die with mlrun: it runs on, and writes its output and its
$MLRUN_RUN_DIR files as usual. So a reader of the store that finds such a run (its mlrun
process gone, tracking/liveness.py) asks Slurm instead of declaring it KILLED:

- the job is still pending or running: the run stays RUNNING;
- it ended: the run is finished as the watching mlrun would have finished it -- status,
  exit code and reason from Slurm's accounting (sacct, else the controller), the job's
  output the dead mlrun had not yet copied appended to the run's logs, the step's
  outputs and metrics recorded -- with a reason that says it was reconciled;
- Slurm cannot be asked (no sacct here, slurmdbd and the controller silent): RUNNING,
  until a later reader can ask.

One reader does it (a try-once lock in the job's directory), once (a marker file)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from mlrun.backends.slurm import ctl
from mlrun.backends.slurm.child import TAG_PREFIX
from mlrun.backends.slurm.ctl import JobInfo
from mlrun.backends.slurm.script import JOB_DIR, JobFiles
from mlrun.backends.slurm.states import ending, is_active
from mlrun.tracking.base import RunStore
from mlrun.tracking.model import KILLED, Run

LOCK, DONE = "reconcile.lock", "reconciled"


def reconcile(store: RunStore, runs: Sequence[Run], reasons: Mapping[str, str]) -> set[str]:
    jobs = {run.run_id: run.tags.get(TAG_PREFIX + "job_id", "") for run in runs}
    with_job = {run_id: job for run_id, job in jobs.items() if job.isdigit()}
    # A run without a job never submitted one (mlrun died before): an ordinary death.
    if not with_job:
        return set()
    infos = _ask(sorted(set(with_job.values())))
    if infos is None:
        return set(with_job)  # Slurm cannot be asked now: the runs stay RUNNING
    answered = set()
    for run in runs:
        job_id = with_job.get(run.run_id)
        if job_id is None:
            continue
        answered.add(run.run_id)
        info = infos.get(job_id)
        if info is not None and is_active(info.state):
            continue
        _finish(store, run, job_id, info, reasons.get(run.run_id, "mlrun stopped"))
    return answered


def _ask(ids: list[str]) -> dict[str, JobInfo] | None:
    """Accounting first (it knows every past job), the controller for what it lacks."""
    found = ctl.accounting(ids)
    missing = [j for j in ids if found is None or j not in found or is_active(found[j].state)]
    if missing:
        live = ctl.query(missing)
        if live is None and found is None:
            return None
        found = {**(found or {}), **(live or {})}
    return found or {}


def _finish(store: RunStore, run: Run, job_id: str, info: JobInfo | None, why: str) -> None:
    from mlrun.util.locks import FileLock

    files = JobFiles(Path(run.run_dir).parent / JOB_DIR)
    lock = FileLock(files.directory / LOCK)
    try:
        if not lock.exclusive(blocking=False):
            return  # another reader is at it
    except OSError:  # the run's directory is gone: finish it all the same
        lock = None  # type: ignore[assignment]
    try:
        if (files.directory / DONE).exists():
            return
        dead = why.replace(" died", " stopped")  # "died" reads as mlrun's KILLED in lists
        if info is None:
            store.finish_run(
                run.run_id, KILLED, None, f"{dead}, and Slurm no longer knows job {job_id}"
            )
            return
        _copy_rest(files, run)
        from mlrun.recording import record_outputs
        from mlrun.reporting import Reporter

        record_outputs(store, run.run_id, Path(run.run_dir), Reporter())  # silent
        tags = {"job_id": job_id, "state": info.state, "exit_code": info.exit_code}
        tags.update({k: v for k, v in (("node", info.node), ("partition", info.partition)) if v})
        store.set_tags(run.run_id, {TAG_PREFIX + k: v for k, v in tags.items()})
        end = ending(job_id, info.state, info.exit_code)
        what = end.reason or f"Slurm job {job_id} completed"
        store.finish_run(
            run.run_id, end.status, end.exit_code, f"{what} (reconciled from Slurm: {dead})"
        )
        try:
            (files.directory / DONE).touch()
            files.environ.unlink(missing_ok=True)
        except OSError:
            pass
    finally:
        if lock is not None:
            lock.release()


def _copy_rest(files: JobFiles, run: Run) -> None:
    """Append to the run's logs what the job wrote after its mlrun stopped copying: the
    run's stdout.log holds exactly the first N bytes of the job's stdout file."""
    from mlrun.execution.logs import LogSink

    logs = run.log_paths
    if "stdout" not in logs:
        return
    sink = LogSink(Path(logs["stdout"]).parent, echo=False)
    try:
        for stream, source in (("stdout", files.stdout), ("stderr", files.stderr)):
            try:
                copied = os.path.getsize(logs[stream])
            except OSError:
                copied = 0
            try:
                with open(source, "rb") as fh:
                    fh.seek(copied)
                    while chunk := fh.read(1 << 20):
                        sink.write(stream, chunk)
            except OSError:
                continue
    finally:
        sink.close()
