"""Store files written by earlier releases (tests/data/stores/README.md) open with
today's mlrun: migrated to the current schema, every run and every value still there."""

from __future__ import annotations

import json
import math
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from mlrun.tracking import open_store
from mlrun.tracking.model import Metric
from mlrun.tracking.sqlite_schema import SCHEMA_VERSION
from tests.conftest import REPO

STORES = REPO / "tests" / "data" / "stores"


def _same(got: Any, want: Any) -> bool:
    if isinstance(want, float) and math.isnan(want):
        return isinstance(got, float) and math.isnan(got)
    if isinstance(want, dict):
        return isinstance(got, dict) and all(_same(got.get(k), v) for k, v in want.items())
    if isinstance(want, list):
        return isinstance(got, list) and len(got) == len(want) and all(map(_same, got, want))
    return bool(got == want)


@pytest.mark.parametrize("name", ["sqlite-v2"])
def test_a_store_file_of_an_earlier_release_keeps_every_run(tmp_path: Path, name: str) -> None:
    path = tmp_path / "mlrun.db"
    shutil.copyfile(STORES / f"{name}.db", path)
    want = json.loads((STORES / f"{name}.json").read_text())
    assert len(want) == 9
    with open_store(str(path)) as store:
        got = [r.to_json() for r in store.search_runs(limit=None)]
        assert [r["run_id"] for r in got] == [r["run_id"] for r in want]
        for old, new in zip(want, got, strict=True):
            # Every field that release wrote reads back the same (a new field may be added).
            differ = sorted(k for k in old if not _same(new.get(k), old[k]))
            assert differ == [], (old["run_id"], differ)
        # The store keeps working: searches by tag, by metric, and new writes.
        [fit] = store.search_runs(tags={"mlrun.cache_key": "k" * 64}, status="FINISHED")
        assert (
            fit.run_name == "fit" and len(fit.metrics) == 22 and math.isnan(fit.metrics[-1].value)
        )
        by_rmse = store.search_runs(order_by_metric="rmse", ascending=False, limit=2)
        assert [r.params["i"] for r in by_rmse] == ["4", "3"]
        store.log_metrics(fit.run_id, [Metric("loss", 0.01, 21, 1.8e9)])
        assert store.get_run(fit.run_id[:8]).metrics[-1] == Metric("loss", 0.01, 21, 1.8e9)
        assert sorted(store.list_experiments()) == ["Default", "other", "wf"]
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        conn.close()
