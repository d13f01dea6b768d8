"""The path of one run: source -> spec -> env -> record -> execute -> record.

Both the CLI and the Python API call `prepare()` then `execute()` (or `plan()` for a dry
run). Nothing here prints; progress goes through the Reporter."""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from mlrun import __version__
from mlrun.envs.base import EnvOptions, EnvPlan, Launch, PreparedEnv
from mlrun.execution.supervisor import DEFAULT_GRACE, Cancel
from mlrun.reporting import Reporter
from mlrun.sources.model import Source
from mlrun.spec.model import EMPTY, Command, EntryPoint, Project, ResolvedParameters
from mlrun.tracking.base import RunStore


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
        warnings: list[str] | None = None,
    ) -> None:
        self.request = request
        self.source = source
        self.project = project
        self.entry_point = entry_point
        self.params = params
        self.command = command
        self.env_plan = env_plan
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
            "warnings": self.warnings,
        }
        if self.command.argv is not None:
            data["argv"] = list(self.command.argv)
        else:
            data["shell"] = self.command.shell
        return data


class RunResult(NamedTuple):
    run_id: str
    status: str
    exit_code: int
    reason: str | None


def plan(request: RunRequest, reporter: Reporter) -> Plan:
    """Resolve the source, load the project, check parameters, render the command, and
    plan the environment. Raises MlrunError subclasses for every bad input."""
    opened = open_project(request, reporter)
    try:
        return plan_entry_point(opened, request, reporter)
    except BaseException:
        opened.source.close()
        raise


class Opened(NamedTuple):
    """A fetched source and its loaded project (a workflow plans all its steps on one)."""

    source: Source
    project: Project
    warnings: list[str]


def open_project(request: RunRequest, reporter: Reporter) -> Opened:
    """Resolve the source and load its MLproject; the caller closes `source`."""
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
    try:
        project = load_project(source.project_dir)
    except BaseException:
        source.close()
        raise
    warnings = [str(w) for w in project.warnings]
    for warning in warnings:
        reporter.warn(warning)
    return Opened(source, project, warnings)


def plan_entry_point(opened: Opened, request: RunRequest, reporter: Reporter) -> Plan:
    """Plan one entry point of an opened project (does not close the source)."""
    from mlrun.envs import plan_project_env
    from mlrun.errors import UsageError
    from mlrun.spec.entrypoints import get_entry_point
    from mlrun.spec.params import resolve_parameters, undeclared
    from mlrun.spec.render import render_command

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
    for typo, note in undeclared(entry_point, params.extra):
        (reporter.warn if typo else reporter.info)(note)
    command = render_command(entry_point, params)
    env_plan = plan_project_env(project, request.env_manager, request.env_options)
    return Plan(
        request,
        opened.source,
        project,
        entry_point,
        params,
        command,
        env_plan,
        list(opened.warnings),
    )


