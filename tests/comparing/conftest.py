"""A real run store per test, of each kind (SQLite, PostgreSQL), with runs made as the
runner makes them."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import pytest

from mlrun.tracking import open_store
from mlrun.tracking.base import RunStore
from mlrun.tracking.model import FINISHED, Metric, Run
from tests.tracking.conftest import db_path, make_new_run, store_uri

__all__ = ["db_path", "store_uri"]  # the store fixtures, one per store kind

MakeRun = Callable[..., Run]


@pytest.fixture
def store(store_uri: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunStore]:
    """A new store of each kind (tests/tracking/conftest.py), which `mlrun runs compare`
    then reads (MLRUN_TRACKING_URI)."""
    monkeypatch.setenv("MLRUN_TRACKING_URI", store_uri)
    with open_store(store_uri) as s:
        yield s


@pytest.fixture
def make_run(store: RunStore) -> MakeRun:
    """make_run(params, metrics=[(key, value, step), ...], **NewRun fields) -> the stored
    Run (FINISHED unless `status`), read back from the store. Every value is logged at
    the same timestamp, so steps and logging order decide the latest."""

    def make(
        params: Mapping[str, str] | None = None,
        metrics: Sequence[tuple[str, float, int]] = (),
        status: str = FINISHED,
        **fields: Any,
    ) -> Run:
        new = make_new_run(params=dict(params or {}), status=status, **fields)
        run = store.create_run(new)
        if metrics:
            store.log_metrics(run.run_id, [Metric(k, v, s, 1.0) for k, v, s in metrics])
        return store.get_run(run.run_id)

    return make
