"""The path of one run: source -> spec -> env + backend -> record -> execute -> record.

The CLI and the Python API open the project (`open_project()`, which they close with
`with`), take the one "entry point or workflow" decision (`plan_unless_workflow()`),
plan the entry point (`plan_entry_point()`, all a dry run needs) and `execute()` the
plan; a workflow goes to workflow.engine, which plans and executes each step here.
Nothing here prints; progress goes through the Reporter."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from mlrun.envs.base import EnvOptions, EnvPlan, Launch, PreparedEnv
from mlrun.errors import MlrunError
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
    experiment_id: str | None = None  # --experiment-id, checked by check_experiment()
    storage_dir: str | None = None  # where remote `path` parameter values are downloaded
    artifact_root: str | None = None  # --artifact-root, checked (tracking/artifacts.py)


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
        problems: list[MlrunError] | None = None,
        downloads: Mapping[str, str] = EMPTY,
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
        # What would stop the run (a dry run plans on and lists them; empty otherwise).
        self.problems: list[MlrunError] = problems if problems is not None else []
        self.downloads = downloads  # {parameter: remote URI} fetched to --storage-dir

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
            "problems": [_problem_json(p) for p in self.problems],
        }
        if self.request.artifact_root is not None:
            data["artifact_root"] = self.request.artifact_root  # checked, absolute
        if self.request.storage_dir is not None:
            data["storage_dir"] = self.request.storage_dir
            data["downloads"] = dict(self.downloads)
        if self.command.argv is not None:
            data["argv"] = list(self.command.argv)
        else:
            data["shell"] = self.command.shell
            if self.command.env:  # what bash really runs: values by reference
                data["shell_script"] = self.command.script
                data["shell_env"] = dict(self.command.env)
        return data


def _problem_json(problem: MlrunError) -> dict[str, Any]:
    # exit_code: what the run would exit with (the dry run itself exits 2).
    from mlrun.util.redact import redact

    hint = redact(problem.hint) if problem.hint else None
    return {"message": redact(problem.message), "hint": hint, "exit_code": problem.exit_code}


def _mlflow_plan() -> dict[str, str | None]:
    """Where the run's MLflow run would go (nothing is created for a dry run)."""
    from mlrun.tracking.mlflow import mode
    from mlrun.util.redact import strip_credentials

    try:
        kind, uri = mode()
    except MlrunError:  # a store mlrun cannot serve: among a dry run's problems
        return {"mode": "unsupported", "tracking_uri": None}
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


def check_store_options(request: RunRequest) -> RunRequest:
    """What the run store must say about the request, asked before anything is fetched
    or built (UsageError, exit 2):

    --experiment-id, as `mlflow run` takes it: the id of an experiment that exists in
    the store; its name then goes on the record. With --experiment-name too, a mistake.
    --run-id: the record is created under that id, so no run of the store may have it
    yet.
    --artifact-root (or $MLRUN_ARTIFACT_ROOT): a directory that can hold run directories
    (made when missing), recorded absolute."""
    from mlrun.errors import UsageError

    root = request.artifact_root or os.environ.get("MLRUN_ARTIFACT_ROOT")
    if root:
        from mlrun.tracking.artifacts import ENV, check_root

        what = "--artifact-root" if request.artifact_root else ENV
        request = request._replace(artifact_root=str(check_root(root, what)))
    if request.experiment_id is None and request.run_id is None:
        return request  # the usual run opens no store here
    if request.experiment_id is not None and request.experiment_name is not None:
        raise UsageError(
            "--experiment-name and --experiment-id both choose the experiment; give one",
            hint="--experiment-name creates the experiment when missing, "
            "--experiment-id must name one that exists",
        )
    from mlrun.tracking import open_store
    from mlrun.tracking.mlflow import mode

    kind, server = mode()
    if kind == "server":  # ids are the tracking server's, as for `mlflow run`
        request = _on_server(request, server)
    with open_store(request.tracking_uri) as store:
        if request.experiment_id is not None and kind != "server":
            wanted = request.experiment_id.strip()
            name = store.experiment_name(wanted)
            if name is None:
                raise UsageError(
                    f"no experiment has the id {wanted!r} in the run store {store.uri}",
                    hint="`mlrun runs list --json` shows each run's experiment_id; "
                    "--experiment-name NAME creates an experiment",
                )
            request = request._replace(experiment_name=name)
        if request.run_id is not None:
            _refuse_taken_run_id(store, request.run_id)
    return request


