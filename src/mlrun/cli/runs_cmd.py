"""`mlrun runs list|show|logs|delete|gc`: reading the run store, deleting runs and then
their files."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mlrun.cli.compare_options import selection_options, table_options
from mlrun.cli.output import dump_json, duration, size_text, table, timestamp
from mlrun.tracking.status import KILLED, RUNNING, STATUSES

if TYPE_CHECKING:
    from mlrun.tracking.model import Metric

_tracking_option = click.option(
    "--tracking-uri",
    default=None,
    envvar="MLRUN_TRACKING_URI",
    help="Run store: a SQLite file path [default: the embedded store].",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def runs() -> None:
    """List and inspect recorded runs."""
    from mlrun.cli.output import TerminalReporter
    from mlrun.recording import settle

    settle(TerminalReporter())  # runs whose mlrun died: their kept outcome first


@runs.command("list")
@click.option("--experiment", default=None, help="Only runs of this experiment.")
@click.option(
    "--status",
    default=None,
    type=click.Choice(STATUSES, case_sensitive=False),
)
@click.option("--limit", default=20, show_default=True, type=click.IntRange(0, 2**63 - 1))
@click.option(
    "--metric",
    "metric",
    default=None,
    metavar="NAME",
    help="Add a column with the latest value of this metric.",
)
@click.option(
    "--sort",
    type=click.Choice(["asc", "desc"], case_sensitive=False),
    default=None,
    help="Order by the --metric column instead of newest first (runs without it last).",
)
@click.option("--json", "as_json", is_flag=True)
@click.option("-q", "--quiet", is_flag=True, help="Only the run ids, one per line.")
@_tracking_option
def list_runs(
    experiment: str | None,
    status: str | None,
    limit: int,
    metric: str | None,
    sort: str | None,
    as_json: bool,
    quiet: bool,
    tracking_uri: str | None,
) -> int:
    """Newest runs first (or by a metric: `--metric rmse --sort asc`)."""
    from mlrun.errors import UsageError
    from mlrun.tracking import open_store

    if sort is not None and metric is None:
        raise UsageError("--sort orders by a metric: name it with --metric NAME.")
    store = open_store(tracking_uri)
    found = store.search_runs(
        experiment=experiment,
        status=status.upper() if status else None,
        limit=limit,
        order_by_metric=metric if sort is not None else None,
        ascending=(sort or "asc").lower() == "asc",
    )
    if quiet and not as_json:  # for scripts: `mlrun reproduce "$(mlrun runs list -q --limit 1)"`
        for r in found:
            click.echo(r.run_id)
        return 0
    if as_json:
        dump_json([r.to_json() for r in found])
        return 0
    rows = []
    for r in found:
        status_text = r.status
        if r.status == KILLED and r.status_reason and "died" in r.status_reason:
            status_text = "KILLED (mlrun died)"
        end = (
            r.end_time if r.end_time is not None else (time.time() if r.status == RUNNING else None)
        )
        row = [
            r.run_id[:12],
            status_text,
            "-" if r.exit_code is None else str(r.exit_code),
            r.experiment,
            r.entry_point,
            timestamp(r.start_time),
            duration(end - r.start_time if end is not None else None),
        ]
        if metric is not None:
            latest = latest_value(r.metrics, metric)
            row.append("-" if latest is None else f"{latest.value:.6g}")
        rows.append([*row, _short(r.source_uri)])
    if not rows:
        click.echo("no runs", err=True)
        return 0
    headers = ["RUN ID", "STATUS", "EXIT", "EXPERIMENT", "ENTRY POINT", "STARTED", "DURATION"]
    if metric is not None:
        headers.append(metric.upper())
    click.echo(table([*headers, "SOURCE"], rows))
    return 0


@runs.command("compare")
@selection_options
@table_options
@click.option(
    "--transpose/--no-transpose",
    default=None,
    help="One row per parameter and metric, one column per run "
    "[default: when the table is wider than the terminal].",
)
@click.option("--json", "as_json", is_flag=True, help="The table as JSON (see README).")
@click.option("--csv", "as_csv", is_flag=True, help="The table as CSV (RFC 4180).")
@_tracking_option
def compare(
    run_ids: tuple[str, ...],
    experiment: str | None,
    workflow: str | None,
    status: str | None,
    limit: int | None,
    aggs: tuple[str, ...],
    show_all: bool,
    sort_by: str | None,
    desc: bool,
    transpose: bool | None,
    as_json: bool,
    as_csv: bool,
    tracking_uri: str | None,
) -> int:
    """Runs side by side: their parameters and metrics, only where they differ.

    Runs by id (or unique prefix), the newest of an experiment, or the steps of a
    workflow run: `mlrun runs compare 3f2a 9c1e`, `--experiment default --sort -acc`,
    `--workflow 3f2a --agg loss=min`."""
    from mlrun.cli.compare_options import table_request
    from mlrun.comparing import render
    from mlrun.comparing.select import select_runs
    from mlrun.comparing.table import build_comparison
    from mlrun.errors import UsageError
    from mlrun.tracking import open_store

    if as_json and as_csv:
        raise UsageError("--json and --csv are two formats: choose one.")
    request = table_request(aggs, show_all, sort_by, desc)  # bad input fails fast
    with open_store(tracking_uri) as store:
        found = select_runs(
            store,
            run_ids=run_ids,
            experiment=experiment,
            workflow=workflow,
            status=status.upper() if status else None,
            limit=limit,
            best_by=request.best_by,
            descending=request.descending,
        )
    table = build_comparison(
        found,
        agg=request.agg,
        show_all=request.show_all,
        sort_by=request.sort_by,
        descending=request.descending,
    )
    if as_json:
        dump_json(render.to_json(table))
    elif as_csv:
        click.echo(render.to_csv(table), nl=False)
    else:
        click.echo(render.text_table(table, _terminal_width(), transpose))
        if table.same:
            n = len(table.same)
            click.echo(
                f"{n} column{'s' if n > 1 else ''} with the same value in every run left out"
                " (--all shows them).",
                err=True,
            )
    return 0


def _terminal_width() -> int | None:
    """The width to fit: $COLUMNS, else the terminal's; None when stdout is no terminal."""
    import os
    import shutil

    if os.environ.get("COLUMNS", "").isdigit() or sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return None


