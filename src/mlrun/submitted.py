"""`SubmittedRun`: a run (or workflow run) started by `mlrun.run()`, driven in the
caller's thread or in its own, as MLflow's `run()` does."""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from mlrun.errors import ExecutionException
from mlrun.execution.supervisor import Cancel
from mlrun.tracking.model import FAILED, FINISHED, RUNNING

# work(forward_signals, cancel, on_record) -> a result with `status` and `exit_code`;
# it calls on_record(run_id) once the run's record exists.
Work = Callable[[bool, Cancel, Callable[[str], None]], Any]


class SubmittedRun:
    """A run started by `mlrun.run()`. `wait()`, `get_status()`, `cancel()` as in MLflow."""

    def __init__(self, tracking_uri: str, run_id: str = "") -> None:
        self.run_id = run_id
        self.tracking_uri = tracking_uri
        self.exit_code: int | None = None
        self._status: str = RUNNING
        self._done = threading.Event()
        self._known = threading.Event()  # the record exists, or the work ended without one
        self._error: BaseException | None = None
        self._cancel = Cancel()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the run ends; True when it FINISHED successfully."""
        if not self._done.wait(timeout):
            return False
        if self._error is not None:
            raise self._error
        return self._status == FINISHED

    def get_status(self) -> str:
        return self._status

    def cancel(self) -> None:
        """Stop the run: SIGTERM to its process group, SIGKILL after the grace period."""
        if not self._done.is_set():
            self._cancel.request()
        self._done.wait()

    def __repr__(self) -> str:
        return f"SubmittedRun(run_id={self.run_id!r}, status={self._status!r})"

    def _recorded(self, run_id: str) -> None:
        self.run_id = run_id
        self._known.set()

    def _target(self, work: Work, owner: AbstractContextManager[Any], in_main: bool) -> None:
        try:
            with owner:
                result = work(in_main, self._cancel, self._recorded)
            self._status = result.status
            self.exit_code = result.exit_code
        except BaseException as exc:
            self._error = exc
            self._status = FAILED
        finally:
            self._done.set()
            self._known.set()


def submit(
    work: Work,
    *,
    tracking_uri: str,
    synchronous: bool,
    owner: AbstractContextManager[Any],
    what: str = "run",
) -> SubmittedRun:
    """Run `work` here (synchronous: raise ExecutionException unless it FINISHED) or in a
    thread (return as soon as its record exists). `owner` holds what the run needs (its
    source) and is closed when the work ends, in whichever thread ran it."""
    submitted = SubmittedRun(tracking_uri)
    if synchronous:
        # Signal handlers can only be installed from the main thread.
        submitted._target(work, owner, threading.current_thread() is threading.main_thread())
        if submitted._error is not None:
            raise submitted._error
        if submitted._status != FINISHED:
            code = submitted.exit_code
            ended = f"with exit code {code}" if code is not None else "without an exit code"
            raise ExecutionException(
                f"Run (ID '{submitted.run_id}') failed: the {what} {submitted._status} {ended}",
                submitted.run_id,
                submitted._status,
                code if code is not None else 1,
            )
        return submitted
    threading.Thread(
        target=submitted._target, args=(work, owner, False), name=f"mlrun-{what}", daemon=True
    ).start()
    submitted._known.wait()
    if submitted._error is not None and not submitted.run_id:
        raise submitted._error
    return submitted
