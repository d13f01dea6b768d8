"""A run's record from its first moment to its end: the runner and the workflow engine
both create it with `create()` (RUNNING, before anything can fail) and finish it with
`finish_on_error()` when mlrun itself stops them. Nothing else writes those parts."""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrun.reporting import Reporter
from mlrun.tracking.base import RunStore

if TYPE_CHECKING:
    from mlrun.runner import RunRequest
    from mlrun.sources.model import Source
    from mlrun.tracking.model import Run


def create(
    store: RunStore,
    request: RunRequest,
    source: Source,
    *,
    entry_point: str,
    params: dict[str, str],
    command: list[str] | str,
    command_mode: str,
    env_kind: str,
    env: Mapping[str, Any],
    tags: Mapping[str, str],
) -> tuple[Run, Path]:
    """Record a new RUNNING run; returns (the record, its directory). The directory
    holds `outputs/` (the step's $MLRUN_RUN_DIR, created here) and `logs/`. The
    experiment: --experiment-name, else MLRUN_EXPERIMENT_NAME, else what an MLflow user
    has set (MLFLOW_EXPERIMENT_NAME), else "Default"."""
    from mlrun import __version__
    from mlrun.execution.logs import log_paths
    from mlrun.tracking import runs_root
    from mlrun.tracking.liveness import process_start_token, this_host
    from mlrun.tracking.model import NewRun

    run_id = request.run_id or uuid.uuid4().hex
    root = runs_root(store) / run_id
    (root / "outputs").mkdir(parents=True, exist_ok=True)
    experiment = (
        request.experiment_name
        or os.environ.get("MLRUN_EXPERIMENT_NAME")
        or os.environ.get("MLFLOW_EXPERIMENT_NAME")
        or "Default"
    )
    record = store.create_run(
        NewRun(
            run_id=run_id,
            experiment=experiment,
            run_name=request.run_name,
            source_uri=source.uri,
            source_type=source.kind,
            source=dict(source.provenance),
            entry_point=entry_point,
            params=params,
            command=command,
            command_mode=command_mode,
            env_kind=env_kind,
            env=env,
            run_dir=str(root / "outputs"),
            log_paths=log_paths(root / "logs"),
            host=this_host(),  # the reaper compares it with its own
            user=user(),
            pid=os.getpid(),
            pid_start=process_start_token(os.getpid()),
            mlrun_version=__version__,
            parent_run_id=request.parent_run_id or os.environ.get("MLRUN_RUN_ID") or None,
            tags=tags,
        )
    )
    return record, root


def finish_on_error(store: RunStore, run_id: str, exc: BaseException) -> None:
    """Finish a run that mlrun itself stopped: an MlrunError with its exit code and
    message, Ctrl-C as KILLED, anything else as FAILED naming the error."""
    from mlrun.errors import MlrunError
    from mlrun.tracking.model import FAILED, KILLED

    if isinstance(exc, MlrunError):
        store.finish_run(run_id, FAILED, exc.exit_code, str(exc))
    elif isinstance(exc, KeyboardInterrupt):
        store.finish_run(run_id, KILLED, None, "interrupted")
    else:
        store.finish_run(run_id, FAILED, None, f"mlrun failed: {exc!r}")


def record_outputs(store: RunStore, run_id: str, run_dir: Path, reporter: Reporter) -> None:
    """What the step left in $MLRUN_RUN_DIR. Metrics go last: they are the one part
    written twice if repeated (the others are upserts), so a retry after a failure redoes
    everything safely."""
    from mlrun.execution.outputs import collect

    collected = collect(run_dir)
    for warning in collected.warnings:
        reporter.warn(warning)
    if collected.params:
        store.log_params(run_id, collected.params)
    if collected.tags:
        store.set_tags(run_id, collected.tags)
    if collected.outputs:
        store.log_outputs(run_id, collected.outputs)
    if collected.artifacts:
        store.log_artifacts(run_id, collected.artifacts)
    if collected.metrics:
        store.log_metrics(run_id, collected.metrics)


def user() -> str:
    # getpass.getuser() semantics without importing getpass (start-up time).
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        if os.environ.get(name):
            return os.environ[name]
    import pwd

    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:  # no passwd entry (containers): the uid will do
        return str(os.getuid())
