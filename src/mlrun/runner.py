"""The path of one run: source -> spec -> env + backend -> record -> execute -> record.

The CLI and the Python API open the project (`open_project()`, which they close with
`with`), take the one "entry point or workflow" decision (`plan_unless_workflow()`),
plan the entry point (`plan_entry_point()`, all a dry run needs) and `execute()` the
plan; a workflow goes to workflow.engine, which plans and executes each step here.
Nothing here prints; progress goes through the Reporter."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from mlrun.envs.base import EnvOptions, EnvPlan, Launch, PreparedEnv
from mlrun.execution.supervisor import DEFAULT_GRACE, Cancel, Outcome
from mlrun.reporting import Reporter
from mlrun.sources.model import Source
from mlrun.spec.model import EMPTY, Command, EntryPoint, Project, ResolvedParameters
from mlrun.tracking.base import RunStore

if TYPE_CHECKING:
    from mlrun.backends.base import Backend
    from mlrun.execution.child import Child
    from mlrun.tracking.mlflow import Tracker
    from mlrun.tracking.model import Run

HEARTBEAT = 30.0  # seconds between a running run's heartbeats (tracking/liveness.py)


class RunRequest(NamedTuple):
    uri: str = "."
    entry_point: str = "main"
    parameters: Mapping[str, str] = EMPTY
    version: str | None = None
    env_manager: str | None = None
    experiment_name: str | None = None
    run_name: str | None = None
    tracking_uri: str | None = None
    env_options: EnvOptions = EnvOptions()
    offline: bool = False
    require_clean: bool = False
    grace_period: float = DEFAULT_GRACE
    cwd: Path | None = None  # the caller's working directory (path parameters)
    parent_run_id: str | None = None
    tags: Mapping[str, str] = EMPTY
    echo: bool = True  # stream the command's output to our stdout/stderr
    run_id: str | None = None
    backend: str = "local"  # where the command starts (mlrun.backends)
    backend_config: Mapping[str, Any] = EMPTY  # -c/--backend-config, parsed


class Plan:
    """Everything decided before anything runs (what --dry-run shows). A plain class,
    not a dataclass: defined on every run's start-up path (see spec/model.py)."""

    def __init__(
        self,
        request: RunRequest,
        source: Source,
        project: Project,
        entry_point: EntryPoint,
        params: ResolvedParameters,
        command: Command,
        env_plan: EnvPlan,
        backend: Backend,
        warnings: list[str] | None = None,
    ) -> None:
        self.request = request
        self.source = source
        self.project = project
        self.entry_point = entry_point
        self.params = params
        self.command = command
        self.env_plan = env_plan
        self.backend = backend
        self.warnings: list[str] = warnings if warnings is not None else []

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "uri": self.source.uri,
            "project_dir": str(self.source.project_dir),
            "entry_point": self.entry_point.name,
            "parameters": self.params.all(),
            "command_mode": self.command.mode,
            "cwd": str(self.source.project_dir),
            "env_manager": self.env_plan.manager,
            "env": {
                "kind": self.env_plan.manager,
                "key": self.env_plan.key,
                "cached": self.env_plan.cached,
                "description": self.env_plan.description,
                **{k: v for k, v in self.env_plan.details.items() if k != "inputs"},
            },
            "source": self.source.provenance,
            "mlflow": _mlflow_plan(),
            "backend": self.backend.describe(
                self.env_plan, self.command, self.source.project_dir, self.request.backend_config
            ),
            "warnings": self.warnings,
        }
        if self.command.argv is not None:
            data["argv"] = list(self.command.argv)
        else:
            data["shell"] = self.command.shell
            if self.command.env:  # what bash really runs: values by reference
                data["shell_script"] = self.command.script
                data["shell_env"] = dict(self.command.env)
        return data


def _mlflow_plan() -> dict[str, str | None]:
    """Where the run's MLflow run would go (nothing is created for a dry run)."""
    from mlrun.tracking.mlflow import mode
    from mlrun.util.redact import strip_credentials

    kind, uri = mode()
    return {"mode": kind, "tracking_uri": strip_credentials(uri) if uri else None}