@runs.command("show")
@click.argument("run_id")
@click.option("--history", is_flag=True, help="Every value of every metric, step by step.")
@click.option("--json", "as_json", is_flag=True)
@_tracking_option
def show(run_id: str, history: bool, as_json: bool, tracking_uri: str | None) -> int:
    """Everything recorded about one run (full id or a unique prefix)."""
    import json

    from mlrun.tracking import open_store

    store = open_store(tracking_uri)
    r = store.get_run(run_id)
    if as_json:
        dump_json(r.to_json())
        return 0
    command = r.command if isinstance(r.command, str) else " ".join(_quote(a) for a in r.command)
    lines = [
        ("run id", r.run_id),
        ("run name", r.run_name or "-"),
        ("experiment", r.experiment),
        ("status", r.status + (f" ({r.status_reason})" if r.status_reason else "")),
        ("exit code", "-" if r.exit_code is None else str(r.exit_code)),
        ("started", timestamp(r.start_time)),
        ("ended", timestamp(r.end_time)),
        ("duration", duration(r.end_time - r.start_time if r.end_time else None)),
        ("source", f"{r.source_uri} ({r.source_type})"),
        ("entry point", r.entry_point),
        ("command", f"{command}  [{r.command_mode}]"),
        ("environment", r.env_kind + (f" {r.env.get('key')}" if r.env.get("key") else "")),
        ("host / user", f"{r.host} / {r.user} (pid {r.pid})"),
        ("mlrun", r.mlrun_version),
        ("run dir", r.run_dir + _not_here(r.run_dir)),
        ("logs", r.log_paths.get("combined", "-")),
    ]
    backend = r.tags.get("mlrun.backend")
    if backend:  # where it ran, from the backend's own tags (backends/slurm: mlrun.slurm.*)
        prefix = f"mlrun.{backend}."
        said = [
            f"{k[len(prefix) :]}={v}" for k, v in sorted(r.tags.items()) if k.startswith(prefix)
        ]
        lines.append(("backend", backend + (f" ({', '.join(said)})" if said else "")))
    if r.parent_run_id:
        lines.append(("parent run", r.parent_run_id))
    where = r.mlflow()
    if where:
        uri, exp = where.get("tracking_uri", "-"), where.get("experiment_id", "-")
        mlflow_id = where.get("run_id", "-")
        lines.append(("mlflow run", f"{mlflow_id} in {uri} (experiment {exp})"))
        if uri.startswith(("http://", "https://")):
            lines.append(("mlflow ui", f"{uri.rstrip('/')}/#/experiments/{exp}/runs/{mlflow_id}"))
    width = max(len(k) for k, _ in lines)
    for key, value in lines:
        click.echo(f"{key.ljust(width)}  {value}")
    for title, mapping in (
        ("provenance", r.source),
        ("parameters", r.params),
        ("tags", r.user_tags()),
        ("system tags", r.system_tags()),
        ("outputs", r.outputs),
    ):
        if title == "provenance":  # unset fields (no tag, no subdir...) say nothing
            mapping = {k: v for k, v in mapping.items() if v not in (None, "", {}, [])}
        if mapping:
            click.echo(f"{title}:")
            for key, value in mapping.items():
                if isinstance(value, str):
                    shown = value
                elif isinstance(value, list) and all(isinstance(v, str) for v in value):
                    shown = ", ".join(value)  # e.g. the files that made the tree dirty
                else:
                    shown = json.dumps(value)
                click.echo(f"  {key}: {shown}")
    if r.metrics:
        _show_metrics(r.metrics, history)
    if r.models:
        click.echo("models:")
        for model in r.models:
            flavors = ", ".join(model.flavors) or "no flavors"
            click.echo(f"  {model.name or '.'} [{flavors}] at {model.path or '.'}")
    if r.artifacts:
        click.echo("artifacts:")
        for a in r.artifacts:
            click.echo(f"  {a.path} ({a.size} bytes)")
    _show_workdir_files(r.env)
    children = store.search_runs(parent_run_id=r.run_id, limit=None)
    if children:
        click.echo("child runs:")
        for child in reversed(children):
            click.echo(f"  {child.run_id[:12]}  {child.status:<8}  {child.run_name or '-'}")
    return 0


