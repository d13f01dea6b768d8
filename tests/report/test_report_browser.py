"""The report in a real browser (headless Chromium, the Debian package): the charts are
drawn by plotly.js with a line per run, the workflow graph's nodes show their states,
hostile names stay text, and the page asks the network for nothing. Each test leaves a
screenshot in its tmp_path (the path is printed: `pytest -s` shows it)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from mlrun.tracking.base import RunStore
from tests.chromium import ChromiumPage
from tests.conftest import REPO, require_service
from tests.helpers import cli, mlrun
from tests.report.conftest import HOSTILE, add_run, add_workflow, curve
from tests.services import NO_CHROMIUM, chromium_executable

pytestmark = pytest.mark.slow

# What the page says about itself once plotly.js has drawn every chart.
CHARTS = """Array.from(document.querySelectorAll("div.chart")).map(div => ({
    metric: div.dataset.metric,
    lines: Number(div.dataset.lines),
    traces: div.data ? div.data.length : -1,
    drawn: div.querySelectorAll("g.trace").length,
    paths: div.querySelectorAll("g.trace path.js-line, g.trace g.point").length,
    legend: Array.from(div.querySelectorAll("g.legendtext, text.legendtext"))
        .map(t => t.textContent),
    title: (div.querySelector("text.gtitle") || {}).textContent,
}))"""
NODES = """Array.from(document.querySelectorAll("svg.flow g.node")).map(g => ({
    name: g.dataset.node, status: g.dataset.status,
    shown: Array.from(g.querySelectorAll("text")).map(t => t.textContent),
    box: g.getBoundingClientRect().width,
}))"""


def browser() -> str:
    executable = chromium_executable()
    require_service(executable is not None, NO_CHROMIUM)
    assert executable is not None
    return executable


def open_report(page: ChromiumPage, path: Path) -> None:
    page.open(path.as_uri())
    assert page.wait_for("document.body.dataset.charts", timeout=60) == "drawn"


def assert_offline(page: ChromiumPage, path: Path) -> None:
    """The page loaded itself and nothing else."""
    assert page.requests, "the browser reported no request at all"
    assert all(
        url == path.as_uri() or url.startswith(("data:", "blob:")) for url in page.requests
    ), page.requests


def shot(page: ChromiumPage, tmp_path: Path, name: str) -> Path:
    path = page.screenshot(tmp_path / name, full_page=True)
    assert path.stat().st_size > 10_000
    print(f"screenshot: {path}")
    return path


def test_charts_table_and_graph_render_in_chromium(store: RunStore, tmp_path: Path) -> None:
    executable = browser()
    runs = [
        add_run(
            store,
            tmp_path / "runs",
            name=HOSTILE if i == 0 else f"run{i}",
            params={"lr": str(0.05 * (i + 1)), HOSTILE: HOSTILE},
            metrics=[("loss", curve(80, 1 + i, 0.06)), ("acc", [0.6 + 0.1 * i])],
        )
        for i in range(3)
    ]
    workflow = add_workflow(store, tmp_path / "runs")
    out = tmp_path / "report.html"
    result = cli(
        "report", runs[0].run_id, runs[1].run_id, runs[2].run_id, workflow.run_id,
        "-o", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith(": 6 runs, 2 charts, 1 workflow graph\n")
    with ChromiumPage(executable, tmp_path / "profile", 1280, 1000) as page:
        open_report(page, out)
        charts: list[dict[str, Any]] = page.evaluate(CHARTS)
        # loss: 3 runs + the 2 train steps; acc: the 3 runs (bars: one value each).
        assert [(c["metric"], c["lines"]) for c in charts] == [("loss", 5), ("acc", 3)]
        for chart in charts:
            assert chart["traces"] == chart["drawn"] == chart["lines"], chart
            assert chart["paths"] >= chart["lines"], chart
        loss = charts[0]
        assert loss["title"] == "loss"
        assert loss["legend"][0] == HOSTILE[:31] + "\u2026"  # shown as text, cut to fit
        assert set(loss["legend"][1:]) == {"run1", "run2", "train[alpha=0.1]", "train[alpha=0.5]"}
        nodes = page.evaluate(NODES)
        assert [(n["name"], n["status"]) for n in nodes] == [
            ("prepare", "cached"),
            ("train[alpha=0.1]", "finished"),
            ("train[alpha=0.5]", "failed"),
            ("evaluate", "not run"),
        ]
        assert all(n["box"] > 100 for n in nodes)  # laid out, not collapsed
        assert nodes[1]["shown"][:2] == ["train[alpha=0.1]", "finished"]
        assert nodes[1]["shown"][2].startswith("12.5s  run ")
        assert page.evaluate("document.querySelectorAll('svg.flow path.edge').length") == 4
        # The table: a row per run; the hostile name is text in the page, nothing ran.
        assert page.evaluate("document.querySelectorAll('table.compare tbody tr').length") == 6
        text = page.evaluate("document.body.innerText")
        assert HOSTILE in text
        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert page.evaluate("document.querySelectorAll('body img, body iframe').length") == 0
        # Sorting by a column heading reorders the rows.
        order = page.evaluate(
            "(() => { const th = Array.from(document.querySelectorAll('table.compare th'))"
            ".find(h => h.textContent === 'metrics.loss'); th.click(); th.click();"
            " return Array.from(document.querySelectorAll('table.compare tbody tr'))"
            ".map(r => r.cells[0].innerText.split('\\n')[0]); })()"
        )
        # Highest last loss first (the train steps' curves end higher); no loss: last.
        assert order == ["train[alpha=0.5]", "train[alpha=0.1]", "run2", "run1", HOSTILE, "prepare"]
        assert page.errors == []
        assert_offline(page, out)
        shot(page, tmp_path, "report.png")


@pytest.mark.timeout(600)
def test_a_real_workflow_run_reported_and_rendered(tmp_path: Path) -> None:
    """The example workflow run by mlrun (its steps log a training curve over steps
    through the step outputs protocol), then `mlrun report <its run id> --open` in a
    subprocess, with the browser being a script that records the URL it was given."""
    executable = browser()
    project = tmp_path / "wine-pipeline"
    shutil.copytree(REPO / "example_projects" / "wine-pipeline", project)
    run = mlrun("run", str(project), "-e", "pipeline", "-j", "2", "--json", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    workflow_id = json.loads(run.stdout)["run_id"]
    record = json.loads(cli("runs", "show", workflow_id, "--json", check=True).stdout)
    trains = ["train[alpha=0.01]", "train[alpha=0.1]", "train[alpha=1.0]"]
    assert record["outputs"]["steps"]["evaluate"]["needs"] == trains  # the graph's edges
    assert record["outputs"]["steps"]["download"]["needs"] == []
    opened = tmp_path / "opened.txt"
    fake_browser = tmp_path / "browser.sh"
    fake_browser.write_text(f'#!/bin/sh\necho "$1" > {opened}\n')
    fake_browser.chmod(0o755)
    out = tmp_path / "out" / "pipeline.html"
    out.parent.mkdir()
    result = mlrun(
        "report", workflow_id[:10], "-o", str(out), "--open",
        cwd=tmp_path, env={**os.environ, "BROWSER": str(fake_browser)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"report written to {out} (")
    assert result.stdout.endswith(": 6 runs, 4 charts, 1 workflow graph\n")
    assert opened.read_text().strip() == out.as_uri()
    with ChromiumPage(executable, tmp_path / "profile", 1280, 1000) as page:
        open_report(page, out)
        charts = {c["metric"]: c for c in page.evaluate(CHARTS)}
        assert set(charts) == {"rows", "train_rmse", "test_rmse", "best_rmse"}
        curve_chart = charts["train_rmse"]
        assert curve_chart["traces"] == curve_chart["drawn"] == 3  # one line per train step
        points = page.evaluate(
            "Array.from(document.querySelectorAll('div.chart'))"
            ".find(d => d.dataset.metric === 'train_rmse').data.map(t => t.x.length)"
        )
        assert points == [61, 61, 61]  # steps 0..60 of each run
        nodes = page.evaluate(NODES)
        assert [(n["name"], n["status"]) for n in nodes] == [
            ("download", "finished"),
            ("prepare", "finished"),
            ("train[alpha=0.01]", "finished"),
            ("train[alpha=0.1]", "finished"),
            ("train[alpha=1.0]", "finished"),
            ("evaluate", "finished"),
        ]
        assert page.evaluate("document.querySelectorAll('svg.flow path.edge').length") == 7
        assert page.errors == []
        assert_offline(page, out)
        shot(page, tmp_path, "pipeline.png")
