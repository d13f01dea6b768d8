"""The Python API, shaped like `mlflow.projects.run` so users can switch by changing
the import: `mlrun.run(uri, entry_point, parameters=..., synchronous=...)`."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrun.reporting import Reporter
from mlrun.submitted import SubmittedRun, Work, submit

if TYPE_CHECKING:
    from mlrun.execution.supervisor import Cancel
    from mlrun.runner import Opened, Plan, RunRequest

__all__ = ["SubmittedRun", "load_project", "run"]


def run(
    uri: str,
    entry_point: str = "main",
    version: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    docker_args: Mapping[str, Any] | None = None,
    experiment_name: str | None = None,
    experiment_id: str | None = None,
    backend: str = "local",
    backend_config: str | Mapping[str, Any] | None = None,
    storage_dir: str | None = None,
    synchronous: bool = True,
    run_id: str | None = None,
    run_name: str | None = None,
    env_manager: str | None = None,
    build_image: bool = False,
    docker_auth: Any = None,
    *,
    tracking_uri: str | None = None,
    artifact_root: str | Path | None = None,
    echo: bool = True,
    reporter: Reporter | None = None,
    cwd: str | Path | None = None,
    tags: Mapping[str, str] | None = None,
    workflow_options: Mapping[str, Any] | None = None,
    conda_to_pip: bool = False,
    mount_code: bool = False,
    keep_workdir: bool = False,
) -> SubmittedRun:
    """Run an entry point of a project; returns a SubmittedRun.

    With `synchronous=True` (default) it waits and raises ExecutionException (also
    importable as mlrun.ExecutionException) if the command fails, as MLflow does.

    `experiment_id` (the run store's id of an existing experiment) or `experiment_name`
    (created when missing) choose the experiment; `run_id` records the run under that
    id (one the store does not hold yet); `storage_dir` is where `path` parameters given
    as remote URIs are downloaded first; `docker_auth` a registry login (a dict with
    username, password, registry, ...) for pulling a docker project's image. Called
    from inside a step, the new run becomes its child.

    `artifact_root` is where the run's directory (logs, outputs, artifacts) goes: a
    directory every machine mounts (the CLI's --artifact-root; default
    $MLRUN_ARTIFACT_ROOT, else next to the SQLite store).

    `backend` chooses where the command starts (mlrun.backends: `local`, `slurm` -- a
    batch job --, or a plugin's), `backend_config` its settings: a dict, a JSON string,
    or a path to a .json file (for slurm: {"partition": ..., "time": ..., ...}).

    `entry_point` may name a workflow of the project: the SubmittedRun is then the
    workflow's run, and `workflow_options` takes the CLI's workflow options by name
    (workflow/options.py: jobs, keep_going, force, force_steps, no_cache, from_steps,
    only; resume=True for the latest run of the workflow, or resume="RUN_ID").

    `conda_to_pip=True` builds a conda.yaml project without conda (uv unless
    `env_manager` says virtualenv), its conda packages installed by pip name, best effort
    (the CLI's --conda-to-pip).

    docker_env projects: the run gets a writable copy of the code; `mount_code=True`
    mounts it read-only instead, `build_image=True` bakes it into an image, and
    `keep_workdir=True` keeps the files the run left there as artifacts."""
    from mlrun import runner
    from mlrun.backends import get_backend
    from mlrun.backends.config import parse_config
    from mlrun.envs.base import EnvOptions
    from mlrun.envs.docker.auth import check_auth
    from mlrun.recording import check_run_id

    get_backend(backend)  # an unknown name fails here, naming the known ones
    request = runner.RunRequest(
        uri=uri,
        entry_point=entry_point,
        version=version,
        parameters={str(k): _param_str(v) for k, v in (parameters or {}).items()},
        env_manager=env_manager,
        experiment_name=experiment_name,
        experiment_id=None if experiment_id is None else str(experiment_id),
        run_name=run_name,
        run_id=check_run_id(run_id, "mlrun.run(run_id=...)"),
        storage_dir=None if storage_dir is None else str(storage_dir),
        tracking_uri=tracking_uri,
        artifact_root=None if artifact_root is None else str(artifact_root),
        cwd=Path(cwd) if cwd else None,
        echo=echo,
        env_options=EnvOptions(
            build_image=build_image,
            mount_code=mount_code,
            keep_workdir=keep_workdir,
            docker_args={
                str(k): (None if v is None or v is True else str(v))
                for k, v in (docker_args or {}).items()
            },
            docker_auth=None
            if docker_auth is None
            else check_auth(parse_config(docker_auth, "docker_auth"), "docker_auth"),
            conda_to_pip=conda_to_pip,
        ),
        tags=dict(tags or {}),
        backend=backend,
        backend_config=parse_config(backend_config, "backend_config"),
    )
    request = runner.check_store_options(request)
    reporter = reporter or Reporter()
    # The source stays open until the run ends, in this thread or in the run's own: the
    # ExitStack closes it if anything fails before the run starts, else hands it on.
    with contextlib.ExitStack() as owner:
        opened = owner.enter_context(runner.open_project(request, reporter))
        the_plan = runner.plan_unless_workflow(opened, request, reporter)
        if the_plan is None:
            runner.refuse_run_id_for_workflow(request)
            work, store_uri = _workflow(opened, request, reporter, workflow_options)
        else:
            work, store_uri = _entry_point(the_plan, reporter, tracking_uri)
        return submit(
            work,
            tracking_uri=store_uri,
            synchronous=synchronous,
            owner=owner.pop_all(),
            what="run" if the_plan is not None else "workflow run",
        )


def _entry_point(the_plan: Plan, reporter: Reporter, tracking_uri: str | None) -> tuple[Work, str]:
    from mlrun import runner
    from mlrun.tracking import open_store

    store = open_store(tracking_uri)

    def work(forward_signals: bool, cancel: Cancel, on_record: Callable[[str], None]) -> Any:
        return runner.execute(
            the_plan,
            store,
            reporter,
            forward_signals=forward_signals,
            cancel=cancel,
            on_record=on_record,
        )

    return work, store.uri


def _workflow(
    opened: Opened,
    request: RunRequest,
    reporter: Reporter,
    options: Mapping[str, Any] | None,
) -> tuple[Work, str]:
    from mlrun.tracking import open_store
    from mlrun.workflow.engine import WorkflowRun
    from mlrun.workflow.options import from_mapping

    opts = from_mapping(options, "mlrun.run(workflow_options=...)")
    store = open_store(request.tracking_uri)
    wf = WorkflowRun(request, opened, opts, reporter, store)

    def work(forward_signals: bool, cancel: Cancel, on_record: Callable[[str], None]) -> Any:
        # The scheduler handles signals itself, in whichever thread it runs.
        return wf.execute(cancel=cancel, on_record=on_record)

    return work, store.uri


def load_project(uri: str = ".") -> Any:
    """The parsed MLproject of a local project directory (spec.model.Project)."""
    from mlrun import sources
    from mlrun.spec.loader import load_project as _load

    with sources.resolve(uri) as source:
        return _load(source.project_dir, source.root)


def _param_str(value: Any) -> str:
    # MLflow turns parameter values into strings with str(); keep that (True -> "True").
    return value if isinstance(value, str) else str(value)
