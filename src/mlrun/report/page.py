"""The report page: one HTML document with everything inline (styles, plotly.js, the
figures, the workflow graphs), so that it opens offline and can be mailed or archived
as one file. Only formatting happens here; every text from a run record is escaped,
and the figures travel as JSON that cannot end their <script> element."""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Mapping
from html import escape
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote

from mlrun import __version__
from mlrun.comparing.table import INFO, METRIC, Cell, Column, Comparison
from mlrun.report import svg
from mlrun.report.charts import CONFIG, Chart
from mlrun.report.flow import Flow
from mlrun.report.series import MAX_POINTS
from mlrun.tracking.model import Run
from mlrun.util.redact import redact_uri
from mlrun.util.texttable import duration, size_text, timestamp

MAX_ARTIFACT_LINKS = 30  # per run; the rest are in its artifacts directory
# The page's style sheet and script, inlined into every page.
_STYLE_FILE = Path(__file__).with_name("page.css")
_SCRIPT_FILE = Path(__file__).with_name("page.js")


class Page(NamedTuple):
    title: str  # what was selected: "experiment demo", "workflow train (run 1a2b...)"
    runs: list[Run]  # the rows, as the comparison ordered them
    labels: Mapping[str, str]  # run id -> how the page names the run
    colours: Mapping[str, str]  # run id -> its line colour
    comparison: Comparison
    charts: list[Chart]
    flows: list[Flow]
    store_uri: str


def render(page: Page, output: Path, plotly_js: str) -> str:
    """The whole document; links to run files are relative to `output`'s directory when
    the files are below it, file:// URIs otherwise."""
    base = output.parent.absolute()
    body = [_header(page)]
    body += [_flow(flow, i) for i, flow in enumerate(page.flows)]
    body.append(_table(page))
    body.append(_charts(page))
    body.append(_runs(page, base))
    figures = "[" + ",".join(c.figure for c in page.charts) + "]"
    config = _json_text(CONFIG)
    return "".join(
        [
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>mlrun report: {escape(page.title)}</title>",
            f"<style>{_STYLE_FILE.read_text()}</style>",
            f"<script>{_inline_script(plotly_js)}</script>\n</head><body>",
            *body,
            f'<script type="application/json" id="mlrun-figures">{_script_safe(figures)}</script>',
            f"<script>const MLRUN_PLOTLY_CONFIG = {config};\n{_SCRIPT_FILE.read_text()}</script>",
            "</body></html>\n",
        ]
    )


def _header(page: Page) -> str:
    charts = len(page.charts)
    what = f"{len(page.runs)} run{'s' * (len(page.runs) != 1)}, {charts} chart{'s' * (charts != 1)}"
    return (
        f"<header><h1>mlrun report: {escape(page.title)}</h1>"
        f'<p class="sub">{what} &middot; generated {escape(timestamp(time.time()))} by mlrun '
        f"{escape(__version__)} from {escape(redact_uri(page.store_uri))}</p>"
        '<nav><a href="#comparison">comparison</a> <a href="#metrics">metrics</a> '
        '<a href="#runs">runs and files</a>'
        + (' <a href="#workflow-0">workflow</a>' if page.flows else "")
        + "</nav></header>"
    )


def _flow(flow: Flow, index: int) -> str:
    record = flow.record
    took = duration(record.end_time - record.start_time) if record.end_time else "running"
    legend = "".join(
        f'<span class="state" style="color:{stroke};background:{fill};border-color:{stroke}">'
        f"{escape(state)}</span>"
        for state, (stroke, fill) in svg.COLOURS.items()
        if any(n.status == state for n in flow.nodes)
    )
    return (
        f'<section class="workflow" id="workflow-{index}"><h2>workflow {escape(flow.name)}</h2>'
        f'<p class="sub">run {escape(record.run_id)} &middot; {escape(record.status)}'
        f" &middot; {escape(took)} &middot; {len(flow.nodes)} steps</p>"
        f'<p class="legend">{legend}</p><div class="scroll">{svg.draw(flow)}</div></section>'
    )


def _table(page: Page) -> str:
    comp = page.comparison
    # The run column names the run (its name, step or short id): no run_name column.
    shown = [j for j, c in enumerate(comp.columns) if (c.kind, c.key) != (INFO, "run_name")]
    heads = "".join(
        f'<th class="{c.kind}" title="{escape(_kind_title(c))}">'
        f"{escape('run' if (c.kind, c.key) == (INFO, 'run_id') else c.label)}</th>"
        for c in (comp.columns[j] for j in shown)
    )
    body = []
    for run, row in zip(comp.runs, comp.rows, strict=True):
        cells = "".join(_cell(comp.columns[j], row[j], run, page) for j in shown)
        body.append(f'<tr data-run="{escape(run.run_id)}">{cells}</tr>')
    same = ""
    if comp.same:
        names = ", ".join(escape(c.label) for c in comp.same)
        same = f'<p class="note">The same in every run (not shown): {names}.</p>'
    return (
        '<section id="comparison"><h2>Comparison</h2>'
        '<p class="note">Click a column heading to sort by it.</p>'
        f'<div class="scroll"><table class="compare"><thead><tr>{heads}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>{same}</section>"
    )


def _kind_title(column: Column) -> str:
    if column.kind == METRIC:
        return f"metric {column.key} ({column.agg or 'last'} value)"
    return f"{column.kind} {column.key}"


