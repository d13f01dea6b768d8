"""RunStore.get_runs: many runs by id or prefix, read together."""

from __future__ import annotations

import os
from typing import Any

import pytest

from mlrun.errors import RunNotFoundError
from mlrun.tracking import sql_rows as rows
from mlrun.tracking.base import RunStore
from mlrun.tracking.model import KILLED, Metric
from mlrun.tracking.sql_store import SqlStore
from tests.tracking.conftest import NewRunFactory


def test_runs_come_in_the_given_order_each_once(store: SqlStore, new_run: NewRunFactory) -> None:
    ids = [store.create_run(new_run(run_id=f"{n}abcdef{n}")).run_id for n in range(4)]
    store.log_metrics(ids[2], [Metric("loss", 0.5, 1)])
    got = store.get_runs([ids[2], ids[0][:6], ids[3], ids[2]])
    assert [r.run_id for r in got] == [ids[2], ids[0], ids[3]]
    assert got[0].metrics == [Metric("loss", 0.5, 1, got[0].metrics[0].timestamp)]
    assert got[0].params == {"alpha": "0.5"}
    assert store.get_runs([]) == []


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("feedbeef", "no run has the id 'feedbeef'"),
        ("abc", "a prefix needs at least 4 characters"),
        ("aaaa", "the run id prefix 'aaaa' is ambiguous: it matches 2 runs."),
    ],
)
def test_an_unknown_or_ambiguous_id_names_it(
    store: SqlStore, new_run: NewRunFactory, given: str, message: str
) -> None:
    first = store.create_run(new_run(run_id="aaaa1111")).run_id
    store.create_run(new_run(run_id="aaaa2222"))
    with pytest.raises(RunNotFoundError) as caught:
        store.get_runs([first, given])
    assert message in caught.value.message


def test_reading_many_runs_takes_as_many_queries_as_reading_one(
    store: SqlStore, new_run: NewRunFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = []
    for n in range(30):
        run_id = store.create_run(new_run(status="FINISHED")).run_id
        store.log_metrics(run_id, [Metric("loss", n, step) for step in range(3)])
        ids.append(run_id)
    statements: list[str] = []
    select = rows.select_runs

    def counted(conn: Any, *args: Any) -> Any:
        class Counting:
            def execute(self, sql: str, *rest: Any) -> Any:
                statements.append(sql)
                return conn.execute(sql, *rest)

        return select(Counting(), *args)  # type: ignore[arg-type]

    monkeypatch.setattr(rows, "select_runs", counted)

    def child_reads(run_ids: list[str]) -> int:
        statements.clear()
        assert len(store.get_runs(run_ids)) == len(run_ids)
        return sum("params" in s or "metric_values" in s for s in statements)

    assert child_reads(ids[:1]) == child_reads(ids) == 2


def test_a_run_whose_supervisor_died_is_read_as_killed(
    store: SqlStore, new_run: NewRunFactory
) -> None:
    alive = store.create_run(new_run()).run_id
    dead = store.create_run(new_run(pid=2**22 + 17, pid_start=None)).run_id
    assert not os.path.exists(f"/proc/{2**22 + 17}")
    got = {r.run_id: r for r in store.get_runs([alive, dead])}
    assert got[alive].status == "RUNNING"
    assert got[dead].status == KILLED and got[dead].status_reason
    assert store.get_run(dead).status == KILLED  # recorded, not only shown


def test_the_interfaces_default_reads_the_same_runs_one_by_one(
    store: SqlStore, new_run: NewRunFactory
) -> None:
    ids = [store.create_run(new_run(status="FINISHED")).run_id for _ in range(3)]
    asked = [ids[1], ids[0][:8], ids[1][:10], ids[2]]
    # RunStore.get_runs: what a store without a batched read (a plugin) answers.
    assert RunStore.get_runs(store, asked) == store.get_runs(asked)
    assert [r.run_id for r in RunStore.get_runs(store, asked)] == [ids[1], ids[0], ids[2]]
