"""The run stores' records (each test runs on SQLite and on PostgreSQL): every field
survives a round trip, lookups, searches, and the rules for updating and finishing runs."""

from __future__ import annotations

import math
import os
import sqlite3
from pathlib import Path

import pytest

from mlrun.errors import RunNotFoundError, UsageError
from mlrun.tracking.model import FAILED, FINISHED, KILLED, RUNNING, Artifact, Metric, Run
from mlrun.tracking.sql_store import SqlStore
from mlrun.tracking.sqlite_store import SqliteStore
from tests.tracking.conftest import NewRunFactory, integrity_errors


def test_round_trip_of_every_field(store: SqlStore, new_run: NewRunFactory) -> None:
    parent = store.create_run(new_run())
    new = new_run(
        experiment="exp-rt",
        run_name="fit",
        source_uri="https://example.com/repo.git#sub",
        source_type="git",
        source={"commit": "abc123", "branch": "main", "dirty": False},
        entry_point="fit",
        params={"alpha": "0.1", "path": "data dir/ü.csv"},
        command="python fit.py --alpha 0.1 | tee out",
        command_mode="shell",
        env_kind="virtualenv",
        env={"key": "e" * 64, "packages": ["numpy==2.0"]},
        run_dir="/runs/x",
        log_paths={"stdout": "/runs/x/stdout.log", "stderr": "/runs/x/stderr.log"},
        user="alice",
        pid=4242,
        pid_start="12345",
        mlrun_version="9.9.9",
        parent_run_id=parent.run_id,
        tags={"mlrun.cache_key": "k1", "team": "ml"},
        run_id="custom-run-id-0001",
    )
    created = store.create_run(new)
    assert created.run_id == "custom-run-id-0001"
    store.log_metrics(
        created.run_id,
        [Metric("loss", 0.5, 0, 100.0), Metric("loss", 0.25, 1, 101.0), Metric("acc", math.inf)],
    )
    store.log_metrics(created.run_id, [Metric("loss", math.nan, 2, 102.0)])
    store.log_outputs(created.run_id, {"model": {"path": "m.pkl", "n": 3}, "score": 0.9})
    store.log_artifacts(created.run_id, [Artifact("m.pkl", 10, "f" * 64), Artifact("a.txt", 0)])
    store.finish_run(created.run_id, FAILED, 3, "exited with 3")

    got = store.get_run(created.run_id)
    assert isinstance(got, Run)
    for name in (
        "experiment", "run_name", "source_uri", "source_type", "source", "entry_point",
        "params", "command", "command_mode", "env_kind", "env", "run_dir", "log_paths",
        "host", "user", "pid", "pid_start", "mlrun_version", "parent_run_id", "tags",
        "start_time",
    ):  # fmt: skip
        assert getattr(got, name) == getattr(created, name), name
    assert (got.status, got.exit_code, got.status_reason) == (FAILED, 3, "exited with 3")
    assert got.end_time is not None and got.end_time >= got.start_time
    # The first heartbeat is the creation (by the database's clock on PostgreSQL).
    assert got.heartbeat_time == created.heartbeat_time
    assert got.heartbeat_time == pytest.approx(got.start_time, abs=60)
    assert [(m.key, m.step, m.timestamp) for m in got.metrics] == [
        ("loss", 0, 100.0), ("loss", 1, 101.0), ("acc", 0, got.metrics[2].timestamp),
        ("loss", 2, 102.0),
    ]  # fmt: skip
    assert [m.value for m in got.metrics[:3]] == [0.5, 0.25, math.inf]
    assert math.isnan(got.metrics[3].value)
    assert got.metrics[2].timestamp > 0  # a zero timestamp means "now"
    assert got.outputs == {"model": {"path": "m.pkl", "n": 3}, "score": 0.9}
    assert got.artifacts == [Artifact("a.txt", 0, None), Artifact("m.pkl", 10, "f" * 64)]
    assert got.to_json()["run_id"] == created.run_id


