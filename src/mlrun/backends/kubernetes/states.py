"""How a run's Job and pod are doing, in the run's words.

`look(job, pod, ...)` reads the Job's conditions and the pod's phase and first container
and says whether the run ended (status, exit code, reason), or why it waits (an image
that cannot be pulled, no node to schedule on): Kubernetes' own endings mapped as
mlrun maps Slurm's, with the exit code a shell would report for a signal (128+N)."""

from __future__ import annotations

import signal
from collections.abc import Mapping
from typing import Any

from mlrun.tracking.status import FAILED, FINISHED, KILLED

_SIGTERM = 128 + signal.SIGTERM
_SIGKILL = 128 + signal.SIGKILL
# Waiting reasons of a container that will not start by waiting longer: after the
# config's pending_timeout the run fails (exit 125: the run could not be prepared).
STUCK = frozenset(
    {
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "ErrImageNeverPull",
        "CreateContainerConfigError",
        "CreateContainerError",
    }
)


class Look:
    """What one look at the Job and its pod found."""

    def __init__(
        self,
        *,
        ended: tuple[str, int, str | None] | None = None,
        waiting: str | None = None,
        stuck: bool = False,
        running: bool = False,
        state: str = "Pending",
        settled: bool = True,
    ) -> None:
        self.ended = ended  # (status, exit code, reason) once the Job or pod ended
        self.waiting = waiting  # "ErrImagePull: ..." / "Unschedulable: ..."
        self.stuck = stuck  # waiting for something that will not come by itself
        self.running = running  # the container started (its log can be read)
        self.state = state  # for the record: Pending, Running, Succeeded, Failed...
        # False: the pod ended but the Job has no condition yet, which may still say
        # more (DeadlineExceeded comes with the pod's own end): worth another look.
        self.settled = settled


def look(
    job: Mapping[str, Any],
    pod: Mapping[str, Any] | None,
    container: str,
    *,
    memory_limit: str | None = None,
    backoff_limit: int = 0,
) -> Look:
    name = str((job.get("metadata") or {}).get("name") or "the Job")
    condition = _job_end(job)
    pod_status: Mapping[str, Any] = (pod or {}).get("status") or {}
    phase = str(pod_status.get("phase") or "Pending")
    status = _container_status(pod_status, container)
    terminated = (status.get("state") or {}).get("terminated") if status else None
    pod_ended = phase in ("Succeeded", "Failed") and backoff_limit == 0
    if condition is None and not pod_ended:
        if status and (status.get("state") or {}).get("running") is not None:
            return Look(running=True, state="Running")
        if terminated is not None:  # ended, the pod's phase not yet updated
            return Look(running=True, state=phase)
        return _waiting(pod, pod_status, status)
    state = condition[0] if condition else phase
    if condition and condition[1] == "DeadlineExceeded":
        deadline = (job.get("spec") or {}).get("activeDeadlineSeconds")
        limit = f" ({deadline} s)" if deadline is not None else ""
        return Look(
            ended=(FAILED, _SIGTERM, f"Job {name} reached its activeDeadlineSeconds{limit}"),
            state="DeadlineExceeded",
        )
    if pod_status.get("reason") == "Evicted":
        why = " ".join(str(pod_status.get("message") or "").split())
        return Look(
            ended=(FAILED, _SIGKILL, f"the pod was evicted{': ' + why if why else ''}"),
            state="Evicted",
        )
    if terminated is not None:
        return Look(
            ended=_terminated(terminated, memory_limit),
            running=True,
            state=state,
            settled=condition is not None,
        )
    if condition and condition[0] == "Complete":
        return Look(ended=(FINISHED, 0, None), state=state)
    why = condition[2] if condition else f"the pod {phase.lower()}"
    return Look(ended=(FAILED, 1, f"Job {name} failed before its command ran: {why}"), state=state)


def deleted(name: str) -> tuple[str, int, str]:
    """The Job vanished while mlrun watched it (deleted from outside)."""
    return KILLED, _SIGTERM, f"Job {name} was deleted from outside mlrun"


def _job_end(job: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """(type, reason, message) of a Complete or Failed condition that holds."""
    for condition in (job.get("status") or {}).get("conditions") or []:
        kind = condition.get("type")
        if kind in ("Complete", "Failed") and str(condition.get("status")) == "True":
            reason = str(condition.get("reason") or kind)
            message = " ".join(str(condition.get("message") or reason).split())
            return str(kind), reason, message
    return None


def _container_status(pod_status: Mapping[str, Any], container: str) -> Mapping[str, Any]:
    statuses = pod_status.get("containerStatuses") or []
    for status in statuses:
        if status.get("name") == container:
            return dict(status)
    return dict(statuses[0]) if statuses else {}


def _terminated(
    terminated: Mapping[str, Any], memory_limit: str | None
) -> tuple[str, int, str | None]:
    code = int(terminated.get("exitCode") or 0)
    reason = str(terminated.get("reason") or "")
    if reason == "OOMKilled":
        limit = f" (memory limit {memory_limit})" if memory_limit else ""
        return FAILED, code or _SIGKILL, f"the container ran out of memory (OOMKilled){limit}"
    signum = int(terminated.get("signal") or 0)
    if signum:
        try:
            name = signal.Signals(signum).name
        except ValueError:
            name = f"signal {signum}"
        return FAILED, 128 + signum, f"the command was ended by {name}"
    if code == 0:
        return FINISHED, 0, None
    return FAILED, code, f"the command exited with {code}"


def _waiting(
    pod: Mapping[str, Any] | None, pod_status: Mapping[str, Any], status: Mapping[str, Any]
) -> Look:
    if pod is None:
        return Look(state="Pending")
    waiting = (status.get("state") or {}).get("waiting") if status else None
    if waiting:
        reason = str(waiting.get("reason") or "Waiting")
        message = " ".join(str(waiting.get("message") or "").split())
        return Look(
            waiting=f"{reason}: {message}" if message else reason,
            stuck=reason in STUCK,
            state="Pending",
        )
    for condition in pod_status.get("conditions") or []:
        if condition.get("type") == "PodScheduled" and str(condition.get("status")) == "False":
            reason = str(condition.get("reason") or "Unschedulable")
            message = " ".join(str(condition.get("message") or "").split())
            return Look(waiting=f"{reason}: {message}" if message else reason, state="Pending")
    return Look(state=str(pod_status.get("phase") or "Pending"))
