"""`mlrun report` without a browser: what the page holds, escaping, links, the workflow
graph read back from the store, thinning long series, and the errors (exit codes)."""

from __future__ import annotations

import html.parser
import math
import re
import sys
from pathlib import Path

import pytest

from mlrun.report.flow import read_flow
from mlrun.report.series import series_of, thin
from mlrun.tracking.base import RunStore
from mlrun.tracking.model import RUNNING, Metric
from tests.helpers import cli
from tests.report.conftest import HOSTILE, add_run, add_workflow, curve


def report(store: RunStore, out: Path, *args: str) -> str:
    result = cli("report", *args, "-o", str(out))
    assert result.returncode == 0, result.stderr
    return result.stdout


class Fetches(html.parser.HTMLParser):
    """Every URL an element of the page would load (src, href of link, srcset...),
    and every anchor's href."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[str] = []
        self.anchors: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.scripts += tag == "script"
        if tag == "a":
            self.anchors.append(values.get("href", ""))
            return
        for name in ("src", "href", "srcset", "data", "poster", "action", "xlink:href"):
            if name in values:
                self.loads.append(values[name])


def test_report_of_an_experiment_is_one_offline_file(store: RunStore, tmp_path: Path) -> None:
    runs = [
        add_run(
            store,
            tmp_path / "runs",
            name=f"run{i}",
            params={"lr": str(0.1 * (i + 1)), "batch": "32"},
            metrics=[("loss", curve(50, 1 + i, 0.1)), ("acc", [0.5 + 0.1 * i])],
        )
        for i in range(3)
    ]
    out = tmp_path / "page" / "report.html"
    out.parent.mkdir()
    said = report(store, out, "--experiment", "exp")
    assert re.fullmatch(
        rf"report written to {re.escape(str(out))} \(\d+\.\d MB\): 3 runs, 2 charts\n", said
    )
    text = out.read_text()
    found = Fetches()
    found.feed(text)
    assert found.loads == [], "the page loads nothing from anywhere"
    assert found.scripts == 3  # plotly.js, the figures (JSON), the page's own script
    assert not re.search(r"""url\(\s*['"]?https?:|@import""", text)
    # The comparison table: every run, the parameter that differs, not the one that doesn't.
    for run in runs:
        assert f'data-run="{run.run_id}"' in text
    assert ">params.lr</th>" in text and ">params.batch</th>" not in text
    assert "The same in every run (not shown): params.batch." in text
    # One chart per metric, a line per run that logged it.
    assert re.findall(r'data-metric="([^"]*)" data-lines="(\d+)"', text) == [
        ("loss", "3"),
        ("acc", "3"),
    ]


def test_hostile_names_are_text_everywhere(store: RunStore, tmp_path: Path) -> None:
    add_run(
        store,
        tmp_path / "runs",
        name=HOSTILE,
        params={HOSTILE: HOSTILE},
        metrics=[(HOSTILE, [1.0, 2.0]), ("loss", [3.0])],
        artifacts=["<b>x</b>.txt"],
    )
    add_run(store, tmp_path / "runs", name="plain", params={HOSTILE: "1"})
    out = tmp_path / "report.html"
    report(store, out, "--experiment", "exp")
    text = out.read_text()
    assert "<script>window.__pwned" not in text
    assert "<img src=x" not in text
    assert "<b>x</b>" not in text
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in text  # shown, as text
    # In the figures' JSON, a "</script>" could end the element: < and > are escaped.
    figures = text.split('id="mlrun-figures">', 1)[1].split("</script>", 1)[0]
    assert "<" not in figures and "\\u003c" in figures


def test_inlined_javascript_cannot_end_its_element() -> None:
    from mlrun.report.page import _inline_script

    js = 'const a = "</script><script>alert(1)</script>"; // </SCRIPT >'
    safe = _inline_script(js)
    assert "</script" not in safe.lower()
    assert safe.replace("<\\/", "</") == js


def test_links_are_relative_below_the_page_and_file_uris_elsewhere(
    store: RunStore, tmp_path: Path
) -> None:
    run = add_run(store, tmp_path / "runs", artifacts=["model.txt", "sub dir/a b.txt"])
    inside = tmp_path / "report.html"
    report(store, inside, run.run_id)
    found = Fetches()
    found.feed(inside.read_text())
    files = [a for a in found.anchors if not a.startswith("#")]
    rel = f"runs/{run.run_id}"
    assert f"{rel}/logs/combined.log" in files
    assert f"{rel}/outputs/artifacts/model.txt" in files
    assert f"{rel}/outputs/artifacts/sub%20dir/a%20b.txt" in files
    for href in files:  # each one leads to the file
        assert (tmp_path / href.replace("%20", " ")).exists(), href
    elsewhere = tmp_path / "elsewhere" / "report.html"
    elsewhere.parent.mkdir()
    report(store, elsewhere, run.run_id)
    found = Fetches()
    found.feed(elsewhere.read_text())
    uris = [a for a in found.anchors if not a.startswith("#")]
    assert (tmp_path / "runs" / run.run_id / "logs" / "combined.log").as_uri() in uris
    assert all(u.startswith("file:///") for u in uris)


def test_a_workflow_run_reports_its_steps_and_graph(store: RunStore, tmp_path: Path) -> None:
    record = add_workflow(store, tmp_path / "runs")
    flow = read_flow(store, record)
    assert flow.name == "pipeline"
    assert [(n.name, n.status, n.needs) for n in flow.nodes] == [
        ("prepare", "cached", ()),
        ("train[alpha=0.1]", "finished", ("prepare",)),
        ("train[alpha=0.5]", "failed", ("prepare",)),
        ("evaluate", "not run", ("train[alpha=0.1]", "train[alpha=0.5]")),
    ]
    assert flow.nodes[0].note.startswith("from run ")  # cached: another workflow's run
    assert flow.nodes[2].note.startswith("exit 1")
    assert flow.nodes[1].duration() == pytest.approx(12.5)
    out = tmp_path / "report.html"
    said = report(store, out, record.run_id[:8])  # a workflow's id stands for its steps
    assert said.endswith(": 3 runs, 1 chart, 1 workflow graph\n")
    assert report(store, tmp_path / "again.html", "--workflow", record.run_id) == said.replace(
        str(out), str(tmp_path / "again.html")
    )
    text = out.read_text()
    nodes = re.findall(r'<g class="node" data-node="([^"]*)" data-status="([^"]*)"', text)
    assert nodes == [(n.name, n.status) for n in flow.nodes]
    edges = re.findall(r'class="edge" data-from="([^"]*)" data-to="([^"]*)"', text)
    assert sorted(edges) == sorted((need, n.name) for n in flow.nodes for need in n.needs)
    assert "12.5s  run " in text  # each node's time and run
    # Its steps are the table's rows, named by step.
    assert ">train[alpha=0.5]</a>" in text and ">prepare</a>" in text


def test_a_running_workflow_is_drawn_from_its_step_runs(store: RunStore, tmp_path: Path) -> None:
    record = add_workflow(store, tmp_path / "runs")
    store.log_outputs(record.run_id, {"steps": {}})  # as before the workflow ends
    live = add_run(
        store,
        tmp_path / "runs",
        name="evaluate",
        status=RUNNING,
        parent=record.run_id,
        tags={
            "mlrun.step": "evaluate",
            "mlrun.cache_inputs": '{"upstream": {"train[alpha=0.1]": "k1", "gone": "k2"}}',
        },
    )
    store.update_run(live.run_id, tags={"mlrun.step": "evaluate"})
    nodes = {n.name: n for n in read_flow(store, store.get_run(record.run_id)).nodes}
    assert nodes["evaluate"].status == "running"
    assert nodes["evaluate"].needs == ("train[alpha=0.1]",)  # from its cache key's inputs
    assert nodes["train[alpha=0.5]"].status == "failed"
    assert "prepare" not in nodes  # cached nodes are known from the record's end only


def test_long_series_are_thinned_keeping_extremes() -> None:
    points: list[tuple[int, float | None]] = [(i, math.sin(i / 50)) for i in range(10_000)]
    points[4321] = (4321, 99.0)
    points[7000] = (7000, -99.0)
    points[8000] = (8000, None)
    kept = thin(points, 1000)
    assert len(kept) <= 1000
    assert kept[0] == points[0] and kept[-1] == points[-1]
    assert (4321, 99.0) in kept and (7000, -99.0) in kept
    assert [s for s, _ in kept] == sorted(s for s, _ in kept)
    assert thin(points[:500], 1000) == points[:500]


def test_series_follow_steps_and_mark_thinning(store: RunStore, tmp_path: Path) -> None:
    run = add_run(store, tmp_path / "runs")
    store.log_metrics(
        run.run_id,
        [Metric("m", float(v), step, 1.0) for step, v in [(2, 20), (0, 0), (1, math.nan)]],
    )
    long = [Metric("long", float(i), i, 1.0) for i in range(3000)]
    store.log_metrics(run.run_id, long)
    series = series_of([store.get_run(run.run_id)], limit=1000)
    (m,) = series["m"]
    assert (m.steps, m.values, m.thinned) == ([0, 1, 2], [0.0, None, 20.0], False)
    (long_series,) = series["long"]
    assert long_series.thinned and long_series.logged == 3000
    assert len(long_series.steps) <= 1000


def test_bad_selections_are_one_sentence_and_exit_2(store: RunStore, tmp_path: Path) -> None:
    plain = add_run(store, tmp_path / "runs")
    out = tmp_path / "report.html"
    cases = [
        ((), "report takes run ids, --experiment NAME or --workflow RUN_ID; none was given."),
        (("--experiment", "nope"), "there is no experiment named 'nope'"),
        (("--workflow", "feedbeef00"), "no run has the id 'feedbeef00'"),
        (("--workflow", plain.run_id), f"the run {plain.run_id} is not a workflow run."),
        ((plain.run_id, "--experiment", "exp"), "report takes run ids, --experiment NAME or"),
        (("--experiment", "exp", "--desc"), "--desc orders by a metric"),
        (("feedbeef00",), "no run has the id 'feedbeef00'"),
        (("--experiment", "exp", "--sort", "nope"), "--sort names the metric 'nope'"),
    ]
    for args, message in cases:
        result = cli("report", *args, "-o", str(out))
        assert result.returncode == 2, result
        assert result.stderr.startswith(f"mlrun: error: {message}"), result.stderr
        assert "Traceback" not in result.stderr
    assert not out.exists()
    result = cli("report", "--experiment", "exp", "-o", str(tmp_path / "no" / "r.html"))
    assert result.returncode == 2
    assert "cannot write the report to" in result.stderr and "hint: choose another" in result.stderr


def test_without_plotly_it_says_how_to_install_it(
    store: RunStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_run(store, tmp_path / "runs", metrics=[("loss", [1.0])])
    for name in [m for m in sys.modules if m == "plotly" or m.startswith("plotly.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "plotly", None)  # import plotly -> ImportError
    out = tmp_path / "report.html"
    result = cli("report", "--experiment", "exp", "-o", str(out))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "mlrun: error: mlrun report draws its charts with plotly, which is not installed.",
        "  hint: install the report extra: pip install 'mlrun[report]'",
    ]
    assert not out.exists()


def test_an_experiment_sorted_by_a_metric_reports_its_best_runs(
    store: RunStore, tmp_path: Path
) -> None:
    for i in range(6):
        # the older, the better: the newest page would be r3, r4, r5
        add_run(store, tmp_path / "runs", name=f"r{i}", metrics=[("acc", [0.1 * (5 - i)])])
    out = tmp_path / "report.html"
    said = report(store, out, "--experiment", "exp", "--sort", "-acc", "--limit", "3")
    assert ": 3 runs, 1 chart" in said
    rows = re.findall(r'<tr data-run="[^"]*"><td class="text" data-sort="([^"]*)"', out.read_text())
    assert rows == ["r0", "r1", "r2"]  # the best three by acc, highest first
