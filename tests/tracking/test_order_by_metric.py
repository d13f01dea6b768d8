"""search_runs by a metric's latest value: a page of the runs with a value in its order,
then the runs without one (or with NaN), newest first, with every filter; and, on
SQLite, the page is an index range, not a sort of every run."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from mlrun.tracking.model import Metric
from mlrun.tracking.sql_store import SqlStore
from mlrun.tracking.sqlite_store import SqliteStore
from tests.tracking.conftest import NewRunFactory, make_new_run


@pytest.fixture
def runs(store: SqlStore, new_run: NewRunFactory) -> dict[str, str]:
    """{name: run id}: four with a loss, one NaN, two without; one in another experiment."""
    made = {}
    specs = [
        ("a", 0.4, "exp", 1.0), ("b", 0.1, "exp", 2.0), ("c", 0.9, "exp", 3.0),
        ("nan", math.nan, "exp", 4.0), ("none1", None, "exp", 5.0),
        ("none2", None, "exp", 6.0), ("d", 0.2, "other", 7.0),
    ]  # fmt: skip
    for name, loss, experiment, start in specs:
        run = store.create_run(
            new_run(run_name=name, experiment=experiment, status="FINISHED", start_time=start)
        )
        if loss is not None:
            store.log_metrics(run.run_id, [Metric("loss", loss, 0, 1.0)])
        else:
            store.log_metrics(run.run_id, [Metric("acc", 1.0, 0, 1.0)])
        made[name] = run.run_id
    return made


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, ["b", "d", "a", "c", "none2", "none1", "nan"]),
        ({"ascending": False}, ["c", "a", "d", "b", "none2", "none1", "nan"]),
        ({"limit": 3}, ["b", "d", "a"]),  # a full page: the runs with a value only
        ({"limit": 5}, ["b", "d", "a", "c", "none2"]),  # the page crosses into the rest
        ({"experiment": "exp", "ascending": False}, ["c", "a", "b", "none2", "none1", "nan"]),
        ({"experiment": "exp", "limit": 4}, ["b", "a", "c", "none2"]),
        ({"experiment": "other"}, ["d"]),
    ],
)
def test_the_page_by_a_metric(
    store: SqlStore, runs: dict[str, str], kwargs: dict[str, object], expected: list[str]
) -> None:
    found = store.search_runs(order_by_metric="loss", **kwargs)  # type: ignore[arg-type]
    assert [r.run_name for r in found] == expected


def test_the_page_by_a_metric_is_an_index_range(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "mlrun.db") as store:
        for n in range(20):
            run = store.create_run(make_new_run(status="FINISHED", start_time=n))
            store.log_metrics(run.run_id, [Metric("loss", n % 7, 0, 1.0)])
        conn = store._db._connection()
        statements: list[str] = []
        conn.set_trace_callback(statements.append)
        assert len(store.search_runs(order_by_metric="loss", limit=5)) == 5
        conn.set_trace_callback(None)
        pages = [s for s in statements if s.startswith("SELECT r.run_id") and "ORDER BY" in s]
        assert len(pages) == 1  # a full page: no second query for the runs without a value
        plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {pages[0]}")]
        assert any("latest_metrics_by_key" in step for step in plan), plan
        assert "USE TEMP B-TREE FOR ORDER BY" not in plan, plan