def plan_env(request: RunRequest, reporter: Reporter) -> tuple[Source, EnvPlan]:
    """Only the environment part of plan(): for `mlrun env build` (no entry point or
    parameters needed). The caller closes the source."""
    from mlrun import sources
    from mlrun.envs import plan_project_env
    from mlrun.spec.loader import load_project

    source = sources.resolve(
        request.uri,
        version=request.version,
        cwd=request.cwd or Path.cwd(),
        offline=request.offline,
        require_clean=request.require_clean,
        reporter=reporter,
    )
    try:
        project = load_project(source.project_dir)
        return source, plan_project_env(project, request.env_manager, request.env_options)
    except BaseException:
        source.close()
        raise


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
    error or a crash of mlrun itself is never a lost run: each path below finishes it."""
    from mlrun.errors import MlrunError
    from mlrun.execution.logs import LogSink
    from mlrun.tracking.model import FAILED, KILLED

    try:
        run_id, run_root, launch = _create_record(the_plan, store)
        if on_record is not None:
            on_record(run_id)
        sink = LogSink(run_root / "logs", echo=the_plan.request.echo)
        env: PreparedEnv | None = None
        try:
            env = _prepare_env(the_plan, store, run_id, reporter)
            outcome = _supervise(
                the_plan, env, launch, sink, store, reporter, forward_signals, cancel, on_start
            )
        except MlrunError as exc:
            sink.note(str(exc))
            store.finish_run(run_id, FAILED, exc.exit_code, str(exc))
            raise
        except BaseException as exc:
            interrupted = isinstance(exc, KeyboardInterrupt)
            store.finish_run(
                run_id,
                KILLED if interrupted else FAILED,
                None,
                "interrupted" if interrupted else f"mlrun failed: {exc!r}",
            )
            raise
        finally:
            sink.close()
            if env is not None:
                env.release()
        _record_outputs(store, run_id, launch.run_dir, reporter)
        store.finish_run(run_id, outcome.status, outcome.exit_code, outcome.reason)
        return RunResult(run_id, outcome.status, outcome.exit_code, outcome.reason)
    finally:
        the_plan.source.close()


def _create_record(the_plan: Plan, store: RunStore) -> tuple[str, Path, Launch]:
    from mlrun.execution.logs import log_paths
    from mlrun.tracking import runs_root
    from mlrun.tracking.liveness import process_start_token, this_host
    from mlrun.tracking.model import NewRun

    request = the_plan.request
    run_id = request.run_id or uuid.uuid4().hex
    run_root = runs_root(store) / run_id
    run_dir = run_root / "outputs"
    run_dir.mkdir(parents=True, exist_ok=True)
    command: list[str] | str = (
        list(the_plan.command.argv)
        if the_plan.command.argv is not None
        else the_plan.command.shell or ""
    )
    experiment = request.experiment_name or os.environ.get("MLRUN_EXPERIMENT_NAME") or "Default"
    store.create_run(
        NewRun(
            run_id=run_id,
            experiment=experiment,
            run_name=request.run_name,
            source_uri=the_plan.source.uri,
            source_type=the_plan.source.kind,
            source=dict(the_plan.source.provenance),
            entry_point=the_plan.entry_point.name,
            params=the_plan.params.all(),
            command=command,
            command_mode=the_plan.command.mode,
            env_kind=the_plan.env_plan.manager,
            env={"kind": the_plan.env_plan.manager, "key": the_plan.env_plan.key},
            run_dir=str(run_dir),
            log_paths=log_paths(run_root / "logs"),
            host=this_host(),
            user=_user(),
            pid=os.getpid(),
            pid_start=process_start_token(os.getpid()),
            mlrun_version=__version__,
            parent_run_id=request.parent_run_id or os.environ.get("MLRUN_RUN_ID") or None,
            tags=dict(request.tags),
        )
    )
    _save_source_artifacts(the_plan.source, run_dir)
    launch = Launch(
        command=the_plan.command,
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
    return run_id, run_root, launch


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

    child = env.spawn(launch)
    if on_start is not None:
        on_start(launch.run_id, child)
    reporter.debug(f"run {launch.run_id} started ({child.label})")

    def _heartbeat() -> None:
        from mlrun.errors import StoreError

        try:
            store.heartbeat(launch.run_id)
        except StoreError as exc:  # a busy store must not stop the command
            reporter.debug(f"heartbeat not recorded: {exc}")

    return supervise(
        child,
        sink,
        grace=the_plan.request.grace_period,
        forward_signals=forward_signals,
        cancel=cancel,
        tick=_heartbeat,
    )


def _record_outputs(store: RunStore, run_id: str, run_dir: Path, reporter: Reporter) -> None:
    from mlrun.execution.outputs import collect

    collected = collect(run_dir)
    for warning in collected.warnings:
        reporter.warn(warning)
    if collected.params:
        store.log_params(run_id, collected.params)
    if collected.tags:
        store.set_tags(run_id, collected.tags)
    if collected.metrics:
        store.log_metrics(run_id, collected.metrics)
    if collected.outputs:
        store.log_outputs(run_id, collected.outputs)
    if collected.artifacts:
        store.log_artifacts(run_id, collected.artifacts)


def _save_source_artifacts(source: Source, run_dir: Path) -> None:
    for rel, data in source.artifacts.items():
        target = run_dir / "artifacts" / "mlrun" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def _user() -> str:
    # getpass.getuser() semantics without importing getpass (start-up time).
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        if os.environ.get(name):
            return os.environ[name]
    import pwd

    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:  # no passwd entry (containers): the uid will do
        return str(os.getuid())