def _on_server(request: RunRequest, uri: str) -> RunRequest:
    """--experiment-id names an experiment of the MLflow tracking server; --run-id a run
    there to attach to, whose experiment the run joins."""
    from mlrun.errors import UsageError
    from mlrun.tracking.mlflow.server import existing_run, experiment_name

    if request.experiment_id is not None:
        request = request._replace(
            experiment_name=experiment_name(uri, request.experiment_id.strip())
        )
    if request.run_id is not None:
        _, name = existing_run(uri, request.run_id)
        if request.experiment_name not in (None, name):
            raise UsageError(
                f"--run-id {request.run_id} is a run of the experiment {name!r} on the "
                f"MLflow tracking server, not of {request.experiment_name!r}",
                hint="leave the experiment out: an attached run stays in its own",
            )
        request = request._replace(experiment_name=name)
    return request


def _refuse_taken_run_id(store: RunStore, run_id: str) -> None:
    from mlrun.errors import RunNotFoundError, UsageError

    try:
        existing = store.get_run(run_id)
    except RunNotFoundError:  # none, or only prefix matches (ambiguous or not)
        return
    if existing.run_id != run_id:  # a unique prefix match: another run
        return
    raise UsageError(
        f"--run-id {run_id}: the run store {store.uri} already holds that run "
        f"({existing.status}), and a run is never recorded twice",
        hint="give a new id, or leave --run-id out",
    )


def refuse_run_id_for_workflow(request: RunRequest) -> None:
    """A workflow records a run of its own and one per step: one id cannot name them."""
    from mlrun.errors import UsageError

    if request.run_id is not None:
        raise UsageError(
            f"--run-id names the run of an entry point, and {request.entry_point!r} is a "
            "workflow (a run of its own and one per step)",
            hint="drop --run-id",
        )


def plan_unless_workflow(
    opened: Opened,
    request: RunRequest,
    reporter: Reporter,
    *,
    workflow_flags: Sequence[str] = (),
    dry_run: bool = False,
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
    return plan_entry_point(opened, request, reporter, dry_run=dry_run)


def plan_entry_point(
    opened: Opened, request: RunRequest, reporter: Reporter, *, dry_run: bool = False
) -> Plan:
    """Plan one entry point of an opened project (does not close the source).

    A `dry_run` plan is made even when the run could not start here (a parameter
    missing, an env file that cannot be built, a missing interpreter, an unset variable
    in a docker volume): each such error lands in `Plan.problems` instead of being
    raised, and nothing is downloaded."""
    from mlrun.backends import get_backend
    from mlrun.errors import UsageError
    from mlrun.spec.entrypoints import get_entry_point
    from mlrun.spec.params import remote_paths, resolve_parameters, undeclared
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
    problems: list[MlrunError] | None = [] if dry_run else None
    params = resolve_parameters(entry_point, request.parameters, cwd, problems)
    # An MLFLOW_TRACKING_URI mlrun cannot serve is bad input (exit 2).
    _attempt(problems, mlflow_mode, lambda: None)
    for typo, note in undeclared(entry_point, params.extra):
        (reporter.warn if typo else reporter.info)(note)
    downloads = remote_paths(entry_point, params.values) if request.storage_dir else {}
    if downloads and not dry_run:
        from mlrun.sources.download import download

        assert request.storage_dir is not None
        local = download(downloads, request.storage_dir, reporter)
        params = params._replace(values={**params.values, **local})
    command = _attempt(
        problems,
        lambda: render_command(entry_point, params),
        lambda: Command(None, entry_point.command, entry_point.command),
    )
    backend = get_backend(request.backend)  # it may name the env cache (env_cache)
    env_plan = _attempt(
        problems,
        lambda: plan_env(opened, request, backend),
        lambda: _unplanned_env(opened, request),
    )
    if problems is not None and env_plan.problem is not None:
        problems.append(_as_error(env_plan.problem))
    _attempt(problems, lambda: backend.check(env_plan, request.backend_config), lambda: None)
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
        problems,
        downloads,
    )


_T = TypeVar("_T")


def _attempt(
    problems: list[MlrunError] | None, step: Callable[[], _T], fallback: Callable[[], _T]
) -> _T:
    """`step()`; for a dry run (`problems` is a list), its MlrunError is listed there and
    `fallback()` stands in for its result."""
    if problems is None:
        return step()
    try:
        return step()
    except MlrunError as exc:
        problems.append(exc)
        return fallback()


def _as_error(problem: Exception) -> MlrunError:
    return problem if isinstance(problem, MlrunError) else MlrunError(str(problem))


