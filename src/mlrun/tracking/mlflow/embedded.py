"""A run's MLflow file store: private to the run (the default) or the user's own.

The private store is `<run dir>/mlflow` (the run directory is writable in every env
kind, a container's included, and nothing lands in the project directory). mlrun
writes the experiment and the run there before the command starts, with the `-P`
parameters already logged (so a conflicting `log_param` fails as under `mlflow run`)
and the tags `mlflow run` sets; the run's artifact_uri is mlrun's own artifacts
directory, so artifacts are never copied. One id serves both: mlrun's run ids are
32-hex uuids like MLflow's.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from mlrun.errors import NotAvailableError, UsageError
from mlrun.reporting import Reporter
from mlrun.tracking.base import RunStore
from mlrun.tracking.mlflow import TAG_EXPERIMENT_ID, TAG_RUN_ID, TAG_URI, Tracker
from mlrun.tracking.mlflow import filestore as fs
from mlrun.tracking.mlflow.tags import mlflow_run_tags, run_name
from mlrun.tracking.model import Run

STORE_DIR = "mlflow"  # in the run directory ($MLRUN_RUN_DIR)
EXPERIMENT_ID = "0"  # the private store holds one experiment


class FileStoreTracker(Tracker):
    def __init__(self, record: Run, root: Path, experiment_id: str, private: bool) -> None:
        super().__init__()
        self.record = record
        self.root = root
        self.private = private
        self.experiment_id = experiment_id
        self.params = {k: v for k, v in record.params.items() if fs.valid_key(k)}
        self.tags = mlflow_run_tags(record)
        self.uri = fs.file_uri(root)
        self.env = {
            "MLFLOW_TRACKING_URI": self.uri,
            "MLFLOW_RUN_ID": record.run_id,
            "MLFLOW_EXPERIMENT_ID": experiment_id,
            "MLFLOW_EXPERIMENT_NAME": record.experiment,
            "MLFLOW_ALLOW_FILE_STORE": "true",  # MLflow 3.7+ refuses file stores otherwise
        }
        self.run_dir = root / experiment_id / record.run_id

    def create(self) -> FileStoreTracker:
        now_ms = int(time.time() * 1000)
        fs.write_experiment(
            self.root,
            self.experiment_id,
            self.record.experiment,
            fs.file_uri(self.root / self.experiment_id),
            now_ms,
        )
        fs.write_run(
            self.root,
            fs.RunMeta(
                experiment_id=self.experiment_id,
                run_id=self.record.run_id,
                run_name=run_name(self.record),
                artifact_uri=fs.file_uri(Path(self.record.run_dir) / "artifacts"),
                start_ms=int(self.record.start_time * 1000) or now_ms,
                user=self.record.user,
                source_name=self.tags.get("mlflow.source.name", ""),
                entry_point=self.record.entry_point,
            ),
            self.params,
            self.tags,
        )
        return self

    def _finish(self, store: RunStore, status: str, reporter: Reporter) -> None:
        ours = {
            TAG_URI: self.uri,
            TAG_RUN_ID: self.record.run_id,
            TAG_EXPERIMENT_ID: self.experiment_id,
        }
        if self._untouched():  # most runs' code never calls MLflow: a few listdirs
            store.set_tags(self.record.run_id, ours)
            fs.set_status(self.run_dir, status, int(time.time() * 1000))
            return
        from mlrun.tracking.mlflow.importer import import_store

        warnings: list[str] = []
        try:
            done = import_store(
                store,
                self.record,
                self.root,
                main=self.run_dir,
                preset_params=self.params,
                preset_tags=self.tags,
                extra_tags=ours,
                status=status,
                private=self.private,
                warnings=warnings,
            )
            fs.set_status(self.run_dir, status, int(time.time() * 1000))
        finally:
            for warning in warnings:
                reporter.warn(f"MLflow store: {warning}")
        if done.metrics or done.params or done.models or done.children:
            reporter.debug(
                f"imported from MLflow: {done.params} params, {done.metrics} metric values, "
                f"{done.models} models, {done.children} child runs"
            )

    def _untouched(self) -> bool:
        """Nothing but what mlrun wrote is in the private store, and the run has no
        artifacts (where a model could be): no client ran."""
        if not self.private or os.path.exists(Path(self.record.run_dir) / "artifacts"):
            return False
        run_dir = self.run_dir
        try:
            return (
                set(os.listdir(self.root)) <= {self.experiment_id, ".trash"}
                and set(os.listdir(run_dir.parent)) == {"meta.yaml", self.record.run_id}
                and not os.listdir(run_dir / "metrics")
                and set(os.listdir(run_dir / "params")) == _top(self.params)
                and fs.read_values(run_dir / "tags") == self.tags
            )
        except OSError:
            return False


def _top(keys: dict[str, str]) -> set[str]:
    return {key.split("/", 1)[0] for key in keys}


def embedded(record: Run, reporter: Reporter | None = None) -> Tracker:
    """The run-private store in the run directory."""
    root = Path(record.run_dir) / STORE_DIR
    if reporter is not None and "artifacts" in root.parts:
        reporter.warn(
            f"the run's MLflow store {root} is below a directory named 'artifacts', where "
            "MLflow 3 clients do not look for runs; choose an artifact root (--artifact-root, "
            "MLRUN_ARTIFACT_ROOT) or MLRUN_HOME outside it"
        )
    return FileStoreTracker(record, root, EXPERIMENT_ID, private=True).create()


def shared_file_store(uri: str, record: Run) -> Tracker:
    """A file store the user named with MLFLOW_TRACKING_URI: the run is created in the
    experiment of that name (created when missing), as `mlflow run` does."""
    path = fs.local_path(uri)
    if path is None:
        raise UsageError(
            f"MLFLOW_TRACKING_URI {uri!r} is not a local file: URI.",
            hint="write file:///absolute/path, or unset it for a store in each run's directory",
        )
    root = Path(os.path.expanduser(str(path))).absolute()
    if record.env_kind == "docker":
        raise NotAvailableError(
            f"MLFLOW_TRACKING_URI is the file store {root}, which a container cannot reach.",
            hint="unset MLFLOW_TRACKING_URI (each run then gets its own store in its run "
            "directory, mounted in the container), or use a tracking server",
        )
    try:
        root.mkdir(parents=True, exist_ok=True)
        experiment_id = _experiment(root, record.experiment)
        return FileStoreTracker(record, root, experiment_id, private=False).create()
    except OSError as exc:
        raise UsageError(
            f"cannot write to the MLflow file store {root}: {exc.strerror}.",
            hint="check MLFLOW_TRACKING_URI and the directory's permissions",
        ) from exc


def _experiment(root: Path, name: str) -> str:
    from mlrun.util.locks import FileLock

    lock = FileLock(root / ".mlrun.lock")  # two runs must not create one name twice
    lock.exclusive()
    try:
        found = fs.find_experiment(root, name)
        if found is not None:
            return found
        experiment_id = "0" if name == "Default" and not (root / "0").exists() else None
        experiment_id = experiment_id or fs.new_experiment_id()
        fs.write_experiment(
            root, experiment_id, name, fs.file_uri(root / experiment_id), int(time.time() * 1000)
        )
        return experiment_id
    finally:
        lock.release()
