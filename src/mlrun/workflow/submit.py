"""`mlrun.run(uri, "<workflow>")`: a workflow run behind the Python API's SubmittedRun."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mlrun.errors import UsageError
from mlrun.reporting import Reporter
from mlrun.runner import Opened, RunRequest

if TYPE_CHECKING:
    from mlrun.api import SubmittedRun


def wants(opened: Opened, name: str) -> bool:
    from mlrun.workflow.model import wants_workflow

    try:
        return wants_workflow(opened.project, name)
    except BaseException:
        opened.source.close()
        raise


def submit_workflow(
    opened: Opened,
    request: RunRequest,
    reporter: Reporter,
    *,
    synchronous: bool,
    options: Mapping[str, Any] | None,
) -> SubmittedRun:
    from mlrun.api import SubmittedRun
    from mlrun.execution.supervisor import Cancel
    from mlrun.tracking import open_store
    from mlrun.workflow.engine import Options, WorkflowRun

    try:
        try:
            opts = Options(**dict(options or {}))
        except TypeError as exc:
            raise UsageError(
                f"mlrun.run(workflow_options=...): {exc}",
                hint="names: jobs, keep_going, force, force_steps, no_cache, from_steps, only, "
                "resume",
            ) from None
        store = open_store(request.tracking_uri)
        wf = WorkflowRun(request, opened, opts, reporter, store)
    except BaseException:
        opened.source.close()
        raise
    submitted = SubmittedRun("", store.uri)
    submitted._cancel = cancel = Cancel()
    # The record is created at the start of execute(); wf.run_id is set from then on.
    return submitted._drive(
        lambda in_main_thread: wf.execute(cancel=cancel),
        synchronous=synchronous,
        run_id=lambda: wf.run_id,
        what="workflow run",
        cleanup=opened.source.close,
    )
