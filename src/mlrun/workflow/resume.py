"""`--resume [RUN_ID]`: Metaflow's resume for workflows.

The steps that finished (or were cached) in an earlier workflow run -- by default the
latest one of this workflow and project -- are reused whatever changed since; the failed
step and everything after it run again. The resumed run's parameters are kept. Reused
results are marked on the new workflow run (and on the step runs that consumed them)
when their inputs, code included, differ from what the step would use now."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NamedTuple

from mlrun.errors import ParameterError, RunNotFoundError, UsageError
from mlrun.tracking.base import RunStore
from mlrun.tracking.model import FINISHED, RUNNING, Run
from mlrun.workflow import cache as wcache
from mlrun.workflow import state as st

TAG_RESUMED = "mlrun.resumed_from"  # on the new workflow run and its new step runs
TAG_OLDER = "mlrun.older_upstream"  # on a new step run: reused steps it depends on whose
# inputs (code, parameters, env...) are no longer what they would be today


class Origin(NamedTuple):
    run: Run  # the workflow run resumed
    finished: dict[str, Run]  # node name -> the FINISHED step run it ran or reused


def find(store: RunStore, project: str, workflow: str, wanted: str | None) -> Origin:
    """The workflow run to resume: `wanted` (a run id or unique prefix), else the latest
    run of this workflow of this project that is not still running."""
    if wanted:
        try:
            run = store.get_run(wanted)
        except RunNotFoundError:
            raise UsageError(
                f"--resume {wanted}: there is no such run",
                hint=f"`mlrun runs list` shows the runs of workflow {workflow!r}",
            ) from None
        if run.tags.get(wcache.TAG_KIND) != "workflow" or run.entry_point != workflow:
            raise UsageError(
                f"--resume {wanted}: run {run.run_id[:12]} is not a run of workflow "
                f"{workflow!r} (it ran {run.entry_point!r})",
                hint="give the id of a workflow run, or no id for the latest",
            )
        if run.status == RUNNING:
            raise UsageError(
                f"--resume {wanted}: run {run.run_id[:12]} is still running",
                hint="wait for it to end, or stop it first",
            )
        return Origin(run, _finished_steps(store, run))
    tags = {wcache.TAG_KIND: "workflow", wcache.TAG_WORKFLOW: workflow, wcache.TAG_PROJECT: project}
    for run in store.search_runs(tags=tags, limit=20):
        if run.status != RUNNING:
            return Origin(run, _finished_steps(store, run))
    raise UsageError(
        f"there is no earlier run of workflow {workflow!r} of {project} to resume",
        hint="run it once without --resume",
    )


def _finished_steps(store: RunStore, origin: Run) -> dict[str, Run]:
    """What each node of `origin` produced: from its outputs (which list the cached
    steps too), else (an mlrun killed before writing them) from its child runs."""
    ids: dict[str, str] = {}
    for child in store.search_runs(parent_run_id=origin.run_id, status=FINISHED, limit=None):
        name = child.tags.get(wcache.TAG_STEP)
        if name:
            ids.setdefault(name, child.run_id)
    steps = origin.outputs.get("steps")
    if isinstance(steps, Mapping):
        for name, info in steps.items():
            if not isinstance(info, Mapping):
                continue
            if info.get("status") in st.DONE_OK and isinstance(info.get("run_id"), str):
                ids[str(name)] = info["run_id"]
            else:
                ids.pop(str(name), None)
    found: dict[str, Run] = {}
    for name, run_id in ids.items():
        try:
            run = store.get_run(run_id)
        except RunNotFoundError:
            continue
        if run.status == FINISHED and os.path.isdir(run.run_dir):
            found[name] = run
    return found


def parameters(
    origin: Run, declared: Mapping[str, object], given: Mapping[str, str]
) -> dict[str, str]:
    """The resumed run's parameter values (a parameter declared since takes its default);
    a -P value that differs from them is an error: the reused steps did not use it."""
    values = {k: v for k, v in origin.params.items() if k in declared}
    for name, value in given.items():
        if name in values and values[name] != value:
            raise ParameterError(
                f"--resume reuses run {origin.run_id[:12]}, which ran with "
                f"{name}={values[name]}, not {name}={value}",
                hint="drop -P to resume, or drop --resume to run with new values "
                "(the step cache still reuses what it can)",
            )
    return {**values, **given}


def reuse_key(run: Run) -> str:
    """What stands for a reused run in its downstream steps' keys."""
    return run.tags.get(wcache.TAG_KEY) or f"run:{run.run_id}"
