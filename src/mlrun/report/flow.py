"""A workflow run as the report draws it: its nodes (steps, matrix cells expanded), what
each needs, the state it ended in and the run that did its work, read back from the run
store -- the workflow's record (its `steps` output, written when it ends) and its step
runs (their `mlrun.step` and `mlrun.cache_inputs` tags, there while it still runs)."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any, NamedTuple

from mlrun.errors import RunNotFoundError
from mlrun.tracking.base import RunStore
from mlrun.tracking.model import Run
from mlrun.workflow import state as st
from mlrun.workflow.cache import TAG_INPUTS, TAG_KIND, TAG_STEP, TAG_WORKFLOW

# A step run's record status in the words of the workflow's step states.
_STATE_OF_RUN = {"RUNNING": st.RUNNING, "FINISHED": st.FINISHED}
_STATE_OF_RUN.update(FAILED=st.FAILED, KILLED=st.KILLED)


class FlowNode(NamedTuple):
    name: str  # the node's name: "train" or "train[alpha=0.1]"
    status: str  # a step state (workflow/state.py): finished, cached, failed, not run...
    needs: tuple[str, ...]
    run: Run | None  # the run that did its work (another workflow's, when cached)
    note: str  # why it failed / was not run, or ""

    def duration(self, now: float | None = None) -> float | None:
        """Seconds its run took (so far, while it runs); None without a run."""
        if self.run is None:
            return None
        end = self.run.end_time
        if end is None:
            end = (now or time.time()) if self.status == st.RUNNING else None
        return None if end is None else max(0.0, end - self.run.start_time)


class Flow(NamedTuple):
    record: Run  # the workflow's own run
    name: str
    nodes: list[FlowNode]  # in the engine's (topological) order


def is_workflow(run: Run) -> bool:
    return run.tags.get(TAG_KIND) == "workflow" or run.env_kind == "workflow"


def read_flow(store: RunStore, record: Run) -> Flow:
    steps = _mapping(record.outputs.get("steps"))
    children = store.search_runs(parent_run_id=record.run_id, limit=None)
    by_name: dict[str, Run] = {}
    for child in reversed(children):  # oldest first: a later attempt of a node wins
        by_name[child.tags.get(TAG_STEP) or child.run_name or child.run_id] = child
    nodes: list[FlowNode] = []
    if steps:  # the workflow ended: its own account of every node
        for name, entry in steps.items():
            info = _mapping(entry)
            status = str(info.get("status") or st.WAITING)
            if status == st.SKIPPED:  # not selected (--only / --from): not part of this run
                continue
            run = by_name.get(name) or _run(store, info.get("run_id"))
            needs = info.get("needs")
            nodes.append(
                FlowNode(
                    name,
                    status,
                    tuple(str(n) for n in needs) if isinstance(needs, list) else _upstream(run),
                    run,
                    _note(status, info, run),
                )
            )
    else:  # still running, or its mlrun died: what the step runs say
        for name, run in by_name.items():
            status = _STATE_OF_RUN.get(run.status, st.RUNNING)
            nodes.append(FlowNode(name, status, _upstream(run), run, _note(status, {}, run)))
    known = {n.name for n in nodes}
    nodes = [n._replace(needs=tuple(x for x in n.needs if x in known)) for n in nodes]
    return Flow(record, record.tags.get(TAG_WORKFLOW) or record.entry_point, nodes)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _run(store: RunStore, run_id: object) -> Run | None:
    if not isinstance(run_id, str) or not run_id:
        return None
    try:
        return store.get_run(run_id)
    except RunNotFoundError:  # deleted since
        return None


def _upstream(run: Run | None) -> tuple[str, ...]:
    """The nodes a step needed, from the inputs its cache key was made of."""
    if run is None:
        return ()
    try:
        upstream = json.loads(run.tags.get(TAG_INPUTS) or "{}").get("upstream")
    except (ValueError, AttributeError):
        return ()
    return tuple(str(n) for n in upstream) if isinstance(upstream, Mapping) else ()


def _note(status: str, info: Mapping[str, Any], run: Run | None) -> str:
    if status in (st.FAILED, st.KILLED):
        code = info.get("exit_code", run.exit_code if run else None)
        reason = run.status_reason if run is not None else None
        return ", ".join(x for x in (f"exit {code}" if code is not None else "", reason) if x)
    if status == st.CACHED and run is not None:
        return f"from run {run.run_id[:12]}"
    return ""
