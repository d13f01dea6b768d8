"""`mlrun report`: one self-contained HTML page about a set of runs or a workflow run --
the comparison table (comparing/table.py), a chart per metric over steps (charts.py,
plotly: the `report` extra, imported only here), the workflow graph with each step's
state and time (flow.py read from the store, svg.py drawn here), links to each run's
logs and artifacts (page.py, which writes it all into one document)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from mlrun.errors import UsageError
from mlrun.report.flow import Flow, is_workflow, read_flow
from mlrun.tracking.base import RunStore
from mlrun.tracking.model import Run

DEFAULT_OUTPUT = "mlrun-report.html"
DEFAULT_LIMIT = 50  # runs of an experiment, newest first


class Selection(NamedTuple):
    title: str
    runs: list[Run]  # table rows and chart lines, in this order (before sorting)
    labels: dict[str, str]  # run id -> its name on the page
    flows: list[Flow]


class Written(NamedTuple):
    path: Path
    size: int  # bytes
    runs: int
    charts: int
    graphs: int
    thinned: int  # lines drawn from fewer points than were logged


def select(
    store: RunStore,
    run_ids: Sequence[str] = (),
    experiment: str | None = None,
    limit: int | None = DEFAULT_LIMIT,
) -> Selection:
    """The runs a report shows: the given runs (a workflow run stands for its steps, and
    its graph is drawn), then the newest `limit` runs of `experiment` (workflow records
    left out: their steps are runs of the experiment too)."""
    if not run_ids and experiment is None:
        raise UsageError(
            "mlrun report needs runs to report on.",
            hint="give run ids (a workflow run's id reports its steps), or --experiment NAME",
        )
    runs: dict[str, Run] = {}
    labels: dict[str, str] = {}
    flows: list[Flow] = []
    titles: list[str] = []
    given = [store.get_run(run_id) for run_id in run_ids]
    several = sum(is_workflow(run) for run in given) > 1  # step names get their workflow's
    for run in given:
        if not is_workflow(run):
            runs.setdefault(run.run_id, run)
            continue
        flow = read_flow(store, run)
        flows.append(flow)
        titles.append(f"workflow {flow.name} (run {run.run_id[:12]})")
        for node in flow.nodes:
            if node.run is not None and node.run.run_id not in runs:
                runs[node.run.run_id] = node.run
                labels[node.run.run_id] = f"{flow.name}/{node.name}" if several else node.name
    if experiment is not None:
        found = store.search_runs(experiment=experiment, limit=limit)
        if not found:
            known = store.list_experiments()
            raise UsageError(
                f"the experiment {experiment!r} has no runs in {store.uri}.",
                hint=f"experiments: {', '.join(known)}" if known else "the store has no runs yet",
            )
        titles.append(f"experiment {experiment}")
        for run in found:
            if not is_workflow(run):
                runs.setdefault(run.run_id, run)
    plain = len(runs) - len(labels)
    if plain and len(titles) < len(run_ids) + (experiment is not None):
        titles.append(f"{plain} run{'s' * (plain != 1)}")
    return Selection(
        " + ".join(titles) or "runs", list(runs.values()), _labels(runs, labels), flows
    )


def _labels(runs: dict[str, Run], given: dict[str, str]) -> dict[str, str]:
    """A name per run: its step name in a workflow, else its run name, else its short
    id; a name two runs share gets the short id added."""
    names = {rid: given.get(rid) or run.run_name or rid[:12] for rid, run in runs.items()}
    counts: dict[str, int] = {}
    for name in names.values():
        counts[name] = counts.get(name, 0) + 1
    return {
        rid: name if counts[name] == 1 or name == rid[:12] else f"{name} ({rid[:8]})"
        for rid, name in names.items()
    }


def write_report(
    store: RunStore,
    selection: Selection,
    output: Path,
    *,
    agg: str | Mapping[str, str] | None = None,
    show_all: bool = False,
    sort_by: str | None = None,
    descending: bool = False,
) -> Written:
    """Write the page to `output` (atomically: a reader never sees half of it)."""
    from mlrun.comparing.table import build_comparison
    from mlrun.report.charts import charts, colour, plotly_js
    from mlrun.report.page import Page, render
    from mlrun.report.series import series_of
    from mlrun.util.files import atomic_write

    js = plotly_js()  # first: without the extra, nothing else is done
    comparison = build_comparison(
        selection.runs, agg=agg, show_all=show_all, sort_by=sort_by, descending=descending
    )
    colours = {run.run_id: colour(i) for i, run in enumerate(selection.runs)}
    drawn = charts(series_of(comparison.runs), selection.labels, colours)
    page = Page(
        selection.title,
        comparison.runs,
        selection.labels,
        colours,
        comparison,
        drawn,
        selection.flows,
        store.uri,
    )
    html = render(page, output, js).encode()
    try:
        atomic_write(output, html)
    except OSError as exc:
        raise UsageError(
            f"cannot write the report to {output}: {exc.strerror or exc}.",
            hint="choose another file with -o/--output",
        ) from exc
    return Written(
        output,
        len(html),
        len(page.runs),
        len(drawn),
        len(selection.flows),
        sum(c.thinned for c in drawn),
    )
