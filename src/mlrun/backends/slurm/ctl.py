"""Talking to Slurm through its client commands (sbatch, squeue, sacct, scancel), the
way users' own scripts do: no library, no daemon of ours, and the cluster's own
configuration (SLURM_CONF) applies. Every failure that stops a run is an EngineError
(exit 125) in one sentence; the watching loop's questions never raise (see watch.py)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from mlrun.errors import EngineError
from mlrun.util.proc import ProcResult, run

SUBMIT_TIMEOUT = 120.0  # sbatch retries an unreachable controller for a while itself
QUERY_TIMEOUT = 60.0
# squeue's --Format, one job per line: fields end with "|" (Reason, free text, is last).
_SQUEUE_FORMAT = "JobID:|,State:|,exit_code:|,NodeList:|,Partition:|,Reason:|"
_SACCT_FIELDS = "JobID,State,ExitCode,NodeList,Partition,Reason"
_NO_CONTROLLER = re.compile(
    r"unable to contact slurm controller|connection refused|timed out", re.I
)


class JobInfo:
    """One job as the controller or the accounting saw it."""

    def __init__(
        self, job_id: str, state: str, exit_code: str, node: str, partition: str, reason: str
    ) -> None:
        self.job_id = job_id
        self.state = state  # e.g. RUNNING, COMPLETED, CANCELLED by 0
        self.exit_code = exit_code  # code:signal
        self.node = "" if node in ("(null)", "None assigned") else node
        self.partition = partition
        self.reason = "" if reason in ("None", "(null)") else reason

    def __repr__(self) -> str:
        return f"JobInfo({self.job_id} {self.state} {self.exit_code} on {self.node or '-'})"


def require_sbatch() -> str:
    path = shutil.which("sbatch")
    if path is None:
        raise EngineError(
            "the Slurm backend needs Slurm's `sbatch` command, and it is not on PATH",
            hint="run mlrun on a machine that submits Slurm jobs (a login node), or add "
            "Slurm's bin directory to PATH",
        )
    return path


def submit(
    options: Sequence[str], script: Path, environ: Mapping[str, str], partition: str | None
) -> str:
    """`sbatch --parsable OPTIONS SCRIPT` -> the job id; EngineError in one sentence."""
    sbatch = require_sbatch()
    result = run(
        [sbatch, "--parsable", *options, str(script)],
        env=environ,
        check=False,
        timeout=SUBMIT_TIMEOUT,
    )
    job_id = result.stdout.strip().split(";")[0] if result.ok else ""
    if result.ok and job_id.isdigit():
        return job_id
    raise _submit_error(result, partition)


def _submit_error(result: ProcResult, partition: str | None) -> EngineError:
    said = _error_text(result)
    if result.returncode == 124 or _NO_CONTROLLER.search(said):
        return EngineError(
            f"the Slurm controller did not answer (sbatch: {said})",
            hint="check that slurmctld runs (`scontrol ping`) and that SLURM_CONF names "
            "this cluster's configuration",
        )
    if "invalid partition" in said.lower():
        known = partitions()
        return EngineError(
            f"Slurm has no partition {partition!r}: sbatch refused the job ({said})",
            hint=f"choose one of: {', '.join(known)} (`sinfo -s`)"
            if known
            else "list the partitions with `sinfo -s`",
        )
    return EngineError(
        f"Slurm refused the job: {said}",
        hint="check the Slurm settings given with -c/--backend-config (`--dry-run` "
        "prints the batch script)",
    )


def _error_text(result: ProcResult) -> str:
    """The most telling line of a Slurm command's complaint, without its prefix."""
    lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
    if not lines:
        return f"it exited with {result.returncode} and said nothing"
    failed = [line for line in lines if "submission failed" in line.lower()]
    specific = [line for line in lines if "invalid partition" in line.lower()]
    line = (specific or failed or lines)[-1]
    return re.sub(r"^(sbatch|squeue|sacct|scancel|slurm_\w+)(: error)?:\s*", "", line).strip()


def partitions() -> list[str]:
    """The cluster's partitions (the default marked with *), or [] if sinfo fails."""
    result = run(["sinfo", "-h", "-o", "%P"], check=False, timeout=QUERY_TIMEOUT)
    return [line.strip() for line in result.stdout.splitlines() if line.strip()]


def query(job_ids: Iterable[str]) -> dict[str, JobInfo] | None:
    """What the controller holds about these jobs (any state, while it keeps them:
    MinJobAge); None when squeue fails (the controller did not answer)."""
    ids, result = _ask(["squeue", "-h", "-t", "all", "-O", _SQUEUE_FORMAT], job_ids)
    if result is None:
        return {}
    if not result.ok:
        # One unknown id in a list is dropped silently; alone it is an error.
        if len(ids) == 1 and "invalid job id" in result.stderr.lower():
            return {}
        return None
    return parse_squeue(result.stdout)


def accounting(job_ids: Iterable[str]) -> dict[str, JobInfo] | None:
    """What Slurm's accounting (sacct) recorded about these jobs, whenever they ran;
    None when sacct fails (no accounting on this cluster, or slurmdbd down)."""
    ids, result = _ask(["sacct", "-X", "-n", "-P", "-o", _SACCT_FIELDS], job_ids)
    if result is None:
        return {}
    return parse_sacct(result.stdout, ids) if result.ok else None


def _ask(argv: list[str], job_ids: Iterable[str]) -> tuple[list[str], ProcResult | None]:
    """Run a query command for these jobs (`-j ID,ID,...`); no command for no jobs."""
    ids = sorted(set(job_ids), key=int)
    if not ids:
        return ids, None
    return ids, run([*argv, "-j", ",".join(ids)], check=False, timeout=QUERY_TIMEOUT)


def parse_squeue(text: str) -> dict[str, JobInfo]:
    """squeue -O JobID,State,exit_code,NodeList,Partition,Reason (each ending in |):
    exit_code is a raw wait status there (768 for exit 3)."""
    from mlrun.backends.slurm.states import from_wait_status

    found = {}
    for line in text.splitlines():
        fields = [f.strip() for f in line.split("|", 5)]
        if len(fields) < 6 or not fields[0]:
            continue
        job_id, state, status, node, partition, reason = fields
        exit_code = from_wait_status(int(status)) if status.isdigit() else "0:0"
        found[job_id] = JobInfo(job_id, state, exit_code, node, partition, reason.rstrip("|"))
    return found


def parse_sacct(text: str, ids: Iterable[str]) -> dict[str, JobInfo]:
    """sacct -X -n -P -o JobID,State,ExitCode,NodeList,Partition,Reason: one job per
    line (array tasks, ID_N, are not ours and are skipped)."""
    wanted = set(ids)
    found = {}
    for line in text.splitlines():
        fields = line.split("|", 5)
        if len(fields) == 6 and fields[0] in wanted:
            found[fields[0]] = JobInfo(*fields)
    return found


def cancel(job_id: str, *, kill: bool = False) -> bool:
    """Cancel the job (Slurm sends SIGTERM, then SIGKILL after its KillWait); with
    `kill`, SIGKILL to everything the job started at once. False when scancel failed."""
    argv = ["scancel", "--signal=KILL", "--full", job_id] if kill else ["scancel", job_id]
    return run(argv, check=False, timeout=QUERY_TIMEOUT).ok
