"""The newest-first page is read through the start-time index, not by sorting every run:
also when statistics (ANALYZE) say the experiments table is small, which made SQLite
walk the experiments first and sort all runs (86 ms over 100,000 runs instead of
0.2 ms; bench/runs_query.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlrun.tracking.sqlite_store import SqliteStore
from tests.tracking.conftest import make_new_run


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        ({}, "runs_by_start"),
        ({"experiment": "exp-1"}, "runs_by_experiment"),
        ({"parent_run_id": "p"}, "runs_by_parent"),
    ],
)
def test_a_page_of_runs_reads_an_index_in_order(
    tmp_path: Path, filters: dict[str, str], index: str
) -> None:
    with SqliteStore(tmp_path / "mlrun.db") as store:
        for n in range(30):
            store.create_run(
                make_new_run(experiment=f"exp-{n % 3}", status="FINISHED", start_time=n)
            )
        conn = store._db._connection()
        conn.execute("ANALYZE")
        # The statistics of a store of 100,000 runs in 10 experiments, as ANALYZE wrote them.
        conn.executemany(
            "UPDATE sqlite_stat1 SET stat = ? WHERE idx = ?",
            [
                ("10 1", "sqlite_autoindex_experiments_1"),
                ("100000 20 1", "runs_by_parent"),
                ("100000 25000 1", "runs_by_status"),
                ("100000 10000 1", "runs_by_experiment"),
                ("100000 1", "runs_by_start"),
                ("100000 1", "sqlite_autoindex_runs_1"),
            ],
        )
        conn.execute("ANALYZE sqlite_schema")  # reload them
        statements: list[str] = []
        conn.set_trace_callback(statements.append)
        store.search_runs(limit=20, **filters)  # type: ignore[arg-type]
        conn.set_trace_callback(None)
        page = next(s for s in statements if s.startswith("SELECT r.run_id") and "ORDER BY" in s)
        plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {page}")]
        assert any(index in step for step in plan), plan
        assert "USE TEMP B-TREE FOR ORDER BY" not in plan, plan  # a sort of every run