class RunResult:
    """How a run ended. Plain classes here and below, not NamedTuples: defining one costs
    about 0.2 ms of every run's start-up (see spec/model.py)."""

    def __init__(self, run_id: str, status: str, exit_code: int, reason: str | None) -> None:
        self.run_id = run_id
        self.status = status
        self.exit_code = exit_code
        self.reason = reason

    def __repr__(self) -> str:
        return f"RunResult({self.run_id}, {self.status}, exit code {self.exit_code})"


class Opened:
    """A fetched source and its loaded project (a workflow plans all its steps on one).
    The caller owns the source: `with runner.open_project(...) as opened: ...`."""

    def __init__(self, source: Source, project: Project, warnings: list[str]) -> None:
        self.source = source
        self.project = project
        self.warnings = warnings

    def __enter__(self) -> Opened:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.source.close()


def open_project(request: RunRequest, reporter: Reporter, *, warn: bool = True) -> Opened:
    """Resolve the source and load its MLproject (the project's warnings are reported
    unless `warn` is off)."""
    from mlrun import sources
    from mlrun.spec.loader import load_project

    source = sources.resolve(
        request.uri,
        version=request.version,
        cwd=request.cwd or Path.cwd(),
        offline=request.offline,
        require_clean=request.require_clean,
        reporter=reporter,
    )
    with source.closed_on_failure():
        project = load_project(source.project_dir, source.root)
    warnings = [str(w) for w in project.warnings]
    if warn:
        for warning in warnings:
            reporter.warn(warning)
    return Opened(source, project, warnings)


def plan_unless_workflow(
    opened: Opened,
    request: RunRequest,
    reporter: Reporter,
    *,
    workflow_flags: Sequence[str] = (),
) -> Plan | None:
    """Entry point or workflow: the one decision `mlrun run` and `mlrun.run()` both take
    once the project is open (`-e NAME` names either). None when `request.entry_point`
    names a workflow of the project (the caller runs it with workflow.engine), else the
    plan of that entry point. `workflow_flags` are the workflow-only options the caller
    was given: for an entry point they are a mistake worth saying."""
    from mlrun.errors import UsageError

    name = request.entry_point
    if "workflows" in opened.project.extra:  # else decided without importing workflow/
        from mlrun.workflow.model import wants_workflow

        if wants_workflow(opened.project, name):
            return None
    if workflow_flags:
        raise UsageError(
            f"{workflow_flags[0]} only applies to workflows, and {name!r} is an entry point",
            hint="declare a workflow under `workflows:` in the MLproject, or drop the option",
        )
    return plan_entry_point(opened, request, reporter)


def plan_entry_point(opened: Opened, request: RunRequest, reporter: Reporter) -> Plan:
    """Plan one entry point of an opened project (does not close the source)."""
    from mlrun.backends import get_backend
    from mlrun.errors import UsageError
    from mlrun.spec.entrypoints import get_entry_point
    from mlrun.spec.params import resolve_parameters, undeclared
    from mlrun.spec.render import render_command
    from mlrun.tracking.mlflow import mode as mlflow_mode

    cwd = request.cwd or Path.cwd()
    project = opened.project
    try:
        entry_point = get_entry_point(project, request.entry_point)
    except UsageError as exc:
        if project.file is not None:
            raise
        raise UsageError(
            f"{opened.source.where()} has no MLproject file, and "
            f"{request.entry_point!r} is not a script in it",
            hint="run a directory or repository holding an MLproject, or a "
            ".py/.sh file in it with -e",
        ) from exc
    params = resolve_parameters(entry_point, request.parameters, cwd)
    mlflow_mode()  # an MLFLOW_TRACKING_URI mlrun cannot serve is bad input (exit 2)
    for typo, note in undeclared(entry_point, params.extra):
        (reporter.warn if typo else reporter.info)(note)
    command = render_command(entry_point, params)
    backend = get_backend(request.backend)
    env_plan = plan_env(opened, request, backend)
    backend.check(env_plan, request.backend_config)
    return Plan(
        request,
        opened.source,
        project,
        entry_point,
        params,
        command,
        env_plan,
        backend,
        list(opened.warnings),
    )


