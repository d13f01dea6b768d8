"""What the Slurm tests share: the cluster check, a project whose steps talk to the test
through files, and questions to the real cluster (squeue, sacct) about a run's job."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlrun.tracking import open_store
from mlrun.tracking.model import Run
from tests import services
from tests.conftest import require_service
from tests.helpers import write_project

# `hog` is one process that grows without end (tail holds a newline-free stream): no pipe,
# whose writer could get slurmstepd itself OOM-killed and leave the job RUNNING.
# Each entry point announces itself on stdout, then does its part; `wait` waits for the
# file named by -P go (the test creates it), so a test can act while the job runs.
STEP = """\
import json, os, sys, time
what, code, go = sys.argv[1], int(sys.argv[2]), sys.argv[3]
print("started", os.environ.get("SLURM_JOB_ID"), flush=True)
print("to stderr", file=sys.stderr, flush=True)
if what == "wait":
    while not os.path.exists(go):
        time.sleep(0.05)
    print("after the wait", flush=True)
if what == "secret":
    print("secret seen:", os.environ.get("MLRUN_TEST_SECRET") == "s3cret-value", flush=True)
if what == "sleep":
    time.sleep(300)
run_dir = os.environ["MLRUN_RUN_DIR"]
with open(os.path.join(run_dir, "metrics.jsonl"), "a") as fh:
    fh.write(json.dumps({"key": "score", "value": 0.75}) + "\\n")
with open(os.path.join(run_dir, "outputs.json"), "w") as fh:
    json.dump({"what": what}, fh)
sys.exit(code)
"""

MLPROJECT = """\
name: slurm-test
entry_points:
  main:
    parameters:
      what: {type: string, default: plain}
      code: {type: int, default: 0}
      go: {type: string, default: none}
    command: "python step.py {what} {code} {go}"
  hog:
    command: "tail /dev/zero"
"""


def require_slurm() -> None:
    require_service(services.slurm_available(), services.NO_SLURM)


def project(root: Path) -> Path:
    return write_project(root, MLPROJECT, {"step.py": STEP})


def wait_for(check: Callable[[], Any], what: str, timeout: float = 120) -> Any:
    """Poll `check` until it returns something truthy (the cluster's pace, not ours)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def only_run() -> Run:
    runs = open_store().search_runs()
    assert len(runs) == 1, runs
    return runs[0]


def job_of(run: Run) -> str:
    return run.tags["mlrun.slurm.job_id"]


def started_job(log_dir_of: Callable[[], Run | None]) -> tuple[Run, str]:
    """The run and its job once the command printed "started" into the run's log."""

    def started() -> tuple[Run, str] | None:
        run = log_dir_of()
        if run is None or "mlrun.slurm.job_id" not in run.tags:
            return None
        log = Path(run.log_paths["stdout"])
        return (run, job_of(run)) if log.exists() and "started" in log.read_text() else None

    found: tuple[Run, str] = wait_for(started, "the job to start")
    return found


def latest_run() -> Run | None:
    runs = open_store().search_runs(limit=1)
    return runs[0] if runs else None


def in_queue(job_id: str) -> bool:
    """squeue lists a job only while it is pending or running."""
    out = subprocess.run(
        ["squeue", "-h", "-j", job_id], capture_output=True, text=True, check=False
    )
    return bool(out.stdout.strip())


def accounted(job_id: str) -> dict[str, str]:
    """sacct's final record of the job (waits for it to leave the active states)."""
    fields = ["JobID", "JobName", "State", "ExitCode", "NodeList", "Partition", "Comment"]

    def final() -> dict[str, str] | None:
        out = subprocess.run(
            ["sacct", "-X", "-n", "-P", "-j", job_id, "-o", ",".join(fields)],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        for line in out.splitlines():
            row = dict(zip(fields, line.split("|"), strict=False))
            if row.get("JobID") != job_id or row["State"].split()[0] in {
                "PENDING", "RUNNING", "COMPLETING", "REQUEUED", "CONFIGURING",
            }:  # fmt: skip
                continue
            # Right after the end, slurmdbd may still hold a first record whose JobName
            # is "allocation" (seen on 22.05); the job's own name follows.
            if row["JobName"] != "allocation":
                return row
        return None

    found: dict[str, str] = wait_for(final, f"sacct to record job {job_id}")
    return found


def short_host() -> str:
    return os.uname().nodename.split(".")[0]
