"""One interactive chart per metric (plotly, the `report` extra): the metric over steps,
one line per run, in the run's colour. The only module that imports plotly, and only
when a report is made.

A metric every run logged once is drawn as bars (one per run) rather than as lines of
one point. Texts from run records (run and metric names) reach plotly with `&`, `<` and
`>` escaped: plotly reads a few tags in its texts (<b>, <a href>...) and shows &lt;, &gt;
and &amp; as the characters they stand for, so a name is shown as it was written, never
read as markup."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any, NamedTuple

from mlrun.errors import NotAvailableError
from mlrun.report.series import Series
from mlrun.report.text import cut

PIP_HINT = "pip install 'mlrun[report]'"
# Run colours (a qualitative palette for many lines); a run keeps its colour in every
# chart and in the table.
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
    "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39",
    "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363",
)  # fmt: skip
# Longer names are cut in titles, axes and legends (the table has them whole).
TITLE_CHARS, AXIS_CHARS, LEGEND_CHARS = 60, 40, 32
MARKERS_UP_TO = 60  # points per line drawn with markers; longer lines are lines only
HOVER = "%{y:.6g}<extra>%{fullData.name}</extra>"  # the value, and the run's name
CONFIG = {"displaylogo": False, "responsive": True, "showLink": False}


class Chart(NamedTuple):
    metric: str
    figure: str  # plotly's figure as JSON: data (one trace per run) and layout
    lines: int
    thinned: int  # how many of its lines were thinned


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def plotly_js() -> str:
    """plotly.js, to be inlined in the page; NotAvailableError without the extra."""
    try:
        from plotly.offline import get_plotlyjs
    except ImportError as exc:
        missing = exc.name or "plotly"
        dependency = "" if missing.split(".")[0] == "plotly" else f" (its dependency {missing})"
        raise NotAvailableError(
            f"mlrun report draws its charts with plotly, which is not installed{dependency}.",
            hint=f"install the report extra: {PIP_HINT}",
        ) from None
    return str(get_plotlyjs())


def charts(
    series: Mapping[str, Sequence[Series]],
    labels: Mapping[str, str],
    colours: Mapping[str, str],
) -> list[Chart]:
    """One Chart per metric key, in the order of `series`.

    The figures are plotly's JSON written directly (traces as plain mappings, the
    plotly_white template from plotly): building them through plotly.graph_objects
    validates every point in Python, 15 times slower for 250,000 points."""
    import plotly.io as pio
    from plotly.io.json import to_json_plotly

    template = pio.templates["plotly_white"].to_plotly_json()
    out = []
    for key, lines in series.items():
        title = escape(cut(key, TITLE_CHARS), quote=False)
        single = all(len(s.steps) == 1 for s in lines)
        layout = {
            "template": template,
            "title": {"text": title},
            "xaxis": {"title": {"text": "run (one value each)" if single else "step"}},
            "yaxis": {"title": {"text": escape(cut(key, AXIS_CHARS), quote=False)}},
            "height": 380,
            "margin": {"l": 60, "r": 20, "t": 50, "b": 45},
            "legend": {"font": {"size": 11}},
            "hovermode": "closest",
            "showlegend": True,
        }
        traces = [_trace(s, labels[s.run_id], colours[s.run_id], single) for s in lines]
        figure = to_json_plotly({"data": traces, "layout": layout})
        out.append(Chart(key, figure, len(lines), sum(s.thinned for s in lines)))
    return out


def _trace(s: Series, label: str, colour: str, single: bool) -> dict[str, Any]:
    name = escape(cut(label, LEGEND_CHARS), quote=False)
    if single:  # one value per run: a bar each, its step in the hover text
        return {
            "type": "bar",
            "x": [name],
            "y": s.values,
            "name": name,
            "meta": s.run_id,
            "marker": {"color": colour},
            "customdata": s.steps,
            "hovertemplate": f"step %{{customdata}}<br>{HOVER}",
        }
    return {
        "type": "scatter",
        "x": s.steps,
        "y": s.values,
        "name": name,
        "meta": s.run_id,
        "mode": "lines+markers" if len(s.steps) <= MARKERS_UP_TO else "lines",
        "line": {"color": colour, "width": 1.6},
        "marker": {"size": 5},
        "hovertemplate": f"step %{{x}}<br>{HOVER}",
    }
