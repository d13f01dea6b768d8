"""`mlrun report`: one self-contained HTML page about runs or a workflow run."""

from __future__ import annotations

from pathlib import Path

import click

from mlrun.cli.compare_options import selection_options, table_options


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@selection_options
@table_options
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
    "--tracking-uri",
    default=None,
    envvar="MLRUN_TRACKING_URI",
    help="Run store: a SQLite file path or a postgresql:// URI [default: the embedded store].",
)
def report(
    run_ids: tuple[str, ...],
    experiment: str | None,
    workflow: str | None,
    status: str | None,
    limit: int | None,
    aggs: tuple[str, ...],
    show_all: bool,
    sort_by: str | None,
    desc: bool,
    output: Path,
    open_it: bool,
    tracking_uri: str | None,
) -> int:
    """Write one HTML page about runs: the comparison table of their parameters and
    metrics, a chart per metric over steps (one line per run), the workflow graph with
    each step's state and time, and links to each run's logs and artifacts.

    Runs as `mlrun runs compare` takes them: ids (a workflow run's id stands for its
    steps and draws its graph), --experiment NAME, or --workflow RUN_ID. The page has
    everything inline (no network needed to view it). Needs the report extra:
    pip install 'mlrun[report]' (exit code 2 without it)."""
    from mlrun.cli.compare_options import table_request
    from mlrun.cli.output import size_text
    from mlrun.report import select, write_report
    from mlrun.report.charts import plotly_js
    from mlrun.tracking import open_store

    plotly_js()  # without the extra: say so before reading anything
    request = table_request(aggs, show_all, sort_by, desc)
    with open_store(tracking_uri) as store:
        chosen = select(
            store,
            run_ids,
            experiment,
            workflow,
            status.upper() if status else None,
            limit,
            best_by=request.best_by,
            descending=request.descending,
        )
        written = write_report(store, chosen, output, **request._asdict())
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