def _cell(column: Column, value: Cell, run: Run, page: Page) -> str:
    if column.kind == INFO and column.key == "run_id":
        swatch = f'<span class="swatch" style="background:{page.colours[run.run_id]}"></span>'
        label = escape(page.labels[run.run_id])
        return (
            f'<td class="text" data-sort="{label}" title="{label}">{swatch}'
            f'<a href="#run-{escape(run.run_id)}">{label}</a>'
            f'<br><code class="id">{escape(run.run_id[:12])}</code></td>'
        )
    if column.kind == INFO and column.key == "duration":
        seconds = value if isinstance(value, float) else None
        return f'<td class="num" data-sort="{seconds or 0}">{escape(duration(seconds))}</td>'
    if column.kind == INFO and column.key == "status":
        return f'<td class="status {escape(str(value))}">{escape(str(value))}</td>'
    if isinstance(value, float):
        shown = f"{value:.6g}" if math.isfinite(value) else str(value)
        return f'<td class="num" data-sort="{value if math.isfinite(value) else ""}">{shown}</td>'
    if value is None:
        return '<td class="missing" data-sort="">&ndash;</td>'
    text = escape(str(value))
    return f'<td class="text" data-sort="{text}" title="{text}">{text}</td>'


def _charts(page: Page) -> str:
    if not page.charts:
        return (
            '<section id="metrics"><h2>Metrics over steps</h2>'
            '<p class="note">No run logged a metric.</p></section>'
        )
    thinned = sum(c.thinned for c in page.charts)
    note = ""
    if thinned:
        note = (
            f'<p class="note thinned">{thinned} line{"s" * (thinned != 1)} with more than'
            f" {MAX_POINTS} values are drawn from {MAX_POINTS} of them: the first, the last"
            " and the lowest and highest value of each stretch of steps (every spike stays"
            "). The comparison table uses every value.</p>"
        )
    divs = "".join(
        f'<div class="chart" id="chart-{i}" data-metric="{escape(c.metric)}" '
        f'data-lines="{c.lines}"></div>'
        for i, c in enumerate(page.charts)
    )
    return (
        '<section id="metrics"><h2>Metrics over steps</h2>'
        '<p class="note">One line per run; click a name in a legend to hide it,'
        f" double-click to show only it.</p>{note}"
        f'<div class="charts">{divs}</div></section>'
    )


def _runs(page: Page, base: Path) -> str:
    parts = []
    for run in page.runs:
        swatch = f'<span class="swatch" style="background:{page.colours[run.run_id]}"></span>'
        files = [_file_link(name, path, base) for name, path in sorted(run.log_paths.items())]
        links = " ".join(files) if files else '<span class="missing">no logs recorded</span>'
        art_dir = Path(run.run_dir) / "artifacts"
        artifacts = sorted(run.artifacts, key=lambda a: a.path)
        items = "".join(
            f"<li>{_file_link(a.path, str(art_dir / a.path), base)}"
            f' <span class="size">{size_text(a.size)}</span></li>'
            for a in artifacts[:MAX_ARTIFACT_LINKS]
        )
        more = len(artifacts) - MAX_ARTIFACT_LINKS
        if more > 0:
            folder = _file_link("the artifacts directory", str(art_dir), base)
            items += f"<li>and {more} more in {folder}</li>"
        arts = f"<ul>{items}</ul>" if items else '<p class="missing">no artifacts</p>'
        parts.append(
            f'<div class="run" id="run-{escape(run.run_id)}"><h3>{swatch}'
            f"{escape(page.labels[run.run_id])} "
            f'<span class="status {escape(run.status)}">{escape(run.status)}</span></h3>'
            f'<p><code class="id">{escape(run.run_id)}</code> &middot; experiment '
            f"{escape(run.experiment)} &middot; entry point {escape(run.entry_point)} &middot; "
            f"started {escape(timestamp(run.start_time))}</p>"
            f"<p>logs: {links} &middot; {_file_link('run directory', run.run_dir, base)}</p>"
            f"{arts}</div>"
        )
    return f'<section id="runs"><h2>Runs and their files</h2>{"".join(parts)}</section>'


def _file_link(text: str, path: str, base: Path) -> str:
    """A link to a run's file: relative when it is below the page's directory."""
    if not path:
        return f'<span class="missing">{escape(text)}</span>'
    target = Path(path)
    exists = target.exists()
    try:
        href = (
            quote(os.path.relpath(target, base).replace(os.sep, "/"))
            if target.is_relative_to(base)
            else target.as_uri()
        )
    except ValueError:  # not absolute: as recorded
        href = quote(path)
    title = escape(str(target) + ("" if exists else " (missing)"))
    cls = "" if exists else ' class="gone"'
    return f'<a href="{escape(href)}" title="{title}"{cls}>{escape(text)}</a>'


def _inline_script(js: str) -> str:
    """`</script` (in any case) would end the element early; `<\\/script` means the same
    inside JS strings, regular expressions and comments."""
    return re.sub(r"</(script)", r"<\\/\1", js, flags=re.IGNORECASE)


def _json_text(value: object) -> str:
    import json

    return _script_safe(json.dumps(value))


def _script_safe(json_text: str) -> str:
    """JSON that can sit inside <script> as it is: `<`, `>` and `&` only occur inside
    JSON strings, where their \\u escapes mean the same."""
    return json_text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
