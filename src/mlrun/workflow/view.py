"""What the user sees of a workflow: a board of step states fed by the engine's Reporter
events ("workflow.start", "workflow.step", "workflow.end"), rendered as text lines.

Nothing here prints: the CLI decides where the lines go (a live, redrawn block on a
terminal; one line per state change in a log or CI)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence

from mlrun.workflow import state as st
from mlrun.workflow.state import StepState

# A line is printed (in non-live mode) when a node enters one of these.
ANNOUNCED = (st.LOCKED, st.RUNNING, st.CACHED, st.FINISHED, st.FAILED, st.KILLED, st.NOT_RUN)


class Board:
    """The latest state of every node, updated from events (thread-safe)."""

    def __init__(self) -> None:
        self.workflow = ""
        self.run_id: str | None = None
        self.states: dict[str, StepState] = {}
        self.started = time.time()
        self._lock = threading.Lock()

    def apply(self, kind: str, fields: dict[str, object]) -> StepState | None:
        """Take one event; returns the node state it changed, if any."""
        with self._lock:
            if kind in ("workflow.start", "workflow.end"):
                self.workflow = str(fields.get("workflow", ""))
                self.run_id = str(fields.get("run_id") or "") or None
                for s in _states(fields.get("steps")):
                    self.states[s.name] = s
                return None
            if kind == "workflow.step":
                new = fields.get("state")
                if isinstance(new, StepState):
                    previous = self.states.get(new.name)
                    self.states[new.name] = new
                    if previous is None or previous.status != new.status:
                        return new
            return None

    def snapshot(self) -> list[StepState]:
        with self._lock:
            return [s.snapshot() for s in self.states.values()]


def _states(value: object) -> list[StepState]:
    if not isinstance(value, Iterable):
        return []
    return [s for s in value if isinstance(s, StepState)]


def counts(states: Sequence[StepState]) -> str:
    shown = [s for s in states if s.status != st.SKIPPED]
    done = sum(s.status in st.FINAL for s in shown)
    running = sum(s.status == st.RUNNING for s in shown)
    failed = sum(s.status in (st.FAILED, st.KILLED) for s in shown)
    text = f"{done}/{len(shown)} done"
    if running:
        text += f", {running} running"
    if failed:
        text += f", {failed} failed"
    return text


def live_lines(board: Board, width: int = 100, height: int = 30) -> list[str]:
    """The redrawn block: a header, then one line per node (the ones that are not done
    first when they do not all fit)."""
    states = [s for s in board.snapshot() if s.status != st.SKIPPED]
    now = time.time()
    header = f"workflow {board.workflow}: {counts(states)} ({now - board.started:.1f}s)"
    rows = states
    if len(rows) > height - 1:
        active = [s for s in rows if s.status not in st.FINAL]
        rows = active[: height - 2]
    lines = [header]
    for s in rows:
        elapsed = s.elapsed(now)
        time_text = f"{elapsed:6.1f}s" if elapsed is not None else " " * 7
        note = s.reason if s.status in (st.LOCKED, st.FAILED, st.KILLED, st.NOT_RUN) else ""
        line = f"  {s.status:<9} {time_text}  {s.name}" + (f"  {note}" if note else "")
        lines.append(line[:width])
    if len(rows) < len(states):
        lines.append(f"  ... {len(states) - len(rows)} more done")
    return lines


def transition_line(s: StepState) -> str:
    """One line for a state change, for logs and CI."""
    text = f"{s.name}: {s.status}"
    if s.run_id and s.status != st.NOT_RUN:
        text += f" (run {s.run_id[:12]})"
    if s.status in (st.FINISHED, st.FAILED, st.KILLED) and s.elapsed() is not None:
        text += f" in {s.elapsed():.1f}s"
    if s.status in (st.FAILED, st.KILLED) and s.exit_code is not None:
        text += f", exit code {s.exit_code}"
    if s.reason and s.status != st.FINISHED:
        text += f": {s.reason}"
    return text


SUMMARY_HEADERS = ("STEP", "STATUS", "TIME", "RUN", "NOTE")


def summary_rows(states: Sequence[StepState]) -> list[list[str]]:
    rows = []
    for s in states:
        if s.status == st.SKIPPED:
            continue
        elapsed = s.elapsed() if s.ended is not None else None
        note = s.reason or ""
        if s.status in (st.FAILED, st.KILLED) and s.exit_code is not None:
            note = f"exit {s.exit_code}" + (f": {note}" if note else "")
        rows.append(
            [
                s.name,
                s.status,
                "-" if elapsed is None else f"{elapsed:.1f}s",
                (s.run_id or "-")[:12],
                note,
            ]
        )
    return rows