def plan_env(opened: Opened, request: RunRequest, backend: Backend | None = None) -> EnvPlan:
    """Only the environment part of planning: for `mlrun env build` (no entry point or
    parameters needed). A backend whose commands run elsewhere may name the env cache
    they can see (`env_cache`) or change the env options (`env_options`, see
    backends/base.py)."""
    from mlrun.envs import choose_manager, get_manager

    manager = get_manager(choose_manager(opened.project.env, request.env_manager))
    options = request.env_options
    env_cache = getattr(backend, "env_cache", None)
    if env_cache is not None:
        options = options._replace(cache_root=env_cache(request.backend_config))
    env_options = getattr(backend, "env_options", None)
    if env_options is not None:
        options = env_options(opened.project, options, request.backend_config)
    return manager.plan(opened.project, options)


def execute(
    the_plan: Plan,
    store: RunStore,
    reporter: Reporter,
    *,
    forward_signals: bool = True,
    cancel: Cancel | None = None,
    on_start: Any = None,
    on_record: Any = None,
) -> RunResult:
    """Record the run, prepare its env, supervise the command, record how it ended.

    The record exists from the start (RUNNING) so that a failed env build, a launch
    error or a crash of mlrun itself is never a lost run: each path below finishes it.
    The plan's source stays open: whoever opened it closes it."""
    from mlrun.errors import MlrunError
    from mlrun.execution.logs import LogSink
    from mlrun.recording import finish_on_error, record_outputs

    record, run_root, launch = _create_record(the_plan, store)
    run_id = record.run_id
    if on_record is not None:
        on_record(run_id)
    sink = LogSink(run_root / "logs", echo=the_plan.request.echo)
    env: PreparedEnv | None = None
    tracker: Tracker | None = None
    try:
        admit = getattr(the_plan.backend, "admit", None)
        if admit is not None:  # refusals that must be recorded (exit 125, FAILED)
            admit(the_plan.env_plan, the_plan.request.backend_config)
        tracker = _mlflow_prepare(record, store, launch, reporter)
        env = _prepare_env(the_plan, store, run_id, reporter)
        outcome = _supervise(
            the_plan, env, launch, sink, store, reporter, forward_signals, cancel, on_start
        )
    except BaseException as exc:
        if isinstance(exc, MlrunError):
            sink.note(str(exc))
        if tracker is not None:
            tracker.finish(store, _status_of(exc), reporter)
        finish_on_error(store, run_id, exc)
        raise
    finally:
        sink.close()
        if env is not None:
            env.release()
    record_outputs(store, run_id, launch.run_dir, reporter)
    tracker.finish(store, outcome.status, reporter)  # what the MLflow client logged
    store.finish_run(run_id, outcome.status, outcome.exit_code, outcome.reason)
    return RunResult(run_id, outcome.status, outcome.exit_code, outcome.reason)


def _mlflow_prepare(record: Run, store: RunStore, launch: Launch, reporter: Reporter) -> Tracker:
    """The run's MLflow context (tracking/mlflow): its variables join the command's."""
    from mlrun.tracking.mlflow import prepare

    tracker = prepare(record, store, reporter)
    launch.run_env = {**launch.run_env, **tracker.env}
    launch.host_network = launch.host_network or tracker.host_network
    return tracker


def _status_of(exc: BaseException) -> str:
    from mlrun.tracking.model import FAILED, KILLED

    return KILLED if isinstance(exc, KeyboardInterrupt) else FAILED


