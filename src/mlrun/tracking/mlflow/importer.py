"""What the MLflow client logged in a file store, turned into mlrun run records.

The run mlrun created (same id as mlrun's run) gives its new params, tags, every metric
value and its models to mlrun's record; every other run in the store that belongs to
it (all of them in a run-private store; those whose `mlflow.parentRunId` chain leads to
it in a shared one) becomes a child run. Artifacts of mlrun's own run are already
mlrun's (its artifact_uri is the run's artifacts directory); models are found by their
MLmodel file there, in child runs' artifacts, and among MLflow 3's logged models.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from mlrun.tracking.base import RunStore
from mlrun.tracking.mlflow import filestore as fs
from mlrun.tracking.model import FAILED, FINISHED, KILLED, RUNNING, Metric, Model, NewRun, Run

TAG_KIND = "mlrun.kind"
PARENT_TAG = "mlflow.parentRunId"
RUN_NAME_TAG = "mlflow.runName"


class Logged(NamedTuple):
    """One MLflow run as the client left it."""

    run_id: str
    path: Path  # its directory in the file store
    meta: dict[str, Any]
    params: dict[str, str]
    tags: dict[str, str]
    metrics: list[Metric]


class Imported(NamedTuple):
    params: int
    tags: int
    metrics: int
    models: int
    children: int


def read_run(
    path: Path,
    run_id: str,
    warnings: list[str],
    meta: bool = True,
    skip_params: Mapping[str, str] | None = None,
) -> Logged:
    """`skip_params`: params written before the command, not read again (a client that
    logs one with another value fails; with the same value, nothing changes)."""
    return Logged(
        run_id,
        path,
        fs.read_meta(path / "meta.yaml") if meta else {},
        fs.read_values(path / "params", skip=skip_params or {}),
        fs.read_values(path / "tags"),
        fs.read_metrics(path / "metrics", warnings),
    )


def find_models(artifacts: Path) -> list[Model]:
    """Directories holding an MLmodel file under `artifacts` (not below a model)."""
    models: list[Model] = []
    if not os.path.isdir(artifacts):
        return models
    for top, dirs, files in os.walk(artifacts):
        if "MLmodel" in files:
            dirs[:] = []
            rel = Path(top).relative_to(artifacts).as_posix()
            rel = "" if rel == "." else rel
            models.append(read_model(Path(top), rel, rel))
        dirs.sort()
    return models


def read_model(directory: Path, path: str, name: str) -> Model:
    """A Model for the directory holding an MLmodel file (flavors from the file)."""
    import yaml

    try:
        data = yaml.safe_load((directory / "MLmodel").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        data = None
    if not isinstance(data, dict):
        return Model(path, name, [])
    flavors = data.get("flavors")
    model_id = data.get("model_id") or data.get("model_uuid")
    version = data.get("mlflow_version")
    return Model(
        path,
        name,
        sorted(flavors) if isinstance(flavors, dict) else [],
        str(model_id) if model_id else None,
        str(version) if version else None,
    )


def logged_models(root: Path, experiments: set[str] | None = None) -> dict[str, list[Model]]:
    """MLflow 3's logged models in the store (or in these experiments), by the run that
    logged them."""
    by_run: dict[str, list[Model]] = {}
    for directory in fs.list_logged_models(root, experiments):
        meta = fs.read_meta(directory / "meta.yaml")
        run_id = meta.get("source_run_id")
        location = fs.local_path(str(meta.get("artifact_location") or ""))
        if not run_id or location is None or not (location / "MLmodel").is_file():
            continue
        model = read_model(location, str(location), str(meta.get("name") or directory.name))
        if model.model_id is None:
            model = model._replace(model_id=str(meta.get("model_id") or directory.name))
        by_run.setdefault(str(run_id), []).append(model)
    return by_run


def import_store(
    store: RunStore,
    record: Run,
    root: Path,
    *,
    main: Path,
    preset_params: Mapping[str, str],
    preset_tags: Mapping[str, str],
    extra_tags: Mapping[str, str],
    status: str,
    private: bool,
    warnings: list[str],
) -> Imported:
    """Import the run `record.run_id` (directory `main`) and the runs it started.

    `preset_*`: what mlrun wrote itself when it created the run (not imported again).
    `private`: every other run in the store is the code's; else only descendants."""
    run_id = record.run_id
    logged = read_run(main, run_id, warnings, meta=False, skip_params=preset_params)
    params = {k: v for k, v in logged.params.items() if preset_params.get(k) != v}
    tags = {k: v for k, v in logged.tags.items() if preset_tags.get(k) != v}
    tags.update(extra_tags)
    models = find_models(Path(record.run_dir) / "artifacts")
    stored = fs.list_runs(root)
    children = _children(stored, run_id, private, warnings)
    # MLflow 3 keeps a logged model's files with the model, not in the run's artifacts.
    ours = {run_id} | {c.run_id for c in children}
    by_run = logged_models(root, {exp for exp, i, _ in stored if i in ours})
    models += by_run.get(run_id, [])
    if params:
        store.log_params(run_id, params)
    if tags:
        store.set_tags(run_id, tags)
    if logged.metrics:
        store.log_metrics(run_id, logged.metrics)
    if models:
        store.log_models(run_id, models)
    for child in children:
        _import_child(store, record, child, by_run.get(child.run_id, []), status, children)
    return Imported(len(params), len(tags), len(logged.metrics), len(models), len(children))


