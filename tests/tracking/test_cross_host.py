"""Liveness across machines sharing one store (on SQLite and on PostgreSQL): a run whose
host stopped heartbeating is shown dead by `runs list` and `runs show`, never RUNNING
forever; a run another host keeps heartbeating stays RUNNING. This machine cannot ask
another's OS about a pid, so the heartbeat decides (liveness.death_reason)."""

from __future__ import annotations

import json
import time

from mlrun.tracking import open_store
from mlrun.tracking.liveness import STALE_AFTER, this_host
from mlrun.tracking.sql_store import SqlStore
from tests.helpers import cli
from tests.tracking.conftest import NewRunFactory

ELSEWHERE = this_host() + "-ci-runner-7"


def _age_heartbeat(store: SqlStore, run_id: str, seconds: float) -> None:
    """What the store holds when the other host last beat `seconds` ago."""
    beat = time.time() - seconds
    store._db.write(
        lambda conn: conn.execute(
            "UPDATE runs SET start_time = ?, heartbeat_time = ? WHERE run_id = ?",
            (beat, beat, run_id),
        )
    )


def test_a_silent_host_is_dead_and_a_beating_one_running(
    store_uri: str, new_run: NewRunFactory
) -> None:
    with open_store(store_uri) as store:
        assert isinstance(store, SqlStore)
        # The same pid as this process: only the host name says it is not ours.
        silent = store.create_run(new_run(host=ELSEWHERE, run_name="silent"))
        beating = store.create_run(new_run(host=ELSEWHERE, run_name="beating"))
        _age_heartbeat(store, silent.run_id, STALE_AFTER + 120)
        _age_heartbeat(store, beating.run_id, STALE_AFTER + 120)
        store.heartbeat(beating.run_id)  # the other host is still there

    listing = cli("runs", "list", "--json", "--tracking-uri", store_uri, check=True)
    states = {r["run_name"]: (r["status"], r["status_reason"]) for r in json.loads(listing.stdout)}
    assert states["beating"] == ("RUNNING", None)
    status, reason = states["silent"]
    assert status == "KILLED"
    assert reason.startswith(f"the heartbeat of mlrun process {silent.pid} on {ELSEWHERE} stopped")
    table = cli("runs", "list", "--tracking-uri", store_uri, check=True).stdout
    assert f"{silent.run_id[:12]}  KILLED" in table and f"{beating.run_id[:12]}  RUNNING" in table

    shown = cli("runs", "show", silent.run_id, "--json", "--tracking-uri", store_uri, check=True)
    record = json.loads(shown.stdout)
    assert (record["status"], record["exit_code"]) == ("KILLED", None)
    assert record["end_time"] == record["heartbeat_time"]  # its last sign of life
    # Recorded, not only shown: the next reader finds it KILLED without deciding again.
    with open_store(store_uri) as store:
        assert isinstance(store, SqlStore)
        assert store.search_runs(status="RUNNING") == [store.get_run(beating.run_id)]
        # And the silent host coming back (a suspended laptop) revives its run.
        store.heartbeat(silent.run_id)
        assert store.get_run(silent.run_id).status == "RUNNING"