def test_argv_command_and_generated_id(store: SqlStore, new_run: NewRunFactory) -> None:
    created = store.create_run(new_run(run_name=None))
    assert len(created.run_id) == 32 and int(created.run_id, 16) >= 0
    got = store.get_run(created.run_id)
    assert got.command == ["python", "train.py", "--alpha", "0.5"]
    assert got.run_name is None and got.status == RUNNING and got.end_time is None
    assert got == created


def test_logs_merge_and_overwrite(store: SqlStore, new_run: NewRunFactory) -> None:
    run = store.create_run(new_run(params={"a": "1"}, tags={"t": "1"}))
    store.log_params(run.run_id, {"b": "2"})
    store.set_tags(run.run_id, {"t": "2", "u": "3"})
    store.log_outputs(run.run_id, {"o": 1})
    store.log_outputs(run.run_id, {"o": 2})
    got = store.get_run(run.run_id)
    assert got.params == {"a": "1", "b": "2"}
    assert got.tags == {"t": "2", "u": "3"}
    assert got.outputs == {"o": 2}


def test_update_run(store: SqlStore, new_run: NewRunFactory) -> None:
    run = store.create_run(new_run())
    store.update_run(
        run.run_id,
        run_name="renamed",
        env={"key": "abc"},
        command=["python", "other.py"],
        experiment="moved",
        tags={"x": "y"},
        params={"beta": "2"},
    )
    got = store.get_run(run.run_id)
    assert got.run_name == "renamed" and got.env == {"key": "abc"}
    assert got.command == ["python", "other.py"] and got.experiment == "moved"
    assert got.tags == {"x": "y"} and got.params == {"alpha": "0.5", "beta": "2"}
    with pytest.raises(ValueError, match="status"):
        store.update_run(run.run_id, status=FINISHED)
    with pytest.raises(RunNotFoundError):
        store.update_run("0" * 32, run_name="x")


def test_writes_to_a_missing_run_fail(store: SqlStore) -> None:
    missing = "f" * 32
    for call in (
        lambda: store.log_params(missing, {}),
        lambda: store.log_metrics(missing, [Metric("m", 1.0)]),
        lambda: store.set_tags(missing, {"a": "b"}),
        lambda: store.log_outputs(missing, {"a": 1}),
        lambda: store.log_artifacts(missing, []),
        lambda: store.heartbeat(missing),
        lambda: store.finish_run(missing, FINISHED, 0),
    ):
        with pytest.raises(RunNotFoundError, match=f"no run has the id '{missing}'"):
            call()


def test_duplicate_run_id_is_refused(store: SqlStore, new_run: NewRunFactory) -> None:
    store.create_run(new_run(run_id="dup-0001"))
    with pytest.raises(UsageError, match="already exists"):
        store.create_run(new_run(run_id="dup-0001"))


def test_non_json_output_is_refused_whole(store: SqlStore, new_run: NewRunFactory) -> None:
    run = store.create_run(new_run())
    with pytest.raises(UsageError, match="output 'bad'"):
        store.log_outputs(run.run_id, {"good": 1, "bad": object()})
    assert store.get_run(run.run_id).outputs == {}


def test_prefix_lookup(store: SqlStore, new_run: NewRunFactory) -> None:
    a = store.create_run(new_run(run_id="abcd1111"))
    store.create_run(new_run(run_id="abcd2222"))
    assert store.get_run("abcd1").run_id == a.run_id
    assert store.get_run("abcd1111").run_id == a.run_id
    with pytest.raises(RunNotFoundError, match="ambiguous: it matches 2 runs"):
        store.get_run("abcd")
    with pytest.raises(RunNotFoundError, match="at least 4 characters"):
        store.get_run("abc")
    with pytest.raises(RunNotFoundError, match="no run has the id 'ffff'"):
        store.get_run("ffff")
    # An exact id wins even when it is also the prefix of another id.
    store.create_run(new_run(run_id="abcd"))
    assert store.get_run("abcd").run_id == "abcd"
    # Wildcard characters are not wildcards.
    with pytest.raises(RunNotFoundError):
        store.get_run("abc%")