def _children(
    stored: list[tuple[str, str, Path]], run_id: str, private: bool, warnings: list[str]
) -> list[Logged]:
    others = [(i, path) for _, i, path in stored if i != run_id]
    if not private:
        # A shared store: only runs whose parent chain leads to ours, found from each
        # run's parent tag alone (the store may hold thousands of runs).
        parents = {i: _parent_of(path) for i, path in others}
        mine = {run_id}
        changed = True
        while changed:
            changed = False
            for child, parent in parents.items():
                if child not in mine and parent in mine:
                    mine.add(child)
                    changed = True
        others = [(i, path) for i, path in others if i in mine]
    runs = [read_run(path, i, warnings) for i, path in others]
    return sorted(runs, key=lambda o: (_int(o.meta.get("start_time")), o.run_id))


def _parent_of(run_dir: Path) -> str | None:
    try:
        return (run_dir / "tags" / PARENT_TAG).read_text(encoding="utf-8").strip()
    except OSError:
        return None


class Child(NamedTuple):
    """A run the code started, wherever it was logged (a file store or a server)."""

    run_id: str
    name: str | None
    parent_id: str | None  # its mlflow.parentRunId
    status: str  # RUNNING when the code left it open
    start_time: float | None
    end_time: float | None
    params: dict[str, str]
    tags: dict[str, str]
    metrics: list[Metric]
    run_dir: str  # where its artifacts/ are (the parent's run dir when nowhere local)
    models: list[Model]


def record_child(
    store: RunStore, parent: Run, child: Child, known: set[str], parent_status: str
) -> str | None:
    """Record `child` as a child run of mlrun's `parent` (or of `child.parent_id` when
    that is in `known`). Returns the final status given to a run the code left open
    (the parent's, KILLED when the parent succeeded), for the caller to mirror; None
    when the run was recorded already (an mlrun run started inside the command)."""
    from mlrun.errors import RunNotFoundError

    try:
        store.get_run(child.run_id)
        return None
    except RunNotFoundError:
        pass
    status = child.status if child.status in (FINISHED, FAILED, KILLED) else RUNNING
    store.create_run(
        NewRun(
            run_id=child.run_id,
            experiment=parent.experiment,
            run_name=child.name,
            source_uri=parent.source_uri,
            source_type=parent.source_type,
            source=parent.source,
            entry_point=parent.entry_point,
            params=child.params,
            command=[],
            command_mode="mlflow",
            env_kind=parent.env_kind,
            env=parent.env,
            run_dir=child.run_dir,
            log_paths=parent.log_paths,
            host=parent.host,
            user=parent.user,
            pid=parent.pid,
            pid_start=parent.pid_start,
            mlrun_version=parent.mlrun_version,
            parent_run_id=child.parent_id if child.parent_id in known else parent.run_id,
            tags={**child.tags, TAG_KIND: "mlflow"},
            status=status,
            start_time=child.start_time,
            end_time=child.end_time,
        )
    )
    if child.metrics:
        store.log_metrics(child.run_id, child.metrics)
    listed = (
        _artifacts(Path(child.run_dir) / "artifacts") if child.run_dir != parent.run_dir else []
    )
    if listed:
        store.log_artifacts(child.run_id, listed)
    if child.models:
        store.log_models(child.run_id, child.models)
    if status != RUNNING:
        return status
    final = parent_status if parent_status != FINISHED else KILLED
    store.finish_run(
        child.run_id, final, None, "the command ended while this MLflow run was still running"
    )
    return final


def _import_child(
    store: RunStore,
    parent: Run,
    child: Logged,
    stored_models: list[Model],
    parent_status: str,
    siblings: list[Logged],
) -> None:
    meta = child.meta
    name = child.tags.get(RUN_NAME_TAG) or meta.get("run_name") or None
    found = Child(
        run_id=child.run_id,
        name=str(name) if name else None,
        parent_id=child.tags.get(PARENT_TAG),
        status=fs.STATUS_NAMES.get(_int(meta.get("status")), RUNNING),
        start_time=_int(meta.get("start_time")) / 1000.0 or None,
        end_time=_int(meta.get("end_time")) / 1000.0 or None,
        params=child.params,
        tags=child.tags,
        metrics=child.metrics,
        run_dir=str(child.path),
        models=find_models(child.path / "artifacts") + stored_models,
    )
    known = {parent.run_id} | {s.run_id for s in siblings}
    final = record_child(store, parent, found, known, parent_status)
    if final is not None and final != found.status:
        fs.set_status(child.path, final, int(time.time() * 1000))


def _artifacts(root: Path) -> list[Any]:
    from mlrun.execution.outputs import list_artifacts

    return list_artifacts(root)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
