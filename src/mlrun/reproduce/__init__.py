"""`mlrun reproduce`: run a recorded run again from its record alone, and (`--check`) say
whether it came to the same.

From the record: the same code (sources/recorded.py: the commit from the mirror cache,
with a dirty run's changes restored), the same package versions (a lock made from the
packages the run had installed, or the very lock its env followed), the same entry
point, parameters (path parameters inside the project rebased onto the new checkout),
environment manager and experiment. A bundle packaged from a run (`mlrun package RUN`)
carries all of that, so `mlrun reproduce FILE.tar.gz` works on another machine too.

The new run is tagged `mlrun.reproduces` with the original's id. `--check` compares the
outcomes (tracking/outcome.py): exit code, outputs.json, metrics (within `rtol`) and
artifact hashes."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from mlrun.envs.base import EnvOptions
from mlrun.errors import UsageError
from mlrun.reporting import Reporter

TAG = "mlrun.reproduces"


class ReproduceRequest(NamedTuple):
    target: str  # a run id (or unique prefix), or a bundle packaged from a run
    offline: bool = False
    rtol: float = 0.0
    atol: float = 0.0
    tracking_uri: str | None = None
    cwd: Path = Path()
    rebuild: bool = False


class Original(NamedTuple):
    run_id: str
    experiment: str
    run_name: str | None
    entry_point: str
    parameters: dict[str, str]
    env_kind: str
    env: dict[str, Any]
    project_dir: str | None  # where it ran: path parameters inside it are rebased
    outcome: dict[str, Any]


class Reproduced(NamedTuple):
    original: Original
    result: Any  # runner.RunResult of the new run
    outcome: dict[str, Any]
    differences: list[str]
    lock: dict[str, Any] | None  # the lock the new run's env followed


def reproduce(request: ReproduceRequest, reporter: Reporter) -> Reproduced:
    from mlrun import runner
    from mlrun.tracking import open_store
    from mlrun.tracking.outcome import differences, outcome_of

    original, source = _open(request, reporter)
    with source:
        opened = _opened(source, reporter)
        options = EnvOptions(offline=request.offline, rebuild=request.rebuild)
        options, lock = _lock_options(original, opened.project, source, options, reporter)
        run_request = runner.RunRequest(
            uri=source.uri,
            entry_point=original.entry_point,
            parameters=_rebased(original, opened.project, source.project_dir),
            env_manager=None if original.env_kind in ("docker", "workflow") else original.env_kind,
            experiment_name=original.experiment,
            run_name=original.run_name,
            tracking_uri=request.tracking_uri,
            env_options=options,
            offline=request.offline,
            cwd=request.cwd,
            tags={TAG: original.run_id},
        )
        the_plan = runner.plan_entry_point(opened, run_request, reporter)
        store = open_store(request.tracking_uri)
        reporter.info(
            f"reproducing run {original.run_id[:12]} ({original.entry_point!r} of "
            f"{source.where()}) in {the_plan.env_plan.description}"
        )
        result = runner.execute(the_plan, store, reporter)
    new = outcome_of(store.get_run(result.run_id))
    found = differences(original.outcome, new, rtol=request.rtol, atol=request.atol)
    return Reproduced(original, result, new, found, lock)


def _open(request: ReproduceRequest, reporter: Reporter) -> tuple[Original, Any]:
    from mlrun.sources.bundle import looks_like_bundle

    if looks_like_bundle(request.target, request.cwd):
        return _from_bundle(request, reporter)
    from mlrun.packaging.target import find_run, run_source
    from mlrun.sources.recorded import project_dir_of
    from mlrun.tracking.outcome import outcome_of

    run = find_run(request.target, request.tracking_uri)
    original = Original(
        run.run_id,
        run.experiment,
        run.run_name,
        run.entry_point,
        dict(run.params),
        run.env_kind,
        dict(run.env),
        project_dir_of(run.source_type, run.source_uri, dict(run.source)),
        outcome_of(run),
    )
    return original, run_source(run, offline=request.offline, reporter=reporter)


def _from_bundle(request: ReproduceRequest, reporter: Reporter) -> tuple[Original, Any]:
    from mlrun import sources
    from mlrun.sources.manifest import read_manifest

    path = request.cwd / request.target
    run = read_manifest(path).get("run")
    if not isinstance(run, dict) or not run.get("run_id"):
        raise UsageError(
            f"{request.target} was packaged from a project, not from a run: there is no run "
            "in it to reproduce",
            hint="run it with `mlrun run`, or package a run: `mlrun package RUN_ID -o ...`",
        )
    original = Original(
        str(run["run_id"]),
        str(run.get("experiment") or "Default"),
        run.get("run_name"),
        str(run["entry_point"]),
        {str(k): str(v) for k, v in (run.get("parameters") or {}).items()},
        str(run.get("env_kind") or ""),
        dict(run.get("env") or {}),
        run.get("project_dir"),
        {k: run.get(k) for k in ("status", "exit_code", "outputs", "metrics", "artifacts")},
    )
    source = sources.resolve(str(path), cwd=request.cwd, offline=request.offline, reporter=reporter)
    return original, source


def _opened(source: Any, reporter: Reporter) -> Any:
    from mlrun import runner
    from mlrun.spec.loader import load_project

    with source.closed_on_failure():
        project = load_project(source.project_dir, source.root)
    warnings = [str(w) for w in project.warnings]
    for warning in warnings:
        reporter.warn(warning)
    return runner.Opened(source, project, warnings)


def _lock_options(
    original: Original, project: Any, source: Any, options: EnvOptions, reporter: Reporter
) -> tuple[EnvOptions, dict[str, Any] | None]:
    """The options that make the env hold the recorded versions: the lock the original
    run followed, when the code has it (a bundle packaged from the run does); else a lock
    made now from the packages the run had installed."""
    from mlrun.envs import lockfile
    from mlrun.envs.locking import recorded_pins
    from mlrun.util.sha import file_sha256

    path = lockfile.lock_path(project)
    if path is None or original.env_kind == "local":
        if original.env_kind == "local":
            reporter.warn(
                f"run {original.run_id[:12]} ran in the current environment (its project "
                "declares none): its package versions are not recorded, so not reproduced"
            )
        return options, None
    followed = original.env.get("lock") or {}
    if path.is_file() and followed.get("sha256") == file_sha256(path):
        return options, {"file": str(path), "sha256": followed["sha256"], "made": "the run's"}
    if source.kind == "bundle" and path.is_file():
        return options, {"file": str(path), "sha256": file_sha256(path), "made": "the bundle's"}
    pins = recorded_pins(original.env)
    if not pins:
        reporter.warn(
            f"run {original.run_id[:12]} recorded no packages (its env was never built): "
            "the env is built from the spec as it is"
        )
        return options._replace(no_lock=True), None
    made = _lock_from_pins(project, options, reporter, pins)
    return options._replace(lock_file=str(made)), {
        "file": str(made),
        "sha256": file_sha256(made),
        "made": f"from the packages run {original.run_id[:12]} had installed",
    }


def _lock_from_pins(project: Any, options: EnvOptions, reporter: Reporter, pins: list[str]) -> Path:
    """A lock of the recorded versions, kept in the cache by its digest."""
    from mlrun.envs.locking import lock_text
    from mlrun.util.files import atomic_write
    from mlrun.util.paths import cache_dir
    from mlrun.util.sha import sha256

    text = lock_text(project, options, reporter, pins)
    path = cache_dir() / "locks" / f"{sha256(text.encode()).hexdigest()[:32]}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.is_file():
        atomic_write(path, text)
    return path


def _rebased(original: Original, project: Any, project_dir: Path) -> dict[str, str]:
    """The recorded parameters, with path/uri values that were inside the original
    project directory pointed at the same file in this one."""
    values = dict(original.parameters)
    entry_point = project.entry_points.get(original.entry_point)
    if original.project_dir is None or entry_point is None:
        return values
    old = Path(original.project_dir)
    for name, param in entry_point.parameters.items():
        value = values.get(name)
        if param.type in ("path", "uri") and value and Path(value).is_relative_to(old):
            values[name] = str(project_dir / Path(value).relative_to(old))
    return values
