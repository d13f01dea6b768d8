"""Run records as the stores hand them out.

NamedTuples, not frozen dataclasses: this module is imported by every run, and a frozen
dataclass costs about 1 ms to create against 0.15 ms for a NamedTuple (start-up time is a
feature). Empty mappings default to one shared read-only mapping (`EMPTY`)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from mlrun.tracking.status import FAILED as FAILED
from mlrun.tracking.status import FINISHED as FINISHED
from mlrun.tracking.status import KILLED as KILLED
from mlrun.tracking.status import RUNNING as RUNNING
from mlrun.tracking.status import STATUSES as STATUSES

EMPTY: Mapping[str, Any] = MappingProxyType({})
# Tags set by mlrun and MLflow themselves, shown apart from the user's.
SYSTEM_TAG_PREFIXES = ("mlrun.", "mlflow.")


class Metric(NamedTuple):
    key: str
    value: float
    step: int = 0
    timestamp: float = 0.0  # epoch seconds


class Artifact(NamedTuple):
    path: str  # relative to the run's artifact dir
    size: int
    sha256: str | None = None


class Model(NamedTuple):
    """A model the code logged: a directory with an MLmodel file (MLflow's format)."""

    path: str  # relative to the run's artifact dir, or absolute when stored elsewhere
    name: str  # the artifact path (MLflow 2) or the logged model's name (MLflow 3)
    flavors: list[str]  # e.g. ["python_function", "sklearn"]
    model_id: str | None = None  # MLflow's model_uuid / model_id
    mlflow_version: str | None = None


class NewRun(NamedTuple):
    """What the runner knows when a run starts."""

    experiment: str
    run_name: str | None
    source_uri: str  # credentials already removed
    source_type: str  # "local" | "git" | ...
    entry_point: str
    params: dict[str, str]  # the strings passed to the program, no shell quoting
    command: list[str] | str  # argv, or the shell string for bash -c
    command_mode: str  # "argv" | "shell"
    env_kind: str  # "local" | "virtualenv" | "uv" | "conda" | "docker"
    run_dir: str  # $MLRUN_RUN_DIR of the step
    log_paths: dict[str, str]  # {"stdout": path, "stderr": path, "combined": path}
    host: str
    user: str
    pid: int  # the supervising mlrun process
    pid_start: str | None  # its start time token (to tell a reused pid apart)
    mlrun_version: str
    source: Mapping[str, Any] = EMPTY  # provenance (commit, branch, dirty...)
    env: Mapping[str, Any] = EMPTY  # env key, packages, image id...
    parent_run_id: str | None = None
    tags: Mapping[str, str] = EMPTY
    run_id: str | None = None  # chosen by the store when None
    status: str = RUNNING
    # Epoch seconds for a run recorded after the fact (one the code logged to MLflow);
    # None: now, and for a final status, ended now.
    start_time: float | None = None
    end_time: float | None = None


class Run(NamedTuple):
    run_id: str
    experiment: str
    run_name: str | None
    status: str
    exit_code: int | None
    status_reason: str | None  # e.g. "killed by SIGTERM", "mlrun process 123 on h died"
    start_time: float
    end_time: float | None
    source_uri: str
    source_type: str
    source: dict[str, Any]
    entry_point: str
    params: dict[str, str]
    command: list[str] | str
    command_mode: str
    env_kind: str
    env: dict[str, Any]
    run_dir: str
    log_paths: dict[str, str]
    host: str
    user: str
    pid: int
    pid_start: str | None
    mlrun_version: str
    parent_run_id: str | None
    tags: dict[str, str]
    metrics: list[Metric]
    outputs: dict[str, Any]
    artifacts: list[Artifact]
    heartbeat_time: float | None = None
    models: tuple[Model, ...] = ()

    def user_tags(self) -> dict[str, str]:
        return {k: v for k, v in self.tags.items() if not k.startswith(SYSTEM_TAG_PREFIXES)}

    def system_tags(self) -> dict[str, str]:
        """mlrun's (`mlrun.*`) and MLflow's (`mlflow.*`) own tags."""
        return {k: v for k, v in self.tags.items() if k.startswith(SYSTEM_TAG_PREFIXES)}

    def mlflow(self) -> dict[str, str] | None:
        """Where the run's MLflow run is: tracking_uri, run_id, experiment_id."""
        found = {
            key: self.tags[f"mlrun.mlflow.{key}"]
            for key in ("tracking_uri", "run_id", "experiment_id")
            if f"mlrun.mlflow.{key}" in self.tags
        }
        return found or None

    def to_json(self) -> dict[str, Any]:
        """The record for `--json`: the user's tags apart from the system tags, every
        metric value (history: key, value, step, timestamp), models with flavors."""
        data = self._asdict()
        data["tags"] = self.user_tags()
        data["system_tags"] = self.system_tags()
        data["mlflow"] = self.mlflow()
        data["metrics"] = [m._asdict() for m in self.metrics]
        data["artifacts"] = [a._asdict() for a in self.artifacts]
        data["models"] = [m._asdict() for m in self.models]
        return data
