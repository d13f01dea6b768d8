"""`mlrun runs list|show|logs`: reading the run store."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from mlrun.cli.output import dump_json, duration, table, timestamp
from mlrun.tracking.status import KILLED, RUNNING, STATUSES

_tracking_option = click.option(
    "--tracking-uri",
    default=None,
    envvar="MLRUN_TRACKING_URI",
    help="Run store: a SQLite file path [default: the embedded store].",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def runs() -> None:
    """List and inspect recorded runs."""


@runs.command("list")
@click.option("--experiment", default=None, help="Only runs of this experiment.")
@click.option(
    "--status",
    default=None,
    type=click.Choice(STATUSES, case_sensitive=False),
)
@click.option("--limit", default=20, show_default=True, type=click.IntRange(0, 2**63 - 1))
@click.option("--json", "as_json", is_flag=True)
@click.option("-q", "--quiet", is_flag=True, help="Only the run ids, one per line.")
@_tracking_option
def list_runs(
    experiment: str | None,
    status: str | None,
    limit: int,
    as_json: bool,
    quiet: bool,
    tracking_uri: str | None,
) -> int:
    """Newest runs first."""
    from mlrun.tracking import open_store

    store = open_store(tracking_uri)
    found = store.search_runs(
        experiment=experiment, status=status.upper() if status else None, limit=limit
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
        rows.append(
            [
                r.run_id[:12],
                status_text,
                "-" if r.exit_code is None else str(r.exit_code),
                r.experiment,
                r.entry_point,
                timestamp(r.start_time),
                duration(end - r.start_time if end is not None else None),
                _short(r.source_uri),
            ]
        )
    if not rows:
        click.echo("no runs", err=True)
        return 0
    click.echo(
        table(
            [
                "RUN ID",
                "STATUS",
                "EXIT",
                "EXPERIMENT",
                "ENTRY POINT",
                "STARTED",
                "DURATION",
                "SOURCE",
            ],
            rows,
        )
    )
    return 0


@runs.command("show")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True)
@_tracking_option
def show(run_id: str, as_json: bool, tracking_uri: str | None) -> int:
    """Everything recorded about one run (full id or a unique prefix)."""
    import json

    from mlrun.tracking import open_store

    r = open_store(tracking_uri).get_run(run_id)
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
        ("run dir", r.run_dir),
        ("logs", r.log_paths.get("combined", "-")),
    ]
    if r.parent_run_id:
        lines.append(("parent run", r.parent_run_id))
    width = max(len(k) for k, _ in lines)
    for key, value in lines:
        click.echo(f"{key.ljust(width)}  {value}")
    for title, mapping in (
        ("provenance", r.source),
        ("parameters", r.params),
        ("tags", r.tags),
        ("outputs", r.outputs),
    ):
        if title == "provenance":  # unset fields (no tag, no subdir...) say nothing
            mapping = {k: v for k, v in mapping.items() if v not in (None, "", {}, [])}
        if mapping:
            click.echo(f"{title}:")
            for key, value in mapping.items():
                shown = value if isinstance(value, str) else json.dumps(value)
                click.echo(f"  {key}: {shown}")
    if r.metrics:
        click.echo("metrics (last value):")
        last = {}
        for m in r.metrics:
            last[m.key] = m
        for key, m in last.items():
            click.echo(f"  {key}: {m.value:g} (step {m.step})")
    if r.artifacts:
        click.echo("artifacts:")
        for a in r.artifacts:
            click.echo(f"  {a.path} ({a.size} bytes)")
    return 0


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


def _short(text: str, width: int = 48) -> str:
    return text if len(text) <= width else "..." + text[-(width - 3) :]


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)
