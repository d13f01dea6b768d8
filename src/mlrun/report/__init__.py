"""`mlrun report`: one self-contained HTML page about a set of runs or a workflow run --
the comparison table (comparing/table.py), a chart per metric over steps (charts.py,
plotly: the `report` extra, imported only here), the workflow graph with each step's
state and time (flow.py read from the store, svg.py drawn here), links to each run's
logs and artifacts (page.py, which writes it all into one document)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from mlrun.comparing.select import select_runs
from mlrun.errors import UsageError
from mlrun.report.flow import Flow, is_workflow, read_flow
from mlrun.tracking.base import RunStore
from mlrun.tracking.model import Run


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
    workflow: str | None = None,
    status: str | None = None,
    limit: int | None = None,
    best_by: str | None = None,
    descending: bool = False,
) -> Selection:
    """The runs a report shows, chosen as `mlrun runs compare` chooses them (one way at
    a time), and the workflows whose graphs it draws: `workflow`'s, or each workflow run
    among `run_ids`, stands for its steps (a cached step: the run that computed it); an
    experiment's workflow records are left out (their steps are runs of it too).
    `limit` and `best_by` pick an experiment's page as for runs compare."""
    if workflow is not None and not run_ids and experiment is None:
        record = store.get_run(workflow)
        if not is_workflow(record):
            raise UsageError(
                f"the run {record.run_id} is not a workflow run.",
                hint="--workflow takes the id of the run `mlrun run -e <workflow>` recorded;"
                " give a plain run's id without --workflow",
            )
        found = [record]
    else:
        found = select_runs(
            store,
            run_ids=run_ids,
            experiment=experiment,
            workflow=workflow,
            status=status,
            limit=limit,
            best_by=best_by,
            descending=descending,
            command="report",
        )
    records = [r for r in found if is_workflow(r)] if experiment is None else []
    flows = [read_flow(store, r) for r in records]
    runs: dict[str, Run] = {}
    labels: dict[str, str] = {}
    for run in found:
        if not is_workflow(run):
            runs.setdefault(run.run_id, run)
    for flow in flows:  # step names, with their workflow's when there are several
        for node in flow.nodes:
            if node.run is None or node.run.run_id in runs:
                continue
            if status is None or node.run.status == status:
                runs[node.run.run_id] = node.run
                labels[node.run.run_id] = (
                    f"{flow.name}/{node.name}" if len(flows) > 1 else node.name
                )
    if not runs and not flows:
        raise UsageError(
            f"the experiment {experiment!r} holds only workflow records.",
            hint="report a workflow with --workflow RUN_ID",
        )
    titles = [f"workflow {f.name} (run {f.record.run_id[:12]})" for f in flows]
    if experiment is not None:
        titles.append(f"experiment {experiment}")
    elif len(runs) > len(labels):
        plain = len(runs) - len(labels)
        titles.append(f"{plain} run{'s' * (plain != 1)}")
    return Selection(" + ".join(titles), list(runs.values()), _labels(runs, labels), flows)


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