def test_search_filters_and_order(store: SqlStore, new_run: NewRunFactory) -> None:
    parent = store.create_run(new_run(experiment="wf"))
    ids = []
    for i in range(6):
        run = store.create_run(
            new_run(
                experiment="a" if i % 2 else "b",
                parent_run_id=parent.run_id if i < 3 else None,
                tags={"mlrun.cache_key": f"k{i % 3}", "i": str(i)},
            )
        )
        ids.append(run.run_id)
        if i % 3 == 0:
            store.finish_run(run.run_id, FINISHED, 0)
    newest_first = list(reversed(ids))

    def found(**kwargs: object) -> list[str]:
        return [r.run_id for r in store.search_runs(**kwargs)]  # type: ignore[arg-type]

    assert found() == [*newest_first, parent.run_id]
    assert found(experiment="a") == [i for n, i in enumerate(ids) if n % 2][::-1]
    assert found(experiment="nope") == []
    assert found(status=FINISHED) == [ids[3], ids[0]]
    assert found(status=RUNNING) == [*[i for n, i in enumerate(ids) if n % 3][::-1], parent.run_id]
    assert found(parent_run_id=parent.run_id) == [ids[2], ids[1], ids[0]]
    assert found(tags={"mlrun.cache_key": "k0"}) == [ids[3], ids[0]]
    assert found(tags={"mlrun.cache_key": "k0", "i": "3"}) == [ids[3]]
    assert found(status=FINISHED, tags={"mlrun.cache_key": "k0"}, limit=1) == [ids[3]]
    assert found(status=FINISHED, tags={"mlrun.cache_key": "k1"}) == []
    assert found(limit=2) == newest_first[:2]
    assert found(limit=0) == []
    assert len(found(limit=None)) == 7
    assert store.list_experiments() == ["a", "b", "wf"]
    with pytest.raises(ValueError, match="unknown run status"):
        store.search_runs(status="DONE")


def test_search_returns_whole_records(store: SqlStore, new_run: NewRunFactory) -> None:
    for i in range(3):
        run = store.create_run(new_run(params={"i": str(i)}))
        store.log_metrics(run.run_id, [Metric("m", float(i))])
    runs = store.search_runs()
    assert [r.params["i"] for r in runs] == ["2", "1", "0"]
    assert [r.metrics[0].value for r in runs] == [2.0, 1.0, 0.0]


def test_cache_key_lookup_is_driven_by_the_tag_index(db_path: Path) -> None:
    # The workflow cache asks for FINISHED runs with one mlrun.cache_key: with thousands
    # of FINISHED runs the tag index, not the status index, has to lead. (PostgreSQL's
    # planner decides by statistics: SQLite's needs the hint this checks, so SQLite only.)
    with SqliteStore(db_path) as store:  # creates the schema the plan below reads
        store.search_runs(status=FINISHED, tags={"mlrun.cache_key": "k"}, limit=1)
    from mlrun.tracking import sql_rows

    conn = sqlite3.connect(db_path)
    try:
        sql = (
            f"EXPLAIN QUERY PLAN {sql_rows._SELECT} WHERE +r.status = ? AND r.run_id IN"
            " (SELECT run_id FROM tags WHERE key = ? AND value = ?)"
        )
        plan = " | ".join(row[3] for row in conn.execute(sql, ("FINISHED", "k", "v")))
    finally:
        conn.close()
    assert "tags_by_key_value" in plan and "runs_by_status" not in plan


def test_finish_is_idempotent_and_first_final_status_wins(
    store: SqlStore, new_run: NewRunFactory
) -> None:
    run = store.create_run(new_run())
    store.finish_run(run.run_id, FINISHED, 0)
    first = store.get_run(run.run_id)
    store.finish_run(run.run_id, FINISHED, 0)
    store.finish_run(run.run_id, KILLED, None, "late")
    again = store.get_run(run.run_id)
    assert again == first
    assert (again.status, again.exit_code, again.status_reason) == (FINISHED, 0, None)
    with pytest.raises(ValueError, match="final status"):
        store.finish_run(run.run_id, RUNNING, None)


