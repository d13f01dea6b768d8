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

What is not Slurm's -- one reader, once; the logs, outputs and record -- is
backends/reconciling.py."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from mlrun.backends.slurm import ctl
from mlrun.backends.slurm.child import TAG_PREFIX
from mlrun.backends.slurm.ctl import JobInfo
from mlrun.backends.slurm.script import JOB_DIR, JobFiles
from mlrun.backends.slurm.states import ending, is_active
from mlrun.tracking.base import RunStore
from mlrun.tracking.model import Run


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
    from mlrun.backends import reconciling

    files = JobFiles(Path(run.run_dir).parent / JOB_DIR)
    found: tuple[str, int, str] | None = None
    tags = {}
    if info is not None:
        end = ending(job_id, info.state, info.exit_code)
        found = (end.status, end.exit_code, end.reason or f"Slurm job {job_id} completed")
        known = {"job_id": job_id, "state": info.state, "exit_code": info.exit_code}
        known.update({k: v for k, v in (("node", info.node), ("partition", info.partition)) if v})
        tags = {TAG_PREFIX + k: v for k, v in known.items()}
    reconciling.finish(
        store,
        run,
        files.directory,
        found,
        label="Slurm",
        command=f"job {job_id}",
        why=why,
        output={"stdout": files.stdout, "stderr": files.stderr},
        tags=tags,
    )
    files.environ.unlink(missing_ok=True)