def _not_here(run_dir: str) -> str:
    """Why a run's files cannot be read on this machine (a shared store: the run was
    made on another machine without a shared artifact root), or ''."""
    from mlrun.tracking.artifacts import unreadable

    problem = unreadable(run_dir)
    return f"  (not here: {problem})" if problem else ""


def _show_metrics(metrics: list[Metric], history: bool) -> None:
    """Latest value of each metric and a summary of its history, or every value."""
    by_key: dict[str, list[Metric]] = {}
    for m in metrics:
        by_key.setdefault(m.key, []).append(m)
    click.echo("metrics:" if history else "metrics (latest value):")
    for key, values in by_key.items():
        if history:
            click.echo(f"  {key}:")
            for m in sorted(values, key=lambda m: (m.step, m.timestamp)):
                click.echo(f"    step {m.step:<6} {m.value:<14.6g} {timestamp(m.timestamp)}")
            continue
        latest = latest_value(values, key)
        assert latest is not None
        line = f"  {key}: {latest.value:g} (step {latest.step})"
        if len(values) > 1:
            numbers = [m.value for m in values]
            line += f", {len(values)} values, min {min(numbers):g}, max {max(numbers):g}"
        click.echo(line)


def latest_value(metrics: list[Metric], key: str) -> Metric | None:
    """MLflow's latest value: the highest step, then the latest timestamp."""
    found = [m for m in metrics if m.key == key]
    return max(found, key=lambda m: (m.step, m.timestamp)) if found else None


def _show_workdir_files(env: dict[str, Any], most: int = 20) -> None:
    """What a container's run left in its working directory (docker envs)."""
    files = env.get("workdir_files") or []
    if not files:
        return
    click.echo("left in the working directory:")
    for entry in files[:most]:
        size = f", {entry['size']} bytes" if "size" in entry else ""
        click.echo(f"  {entry['path']} ({entry['change']}{size})")
    more = len(files) - most + int(env.get("workdir_files_omitted") or 0)
    if more > 0:
        click.echo(f"  ... and {more} more (`mlrun runs show --json`)")


@runs.command("logs")
@click.argument("run_id")
@click.option("-f", "--follow", is_flag=True, help="Keep printing until the run ends.")
@click.option(
    "--stream",
    type=click.Choice(["combined", "stdout", "stderr"]),
    default="combined",
    show_default=True,
)
@_tracking_option
def logs(run_id: str, follow: bool, stream: str, tracking_uri: str | None) -> int:
    """Print a run's captured output."""
    from mlrun.errors import UsageError
    from mlrun.tracking import open_store

    store = open_store(tracking_uri)
    r = store.get_run(run_id)
    path = Path(r.log_paths.get(stream, ""))
    if not path.is_file():
        raise UsageError(f"run {r.run_id} has no {stream} log at {path}")
    out = sys.stdout.buffer
    with path.open("rb") as handle:
        while True:
            chunk = handle.read(65536)
            if chunk:
                out.write(chunk)
                out.flush()
                continue
            if not follow or store.get_run(r.run_id).status != RUNNING:
                # One last read: the run may have written its final lines meanwhile.
                rest = handle.read()
                out.write(rest)
                out.flush()
                return 0
            time.sleep(0.2)


