"""`mlrun reproduce`: run a recorded run again from its record, and check the outcome."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import click

from mlrun.cli.entry import startup_done
from mlrun.cli.output import TerminalReporter, dump_json


def _tolerance(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if not math.isfinite(value) or value < 0:
        raise click.BadParameter(f"{value} is not a finite number >= 0")
    return value


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("target", metavar="RUN_ID|BUNDLE")
@click.option("--check", is_flag=True, help="Compare the outcomes; exit 0 if they match, 1 if not.")
@click.option(
    "--rtol",
    default=0.0,
    show_default=True,
    type=float,
    callback=_tolerance,
    help="Relative tolerance for metrics and numbers in outputs.json (0: exactly equal).",
)
@click.option(
    "--atol",
    default=0.0,
    show_default=True,
    type=float,
    callback=_tolerance,
    help="Absolute tolerance, for values near zero.",
)
@click.option("--offline", is_flag=True, help="No network: mirror cache and local wheels only.")
@click.option("--rebuild-env", is_flag=True, help="Rebuild the environment even if cached.")
@click.option(
    "--tracking-uri",
    default=None,
    envvar="MLRUN_TRACKING_URI",
    help="Run store [default: the embedded store].",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("-q", "--quiet", is_flag=True, help="Only the command's own output and errors.")
@click.pass_context
def reproduce(
    ctx: click.Context,
    target: str,
    check: bool,
    rtol: float,
    atol: float,
    offline: bool,
    rebuild_env: bool,
    tracking_uri: str | None,
    as_json: bool,
    quiet: bool,
) -> int:
    """Run the recorded run RUN_ID again from its record alone: the same commit (from the
    mirror cache), the same package versions, entry point and parameters. BUNDLE: a file
    `mlrun package RUN_ID` made, reproduced here.

    \b
    Exit code: the new run's own, or with --check 0 when it reproduced (exit code,
    outputs.json, metrics within --rtol/--atol, artifact hashes all match) and 1 when it
    did not (each difference is printed).
    """
    from mlrun.reproduce import ReproduceRequest
    from mlrun.reproduce import reproduce as run_again

    reporter = TerminalReporter(quiet=quiet, debug=bool(ctx.obj and ctx.obj.get("debug")))
    startup_done()
    done = run_again(
        ReproduceRequest(
            target=target,
            offline=offline,
            rtol=rtol,
            atol=atol,
            tracking_uri=tracking_uri,
            cwd=Path.cwd(),
            rebuild=rebuild_env,
        ),
        reporter,
    )
    result = done.result
    reproduced = not done.differences
    if as_json:
        dump_json(
            {
                "run_id": result.run_id,
                "reproduces": done.original.run_id,
                "status": result.status,
                "exit_code": result.exit_code,
                "lock": done.lock,
                **({"reproduced": reproduced, "differences": done.differences} if check else {}),
            }
        )
    reporter.info(f"run {result.run_id} {result.status} (reproduces {done.original.run_id})")
    if not check:
        return int(result.exit_code)
    if reproduced:
        click.echo(
            f"reproduced: run {result.run_id[:12]} matches run {done.original.run_id[:12]} "
            f"(exit code, outputs.json, {len(done.outcome['metrics'])} metric values, "
            f"{len(done.outcome['artifacts'])} artifacts)",
            err=as_json,
        )
        return 0
    click.echo(
        f"not reproduced: run {result.run_id[:12]} differs from run {done.original.run_id[:12]}:",
        err=True,
    )
    for difference in done.differences:
        click.echo(f"  {difference}", err=True)
    return 1
