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


class Metric(NamedTuple):
    key: str
    value: float
    step: int = 0
    timestamp: float = 0.0  # epoch seconds


class Artifact(NamedTuple):
    path: str  # relative to the run's artifact dir
    size: int
    sha256: str | None = None


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
    experiment_id: str = ""  # the store's id of `experiment` (--experiment-id takes it)

    def to_json(self) -> dict[str, Any]:
        data = self._asdict()
        data["metrics"] = [m._asdict() for m in self.metrics]
        data["artifacts"] = [a._asdict() for a in self.artifacts]
        return data
