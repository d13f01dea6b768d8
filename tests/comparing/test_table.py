"""build_comparison: columns, cells, the columns left out, aggregation, order."""

from __future__ import annotations

import math

import pytest

from mlrun.comparing.table import (
    INFO_KEYS,
    Column,
    build_comparison,
    parse_agg,
    summarize,
)
from mlrun.errors import UsageError
from mlrun.tracking.base import RunStore
from mlrun.tracking.model import Metric
from tests.comparing.conftest import MakeRun


def test_columns_are_info_then_params_then_metrics_and_only_those_that_differ(
    make_run: MakeRun,
) -> None:
    a = make_run({"lr": "0.1", "epochs": "10", "seed": "1"}, [("loss", 0.5, 0), ("acc", 0.9, 0)])
    b = make_run({"lr": "0.01", "epochs": "10", "seed": "1"}, [("loss", 0.3, 0), ("acc", 0.9, 0)])
    table = build_comparison([a, b])
    assert [c.key for c in table.columns if c.kind == "info"] == list(INFO_KEYS)
    assert [(c.kind, c.key) for c in table.columns[len(INFO_KEYS) :]] == [
        ("param", "lr"),
        ("metric", "loss"),
    ]
    assert table.rows[0][len(INFO_KEYS) :] == ["0.1", 0.5]
    assert table.rows[1][:3] == [b.run_id, b.run_name, "FINISHED"]
    assert {(c.kind, c.key) for c in table.same} == {
        ("param", "epochs"), ("param", "seed"), ("metric", "acc"),
    }  # fmt: skip
    everything = build_comparison([a, b], show_all=True)
    assert [c.label for c in everything.columns[len(INFO_KEYS) :]] == [
        "params.epochs", "params.lr", "params.seed", "metrics.acc", "metrics.loss",
    ]  # fmt: skip
    assert everything.same == ()
    assert len(everything.rows[0]) == len(everything.columns)


def test_a_missing_value_differs_from_any_value_and_nan_equals_nan(make_run: MakeRun) -> None:
    a = make_run({"lr": "0.1"}, [("loss", math.nan, 0), ("f1", 0.5, 0)])
    b = make_run({"lr": "0.1", "extra": "x"}, [("loss", math.nan, 0)])
    table = build_comparison([a, b])
    keys = [(c.kind, c.key) for c in table.columns[len(INFO_KEYS) :]]
    assert keys == [("param", "extra"), ("metric", "f1")]  # lr and loss (NaN, NaN) are the same
    assert [r[len(INFO_KEYS) :] for r in table.rows] == [[None, 0.5], ["x", None]]


def test_nan_and_infinities_are_kept_as_logged(make_run: MakeRun) -> None:
    a = make_run({}, [("loss", math.inf, 0)])
    b = make_run({}, [("loss", -math.inf, 0)])
    c = make_run({}, [("loss", math.nan, 0)])
    table = build_comparison([a, b, c])
    j = table.column("metric", "loss")
    values = [r[j] for r in table.rows]
    assert values[:2] == [math.inf, -math.inf]
    assert isinstance(values[2], float) and math.isnan(values[2])


def test_last_is_the_stores_latest_value_and_agg_picks_min_or_max(
    make_run: MakeRun, store: RunStore
) -> None:
    # Logged out of step order: the latest is the highest step, not the last logged;
    # on a step and timestamp tie, the later logged value wins (as in latest_metrics).
    a = make_run({}, [("loss", 0.2, 5), ("loss", 0.9, 1), ("loss", 0.4, 3)])
    b = make_run({}, [("loss", 0.7, 2), ("loss", 0.1, 2)])
    assert summarize(a.metrics)["loss"].last == 0.2
    assert summarize(b.metrics)["loss"].last == 0.1
    j = 4
    assert [r[j] for r in build_comparison([a, b]).rows] == [0.2, 0.1]
    assert [r[j] for r in build_comparison([a, b], agg="max").rows] == [0.9, 0.7]
    assert [r[j] for r in build_comparison([a, b], agg={"loss": "min"}).rows] == [0.2, 0.1]
    assert build_comparison([a, b], agg="min").columns[j] == Column("metric", "loss", "min")
    # The store orders by its own latest value the same way.
    ordered = store.search_runs(order_by_metric="loss")
    assert [r.run_id for r in ordered] == [b.run_id, a.run_id]


def test_agg_mapping_names_some_metrics_and_a_default_for_the_rest(make_run: MakeRun) -> None:
    a = make_run({}, [("loss", 3.0, 0), ("loss", 1.0, 1), ("acc", 0.1, 0), ("acc", 0.5, 1)])
    b = make_run({}, [("loss", 2.0, 0), ("loss", 2.5, 1), ("acc", 0.2, 0), ("acc", 0.3, 1)])
    table = build_comparison([a, b], agg=parse_agg(["loss=min", "max"]))
    metrics = {c.key: (c.agg, c.label) for c in table.columns if c.kind == "metric"}
    assert metrics == {"loss": ("min", "min(metrics.loss)"), "acc": ("max", "max(metrics.acc)")}
    assert table.rows[0][table.column("metric", "loss")] == 1.0
    assert table.rows[1][table.column("metric", "acc")] == 0.3


