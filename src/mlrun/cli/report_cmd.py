"""`mlrun report`: one self-contained HTML page about runs or a workflow run."""

from __future__ import annotations

from pathlib import Path

import click


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("run_ids", nargs=-1, metavar="[RUN_ID]...")
@click.option(
    "--experiment", default=None, metavar="NAME", help="The newest runs of this experiment."
)
@click.option(
    "--limit",
    default=50,
    show_default=True,
    type=click.IntRange(1, 2**63 - 1),
    help="How many runs of --experiment, newest first.",
)
@click.option(
    "-o",
    "--output",
    default="mlrun-report.html",
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The HTML file to write (replaced when it exists).",
)
@click.option("--open", "open_it", is_flag=True, help="Open the report in the web browser.")
@click.option(
    "--agg",
    multiple=True,
    metavar="AGG|METRIC=AGG",
    help="The table's value of a metric: last (default), min or max; for every metric or "
    "one (loss=min). Repeatable.",
)
@click.option(
    "--all", "show_all", is_flag=True, help="Keep the table's columns where every run agrees."
)
@click.option(
    "--sort", "sort_by", default=None, metavar="METRIC", help="Order the runs by a metric."
)
@click.option("--desc", is_flag=True, help="With --sort: highest first.")
@click.option(
    "--tracking-uri",
    default=None,
    envvar="MLRUN_TRACKING_URI",
    help="Run store: a SQLite file path [default: the embedded store].",
)
def report(
    run_ids: tuple[str, ...],
    experiment: str | None,
    limit: int,
    output: Path,
    open_it: bool,
    agg: tuple[str, ...],
    show_all: bool,
    sort_by: str | None,
    desc: bool,
    tracking_uri: str | None,
) -> int:
    """Write one HTML page about runs: the comparison table of their parameters and
    metrics, a chart per metric over steps (one line per run), the workflow graph with
    each step's state and time, and links to each run's logs and artifacts.

    Give run ids (a workflow run's id reports its steps and draws its graph) and/or
    --experiment NAME. The page has everything inline (no network needed to view it).
    Needs the report extra: pip install 'mlrun[report]' (exit code 2 without it)."""
    from mlrun.cli.output import size_text
    from mlrun.comparing.table import parse_agg
    from mlrun.report import select, write_report
    from mlrun.report.charts import plotly_js
    from mlrun.tracking import open_store

    plotly_js()  # without the extra: say so before reading anything
    store = open_store(tracking_uri)
    chosen = select(store, run_ids, experiment, limit)
    written = write_report(
        store,
        chosen,
        output,
        agg=parse_agg(agg) if agg else None,
        show_all=show_all,
        sort_by=sort_by,
        descending=desc,
    )
    graphs = f", {written.graphs} workflow graph{'s' * (written.graphs != 1)}"
    thinned = f" ({written.thinned} long lines thinned)" if written.thinned else ""
    click.echo(
        f"report written to {written.path} ({size_text(written.size)}): {written.runs} run"
        f"{'s' * (written.runs != 1)}, {written.charts} chart{'s' * (written.charts != 1)}"
        f"{thinned}{graphs if written.graphs else ''}"
    )
    if open_it:
        import webbrowser

        if not webbrowser.open(written.path.absolute().as_uri()):
            click.echo(f"mlrun: no web browser found here; open {written.path} yourself", err=True)
    return 0
