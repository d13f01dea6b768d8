"""`mlrun.run(uri, "<workflow>")`: a workflow run behind the Python API's SubmittedRun."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mlrun.errors import ExecutionError, UsageError
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


def submit_workflow(opened: Opened, request: RunRequest, reporter: Reporter, *,
                    synchronous: bool, options: Mapping[str, Any] | None) -> SubmittedRun:
    from mlrun.api import SubmittedRun
    from mlrun.execution.supervisor import Cancel
    from mlrun.tracking import open_store
    from mlrun.tracking.model import FINISHED
    from mlrun.workflow.engine import Options, WorkflowRun

    try:
        try:
            opts = Options(**dict(options or {}))
        except TypeError as exc:
            raise UsageError(f"mlrun.run(workflow_options=...): {exc}",
                             hint="names: jobs, keep_going, force, force_steps, no_cache, "
                                  "from_steps, only") from None
        store = open_store(request.tracking_uri)
        wf = WorkflowRun(request, opened, opts, reporter, store)
    except BaseException:
        opened.source.close()
        raise
    submitted = SubmittedRun("", store.uri)
    cancel = Cancel()
    submitted._cancel = cancel
    started = threading.Event()

    def _work() -> None:
        try:
            result = wf.execute(cancel=cancel)
            submitted._status = result.status
            submitted.exit_code = result.exit_code
        except BaseException as exc:
            submitted._error = exc
            submitted._status = "FAILED"
        finally:
            opened.source.close()
            started.set()
            submitted._done.set()

    # The record is created at the start of execute(); wf.run_id is set from then on.
    if synchronous:
        _work()
        submitted.run_id = wf.run_id or ""
        if submitted._error is not None:
            raise submitted._error
        if submitted._status != FINISHED:
            raise ExecutionError(
                f"workflow run {submitted.run_id} {submitted._status} with exit code "
                f"{submitted.exit_code}", submitted.run_id, submitted._status,
                submitted.exit_code if submitted.exit_code is not None else 1)
        return submitted
    thread = threading.Thread(target=_work, name="mlrun-workflow", daemon=True)
    submitted._thread = thread
    thread.start()
    while wf.run_id is None and not started.wait(0.01):
        pass
    submitted.run_id = wf.run_id or ""
    if submitted._error is not None and not submitted.run_id:
        raise submitted._error
    return submitted
