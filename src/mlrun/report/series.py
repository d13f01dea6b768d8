"""Metric histories as chart series: one (steps, values) pair per run and metric, long
ones thinned so that the page stays small and quick to draw.

Thinning keeps the first and last point and, in each of `limit // 2` buckets of equal
width in logging order, the lowest and the highest value (in step order): a spike or a
dip survives, which a plain stride would drop."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

from mlrun.tracking.model import Metric, Run

MAX_POINTS = 1000  # per run and metric, drawn as they are up to this many


class Series(NamedTuple):
    run_id: str
    steps: list[int]
    values: list[float | None]  # None: NaN or an infinity (a gap in the line)
    logged: int  # how many values the run logged (more than len(steps) when thinned)

    @property
    def thinned(self) -> bool:
        return self.logged > len(self.steps)


def metric_keys(runs: Sequence[Run]) -> list[str]:
    """Every metric key any run logged, in the order they first appear."""
    return list(dict.fromkeys(m.key for r in runs for m in r.metrics))


def series_of(runs: Sequence[Run], limit: int = MAX_POINTS) -> dict[str, list[Series]]:
    """{metric key: [Series of each run that logged it, in the runs' order]}."""
    keys = metric_keys(runs)
    charts: dict[str, list[Series]] = {key: [] for key in keys}
    for run in runs:
        by_key: dict[str, list[Metric]] = {}
        for m in run.metrics:
            by_key.setdefault(m.key, []).append(m)
        for key, values in by_key.items():
            charts[key].append(_series(run.run_id, values, limit))
    return charts


def _series(run_id: str, metrics: list[Metric], limit: int) -> Series:
    # Step order, then time, then logging order (sorted is stable): MLflow's history view.
    ordered = sorted(metrics, key=lambda m: (m.step, m.timestamp))
    points = [(m.step, _finite(m.value)) for m in ordered]
    kept = thin(points, limit)
    return Series(run_id, [s for s, _ in kept], [v for _, v in kept], len(points))


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def thin(points: list[tuple[int, float | None]], limit: int) -> list[tuple[int, float | None]]:
    """At most about `limit` points of `points`: first, last, and each bucket's extremes."""
    if len(points) <= limit or limit < 4:
        return points
    buckets = (limit - 2) // 2
    inner = points[1:-1]
    size = len(inner) / buckets
    kept = [points[0]]
    for b in range(buckets):
        chunk = inner[int(b * size) : int((b + 1) * size)]
        numbered = [(v, i) for i, (_, v) in enumerate(chunk) if v is not None]
        if not numbered:
            kept.append(chunk[0])  # keep the gap visible
            continue
        picked = sorted({min(numbered)[1], max(numbered)[1]})
        kept += [chunk[i] for i in picked]
    kept.append(points[-1])
    return kept
