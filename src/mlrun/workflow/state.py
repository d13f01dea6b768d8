"""What the engine knows about each node of a workflow run, as the view and --json see it."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

# Node statuses, in the order a node may pass through them.
WAITING = "waiting"  # for the steps it needs, or for a free job slot
LOCKED = "locked"  # another workflow is running the same step key: wait for its result
RUNNING = "running"
CACHED = "cached"
FINISHED = "finished"
FAILED = "failed"
KILLED = "killed"
NOT_RUN = "not run"  # a step it needs failed, or the workflow stopped first
SKIPPED = "skipped"  # not selected by --only/--from
DONE_OK = (CACHED, FINISHED)
FINAL = (CACHED, FINISHED, FAILED, KILLED, NOT_RUN, SKIPPED)


@dataclass
class StepState:
    name: str  # node name: "train[alpha=0.1]"
    step: str  # step name: "train"
    entry_point: str
    status: str = WAITING
    reason: str | None = None  # why cached / why it runs / why it failed
    run_id: str | None = None
    exit_code: int | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    key: str | None = None
    started: float | None = None  # epoch seconds, when the command started
    ended: float | None = None

    def elapsed(self, now: float | None = None) -> float | None:
        if self.started is None:
            return None
        end = self.ended if self.ended is not None else (now or time.time())
        return end - self.started

    def snapshot(self) -> StepState:
        return replace(self, parameters=dict(self.parameters))

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["duration"] = self.elapsed() if self.ended is not None else None
        return data
