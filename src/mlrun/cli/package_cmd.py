"""`mlrun package`: pack a project, or a recorded run, into one portable file."""

from __future__ import annotations

from pathlib import Path

import click

from mlrun.cli.output import TerminalReporter, dump_json


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("target", metavar="URI|RUN_ID")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE.tar.gz",
    help="The bundle to write (replaced if it exists).",
)
@click.option("--with-wheels", is_flag=True, help="Add the locked packages' wheels (offline).")
@click.option("--with-image", is_flag=True, help="Add the docker_env's image (docker save).")
@click.option("-v", "--version", default=None, help="Git branch, tag or commit (a URI only).")
@click.option("--offline", is_flag=True, help="No network: mirror cache and local wheels only.")
@click.option("--no-lock", is_flag=True, help="Leave the lock out (and make none).")
@click.option(
    "--tracking-uri",
    default=None,
    envvar="MLRUN_TRACKING_URI",
    help="Run store where RUN_ID is recorded [default: the embedded store].",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
@click.pass_context
def package(
    ctx: click.Context,
    target: str,
    output: Path,
    with_wheels: bool,
    with_image: bool,
    version: str | None,
    offline: bool,
    no_lock: bool,
    tracking_uri: str | None,
    as_json: bool,
    quiet: bool,
) -> int:
    """Write one portable file (FILE.tar.gz) holding the project at URI -- or the code,
    lock and parameters of the recorded run RUN_ID -- to run anywhere with
    `mlrun run FILE.tar.gz` (or `mlrun reproduce FILE.tar.gz` for a run).

    A URI that is not an existing path or a URL is taken as a run id (or a unique prefix).
    """
    from mlrun.packaging import PackageRequest
    from mlrun.packaging import package as make_bundle

    reporter = TerminalReporter(
        quiet=quiet or as_json, debug=bool(ctx.obj and ctx.obj.get("debug"))
    )
    summary = make_bundle(
        PackageRequest(
            target=target,
            output=output,
            with_wheels=with_wheels,
            with_image=with_image,
            version=version,
            offline=offline,
            no_lock=no_lock,
            cwd=Path.cwd(),
            tracking_uri=tracking_uri,
        ),
        reporter,
    )
    if as_json:
        dump_json(summary)
        return 0
    lock = summary["lock"] or {}
    parts = [f"{summary['files']} project files"]
    if lock.get("made"):
        parts.append(f"lock {lock['file']} ({lock['made']})")
    if summary["wheels"]:
        parts.append(f"{summary['wheels']} wheels")
    if summary["image"]:
        parts.append(f"image {summary['image']['name']}")
    if summary["run_id"]:
        parts.append(f"run {summary['run_id'][:12]}")
    click.echo(
        f"{summary['bundle']}: {', '.join(parts)}; {summary['size']} bytes, "
        f"sha256 {summary['sha256']}"
    )
    return 0