def _create_record(the_plan: Plan, store: RunStore) -> tuple[Run, Path, Launch]:
    from mlrun import recording

    command = the_plan.command
    record, run_root = recording.create(
        store,
        the_plan.request,
        the_plan.source,
        entry_point=the_plan.entry_point.name,
        params=the_plan.params.all(),
        command=list(command.argv) if command.argv is not None else command.shell or "",
        command_mode=command.mode,
        env_kind=the_plan.env_plan.manager,
        env={"kind": the_plan.env_plan.manager, "key": the_plan.env_plan.key},
        tags=_tags(the_plan),
    )
    run_id, experiment = record.run_id, record.experiment
    run_dir = run_root / "outputs"
    _save_source_artifacts(the_plan.source, run_dir)
    launch = Launch(
        command=command,
        cwd=the_plan.source.project_dir,
        run_env={
            "MLRUN_RUN_ID": run_id,
            "MLRUN_RUN_DIR": str(run_dir),
            "MLRUN_TRACKING_URI": store.uri,
            "MLRUN_EXPERIMENT_NAME": experiment,
        },
        run_dir=run_dir,
        run_id=run_id,
        host_paths=_host_paths(the_plan),
    )
    return record, run_root, launch


def _tags(the_plan: Plan) -> dict[str, str]:
    tags = dict(the_plan.request.tags)
    if the_plan.request.backend != "local":
        from mlrun.tracking.liveness import BACKEND_TAG

        tags[BACKEND_TAG] = the_plan.request.backend
    return tags


def _host_paths(the_plan: Plan) -> tuple[Path, ...]:
    params = the_plan.entry_point.parameters
    values = the_plan.params.values
    return tuple(
        Path(values[name])
        for name, p in params.items()
        if p.type in ("path", "uri")
        and name in values
        and os.path.isabs(values[name])
        and os.path.exists(values[name])
    )


def _prepare_env(the_plan: Plan, store: RunStore, run_id: str, reporter: Reporter) -> PreparedEnv:
    from mlrun.envs import get_manager

    env = get_manager(the_plan.env_plan.manager).prepare(the_plan.env_plan, reporter)
    if env.record != {"kind": the_plan.env_plan.manager, "key": the_plan.env_plan.key}:
        store.update_run(run_id, env=dict(env.record))
    return env


def _supervise(
    the_plan: Plan,
    env: PreparedEnv,
    launch: Launch,
    sink: Any,
    store: RunStore,
    reporter: Reporter,
    forward_signals: bool,
    cancel: Cancel | None,
    on_start: Any,
) -> Any:
    from mlrun.execution.supervisor import supervise

    request = the_plan.request
    child = the_plan.backend.start(env, launch, request.backend_config, reporter)
    try:
        if on_start is not None:
            on_start(launch.run_id, child)
        reporter.debug(f"run {launch.run_id} started ({child.label})")
        recorded = _record_details(store, launch.run_id, child, {})
    except BaseException:
        child.kill()
        child.cleanup()
        raise
    last_beat = time.monotonic()

    def _tick() -> None:
        # Where the command runs may change while it runs (a cluster job gets a node):
        # recorded as it changes; the heartbeat every HEARTBEAT seconds.
        nonlocal recorded, last_beat
        from mlrun.errors import StoreError

        try:
            recorded = _record_details(store, launch.run_id, child, recorded)
            if time.monotonic() - last_beat >= HEARTBEAT:
                last_beat = time.monotonic()
                store.heartbeat(launch.run_id)
        except StoreError as exc:  # a busy store must not stop the command
            reporter.debug(f"heartbeat not recorded: {exc}")

    outcome = supervise(
        child,
        sink,
        grace=request.grace_period,
        forward_signals=forward_signals,
        cancel=cancel,
        tick=_tick,
        tick_every=1.0 if recorded else HEARTBEAT,
    )
    _record_details(store, launch.run_id, child, recorded)
    ending = child.ending()
    if ending is None or outcome.received_signal is not None:
        return outcome
    status, exit_code, reason = ending
    return Outcome(status, exit_code, outcome.child_returncode, None, reason)


def _record_details(
    store: RunStore, run_id: str, child: Child, recorded: dict[str, str]
) -> dict[str, str]:
    """The child's details (a job id, a node) as the run's tags, when they changed."""
    details: dict[str, str] = child.details()
    changed = {k: v for k, v in details.items() if recorded.get(k) != v}
    if changed:
        store.set_tags(run_id, changed)
    return details


def _save_source_artifacts(source: Source, run_dir: Path) -> None:
    for rel, data in source.artifacts.items():
        target = run_dir / "artifacts" / "mlrun" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