def test_min_and_max_ignore_nan_values(make_run: MakeRun) -> None:
    a = make_run({}, [("loss", math.nan, 0), ("loss", 0.5, 1), ("loss", math.nan, 2)])
    summary = summarize(a.metrics)["loss"]
    assert (summary.min, summary.max, summary.n_values) == (0.5, 0.5, 3)
    assert math.isnan(summary.last)
    only_nan = summarize([Metric("x", math.nan, 0, 1.0)])["x"]
    assert math.isnan(only_nan.min) and math.isnan(only_nan.max)


def test_sort_by_a_metric_puts_runs_without_it_last_both_ways(make_run: MakeRun) -> None:
    a = make_run({"n": "a"}, [("loss", 0.3, 0)])
    b = make_run({"n": "b"}, [("loss", math.nan, 0)])
    c = make_run({"n": "c"}, [("loss", 0.1, 0)])
    d = make_run({"n": "d"}, [("acc", 1.0, 0)])
    e = make_run({"n": "e"}, [("loss", 0.3, 0)])
    runs = [a, b, c, d, e]
    up = build_comparison(runs, sort_by="loss")
    assert [r.params["n"] for r in up.runs] == ["c", "a", "e", "b", "d"]
    assert [row[0] for row in up.rows] == [r.run_id for r in up.runs]
    down = build_comparison(runs, sort_by="loss", descending=True)
    assert [r.params["n"] for r in down.runs] == ["a", "e", "c", "b", "d"]  # ties keep order


def test_the_sort_column_is_shown_even_when_every_run_has_the_same_value(
    make_run: MakeRun,
) -> None:
    a = make_run({"lr": "1"}, [("loss", 0.3, 0)])
    b = make_run({"lr": "2"}, [("loss", 0.3, 0)])
    assert [c.key for c in build_comparison([a, b]).columns][-1] == "lr"
    assert [c.key for c in build_comparison([a, b], sort_by="loss").columns][-1] == "loss"


def test_a_single_run_shows_every_column(make_run: MakeRun) -> None:
    a = make_run({"lr": "1"}, [("loss", 0.3, 0)])
    assert [c.key for c in build_comparison([a]).columns][len(INFO_KEYS) :] == ["lr", "loss"]


def test_no_runs_is_an_empty_table() -> None:
    table = build_comparison([])
    assert (
        table.rows == [] and table.runs == [] and [c.key for c in table.columns] == list(INFO_KEYS)
    )


def test_duration_of_finished_and_running_runs(make_run: MakeRun) -> None:
    done = make_run({}, start_time=1000.0, end_time=1012.5, status="FINISHED")
    running = make_run({}, status="RUNNING")
    table = build_comparison([done, running])
    j = table.column("info", "duration")
    assert table.rows[0][j] == 12.5
    value = table.rows[1][j]
    assert isinstance(value, float) and value >= 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"agg": "median"}, "'median' is not an aggregation (asked for every metric)"),
        ({"agg": {"loss": "avg"}}, "'avg' is not an aggregation (asked for the metric 'loss')"),
        ({"agg": {"nope": "min"}}, "--agg names the metric 'nope', which none of the runs logged"),
        ({"sort_by": "acc"}, "--sort names the metric 'acc', which none of the runs logged"),
    ],
)
def test_bad_agg_or_sort_is_one_sentence_naming_the_value(
    make_run: MakeRun, kwargs: dict[str, object], message: str
) -> None:
    a = make_run({}, [("loss", 0.3, 0)])
    with pytest.raises(UsageError) as caught:
        build_comparison([a], **kwargs)  # type: ignore[arg-type]
    assert message in caught.value.message
    assert "(they logged: loss)" in caught.value.message or "aggregation" in caught.value.message


@pytest.mark.parametrize(
    ("specs", "expected"),
    [
        (["min"], {"*": "min"}),
        (["loss=MIN", "acc=max", "last"], {"loss": "min", "acc": "max", "*": "last"}),
        (["a=b=max"], {"a=b": "max"}),  # the last '=' splits: metric names may hold one
        (["loss=min", "loss=min"], {"loss": "min"}),
    ],
)
def test_parse_agg(specs: list[str], expected: dict[str, str]) -> None:
    assert parse_agg(specs) == expected


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        (["mean"], "--agg 'mean' is not an aggregation."),
        (["=min"], "--agg '=min' is not an aggregation."),
        (["loss=min", "loss=max"], "--agg gives the metric 'loss' two aggregations (min and max)."),
    ],
)
def test_parse_agg_refuses(specs: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_agg(specs)


def test_the_name_column_is_left_out_when_no_run_has_a_name(make_run: MakeRun) -> None:
    a = make_run({"lr": "1"}, run_name=None)
    b = make_run({"lr": "2"}, run_name=None)
    assert "run_name" not in [c.key for c in build_comparison([a, b]).columns]
    assert "run_name" in [c.key for c in build_comparison([a, b], show_all=True).columns]
    c = make_run({"lr": "3"}, run_name="named")
    assert "run_name" in [c.key for c in build_comparison([a, c]).columns]
