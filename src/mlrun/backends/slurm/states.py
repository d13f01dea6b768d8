"""How a Slurm job ended, in the run's words: status, exit code and reason.

One table for both places that learn a job's end: the watching mlrun process (squeue)
and the reconciliation of a run whose mlrun process died (sacct). Slurm reports an exit
code as `code:signal`; its own endings (a time limit, the memory limit, a cancel, a
failed node, preemption) say little in it, so they are mapped here, with the exit code a
shell would report for the signal that stopped the command (128+N), as everywhere else in
mlrun."""

from __future__ import annotations

import signal
from collections.abc import Mapping

from mlrun.tracking.status import FAILED, FINISHED, KILLED

# States in which the job has not ended yet (squeue's and sacct's names).
ACTIVE = frozenset(
    {
        "PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED",
        "REQUEUE_FED", "REQUEUE_HOLD", "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED",
        "RESV_DEL_HOLD", "SPECIAL_EXIT_HOLD",
    }
)  # fmt: skip

_SIGTERM = 128 + signal.SIGTERM
_SIGKILL = 128 + signal.SIGKILL
# Slurm's own endings: run status, mlrun's exit code, what happened.
ENDINGS: dict[str, tuple[str, int, str]] = {
    "CANCELLED": (KILLED, _SIGTERM, "was cancelled"),
    "PREEMPTED": (KILLED, _SIGTERM, "was preempted by a job of higher priority"),
    "TIMEOUT": (FAILED, _SIGTERM, "reached its time limit"),
    "DEADLINE": (FAILED, _SIGTERM, "reached its deadline"),
    "OUT_OF_MEMORY": (FAILED, _SIGKILL, "ran out of memory"),
    "NODE_FAIL": (FAILED, _SIGTERM, "lost its node (NODE_FAIL)"),
    "BOOT_FAIL": (FAILED, 125, "could not start: its node failed to boot"),
    "REVOKED": (KILLED, _SIGTERM, "was revoked (it ran on another cluster)"),
    # Not Slurm's: mlrun killed the job and the controller never confirmed its end.
    "UNCONFIRMED": (KILLED, _SIGKILL, "was cancelled, but Slurm did not confirm its end"),
    # Not Slurm's: neither the controller nor the accounting knows the job any more.
    "LOST": (FAILED, 1, "is no longer known to Slurm (how it ended was not recorded)"),
}


_LIMIT_KEYS = {"TIMEOUT": "time", "OUT_OF_MEMORY": "mem"}


class Ending:
    """A finished job as the run records it."""

    def __init__(self, status: str, exit_code: int, reason: str | None) -> None:
        self.status = status
        self.exit_code = exit_code
        self.reason = reason

    def __repr__(self) -> str:
        return f"Ending({self.status}, {self.exit_code}, {self.reason})"


def state_word(state: str) -> str:
    """`CANCELLED by 0` -> `CANCELLED` (sacct adds who cancelled)."""
    return state.split()[0].rstrip("+") if state.strip() else "UNKNOWN"


def is_active(state: str) -> bool:
    return state_word(state) in ACTIVE


def split_exit(exit_code: str) -> tuple[int, int]:
    """`3:0` -> (3, 0); anything unreadable -> (0, 0)."""
    code, _, sig = exit_code.partition(":")
    try:
        return int(code or 0), int(sig or 0)
    except ValueError:
        return 0, 0


def from_wait_status(status: int) -> str:
    """squeue's raw wait status (768 for exit 3) -> Slurm's `code:signal`."""
    return f"{(status >> 8) & 0xFF}:{status & 0x7F}"


def ending(
    job_id: str, state: str, exit_code: str, limits: Mapping[str, str] | None = None
) -> Ending:
    """The run's end for a job that ended in `state` with `exit_code` (code:signal).
    `limits` ({"time": "10", "mem": "4G"}, what the config asked for) are named when the
    job hit one."""
    word = state_word(state)
    code, sig = split_exit(exit_code)
    if word == "COMPLETED" and code == 0 and sig == 0:
        return Ending(FINISHED, 0, None)
    if word in ENDINGS:
        status, mapped, what = ENDINGS[word]
        by = state[len(word) :].strip()  # "by 1000": the uid that cancelled it
        if by.startswith("by "):
            what += f" (by uid {by[3:]})"
        key = _LIMIT_KEYS.get(word)
        if key and limits and key in limits:
            what += f" ({key}={limits[key]})"
        return Ending(status, mapped, f"Slurm job {job_id} {what}")
    if sig:
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        return Ending(FAILED, 128 + sig, f"the command was ended by {name} (Slurm job {job_id})")
    if code:
        return Ending(FAILED, code, f"the command exited with {code}")
    # FAILED with 0:0: the job failed before the command ran (a bad working directory,
    # an output file it could not open).
    return Ending(FAILED, 1, f"Slurm job {job_id} ended {word} before the command ran")
