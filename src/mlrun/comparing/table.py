"""The comparison of runs: one row per run, one column per parameter and metric.

`build_comparison` takes Run records as the stores hand them out (params, and each
metric's history in logging order) and decides everything a rendering shows: the
columns (a few about the run, then parameters, then metrics, each sorted by key), the
value of each cell, which columns are left out because every run has the same value
there, and the order of the runs. Renderers (render.py, the HTML report) only format.

Cell values: info columns hold the run's id (full), name (or None), status and duration
in seconds (None when unknown); a parameter cell holds its string value, or None when
the run has no such parameter; a metric cell holds a float (NaN and +-inf as they
were logged), or None when the run never logged that metric.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from mlrun.errors import UsageError
from mlrun.tracking.model import RUNNING, Metric, Run

PARAM = "param"
METRIC = "metric"
INFO = "info"
KINDS = (INFO, PARAM, METRIC)

LAST = "last"
AGGS = ("last", "min", "max")
EVERY_METRIC = "*"  # the key of an `agg` mapping that applies to every other metric

INFO_KEYS = ("run_id", "run_name", "status", "duration")

Cell = str | float | None


class Column(NamedTuple):
    kind: str  # "info" | "param" | "metric"
    key: str  # the info field, parameter or metric name
    agg: str | None = None  # metrics: "last" | "min" | "max"; None for the others

    @property
    def label(self) -> str:
        """A name that tells the kind apart: `params.lr`, `metrics.loss`,
        `min(metrics.loss)` (MLflow's search_runs names), `run_id` for info columns."""
        if self.kind == INFO:
            return self.key
        name = f"{self.kind}s.{self.key}"
        return name if self.agg in (None, LAST) else f"{self.agg}({name})"


class Comparison(NamedTuple):
    runs: list[Run]  # in row order
    columns: list[Column]  # info, then params, then metrics
    rows: list[list[Cell]]  # rows[i][j]: the value of columns[j] for runs[i]
    # Parameter and metric columns left out because every run had the same value there
    # (all of them are in `columns` with show_all).
    same: tuple[Column, ...] = ()

    def column(self, kind: str, key: str) -> int:
        """The index of a column; ValueError when it is not shown."""
        for i, c in enumerate(self.columns):
            if c.kind == kind and c.key == key:
                return i
        raise ValueError(f"no {kind} column {key!r}")


class MetricSummary(NamedTuple):
    """One metric of one run: its latest value and the extremes of its history."""

    last: float  # highest step, then latest timestamp, then last logged (latest_metrics)
    min: float  # NaN values are ignored; NaN when every value is NaN
    max: float
    n_values: int  # how many values were logged

    def value(self, agg: str) -> float:
        return float(getattr(self, agg))


def summarize(metrics: Iterable[Metric]) -> dict[str, MetricSummary]:
    """{key: MetricSummary} of a run's metric history (in logging order). The latest value
    is chosen as the store's latest_metrics table chooses it, so `last` here and the
    store's order by a metric agree."""
    latest: dict[str, tuple[int, float, Metric]] = {}
    values: dict[str, list[float]] = {}
    for m in metrics:
        kept = latest.get(m.key)
        if kept is None or (m.step, m.timestamp) >= kept[:2]:  # a tie: the later one
            latest[m.key] = (m.step, m.timestamp, m)
        values.setdefault(m.key, []).append(float(m.value))
    out = {}
    for key, (_, _, m) in latest.items():
        numbers = [v for v in values[key] if not math.isnan(v)]
        out[key] = MetricSummary(
            last=float(m.value),
            min=min(numbers) if numbers else math.nan,
            max=max(numbers) if numbers else math.nan,
            n_values=len(values[key]),
        )
    return out


def parse_agg(specs: Sequence[str]) -> dict[str, str]:
    """`--agg` values: `min` (every metric) or `loss=min` (one metric), repeatable, as
    the mapping build_comparison takes ("*" for every other metric)."""
    out: dict[str, str] = {}
    for spec in specs:
        key, sep, how = spec.rpartition("=")
        if not sep:
            key = EVERY_METRIC
        how = how.strip().lower()
        if how not in AGGS or (sep and not key):
            raise UsageError(
                f"--agg {spec!r} is not an aggregation.",
                hint=f"Give one of {', '.join(AGGS)}, or METRIC=one of them (e.g. loss=min).",
            )
        if key in out and out[key] != how:
            what = "every metric" if key == EVERY_METRIC else f"the metric {key!r}"
            raise UsageError(f"--agg gives {what} two aggregations ({out[key]} and {how}).")
        out[key] = how
    return out


def build_comparison(
    runs: Sequence[Run],
    *,
    agg: str | Mapping[str, str] | None = None,
    show_all: bool = False,
    sort_by: str | None = None,
    descending: bool = False,
) -> Comparison:
    """The comparison table of `runs` (kept in the given order unless `sort_by`).

    The info columns are always there, but for the run name when no run has one.

    agg: how a metric's history becomes one value: "last" (default), "min" or "max"
    for every metric, or a mapping {metric: agg} where the key "*" stands for the
    metrics not named. show_all: keep the columns where every run has the same value
    (with a single run, nothing is left out). sort_by: a metric; runs without it, or
    with NaN there, come last in both directions; ties keep the given order.

    Raises UsageError for an unknown aggregation, or a metric named by `agg` or
    `sort_by` that none of the runs logged."""
    how = _agg_mapping(agg)
    summaries = [summarize(r.metrics) for r in runs]
    param_keys = sorted({k for r in runs for k in r.params})
    metric_keys = sorted({k for s in summaries for k in s})
    known = set(metric_keys)
    for key in [k for k in how if k != EVERY_METRIC] + ([sort_by] if sort_by else []):
        if key not in known:
            raise UsageError(_unknown_metric(key, metric_keys, "--agg" if key in how else "--sort"))
    default = how.get(EVERY_METRIC, LAST)
    columns = [Column(INFO, key) for key in INFO_KEYS]
    columns += [Column(PARAM, key) for key in param_keys]
    columns += [Column(METRIC, key, how.get(key, default)) for key in metric_keys]
    now = time.time()
    rows: list[list[Cell]] = []
    for run, summary in zip(runs, summaries, strict=True):
        row: list[Cell] = [run.run_id, run.run_name, run.status, _duration(run, now)]
        row += [run.params.get(key) for key in param_keys]
        for c in columns[len(row) :]:
            s = summary.get(c.key)
            row.append(None if s is None else s.value(c.agg or LAST))
        rows.append(row)
    order = list(range(len(runs)))
    if sort_by is not None:
        j = next(i for i, c in enumerate(columns) if c.kind == METRIC and c.key == sort_by)
        order = _sorted(order, [r[j] for r in rows], descending)
    named = any(r.run_name for r in runs)
    keep = [
        j
        for j, c in enumerate(columns)
        if (c.kind == INFO and (c.key != "run_name" or named))
        or show_all
        or len(runs) < 2
        or (c.kind == METRIC and c.key == sort_by)
        or len({_same_key(r[j]) for r in rows}) > 1
    ]
    same = tuple(c for j, c in enumerate(columns) if j not in set(keep))
    return Comparison(
        runs=[runs[i] for i in order],
        columns=[columns[j] for j in keep],
        rows=[[rows[i][j] for j in keep] for i in order],
        same=same,
    )


def _agg_mapping(agg: str | Mapping[str, str] | None) -> dict[str, str]:
    if agg is None:
        return {}
    how = {EVERY_METRIC: agg} if isinstance(agg, str) else dict(agg)
    for key, value in how.items():
        if value not in AGGS:
            what = "every metric" if key == EVERY_METRIC else f"the metric {key!r}"
            raise UsageError(
                f"{value!r} is not an aggregation (asked for {what}).",
                hint=f"Use one of {', '.join(AGGS)}.",
            )
    return how


def _unknown_metric(key: str, known: list[str], option: str) -> str:
    listed = ", ".join(known[:10]) + (", ..." if len(known) > 10 else "")
    logged = f"they logged: {listed}" if known else "they logged no metrics"
    return f"{option} names the metric {key!r}, which none of the runs logged ({logged})."


def _duration(run: Run, now: float) -> float | None:
    end = run.end_time if run.end_time is not None else (now if run.status == RUNNING else None)
    return None if end is None else max(0.0, end - run.start_time)


def _same_key(value: Cell) -> object:
    """Equality for "every run has the same value": NaN equals NaN; missing is a value."""
    if isinstance(value, float) and math.isnan(value):
        return ("nan",)
    return value


def _sorted(order: list[int], values: list[Cell], descending: bool) -> list[int]:
    def absent(v: Cell) -> bool:
        return v is None or (isinstance(v, float) and math.isnan(v))

    present = [i for i in order if not absent(values[i])]
    missing = [i for i in order if absent(values[i])]
    # sorted() is stable, and reverse=True keeps ties in their given order too.
    present.sort(key=lambda i: float(values[i] or 0.0), reverse=descending)
    return present + missing
