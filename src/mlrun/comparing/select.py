"""Which runs to compare: given by id (or unique prefix), an experiment's newest, or
the steps of a workflow run. One way at a time; no runs is an error, not an empty table."""

from __future__ import annotations

from collections.abc import Sequence

from mlrun.errors import UsageError
from mlrun.tracking.base import RunStore
from mlrun.tracking.model import Run

DEFAULT_LIMIT = 20  # as `runs list`: the default page


def select_runs(
    store: RunStore,
    *,
    run_ids: Sequence[str] = (),
    experiment: str | None = None,
    workflow: str | None = None,
    status: str | None = None,
    limit: int | None = None,
    best_by: str | None = None,
    descending: bool = False,
    command: str = "runs compare",
) -> list[Run]:
    """The runs to compare, in their natural order: as given (ids), newest first (an
    experiment), or in the order the steps started (a workflow run). `status` and
    `limit` apply to an experiment's runs (None: DEFAULT_LIMIT) and a workflow's steps
    (None: all of them); with `best_by` (a metric), those are the first `limit` by its
    latest value instead (the store orders them, runs without it last), in that order.

    `command` names the command in the error for none or several ways.
    Raises UsageError when none or several ways are given, for an unknown experiment,
    and when there are no runs to compare; RunNotFoundError for an unknown id."""
    ways = [
        name
        for name, given in (
            ("run ids", run_ids),
            ("--experiment", experiment),
            ("--workflow", workflow),
        )
        if given
    ]
    if len(ways) != 1:
        raise UsageError(
            f"{command} takes run ids, --experiment NAME or --workflow RUN_ID"
            + (f", one of them, not {' and '.join(ways)}." if ways else "; none was given."),
            hint=f"e.g. `mlrun {command} 3f2a 9c1e`, `--experiment default`, `--workflow 3f2a`.",
        )
    if run_ids:
        if status is not None:
            raise UsageError("--status filters --experiment or --workflow runs, not run ids.")
        return store.get_runs(run_ids)
    if experiment is not None:
        if experiment not in store.list_experiments():
            raise UsageError(
                f"there is no experiment named {experiment!r} in the run store {store.uri}.",
                hint="`mlrun runs list` shows each run's experiment.",
            )
        found = store.search_runs(
            experiment=experiment,
            status=status,
            limit=DEFAULT_LIMIT if limit is None else limit,
            order_by_metric=best_by,
            ascending=not descending,
        )
        if not found:
            raise UsageError(f"the experiment {experiment!r} has no {_runs(status)} to compare.")
        return found
    assert workflow is not None
    parent = store.get_run(workflow)
    steps = store.search_runs(
        parent_run_id=parent.run_id,
        status=status,
        limit=limit,
        order_by_metric=best_by,
        ascending=not descending,
    )
    if best_by is None:  # newest first: the last `limit` steps to start, oldest first
        steps.reverse()
    if not steps:
        if parent.env_kind == "workflow":
            message = f"the workflow run {parent.run_id} has no {_runs(status, 'steps')}."
        else:
            message = f"the run {parent.run_id} is not a workflow run: no run is its step."
        raise UsageError(
            message, hint="--workflow takes the id of the run `mlrun run -e <workflow>` recorded."
        )
    return steps


def _runs(status: str | None, noun: str = "runs") -> str:
    return f"{status} {noun}" if status else noun
