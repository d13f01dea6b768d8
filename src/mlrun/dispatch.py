"""Entry point or workflow: the one decision `mlrun run` and `mlrun.run()` both take once
the project is open (`-e NAME` names either)."""

from __future__ import annotations

from collections.abc import Sequence

from mlrun.reporting import Reporter
from mlrun.runner import Opened, Plan, RunRequest, plan_entry_point


def plan_unless_workflow(
    opened: Opened,
    request: RunRequest,
    reporter: Reporter,
    *,
    workflow_flags: Sequence[str] = (),
) -> Plan | None:
    """None when `request.entry_point` names a workflow of the project (the caller runs
    it with workflow.engine.WorkflowRun), else the plan of that entry point.
    `workflow_flags` are the workflow-only options the caller was given: for an entry
    point they are a mistake worth saying."""
    from mlrun.errors import UsageError

    name = request.entry_point
    if is_workflow(opened, name):
        return None
    if workflow_flags:
        raise UsageError(
            f"{workflow_flags[0]} only applies to workflows, and {name!r} is an entry point",
            hint="declare a workflow under `workflows:` in the MLproject, or drop the option",
        )
    return plan_entry_point(opened, request, reporter)


def is_workflow(opened: Opened, name: str) -> bool:
    if "workflows" not in opened.project.extra:  # the common case decides without importing
        return False
    from mlrun.workflow.model import wants_workflow

    return wants_workflow(opened.project, name)
