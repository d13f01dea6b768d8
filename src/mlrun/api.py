"""The Python API, shaped like `mlflow.projects.run` so users can switch by changing
the import: `mlrun.run(uri, entry_point, parameters=..., synchronous=...)`."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mlrun.errors import ExecutionError, NotAvailableError
from mlrun.reporting import Reporter
from mlrun.tracking.model import FINISHED, RUNNING


class SubmittedRun:
    """A run started by `mlrun.run()`. `wait()`, `get_status()`, `cancel()` as in MLflow."""

    def __init__(self, run_id: str, tracking_uri: str) -> None:
        self.run_id = run_id
        self.tracking_uri = tracking_uri
        self.exit_code: int | None = None
        self._status: str = RUNNING
        self._done = threading.Event()
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._cancel: Any = None

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
        if self._cancel is not None and not self._done.is_set():
            self._cancel.request()
        self._done.wait()

    def __repr__(self) -> str:
        return f"SubmittedRun(run_id={self.run_id!r}, status={self._status!r})"

    def _drive(
        self,
        work: Callable[[bool], Any],
        *,
        synchronous: bool,
        run_id: Callable[[], str | None],
        what: str = "run",
        cleanup: Callable[[], None] | None = None,
    ) -> SubmittedRun:
        """Run `work(in_main_thread)` (it returns something with `status` and `exit_code`)
        here or in a thread, the way MLflow's run() does: synchronous runs raise
        ExecutionError unless FINISHED; asynchronous ones return once the run is recorded.
        `run_id()` says the run's id once its record exists."""

        def target(in_main_thread: bool) -> None:
            try:
                result = work(in_main_thread)
                self._status = result.status
                self.exit_code = result.exit_code
            except BaseException as exc:
                self._error = exc
                self._status = "FAILED"
            finally:
                if cleanup is not None:
                    cleanup()
                self._done.set()

        if synchronous:
            target(threading.current_thread() is threading.main_thread())
            self.run_id = run_id() or ""
            if self._error is not None:
                raise self._error
            if self._status != FINISHED:
                code = self.exit_code if self.exit_code is not None else 1
                raise ExecutionError(
                    f"{what} {self.run_id} {self._status} with exit code {code}",
                    self.run_id,
                    self._status,
                    code,
                )
            return self
        self._thread = threading.Thread(
            target=target, args=(False,), name=f"mlrun-{what}", daemon=True
        )
        self._thread.start()
        while run_id() is None and not self._done.wait(0.005):
            pass
        self.run_id = run_id() or ""
        if self._error is not None and not self.run_id:
            raise self._error
        return self


def run(
    uri: str,
    entry_point: str = "main",
    version: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    docker_args: Mapping[str, Any] | None = None,
    experiment_name: str | None = None,
    experiment_id: str | None = None,
    backend: str = "local",
    backend_config: Any = None,
    storage_dir: str | None = None,
    synchronous: bool = True,
    run_id: str | None = None,
    run_name: str | None = None,
    env_manager: str | None = None,
    build_image: bool = False,
    docker_auth: Any = None,
    *,
    tracking_uri: str | None = None,
    echo: bool = True,
    reporter: Reporter | None = None,
    cwd: str | Path | None = None,
    tags: Mapping[str, str] | None = None,
    workflow_options: Mapping[str, Any] | None = None,
    conda_to_pip: bool = False,
) -> SubmittedRun:
    """Run an entry point of a project; returns a SubmittedRun.

    With `synchronous=True` (default) it waits and raises ExecutionError if the command
    fails, as MLflow does. Called from inside a step, the new run becomes its child.

    `entry_point` may name a workflow of the project: the SubmittedRun is then the
    workflow's run, and `workflow_options` takes the CLI's workflow options by name
    (jobs, keep_going, force, force_steps, no_cache, from_steps, only; resume=True for
    the latest run of the workflow, or resume="RUN_ID").

    `conda_to_pip=True` builds a conda.yaml project without conda (uv unless
    `env_manager` says virtualenv), its conda packages installed by pip name, best effort
    (the CLI's --conda-to-pip)."""
    from mlrun import runner
    from mlrun.envs.base import EnvOptions
    from mlrun.execution.supervisor import Cancel
    from mlrun.tracking import open_store

    for name, value in (
        ("experiment_id", experiment_id),
        ("backend_config", backend_config),
        ("storage_dir", storage_dir),
        ("docker_auth", docker_auth),
        ("run_id", run_id),
    ):
        if value is not None:
            raise NotAvailableError(f"mlrun.run({name}=...) is not available yet")
    if backend != "local":
        raise NotAvailableError(f"backend {backend!r} is not available yet")
    request = runner.RunRequest(
        uri=uri,
        entry_point=entry_point,
        version=version,
        parameters={str(k): _param_str(v) for k, v in (parameters or {}).items()},
        env_manager=env_manager,
        experiment_name=experiment_name,
        run_name=run_name,
        tracking_uri=tracking_uri,
        cwd=Path(cwd) if cwd else None,
        echo=echo,
        env_options=EnvOptions(
            build_image=build_image,
            docker_args={
                str(k): (None if v is None or v is True else str(v))
                for k, v in (docker_args or {}).items()
            },
            conda_to_pip=conda_to_pip,
        ),
        tags=dict(tags or {}),
    )
    reporter = reporter or Reporter()
    opened = runner.open_project(request, reporter)
    if "workflows" in opened.project.extra:
        from mlrun.workflow.submit import submit_workflow, wants

        if wants(opened, entry_point):
            return submit_workflow(
                opened, request, reporter, synchronous=synchronous, options=workflow_options
            )
    try:
        the_plan = runner.plan_entry_point(opened, request, reporter)
    except BaseException:
        opened.source.close()
        raise
    store = open_store(tracking_uri)
    recorded: list[str] = []
    submitted = SubmittedRun("", store.uri)
    submitted._cancel = cancel = Cancel()

    def _work(in_main_thread: bool) -> Any:
        # Signal handlers can only be installed from the main thread.
        return runner.execute(
            the_plan,
            store,
            reporter,
            forward_signals=in_main_thread,
            cancel=cancel,
            on_record=recorded.append,
        )

    return submitted._drive(
        _work, synchronous=synchronous, run_id=lambda: recorded[0] if recorded else None
    )


def load_project(uri: str = ".") -> Any:
    """The parsed MLproject of a local project directory (spec.model.Project)."""
    from mlrun import sources
    from mlrun.spec.loader import load_project as _load

    source = sources.resolve(uri)
    try:
        return _load(source.project_dir)
    finally:
        source.close()


def _param_str(value: Any) -> str:
    # MLflow turns parameter values into strings with str(); keep that (True -> "True").
    return value if isinstance(value, str) else str(value)
