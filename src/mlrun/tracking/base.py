"""The run store interface. The embedded SQLite store is the default; other stores
(PostgreSQL, an MLflow tracking server) implement the same methods."""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mlrun.tracking.model import Artifact, Metric, Model, NewRun, Run

if TYPE_CHECKING:
    from typing_extensions import Self


class RunStore(abc.ABC):
    uri: str

    @abc.abstractmethod
    def create_run(self, new: NewRun) -> Run:
        """Record a new run (status RUNNING unless `new.status` says otherwise)."""

    @abc.abstractmethod
    def update_run(self, run_id: str, **fields: Any) -> None:
        """Change top-level fields (env, source, command, run_name, tags merged...)."""

    @abc.abstractmethod
    def finish_run(
        self, run_id: str, status: str, exit_code: int | None, reason: str | None = None
    ) -> None:
        """Set the final status, exit code and end time. Idempotent."""

    @abc.abstractmethod
    def heartbeat(self, run_id: str) -> None:
        """Tell the store the supervising process is alive."""

    @abc.abstractmethod
    def get_run(self, run_id: str) -> Run:
        """A run by full id or unique prefix; RunNotFoundError otherwise."""

    def get_runs(self, run_ids: Sequence[str]) -> list[Run]:
        """Many runs by full id or unique prefix, in the given order, each once (a run
        named twice comes where it was first named); RunNotFoundError for the first id
        that names none or several. A store reads them together (a fixed number of
        queries, not one round of queries per run); this default asks get_run for each."""
        unique: dict[str, Run] = {}
        for run_id in run_ids:
            run = self.get_run(run_id)
            unique.setdefault(run.run_id, run)
        return list(unique.values())

    @abc.abstractmethod
    def search_runs(
        self,
        *,
        experiment: str | None = None,
        status: str | None = None,
        parent_run_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        limit: int | None = 100,
        order_by_metric: str | None = None,
        ascending: bool = True,
    ) -> list[Run]:
        """Newest first, or by the latest value of metric `order_by_metric` (runs
        without it last). Runs whose supervisor died are reported KILLED (see reap)."""

    @abc.abstractmethod
    def log_params(self, run_id: str, params: Mapping[str, str]) -> None: ...

    @abc.abstractmethod
    def log_metrics(self, run_id: str, metrics: Iterable[Metric]) -> None: ...

    @abc.abstractmethod
    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None: ...

    @abc.abstractmethod
    def log_outputs(self, run_id: str, outputs: Mapping[str, Any]) -> None: ...

    @abc.abstractmethod
    def log_artifacts(self, run_id: str, artifacts: Iterable[Artifact]) -> None: ...

    @abc.abstractmethod
    def log_models(self, run_id: str, models: Iterable[Model]) -> None: ...

    @abc.abstractmethod
    def list_experiments(self) -> list[str]: ...

    @abc.abstractmethod
    def experiment_name(self, experiment_id: str) -> str | None:
        """The name of the experiment with this id, None when there is none."""

    def held(self, run_ids: Iterable[str]) -> set[str]:
        """Which of these full run ids the store holds (no prefixes). `mlrun runs gc`
        asks this about every directory of an artifact root."""
        from mlrun.errors import RunNotFoundError

        found = set()
        for run_id in run_ids:
            try:
                if self.get_run(run_id).run_id == run_id:
                    found.add(run_id)
            except RunNotFoundError:
                pass
        return found

    def delete_run(self, run_id: str) -> None:
        """Remove a finished run's record (full id): UsageError for a RUNNING run,
        RunNotFoundError when there is none. Its files stay (`mlrun runs gc`)."""
        from mlrun.errors import NotAvailableError

        raise NotAvailableError(f"the run store {self.uri} cannot delete runs yet.")

    def close(self) -> None:
        """Release connections."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def running_not_deleted(run_id: str) -> Exception:
    """The refusal every store gives for deleting a RUNNING run (UsageError, exit 2)."""
    from mlrun.errors import UsageError

    return UsageError(
        f"run {run_id} is RUNNING: a live run's record is not deleted.",
        hint="stop it first; a run whose mlrun died shows as KILLED once the store sees it",
    )