def _unplanned_env(opened: Opened, request: RunRequest) -> EnvPlan:
    """What a dry run shows for an environment that cannot be planned."""
    from mlrun.envs import choose_manager

    try:
        name = choose_manager(opened.project.env, request.env_manager)
    except MlrunError:
        name = request.env_manager or opened.project.env.kind
    return EnvPlan(
        name,
        opened.project,
        request.env_options,
        key=None,
        cached=False,
        description=f"{name} environment (cannot be planned here)",
    )


def plan_env(opened: Opened, request: RunRequest, backend: Backend | None = None) -> EnvPlan:
    """Only the environment part of planning: for `mlrun env build` (no entry point or
    parameters needed). A backend whose commands run elsewhere may name the env cache
    they can see (`env_cache`) or change the env options (`env_options`, see
    backends/base.py)."""
    from mlrun.envs import choose_manager, get_manager

    options = request.env_options
    env_cache = getattr(backend, "env_cache", None)
    if env_cache is not None:
        options = options._replace(cache_root=env_cache(request.backend_config))
    manager = get_manager(
        choose_manager(opened.project.env, request.env_manager, options.conda_to_pip)
    )
    supplies = opened.source.supplies  # a bundle's wheels and docker image
    if supplies:
        options = options._replace(
            find_links=(*supplies.get("find_links", ()), *options.find_links),
            image_archive=supplies.get("image_archive", options.image_archive),
        )
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
    In the command-line process a stopping signal is only recorded from the record's
    creation to its end (util/signals.py) and acted on at the safe points here: before
    the command starts it stops the run, after that the supervisor forwards it, and one
    that comes after the command ended still makes the run KILLED, until the outcome
    is sealed. Only the env build can be cut short. The plan's source stays open:
    whoever opened it closes it."""
    from mlrun import recording
    from mlrun.errors import MlrunError
    from mlrun.execution.logs import LogSink
    from mlrun.util import signals

    with signals.deferred():
        record, run_root, launch = _create_record(the_plan, store, reporter)
        run_id = record.run_id
        sink: LogSink | None = None
        env: PreparedEnv | None = None
        tracker: Tracker | None = None
        try:
            if on_record is not None:
                on_record(run_id)
            _save_source_artifacts(the_plan.source, launch.run_dir)
            sink = LogSink(run_root / "logs", echo=the_plan.request.echo, warn=reporter.warn)
            admit = getattr(the_plan.backend, "admit", None)
            if admit is not None:  # refusals that must be recorded (exit 125, FAILED)
                admit(the_plan.env_plan, the_plan.request.backend_config)
            attach = the_plan.request.run_id is not None  # --run-id: a server run, if any
            tracker = _mlflow_prepare(record, store, launch, reporter, attach)
            with signals.interruptible():
                env = _prepare_env(the_plan, store, run_id, reporter)
            signals.check()  # stopped before the command started: it never does
            outcome = _supervise(
                the_plan, env, launch, sink, store, reporter, forward_signals, cancel, on_start
            )
        except BaseException as exc:
            if sink is not None and isinstance(exc, MlrunError):
                sink.note(str(exc))
            if tracker is not None:
                tracker.finish(store, _status_of(exc), reporter)
            recording.finish_on_error(store, run_id, exc, reporter)
            raise
        finally:
            if sink is not None:
                sink.close()
            if env is not None:
                env.release()
        recorded = recording.outputs(store, run_id, launch.run_dir, reporter)
        outcome = _last_signal(outcome, signals.seal())
        tracker.finish(store, outcome.status, reporter)  # what the MLflow client logged
        recording.finish(
            store,
            run_id,
            outcome.status,
            outcome.exit_code,
            outcome.reason,
            reporter,
            outputs_from=None if recorded else launch.run_dir,
        )
    return RunResult(run_id, outcome.status, outcome.exit_code, outcome.reason)


def _last_signal(outcome: Outcome, signum: int | None) -> Outcome:
    """A signal that reached mlrun after the command ended, before the outcome was
    sealed, still stops the run: KILLED with 128+N, whatever the command's own end."""
    from mlrun.recording import stopped_by
    from mlrun.tracking.model import KILLED

    if signum is None or outcome.received_signal is not None:
        return outcome
    ended = outcome.reason or "the command succeeded"
    return Outcome(
        KILLED,
        128 + signum,
        outcome.child_returncode,
        signum,
        f"{stopped_by(signum)} (after the command ended: {ended})",
    )


def _mlflow_prepare(
    record: Run, store: RunStore, launch: Launch, reporter: Reporter, attach: bool
) -> Tracker:
    """The run's MLflow context (tracking/mlflow): its variables join the command's."""
    from mlrun.tracking.mlflow import prepare

    tracker = prepare(record, store, reporter, attach=attach)
    launch.run_env = {**launch.run_env, **tracker.env}
    launch.host_network = launch.host_network or tracker.host_network
    return tracker


