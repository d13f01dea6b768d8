"""`mlrun runs compare`: selecting runs, the text table, JSON, CSV and bad input."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest

from mlrun.tracking.base import RunStore
from tests.comparing.conftest import MakeRun
from tests.helpers import cli, mlrun, write_project


def _strict_json(text: str) -> Any:
    def refuse(name: str) -> None:
        raise AssertionError(f"not JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def test_runs_by_id_and_prefix_show_the_params_and_metrics_that_differ(
    make_run: MakeRun,
) -> None:
    a = make_run({"lr": "0.1", "epochs": "10"}, [("loss", 0.5, 0), ("acc", 0.9, 0)])
    b = make_run({"lr": "0.01", "epochs": "10"}, [("loss", 0.25, 0), ("acc", 0.9, 0)])
    result = cli("runs", "compare", a.run_id, b.run_id[:8], check=True)
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["params:", "metrics:"]
    assert lines[1].split() == ["RUN", "ID", "NAME", "STATUS", "DURATION", "lr", "loss"]
    assert lines[2].split()[0] == a.run_id[:12] and lines[2].split()[-2:] == ["0.1", "0.5"]
    assert lines[3].split()[-2:] == ["0.01", "0.25"]
    # The header groups stand over their first column.
    assert lines[0].index("params:") == lines[1].index("lr")
    assert lines[0].index("metrics:") == lines[1].index("loss")
    assert "2 columns with the same value in every run left out (--all shows them)" in result.stderr
    everything = cli("runs", "compare", a.run_id, b.run_id, "--all", check=True)
    assert everything.stdout.splitlines()[1].split()[-4:] == ["epochs", "lr", "acc", "loss"]


def test_an_experiment_gives_its_newest_runs(make_run: MakeRun) -> None:
    for n in range(25):
        make_run({"n": str(n)}, [("loss", n, 0)], experiment="big", start_time=1000.0 + n)
    make_run({"n": "other"}, experiment="else")
    make_run({"n": "failed"}, experiment="big", status="FAILED", start_time=2000.0)
    rows = _strict_json(cli("runs", "compare", "--experiment", "big", "--json").stdout)["runs"]
    assert len(rows) == 20  # the default page, as `runs list`
    assert [r["params"]["n"] for r in rows[:3]] == ["failed", "24", "23"]
    limited = cli(
        "runs", "compare", "--experiment", "big", "--limit", "3", "--status", "finished", "--json"
    )
    assert [r["params"]["n"] for r in _strict_json(limited.stdout)["runs"]] == ["24", "23", "22"]


def test_sort_by_a_metric_both_ways(make_run: MakeRun) -> None:
    ids = [make_run({"n": str(n)}, [("acc", v, 0)]).run_id for n, v in enumerate([0.5, 0.9, 0.1])]
    make_run({"n": "none"})

    def order(*args: str) -> list[str]:
        out = cli("runs", "compare", "--experiment", "exp", "--json", *args, check=True).stdout
        return [r["params"]["n"] for r in _strict_json(out)["runs"]]

    assert order("--sort", "acc") == ["2", "0", "1", "none"]
    assert order("--sort", "-acc") == ["1", "0", "2", "none"]
    assert order("--sort", "acc", "--desc") == ["1", "0", "2", "none"]
    text = cli("runs", "compare", *ids, "--sort=-acc", check=True).stdout.splitlines()
    assert [line.split()[0] for line in text[2:]] == [ids[1][:12], ids[0][:12], ids[2][:12]]


def test_sorting_an_experiment_by_a_metric_pages_the_best_runs(make_run: MakeRun) -> None:
    # The newest runs have the worst loss: a page by loss reaches back to the oldest.
    for n in range(25):
        make_run({"n": str(n)}, [("loss", n, 0), ("loss", 100 - n, 1)], start_time=1000.0 + n)
    make_run({"n": "none"}, start_time=5000.0)

    def page(*args: str) -> list[str]:
        out = cli("runs", "compare", "--experiment", "exp", "--limit", "3", "--json", *args)
        return [r["params"]["n"] for r in _strict_json(out.stdout)["runs"]]

    assert page() == ["none", "24", "23"]  # the newest
    assert page("--sort", "loss") == ["24", "23", "22"]  # latest loss: 76, 77, 78
    assert page("--sort", "-loss") == ["0", "1", "2"]  # latest loss: 100, 99, 98
    # By the min of the history the store cannot order: the newest page, sorted.
    assert page("--sort", "loss", "--agg", "loss=min") == ["23", "24", "none"]


def test_agg_per_metric_and_for_every_metric(make_run: MakeRun) -> None:
    history = [("loss", 0.9, 0), ("loss", 0.2, 1), ("loss", 0.4, 2), ("acc", 0.1, 0)]
    a = make_run({"lr": "1"}, [*history, ("acc", 0.7, 1), ("acc", 0.6, 2)])
    b = make_run({"lr": "2"}, [("loss", 0.8, 0), ("loss", 0.5, 1), ("acc", 0.3, 0)])

    def metrics(*args: str) -> list[dict[str, Any]]:
        out = cli("runs", "compare", a.run_id, b.run_id, "--json", *args, check=True).stdout
        return [r["metrics"] for r in _strict_json(out)["runs"]]

    assert metrics() == [{"loss": 0.4, "acc": 0.6}, {"loss": 0.5, "acc": 0.3}]
    assert metrics("--agg", "min") == [{"loss": 0.2, "acc": 0.1}, {"loss": 0.5, "acc": 0.3}]
    assert metrics("--agg", "loss=min", "--agg", "max") == [
        {"loss": 0.2, "acc": 0.7},
        {"loss": 0.5, "acc": 0.3},
    ]
    header = cli("runs", "compare", a.run_id, b.run_id, "--agg", "loss=min").stdout.splitlines()[1]
    assert header.split()[-2:] == ["acc", "min(loss)"]


def test_json_shape_with_nan_infinities_and_missing_values(make_run: MakeRun) -> None:
    a = make_run({"lr": "0.1"}, [("loss", math.nan, 0), ("gain", math.inf, 0)])
    b = make_run({"lr": "0.2", "extra": "x"}, [("loss", 1.5, 0), ("gain", -math.inf, 0)])
    doc = _strict_json(cli("runs", "compare", a.run_id, b.run_id, "--json", check=True).stdout)
    assert set(doc) == {"columns", "runs", "same"}
    assert {"kind": "param", "key": "lr", "agg": None, "label": "params.lr"} in doc["columns"]
    assert {"kind": "metric", "key": "gain", "agg": "last", "label": "metrics.gain"} in doc[
        "columns"
    ]
    first, second = doc["runs"]
    assert set(first) == {
        "run_id", "run_name", "status", "duration", "experiment", "start_time", "params",
        "metrics",
    }  # fmt: skip
    assert first["run_id"] == a.run_id and first["status"] == "FINISHED"
    assert first["params"] == {"extra": None, "lr": "0.1"}
    assert first["metrics"] == {"gain": "Infinity", "loss": "NaN"}
    assert second["metrics"] == {"gain": "-Infinity", "loss": 1.5}
    assert doc["same"] == []
    unnamed = make_run({"lr": "0.3"}, run_name=None)
    out = cli("runs", "compare", unnamed.run_id, a.run_id[:8], "--json", check=True).stdout
    assert _strict_json(out)["runs"][0]["run_name"] is None  # the key, though not a column


def test_runs_list_and_show_json_spell_nan_and_infinities_as_strings(make_run: MakeRun) -> None:
    # Bare NaN/Infinity (Python's json default) is not JSON: jq and JSON.parse refuse it.
    run = make_run({}, [("loss", math.nan, 0), ("gain", math.inf, 1), ("low", -math.inf, 2)])
    shown = _strict_json(cli("runs", "show", run.run_id, "--json", check=True).stdout)
    assert {m["key"]: m["value"] for m in shown["metrics"]} == {
        "loss": "NaN", "gain": "Infinity", "low": "-Infinity",
    }  # fmt: skip
    listed = _strict_json(cli("runs", "list", "--json", check=True).stdout)
    assert [r["run_id"] for r in listed] == [run.run_id]
    assert {m["key"]: m["value"] for m in listed[0]["metrics"]}["loss"] == "NaN"


def test_csv_is_rfc4180_and_formula_safe(make_run: MakeRun) -> None:
    hostile = {"cmd": '=HYPERLINK("http://x")', "note": 'a, "b"\nc', "neg": "-0.5"}
    a = make_run(hostile, [("loss", -1.25, 0)], run_name="@evil")
    b = make_run({"cmd": "+1+1", "note": "plain", "neg": "-1"}, [("loss", math.nan, 0)])
    out = cli("runs", "compare", a.run_id, b.run_id, "--csv", check=True).stdout
    assert out.count("\r\n") == 3  # header, two runs; the newline inside a cell is quoted
    rows = list(csv.reader(io.StringIO(out, newline="")))
    header = rows[0]
    assert header == [
        "run_id", "run_name", "status", "duration", "params.cmd", "params.neg", "params.note",
        "metrics.loss",
    ]  # fmt: skip
    first = dict(zip(header, rows[1], strict=True))
    second = dict(zip(header, rows[2], strict=True))
    assert first["params.cmd"] == '\'=HYPERLINK("http://x")'
    assert first["run_name"] == "'@evil"
    assert first["params.note"] == 'a, "b"\nc'
    assert first["params.neg"] == "-0.5"  # a number is not a formula
    assert first["metrics.loss"] == "-1.25"
    assert second["params.cmd"] == "'+1+1"
    assert second["metrics.loss"] == "nan"
    assert float(first["duration"]) >= 0


def test_huge_and_hostile_values_cannot_break_the_table(make_run: MakeRun) -> None:
    huge = "x" * 1_000_000
    a = make_run({"blob": huge, "ansi": "\x1b[31mred\x1b[0m\nnext"}, run_name="a")
    b = make_run({"blob": "small", "ansi": "plain"}, run_name="b")
    result = cli("runs", "compare", a.run_id, b.run_id, check=True)
    assert "\x1b" not in result.stdout
    assert "\\x1b[31mred\\x1b[0m\\nnext" in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) < 200
    assert "x" * 37 + "..." in result.stdout
    doc = _strict_json(cli("runs", "compare", a.run_id, b.run_id, "--json", check=True).stdout)
    assert doc["runs"][0]["params"]["blob"] == huge  # JSON keeps every value whole


def test_a_table_wider_than_the_terminal_is_transposed(make_run: MakeRun) -> None:
    params = {f"parameter_{n}": str(n) for n in range(12)}
    a = make_run(params, [("loss", 0.5, 0)])
    b = make_run({k: v + "0" for k, v in params.items()}, [("loss", 0.7, 0)])
    args = ("runs", "compare", a.run_id, b.run_id)
    wide = cli(*args, env={**os.environ, "COLUMNS": "400"}, check=True).stdout.splitlines()
    assert wide[1].split()[:2] == ["RUN", "ID"] and len(wide) == 4
    narrow = cli(*args, env={**os.environ, "COLUMNS": "80"}, check=True).stdout.splitlines()
    assert narrow[0].split() == [a.run_id[:12], b.run_id[:12]]
    assert narrow[1].split()[0] == "name"
    assert ["params.parameter_0", "0", "00"] in [line.split() for line in narrow]
    assert narrow[-1].split() == ["metrics.loss", "0.5", "0.7"]
    assert max(len(line) for line in narrow) <= 80
    forced = cli(*args, "--transpose", env={**os.environ, "COLUMNS": "400"}, check=True).stdout
    assert forced.splitlines() == narrow
    kept = cli(
        *args, "--no-transpose", env={**os.environ, "COLUMNS": "80"}, check=True
    ).stdout.splitlines()
    assert kept == wide


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["feedbeef"], "no run has the id 'feedbeef'"),
        (["aaaa"], "the run id prefix 'aaaa' is ambiguous: it matches 2 runs."),
        (["aaaa1111", "--sort", "acc"], "--sort names the metric 'acc', which none of the runs"),
        (["aaaa1111", "--agg", "median"], "--agg 'median' is not an aggregation."),
        (["aaaa1111", "--agg", "acc=min"], "--agg names the metric 'acc', which none of the runs"),
        (["--experiment", "nope"], "there is no experiment named 'nope'"),
        (["--experiment", "exp", "--status", "failed"], "the experiment 'exp' has no FAILED runs"),
        (["--workflow", "aaaa1111"], "the run aaaa1111 is not a workflow run"),
        ([], "runs compare takes run ids, --experiment NAME or --workflow RUN_ID; none was given."),
        (["aaaa1111", "--experiment", "exp"], "one of them, not run ids and --experiment."),
        (["aaaa1111", "--json", "--csv"], "--json and --csv are two formats: choose one."),
        (["aaaa1111", "--desc"], "--desc orders by a metric: name it with --sort METRIC."),
        (["aaaa1111", "--status", "failed"], "--status filters --experiment or --workflow runs"),
    ],
)
def test_bad_input_is_one_sentence_and_exit_2(
    make_run: MakeRun, args: list[str], message: str
) -> None:
    make_run({}, [("loss", 1.0, 0)], run_id="aaaa1111")
    make_run({}, run_id="aaaa2222")
    result = cli("runs", "compare", *args)
    assert result.returncode == 2, result
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == "" or "--json" in args
    as_json = cli("runs", "compare", *args, *([] if "--json" in args else ["--json"]))
    assert as_json.returncode == 2
    assert message in _strict_json(as_json.stdout)["error"]["message"]


def test_the_steps_of_a_workflow_run(make_run: MakeRun, store: RunStore) -> None:
    parent = make_run({}, env_kind="workflow", command_mode="workflow")
    steps = [
        make_run({"alpha": a}, [("rmse", r, 0)], parent_run_id=parent.run_id, start_time=t)
        for a, r, t in [("0.1", 0.3, 3000.0), ("1.0", 0.5, 1000.0), ("0.01", 0.2, 2000.0)]
    ]
    make_run({"alpha": "9"}, [("rmse", 9.0, 0)])  # not a step
    out = cli("runs", "compare", "--workflow", parent.run_id[:8], "--json", check=True).stdout
    runs = _strict_json(out)["runs"]
    assert [r["run_id"] for r in runs] == [steps[1].run_id, steps[2].run_id, steps[0].run_id]
    assert [r["metrics"]["rmse"] for r in runs] == [0.5, 0.2, 0.3]
    many = make_run({}, env_kind="workflow", command_mode="workflow")
    for n in range(25):
        make_run({"n": str(n)}, parent_run_id=many.run_id, start_time=100.0 + n)
    every = cli("runs", "compare", "--workflow", many.run_id, "--json", check=True).stdout
    assert [r["params"]["n"] for r in _strict_json(every)["runs"]] == [str(n) for n in range(25)]
    last = cli("runs", "compare", "--workflow", many.run_id, "--limit", "2", "--json").stdout
    assert [r["params"]["n"] for r in _strict_json(last)["runs"]] == ["23", "24"]
    empty = make_run({}, env_kind="workflow", command_mode="workflow")
    result = cli("runs", "compare", "--workflow", empty.run_id)
    assert result.returncode == 2
    assert f"the workflow run {empty.run_id} has no steps." in result.stderr


WORKFLOW = """\
name: sweep
entry_points:
  train:
    parameters: {alpha: float}
    command: "python train.py {alpha}"
