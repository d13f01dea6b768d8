"""A RUNNING run whose supervisor died is reported (and recorded) KILLED, and the
supervisor's own finish_run or heartbeat still wins a race with the reaper. Each test
runs on SQLite and on PostgreSQL: the liveness rules are the same code (SqlStore)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlrun.tracking import open_store
from mlrun.tracking.liveness import this_host
from mlrun.tracking.model import FINISHED, KILLED, RUNNING
from mlrun.tracking.sql_store import SqlStore, _running
from tests.tracking.conftest import NewRunFactory

CHILD = r"""
import os, sys, time
from mlrun.tracking import open_store
from mlrun.tracking.liveness import process_start_token, this_host
from mlrun.tracking.model import NewRun

store = open_store(sys.argv[1])
run = store.create_run(NewRun(
    experiment="e", run_name="doomed", source_uri="/p", source_type="local",
    entry_point="main", params={}, command=["sleep", "1000"], command_mode="argv",
    env_kind="local", run_dir="/r", log_paths={}, host=this_host(), user="u",
    pid=os.getpid(), pid_start=process_start_token(os.getpid()), mlrun_version="0",
))
print(run.run_id, flush=True)
time.sleep(1000)
"""


@pytest.fixture
def sigkilled_run(store_uri: str) -> Iterator[tuple[str, int]]:
    """(run id, pid) of a run whose supervisor was SIGKILLed. The child is left a zombie
    (not waited for) while the test looks: that is how a dead child of a live parent looks."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, store_uri], env=env, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    run_id = child.stdout.readline().strip()
    child.stdout.close()
    assert run_id, "the child did not create its run"
    with open_store(store_uri) as store:
        assert store.get_run(run_id).status == RUNNING  # alive: left alone
    child.send_signal(signal.SIGKILL)
    # Wait until it is dead, leaving it a zombie: WNOWAIT does not reap.
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
    yield run_id, child.pid
    child.wait()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_search_reports_a_sigkilled_supervisor_as_killed(
    sigkilled_run: tuple[str, int], store_uri: str
) -> None:
    run_id, pid = sigkilled_run
    with open_store(store_uri) as store:
        [run] = store.search_runs()
        assert run.run_id == run_id
        assert (run.status, run.exit_code) == (KILLED, None)
        assert run.status_reason == f"mlrun process {pid} on {this_host()} died"
        assert run.end_time == run.heartbeat_time  # the last sign of life
        assert store.search_runs(status=RUNNING) == []
        assert [r.run_id for r in store.search_runs(status=KILLED)] == [run_id]
    # Persisted, not just reported: a plain read of the file agrees.
    with open_store(store_uri) as store:
        assert _running_ids(store) == []
        assert store.get_run(run_id).status_reason == run.status_reason


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_get_run_reports_a_sigkilled_supervisor_as_killed(
    sigkilled_run: tuple[str, int], store_uri: str
) -> None:
    run_id, pid = sigkilled_run
    with open_store(store_uri) as store:
        run = store.get_run(run_id[:8])
        assert (run.status, run.status_reason) == (
            KILLED,
            f"mlrun process {pid} on {this_host()} died",
        )


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc start tokens")
def test_a_reused_pid_is_not_the_supervisor(store: SqlStore, new_run: NewRunFactory) -> None:
    # Our pid is alive, but with another start token it is another process.
    run = store.create_run(new_run(pid=os.getpid(), pid_start="1"))
    got = store.get_run(run.run_id)
    assert got.status == KILLED and got.status_reason is not None
    assert f"mlrun process {os.getpid()}" in got.status_reason


def test_a_live_supervisor_is_left_alone(store: SqlStore, new_run: NewRunFactory) -> None:
    run = store.create_run(new_run())
    store.stale_after = 0.0  # same host: the process check decides, not the heartbeat
    assert store.get_run(run.run_id).status == RUNNING
    assert [r.status for r in store.search_runs()] == [RUNNING]


def test_other_host_with_a_stale_heartbeat_is_killed(
    store: SqlStore, new_run: NewRunFactory
) -> None:
    store.create_run(new_run(host="far-away-host", pid=1234, pid_start="99"))
    assert store.search_runs()[0].status == RUNNING  # 10 minutes not over
    time.sleep(0.01)  # not an ordering: the heartbeat must be older than the 1 ms below
    store.stale_after = 0.001
    [got] = store.search_runs()
    assert got.status == KILLED and got.exit_code is None
    assert got.status_reason is not None
    assert got.status_reason.startswith("the heartbeat of mlrun process 1234 on far-away-host")
    assert "stopped" in got.status_reason


def test_heartbeat_keeps_an_other_host_run_alive_and_revives_a_reaped_one(
    store: SqlStore, new_run: NewRunFactory
) -> None:
    run = store.create_run(new_run(host="far-away-host", pid=1234))
    time.sleep(0.01)  # not an ordering: the clock must move on for a later heartbeat time
    store.heartbeat(run.run_id)
    beat = store.get_run(run.run_id).heartbeat_time
    assert beat is not None and beat > run.start_time
    store.stale_after = 0.0
    assert store.get_run(run.run_id).status == KILLED
    # The supervisor was only suspended: its next heartbeat proves it alive.
    store.stale_after = 3600.0
    store.heartbeat(run.run_id)
    got = store.get_run(run.run_id)
    assert (got.status, got.status_reason, got.end_time) == (RUNNING, None, None)


def test_finish_after_reaping_wins(store: SqlStore, new_run: NewRunFactory) -> None:
    run = store.create_run(new_run(host="far-away-host", pid=1234))
    store.stale_after = 0.0
    assert store.get_run(run.run_id).status == KILLED
    store.finish_run(run.run_id, FINISHED, 0)
    got = store.get_run(run.run_id)
    assert (got.status, got.exit_code, got.status_reason) == (FINISHED, 0, None)
    store.finish_run(run.run_id, KILLED, None)  # and is final from then on
    assert store.get_run(run.run_id).status == FINISHED


def test_a_finish_racing_the_reaper_wins(store: SqlStore, new_run: NewRunFactory) -> None:
    # The reaper looked while the run was RUNNING, then the supervisor finished before
    # the reaper wrote: the reaper's conditional UPDATE must change nothing.
    run = store.create_run(new_run(host="far-away-host", pid=1234))
    observed = store._db.read(_running)
    store.finish_run(run.run_id, FINISHED, 0)
    store.stale_after = 0.0
    assert store._reap(observed) == ({}, set())
    got = store.get_run(run.run_id)
    assert (got.status, got.exit_code) == (FINISHED, 0)


def test_a_heartbeat_racing_the_reaper_wins(store: SqlStore, new_run: NewRunFactory) -> None:
    run = store.create_run(new_run(host="far-away-host", pid=1234))
    observed = store._db.read(_running)
    store.heartbeat(run.run_id)
    store.stale_after = 0.0
    assert store._reap(observed) == ({}, set())
    assert store._db.read(_running)[0].run_id == run.run_id


def _running_ids(store: SqlStore) -> list[str]:
    return [r.run_id for r in store._db.read(_running)]