def _status_of(exc: BaseException) -> str:
    from mlrun.tracking.model import FAILED, KILLED
    from mlrun.util import signals

    if isinstance(exc, KeyboardInterrupt) or signals.first() is not None:
        return KILLED
    return FAILED


def _artifact_root_env(request: RunRequest) -> dict[str, str]:
    root = request.artifact_root
    return {"MLRUN_ARTIFACT_ROOT": root} if root else {}


def _create_record(the_plan: Plan, store: RunStore, reporter: Reporter) -> tuple[Run, Path, Launch]:
    from mlrun import recording

    command = the_plan.command
    record, run_root = recording.create(
        store,
        the_plan.request,
        the_plan.source,
        starts=the_plan.env_plan.starts,
        entry_point=the_plan.entry_point.name,
        params=the_plan.params.all(),
        command=list(command.argv) if command.argv is not None else command.shell or "",
        command_mode=command.mode,
        env_kind=the_plan.env_plan.manager,
        env={"kind": the_plan.env_plan.manager, "key": the_plan.env_plan.key},
        tags=_tags(the_plan),
        reporter=reporter,
    )
    run_id, experiment = record.run_id, record.experiment
    run_dir = run_root / "outputs"
    launch = Launch(
        command=command,
        cwd=the_plan.source.project_dir,
        run_env={
            "MLRUN_RUN_ID": run_id,
            "MLRUN_RUN_DIR": str(run_dir),
            "MLRUN_TRACKING_URI": store.uri,
            "MLRUN_EXPERIMENT_NAME": experiment,
            # Runs the step starts (mlrun.run() in its code) go to the same root.
            **_artifact_root_env(the_plan.request),
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
    from mlrun.execution import reaping
    from mlrun.execution.supervisor import supervise

    request = the_plan.request
    # The command-line process's one run: mlrun is the subreaper of everything it
    # starts and may collect and end every descendant (execution/reaping.py).
    whole_tree = forward_signals and reaping.is_subreaper()
    local = request.backend == "local" and the_plan.env_plan.starts == "process"
    child = the_plan.backend.start(env, launch, request.backend_config, reporter)
    since = None if whole_tree or not local else _start_token(getattr(child, "pid", 0))
    try:
        if on_start is not None:
            on_start(launch.run_id, child)
        reporter.debug(f"run {launch.run_id} started ({child.label})")
        recorded = _record_details(store, launch.run_id, child, {}, reporter)
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

        recorded = _record_details(store, launch.run_id, child, recorded, reporter)
        try:
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
        reap_orphans=whole_tree,
    )
    _record_details(store, launch.run_id, child, recorded, reporter)
    # What the command left outside its process group (a daemon, `setsid`) goes too.
    if whole_tree:
        reaping.sweep()
    elif local:
        within = os.getpid() if reaping.is_subreaper() else None  # a workflow's step
        reaping.kill_marked(launch.run_id, since=since, within=within)
    found = child.recorded()  # e.g. the files a container's run left in its workdir
    if found:
        from mlrun.errors import StoreError

        env.record.update(found)
        try:
            store.update_run(launch.run_id, env=dict(env.record))
        except StoreError as exc:  # a full store never changes the run's outcome
            reporter.warn(f"what the run left in its working directory is not recorded: {exc}")
    ending = child.ending()
    if ending is None or outcome.received_signal is not None:
        return outcome
    status, exit_code, reason = ending
    return Outcome(status, exit_code, outcome.child_returncode, None, reason)


def _record_details(
    store: RunStore, run_id: str, child: Child, recorded: dict[str, str], reporter: Reporter
) -> dict[str, str]:
    """The child's details (a job id, a node) as the run's tags, when they changed; what
    is now recorded. A store that cannot take them never stops the command: they are
    tried again at the next tick."""
    from mlrun.errors import StoreError

    details: dict[str, str] = child.details()
    changed = {k: v for k, v in details.items() if recorded.get(k) != v}
    if changed:
        try:
            store.set_tags(run_id, changed)
        except StoreError as exc:
            reporter.debug(f"details of run {run_id[:12]} not recorded yet: {exc}")
            return recorded
    return details


def _start_token(pid: int) -> int | None:
    from mlrun.tracking.liveness import process_start_token

    token = process_start_token(pid)
    return int(token) if token and token.isdigit() else None


def _save_source_artifacts(source: Source, run_dir: Path) -> None:
    for rel, data in source.artifacts.items():
        target = run_dir / "artifacts" / "mlrun" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
