"""Runs for report tests, written through the store interface as the runner and the
workflow engine write them: run directories with logs and artifacts, metrics over
steps, a workflow record with its steps' states and needs."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from mlrun.tracking import open_store
from mlrun.tracking.base import RunStore
from mlrun.tracking.model import FAILED, FINISHED, KILLED, Artifact, Metric, Run
from tests.tracking.conftest import db_path, make_new_run, store_uri

HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'


@pytest.fixture(autouse=True, scope="session")
def _plotly_loaded() -> None:
    """plotly's import (about half a second) is paid once, in set-up, not by whichever
    test makes the first page."""
    import plotly.io
    import plotly.offline  # noqa: F401


@pytest.fixture
def store(store_uri: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunStore]:
    """A new store of each kind (tests/tracking/conftest.py: SQLite, and PostgreSQL when
    it runs), which `mlrun report` then reads (MLRUN_TRACKING_URI)."""
    monkeypatch.setenv("MLRUN_TRACKING_URI", store_uri)
    with open_store(store_uri) as s:
        yield s


def add_run(
    store: RunStore,
    root: Path,
    *,
    name: str | None = "train",
    params: dict[str, str] | None = None,
    metrics: Sequence[tuple[str, Sequence[float]]] = (),
    experiment: str = "exp",
    status: str = FINISHED,
    tags: dict[str, str] | None = None,
    parent: str | None = None,
    artifacts: Sequence[str] = ("model.txt",),
    start: float | None = None,
    seconds: float = 12.5,
) -> Run:
    """A finished run (ended `seconds` after `start`, default: that long ago) with its run
    directory (logs, artifacts) under `root`; each metric is logged at steps 0, 1, 2...
    with the given values."""
    start = time.time() - seconds if start is None else start
    run = store.create_run(
        make_new_run(
            run_name=name,
            experiment=experiment,
            params=dict(params or {}),
            status=status,
            start_time=start,
            end_time=start + seconds,
            parent_run_id=parent,
            tags=dict(tags or {}),
            run_dir="",
            log_paths={},
        )
    )
    run_dir = root / run.run_id / "outputs"
    logs = root / run.run_id / "logs"
    (run_dir / "artifacts").mkdir(parents=True)
    logs.mkdir(parents=True)
    paths = {s: str(logs / f"{s}.log") for s in ("combined", "stdout", "stderr")}
    for path in paths.values():
        Path(path).write_text(f"log of {name}\n")
    store.update_run(run.run_id, run_dir=str(run_dir), log_paths=paths)
    for rel in artifacts:
        (run_dir / "artifacts" / rel).parent.mkdir(parents=True, exist_ok=True)
        (run_dir / "artifacts" / rel).write_text("weights\n")
    store.log_artifacts(run.run_id, [Artifact(rel, 8) for rel in artifacts])
    values = [
        Metric(key, value, step, start + step)
        for key, series in metrics
        for step, value in enumerate(series)
    ]
    store.log_metrics(run.run_id, values)
    return store.get_run(run.run_id)


def curve(n: int, scale: float, rate: float) -> list[float]:
    return [scale * math.exp(-rate * i) + 0.01 * (i % 3) for i in range(n)]


def add_workflow(store: RunStore, root: Path, name: str = "pipeline") -> Run:
    """A workflow run as the engine leaves it: prepare -> train[alpha=0.1|0.5] ->
    evaluate, where train[alpha=0.5] failed, evaluate was not run, prepare was cached
    from an earlier workflow run."""
    earlier = add_run(store, root, name="prepare", tags={"mlrun.step": "prepare"}, seconds=3.0)
    record = store.create_run(
        make_new_run(
            run_name=None,
            experiment="exp",
            entry_point=name,
            env_kind="workflow",
            command_mode="workflow",
            tags={"mlrun.kind": "workflow", "mlrun.workflow": name},
            params={},
            start_time=time.time() - 30,
        )
    )
    steps = {"prepare": earlier.run_id}
    for alpha, status in (("0.1", FINISHED), ("0.5", FAILED)):
        node = f"train[alpha={alpha}]"
        run = add_run(
            store,
            root,
            name=node,
            params={"alpha": alpha},
            metrics=[("loss", curve(30, 1.0 + float(alpha), 0.1))],
            status=status,
            tags={"mlrun.step": node},
            parent=record.run_id,
        )
        steps[node] = run.run_id
    nodes = {
        "prepare": ("cached", steps["prepare"], []),
        "train[alpha=0.1]": ("finished", steps["train[alpha=0.1]"], ["prepare"]),
        "train[alpha=0.5]": ("failed", steps["train[alpha=0.5]"], ["prepare"]),
        "evaluate": ("not run", None, ["train[alpha=0.1]", "train[alpha=0.5]"]),
    }
    store.log_outputs(
        record.run_id,
        {
            "results": {},
            "steps": {
                n: {"status": s, "run_id": r, "exit_code": 1 if s == "failed" else None,
                    "needs": needs}
                for n, (s, r, needs) in nodes.items()
            },
        },
    )  # fmt: skip
    store.finish_run(record.run_id, FAILED, 1, "step train[alpha=0.5] failed")
    return store.get_run(record.run_id)


__all__ = ["db_path", "store_uri"]  # the store fixtures, one per store kind
__all__ += ["FAILED", "FINISHED", "HOSTILE", "KILLED", "add_run", "add_workflow", "curve"]
