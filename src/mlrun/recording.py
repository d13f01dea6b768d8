"""A run's record from its first moment to its end: the runner and the workflow engine
both create it with `create()` (RUNNING, before anything can fail, with the run's ledger,
execution/ledger.py) and end it with `finish()` (its outputs and final status), or
`finish_on_error()` when mlrun itself stops them. Nothing else writes those parts.

A store that cannot take the final writes (a full disk) does not change the run's exit
code: the outcome waits in the ledger, and `settle()` -- run by the next mlrun -- records
it, and stops whatever a supervisor that died left running."""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrun.reporting import Reporter
from mlrun.tracking.base import RunStore

if TYPE_CHECKING:
    from mlrun.execution.ledger import Ledger
    from mlrun.runner import RunRequest
    from mlrun.sources.model import Source
    from mlrun.tracking.model import Run

_SILENT = Reporter()
_ledgers: dict[str, Ledger] = {}  # this process's runs whose record is not finished yet
_warned: set[str] = set()  # artifact root warnings said by this process (once each)


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
    starts: str = "process",
    reporter: Reporter = _SILENT,
) -> tuple[Run, Path]:
    """Record a new RUNNING run; returns (the record, its directory). The directory
    holds `outputs/` (the step's $MLRUN_RUN_DIR, created here) and `logs/`. The
    experiment: --experiment-name, else MLRUN_EXPERIMENT_NAME, else what an MLflow user
    has set (MLFLOW_EXPERIMENT_NAME), else "Default". `starts`: "process", "container"
    or "workflow" (what the ledger's reaper looks for). The directory is under the
    artifact root (tracking/artifacts.py: --artifact-root, else the store's default)."""
    from mlrun import __version__
    from mlrun.execution.ledger import Ledger
    from mlrun.execution.logs import log_paths
    from mlrun.tracking.artifacts import choose
    from mlrun.tracking.liveness import process_start_token, this_host
    from mlrun.tracking.model import NewRun

    run_id = request.run_id or uuid.uuid4().hex
    artifact_root = choose(request.artifact_root, store)
    if artifact_root.warning and artifact_root.warning not in _warned:
        _warned.add(artifact_root.warning)
        reporter.warn(artifact_root.warning)
    root = artifact_root.run_dir(run_id, store.uri)
    experiment = (
        request.experiment_name
        or os.environ.get("MLRUN_EXPERIMENT_NAME")
        or os.environ.get("MLFLOW_EXPERIMENT_NAME")
        or "Default"
    )
    pid_start = process_start_token(os.getpid())
    ledger = Ledger.create(
        run_id,
        pid=str(os.getpid()),
        start=pid_start or "",
        host=this_host(),
        store=store.uri,
        dir=str(root / "outputs"),
        backend=request.backend,
        starts=starts,
    )
    if ledger is not None:
        _ledgers[run_id] = ledger
    new = NewRun(
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
        pid_start=pid_start,
        mlrun_version=__version__,
        parent_run_id=request.parent_run_id or os.environ.get("MLRUN_RUN_ID") or None,
        tags=tags,
    )
    try:
        record = store.create_run(new)
    except BaseException:
        if _ledgers.pop(run_id, None) is not None and ledger is not None:
            ledger.remove()
        raise
    return record, root


def check_run_id(value: str | None, flag: str = "--run-id") -> str | None:
    """A run id a caller chose (it names a directory under runs/): 1 to 64 letters,
    digits, '_' or '-', not starting with '-'; UsageError (exit 2) otherwise."""
    from mlrun.errors import UsageError
    from mlrun.tracking.artifacts import is_run_id

    if value is None:
        return None
    if not is_run_id(value):
        raise UsageError(
            f"{flag} {value[:80]!r} is not a run id",
            hint="a run id is 1 to 64 letters, digits, '_' or '-' (MLflow's are 32 hex digits)",
        )
    return value


def finish(
    store: RunStore,
    run_id: str,
    status: str,
    exit_code: int | None,
    reason: str | None,
    reporter: Reporter = _SILENT,
    *,
    outputs_from: Path | None = None,
) -> bool:
    """Record how a run ended: the step's outputs when still to do (read from
    `outputs_from`) and its final status. True once recorded. When the store cannot take
    them (a full disk, a store that stays locked), the outcome waits in the run's ledger
    for the next mlrun (one warning says so) and False is returned: the caller's exit
    code stands."""
    from mlrun.errors import StoreError

    try:
        if outputs_from is not None:
            record_outputs(store, run_id, outputs_from, _SILENT)  # warned once already
            outputs_from = None
        store.finish_run(run_id, status, exit_code, reason)
    except StoreError as exc:
        ledger = _ledgers.pop(run_id, None)
        code = "no exit code" if exit_code is None else f"exit code {exit_code}"
        if ledger is not None and ledger.keep_outcome(
            status, exit_code, reason, outputs=outputs_from is not None
        ):
            reporter.warn(
                f"{exc} The run's outcome ({status}, {code}) is kept in {ledger.path}; "
                "the next mlrun records it once the store can take it."
            )
        else:
            reporter.warn(f"{exc} The run's outcome ({status}, {code}) could not be recorded.")
        return False
    ledger = _ledgers.pop(run_id, None)
    if ledger is not None:
        ledger.remove()
    return True


