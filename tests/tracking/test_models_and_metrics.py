"""Schema 2 of the run store: models, metric history with steps, ordering by a metric,
runs recorded after the fact (start and end times given), and schema-1 files upgraded."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

from mlrun.tracking.model import FINISHED, Metric, Model
from mlrun.tracking.sqlite_schema import MIGRATIONS, SCHEMA_VERSION
from mlrun.tracking.sqlite_store import SqliteStore
from tests.tracking.conftest import NewRunFactory


def test_models_are_stored_with_their_flavors(store: SqliteStore, new_run: NewRunFactory) -> None:
    run = store.create_run(new_run())
    models = [
        Model("model", "model", ["python_function", "sklearn"], "abc", "2.22.4"),
        Model("/elsewhere/m-1/artifacts", "clf", ["python_function"], "m-1", "3.17.2"),
    ]
    store.log_models(run.run_id, models)
    got = store.get_run(run.run_id)
    assert sorted(got.models) == sorted(models)
    assert got.to_json()["models"][0]["flavors"]


def test_metric_history_keeps_every_value_in_order(
    store: SqliteStore, new_run: NewRunFactory
) -> None:
    run = store.create_run(new_run())
    values = [Metric("loss", 1.0 / (i + 1), i, 1000.0 + i) for i in range(50)]
    values.append(Metric("loss", math.nan, 50, 2000.0))
    store.log_metrics(run.run_id, values)
    got = store.get_run(run.run_id).metrics
    assert [(m.step, m.timestamp) for m in got] == [(m.step, m.timestamp) for m in values]
    assert got[:50] == values[:50] and math.isnan(got[50].value)


def test_runs_ordered_by_the_latest_value_of_a_metric(
    store: SqliteStore, new_run: NewRunFactory
) -> None:
    ids = {}
    # The latest value is the one with the highest step, whatever the logging order.
    for name, history in {
        "a": [(0, 0.1), (5, 0.9)],
        "b": [(3, 0.5), (1, 0.05)],
        "c": [(0, 0.7)],
    }.items():
        run = store.create_run(new_run(run_name=name))
        ids[run.run_id] = name
        store.log_metrics(run.run_id, [Metric("rmse", v, s, 1.0) for s, v in history])
    store.create_run(new_run(run_name="none"))  # no rmse: always last
    order = store.search_runs(order_by_metric="rmse")
    assert [r.run_name for r in order] == ["b", "c", "a", "none"]
    order = store.search_runs(order_by_metric="rmse", ascending=False, limit=2)
    assert [r.run_name for r in order] == ["a", "c"]


def test_a_run_recorded_after_the_fact_keeps_its_times(
    store: SqliteStore, new_run: NewRunFactory
) -> None:
    run = store.create_run(new_run(status=FINISHED, start_time=100.0, end_time=160.0))
    got = store.get_run(run.run_id)
    assert (got.status, got.start_time, got.end_time) == (FINISHED, 100.0, 160.0)


def test_a_schema_1_store_is_upgraded_and_keeps_its_runs(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for statement in MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute("PRAGMA application_id = 1835823726")
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO experiments VALUES (1, 'old', 1.0)")
    conn.execute(
        "INSERT INTO runs (run_id, experiment_id, status, start_time, source_uri, source_type,"
        " source_json, entry_point, command_json, command_mode, env_kind, env_json, run_dir,"
        " log_paths_json, host, user, pid, mlrun_version) VALUES ('r1', 1, 'FINISHED', 5.0,"
        " '/p', 'local', '{}', 'main', '[]', 'argv', 'local', '{}', '/d', '{}', 'h', 'u', 1,"
        " '0.0.1')"
    )
    conn.execute(
        "INSERT INTO metrics (run_id, key, value, step, timestamp) VALUES"
        " ('r1', 'loss', 0.5, 3, 6.0)"
    )
    conn.commit()
    conn.close()
    with SqliteStore(path) as store:
        run = store.get_run("r1")
        assert run.metrics == [Metric("loss", 0.5, 3, 6.0)] and run.models == ()
        assert [r.run_id for r in store.search_runs(order_by_metric="loss")] == ["r1"]
        store.log_models("r1", [Model("m", "m", ["sklearn"])])
        assert store.get_run("r1").models[0].flavors == ["sklearn"]
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_later_batches_append_and_the_latest_value_follows_the_step(
    store: SqliteStore, new_run: NewRunFactory
) -> None:
    low, high = store.create_run(new_run()), store.create_run(new_run())
    store.log_metrics(low.run_id, [Metric("acc", 0.5, 10, 1.0)])
    store.log_metrics(high.run_id, [Metric("acc", 0.9, 1, 1.0)])
    # An earlier step logged later does not replace the latest; a later step does.
    store.log_metrics(low.run_id, [Metric("acc", 0.99, 2, 2.0), Metric("loss", 1.0, 0, 2.0)])
    store.log_metrics(high.run_id, [Metric("acc", 0.1, 5, 3.0)])
    got = store.get_run(low.run_id).metrics
    assert [(m.key, m.value) for m in got] == [("acc", 0.5), ("acc", 0.99), ("loss", 1.0)]
    order = store.search_runs(order_by_metric="acc", ascending=False)
    assert [r.run_id for r in order] == [low.run_id, high.run_id]  # 0.5 (step 10) > 0.1