def test_create_run_with_a_final_status(store: SqlStore, new_run: NewRunFactory) -> None:
    run = store.create_run(new_run(status=FINISHED))
    assert run.end_time == run.start_time
    assert store.get_run(run.run_id).status == FINISHED


def test_a_failed_write_leaves_nothing(store: SqlStore, new_run: NewRunFactory) -> None:
    # One transaction per write: a row that violates a constraint half-way through a
    # batch rolls back the rows before it.
    run = store.create_run(new_run())
    with pytest.raises(integrity_errors()):
        store.log_artifacts(run.run_id, [Artifact("ok", 1), Artifact("bad", None)])  # type: ignore[arg-type]
    assert store.get_run(run.run_id).artifacts == []


def test_threads_share_one_store(store: SqlStore, new_run: NewRunFactory) -> None:
    # The supervisor heartbeats from a thread while its main thread writes.
    from concurrent.futures import ThreadPoolExecutor

    run = store.create_run(new_run())

    def beat() -> None:
        for _ in range(100):
            store.heartbeat(run.run_id)

    with ThreadPoolExecutor(1) as pool:
        beating = pool.submit(beat)
        for i in range(100):
            store.log_metrics(run.run_id, [Metric("m", float(i), i)])
        beating.result()  # re-raises whatever the thread hit
    assert len(store.get_run(run.run_id).metrics) == 100


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")
def test_a_forked_child_opens_its_own_connection(store: SqlStore, new_run: NewRunFactory) -> None:
    # SQLite connections must not cross fork(): the child reconnects, the parent's
    # connection keeps working.
    run = store.create_run(new_run())
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            store.log_params(run.run_id, {"from_child": "yes"})
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    store.log_params(run.run_id, {"from_parent": "yes"})
    assert store.get_run(run.run_id).params == {
        "alpha": "0.5",
        "from_child": "yes",
        "from_parent": "yes",
    }


def test_delete_run_removes_a_finished_run_and_all_it_logged(
    store: SqlStore, new_run: NewRunFactory
) -> None:
    kept = store.create_run(new_run(status=FINISHED, tags={"mlrun.cache_key": "k"}))
    gone = store.create_run(new_run(status=FINISHED, tags={"mlrun.cache_key": "k"}))
    store.log_metrics(kept.run_id, [Metric("rmse", 0.7, 0, 1.0)])
    store.log_metrics(gone.run_id, [Metric("rmse", 0.5, 0, 1.0)])
    store.log_outputs(gone.run_id, {"path": "/x"})
    store.log_artifacts(gone.run_id, [Artifact("a.txt", 3, None)])
    store.delete_run(gone.run_id)
    with pytest.raises(RunNotFoundError):
        store.get_run(gone.run_id)
    assert [r.run_id for r in store.search_runs(tags={"mlrun.cache_key": "k"})] == [kept.run_id]
    assert [r.run_id for r in store.search_runs(order_by_metric="rmse")] == [kept.run_id]
    with pytest.raises(RunNotFoundError):
        store.delete_run(gone.run_id)
    # The id is free again (--run-id may reuse it), with nothing of the old run left.
    again = store.create_run(new_run(run_id=gone.run_id, status=FINISHED))
    assert (again.metrics, again.outputs, again.artifacts) == ([], {}, [])


def test_delete_run_refuses_a_running_run(store: SqlStore, new_run: NewRunFactory) -> None:
    live = store.create_run(new_run())
    with pytest.raises(UsageError, match="is RUNNING: a live run's record is not deleted"):
        store.delete_run(live.run_id)
    assert store.get_run(live.run_id).status == RUNNING


def test_held_names_the_full_ids_the_store_has(store: SqlStore, new_run: NewRunFactory) -> None:
    runs = [store.create_run(new_run(status=FINISHED)) for _ in range(3)]
    ids = [r.run_id for r in runs]
    asked = [*ids, ids[0][:8], "f" * 32, ids[1]]  # a prefix is not a run id here
    assert store.held(asked) == set(ids)
    assert store.held([]) == set()
    many = [f"{i:032x}" for i in range(1200)]  # more than one chunk of ids
    assert store.held([*many, ids[2]]) == {ids[2]}