def outputs(store: RunStore, run_id: str, run_dir: Path, reporter: Reporter) -> bool:
    """Record what the step left in `run_dir`; False when the store cannot take it now
    (then pass `outputs_from=run_dir` to `finish`, which tries again or keeps it)."""
    from mlrun.errors import StoreError

    try:
        record_outputs(store, run_id, run_dir, reporter)
    except StoreError as exc:
        reporter.debug(f"outputs of run {run_id[:12]} not recorded yet: {exc}")
        return False
    return True


def finish_on_error(
    store: RunStore, run_id: str, exc: BaseException, reporter: Reporter = _SILENT
) -> None:
    """Finish a run that mlrun itself stopped: a stopping signal (or Ctrl-C) as KILLED
    with 128+N -- also when an error followed the signal --, an MlrunError as FAILED with
    its exit code and message, anything else as FAILED naming the error."""
    from mlrun.errors import MlrunError
    from mlrun.tracking.model import FAILED, KILLED
    from mlrun.util import signals

    signum = getattr(exc, "signum", 2) if isinstance(exc, KeyboardInterrupt) else None
    signum = signum or signals.first()
    if signum is not None:
        finish(store, run_id, KILLED, 128 + signum, stopped_by(signum), reporter)
    elif isinstance(exc, MlrunError):
        finish(store, run_id, FAILED, exc.exit_code, str(exc), reporter)
    else:
        finish(store, run_id, FAILED, None, f"mlrun failed: {exc!r}", reporter)


def stopped_by(signum: int) -> str:
    """The status reason of a run stopped by a signal mlrun received."""
    from mlrun.errors import signal_name

    return f"stopped by {signal_name(signum)} sent to mlrun"


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


def settle(reporter: Reporter = _SILENT) -> None:
    """Clean up after mlrun processes of this machine that died with runs unfinished
    (their ledgers, execution/ledger.py): stop what their runs left running -- processes
    that carry the run's id, containers labelled with it --, record an outcome they kept
    for lack of space (when the store takes it now), and drop the ledger. Called when a
    command that runs, lists or prunes starts; costs one directory listing when there is
    nothing to do."""
    from mlrun.execution.ledger import live_dir

    try:
        names = os.listdir(live_dir())
    except OSError:
        return
    for name in names:
        if name not in _ledgers:  # not one of ours, which are alive
            _settle_one(live_dir() / name, reporter)


def _settle_one(path: Path, reporter: Reporter) -> None:
    import fcntl

    from mlrun.execution.ledger import Ledger
    from mlrun.tracking.liveness import is_alive, this_host

    ledger = Ledger.read(path)
    if ledger is None or ledger.fields.get("host") != this_host():
        return  # not a ledger, or another machine's (the heartbeat tells about those)
    pid = ledger.int_field("pid") or 0
    if is_alive(this_host(), pid, ledger.fields.get("start") or None) is not False:
        return
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return  # settled by someone else meanwhile
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return  # another mlrun is settling it
        if not path.exists():
            return
        run_id = ledger.fields.get("run", path.name)
        _stop_leftovers(ledger, run_id, reporter)
        if _record_kept_outcome(ledger, run_id, reporter):
            ledger.remove()
    finally:
        os.close(fd)


def _stop_leftovers(ledger: Ledger, run_id: str, reporter: Reporter) -> None:
    if ledger.fields.get("backend", "local") != "local":
        return  # another backend's job: it reconciles its own runs
    if ledger.fields.get("starts") == "container":
        _remove_containers(run_id, reporter)
        return
    from mlrun.execution.reaping import kill_marked

    killed = kill_marked(run_id, since=ledger.int_field("start"))
    if killed:
        reporter.warn(
            f"stopped {killed} process{'es' if killed > 1 else ''} left running by run "
            f"{run_id[:12]}, whose mlrun process {ledger.fields.get('pid')} died"
        )


def _remove_containers(run_id: str, reporter: Reporter) -> None:
    try:
        from docker.errors import DockerException

        from mlrun.envs.docker.engine import connect
        from mlrun.errors import EngineError
    except ImportError:
        return
    try:
        client = connect()
        for container in client.containers.list(
            all=True, filters={"label": f"org.mlrun.run-id={run_id}"}
        ):
            container.remove(force=True, v=True)
            reporter.warn(
                f"removed container {container.name} left by run {run_id[:12]}, "
                "whose mlrun process died"
            )
    except (DockerException, EngineError) as exc:
        reporter.debug(f"could not look for run {run_id[:12]}'s containers: {exc}")


def _record_kept_outcome(ledger: Ledger, run_id: str, reporter: Reporter) -> bool:
    """Record the outcome a supervisor kept for lack of space; True when done (or there
    was none)."""
    from mlrun.errors import MlrunError, RunNotFoundError
    from mlrun.tracking import open_store

    kept = ledger.outcome()
    if kept is None:
        return True
    status, exit_code, reason, outputs = kept
    try:
        store = open_store(ledger.fields.get("store"))
        try:
            if outputs and ledger.fields.get("dir"):
                record_outputs(store, run_id, Path(ledger.fields["dir"]), reporter)
            store.finish_run(run_id, status, exit_code, reason)
        finally:
            store.close()
    except RunNotFoundError:
        return True  # the store lost the run (deleted or replaced): nothing to finish
    except MlrunError as exc:
        reporter.debug(f"run {run_id[:12]}'s kept outcome is not recorded yet: {exc}")
        return False
    reporter.info(f"recorded run {run_id[:12]} as {status} (kept by its mlrun for lack of space)")
    return True