@runs.command("delete")
@click.argument("run_ids", nargs=-1, required=True, metavar="RUN_ID...")
@click.option("--json", "as_json", is_flag=True)
@_tracking_option
def delete(run_ids: tuple[str, ...], as_json: bool, tracking_uri: str | None) -> int:
    """Delete runs' records (their files go with `mlrun runs gc`).

    RUN_ID: full ids or unique prefixes. A RUNNING run is refused (exit 2), and nothing
    is deleted unless every id names a run that may be deleted."""
    from mlrun.tracking import open_store
    from mlrun.tracking.base import running_not_deleted

    store = open_store(tracking_uri)
    found = [store.get_run(run_id) for run_id in run_ids]  # RunNotFoundError: exit 2
    for r in found:
        if r.status == RUNNING:
            raise running_not_deleted(r.run_id)
    unique = list(dict.fromkeys(r.run_id for r in found))
    for run_id in unique:
        store.delete_run(run_id)
    if as_json:
        dump_json({"deleted": unique})
        return 0
    for run_id in unique:
        click.echo(f"deleted run {run_id}")
    click.echo(
        f"deleted {len(unique)} run{'s' if len(unique) != 1 else ''}; "
        "their files stay until `mlrun runs gc`",
        err=True,
    )
    return 0


@runs.command("gc")
@click.option(
    "--artifact-root",
    default=None,
    metavar="DIR",
    help="The root to clean [default: $MLRUN_ARTIFACT_ROOT, else the store's default].",
)
@click.option(
    "--older-than",
    default="1h",
    show_default=True,
    metavar="AGE",
    help="Only directories unchanged for this long (e.g. 30m, 12h, 2d; 0s: any).",
)
@click.option("--dry-run", is_flag=True, help="List what would be removed; remove nothing.")
@click.option("--json", "as_json", is_flag=True)
@_tracking_option
def gc(
    artifact_root: str | None,
    older_than: str,
    dry_run: bool,
    as_json: bool,
    tracking_uri: str | None,
) -> int:
    """Remove the run directories of runs the store no longer holds.

    Never removes a live run's directory, a directory that names another store as its
    owner, one changed within --older-than (a run starting), or anything a symlink leads
    to. Exit code 0, or 1 when a directory could not be removed."""
    from mlrun.envs.cache.inventory import parse_age
    from mlrun.tracking import gc as collector
    from mlrun.tracking import open_store
    from mlrun.tracking.artifacts import ENV, LocalRoot, check_root, choose

    store = open_store(tracking_uri)
    given = artifact_root or os.environ.get(ENV)
    what = "--artifact-root" if artifact_root else ENV
    root = LocalRoot(check_root(given, what, create=False)) if given else choose(None, store)
    entries = collector.collect(store, root, parse_age(older_than))
    if not dry_run:
        entries = collector.remove(store, entries)
    gone = [e for e in entries if e.action in ("remove", "removed")]
    total = sum(e.size for e in gone)
    failed = any(e.action == "failed" for e in entries)
    if as_json:
        dump_json(
            {
                "artifact_root": root.uri,
                "dry_run": dry_run,
                "count": len(gone),
                "bytes": total,
                "entries": [e.to_json() for e in entries],
            }
        )
        return 1 if failed else 0
    for e in entries:
        verb = {"remove": "would remove"}.get(e.action, e.action)
        size = f"  {e.size} bytes" if e.action in ("remove", "removed") else ""
        click.echo(f"{verb:<13} {e.path}{size}" + ("" if size else f"  ({e.reason})"))
    verb = "would remove" if dry_run else "removed"
    click.echo(
        f"{verb} {len(gone)} run director{'ies' if len(gone) != 1 else 'y'}, {total} bytes "
        f"({size_text(total)}), under {root.uri}",
        err=True,
    )
    return 1 if failed else 0


def _short(text: str, width: int = 48) -> str:
    return text if len(text) <= width else "..." + text[-(width - 3) :]


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)