workflows:
  sweep:
    steps:
      train:
        entry_point: train
        matrix: {alpha: [0.5, 0.1, 0.9]}
        parameters: {alpha: "${{ matrix.alpha }}"}
"""
TRAIN = """\
import sys
import mlrun
alpha = float(sys.argv[1])
for step in range(3):
    mlrun.log_metric("loss", alpha / (step + 1), step=step)
"""


@pytest.mark.slow  # a real workflow run of three steps
def test_a_workflow_run_recorded_by_mlrun_is_compared_step_by_step(tmp_path: Path) -> None:
    # This interpreter, which has mlrun installed (not whichever `python` is first on PATH).
    workflow = WORKFLOW.replace("python train.py", f"{shlex.quote(sys.executable)} train.py")
    project = write_project(tmp_path / "sweep", workflow, {"train.py": TRAIN})
    ran = mlrun("run", str(project), "-e", "sweep", "--json", check=True)
    workflow_id = _strict_json(ran.stdout)["run_id"]
    out = cli("runs", "compare", "--workflow", workflow_id[:8], "--json", check=True).stdout
    doc = _strict_json(out)
    assert sorted(r["params"]["alpha"] for r in doc["runs"]) == ["0.1", "0.5", "0.9"]
    assert {r["run_name"] for r in doc["runs"]} == {
        "train[alpha=0.5]", "train[alpha=0.1]", "train[alpha=0.9]",
    }  # fmt: skip
    by_alpha = {r["params"]["alpha"]: r["metrics"]["loss"] for r in doc["runs"]}
    assert by_alpha == pytest.approx({"0.5": 0.5 / 3, "0.1": 0.1 / 3, "0.9": 0.3})
    best = cli("runs", "compare", "--workflow", workflow_id, "--agg", "max", "--sort", "-loss")
    lines = best.stdout.splitlines()
    assert lines[1].split()[-2:] == ["alpha", "max(loss)"]
    assert [line.split()[-1] for line in lines[2:]] == ["0.9", "0.5", "0.1"]
