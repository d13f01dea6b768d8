"""`mlrun env`: the environment cache (list, prune) and building an env without running."""

from __future__ import annotations

import time
from pathlib import Path

import click

from mlrun.cli.output import TerminalReporter, dump_json, size_text, table, timestamp
from mlrun.envs import CHOICES as ENV_MANAGERS


@click.group("env", context_settings={"help_option_names": ["-h", "--help"]})
def env() -> None:
    """Cached environments: list them, prune them, build one ahead of a run."""
    from mlrun.recording import settle

    settle(TerminalReporter())  # an env still used by a dead mlrun's leftovers: free it


@env.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_cmd(as_json: bool) -> int:
    """Every cached env: key, kind, size, last use, the projects using it."""
    from mlrun.envs.cache.inventory import list_envs

    found = list_envs()
    if as_json:
        dump_json([info.to_json() for info in found])
        return 0
    if not found:
        click.echo("no cached environments")
        return 0
    rows = []
    for info in found:
        state = "in use" if info.in_use else info.state
        rows.append(
            [
                info.key[:12],
                info.kind,
                size_text(info.size),
                _ago(info.last_used),
                state,
                ", ".join(info.projects) or "-",
            ]
        )
    click.echo(table(["KEY", "KIND", "SIZE", "LAST USED", "STATE", "PROJECTS"], rows))
    return 0


@env.command("prune")
@click.option(
    "--older-than",
    "older_than",
    default="30d",
    show_default=True,
    metavar="AGE",
    help="Remove envs not used for this long (e.g. 12h, 30d, 2w).",
)
@click.option("--all", "everything", is_flag=True, help="Remove every env not in use.")
@click.option("--dry-run", is_flag=True, help="Show what would be removed.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def prune_cmd(older_than: str, everything: bool, dry_run: bool, as_json: bool) -> int:
    """Remove unused envs. Incomplete or broken ones always go; envs in use always stay."""
    from mlrun.envs.cache.inventory import parse_age, prune

    results = prune(older_than=parse_age(older_than), everything=everything, dry_run=dry_run)
    if as_json:
        dump_json(results)
        return 0
    freed = sum(r["size"] for r in results if r["action"] in ("removed", "would remove"))
    for r in results:
        if r["action"] != "kept" or r["reason"] == "in use":
            click.echo(
                f"{r['action']:<13} {r['key'][:12]}  {size_text(r['size'])}"
                + (f"  ({r['reason']})" if r["reason"] else "")
            )
    verb = "would free" if dry_run else "freed"
    click.echo(f"{verb} {size_text(freed)}")
    return 0


@env.command("build")
@click.argument("uri", default=".", required=False)
@click.option("-v", "--version", "version", default=None, help="Git branch, tag or commit.")
@click.option(
    "--env-manager",
    default=None,
    type=click.Choice(ENV_MANAGERS),
    help="How to build the env (default: as `mlrun run` would).",
)
@click.option("--rebuild-env", is_flag=True, help="Rebuild even if cached.")
@click.option("--no-lock", is_flag=True, help="Build from the spec, ignoring its lock file.")
@click.option(
    "--conda-to-pip",
    is_flag=True,
    help="conda.yaml without conda: also install its conda packages by pip name (best effort).",
)
@click.option("--offline", is_flag=True, help="No network: local wheels and caches only.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
@click.pass_context
def build_cmd(
    ctx: click.Context,
    uri: str,
    version: str | None,
    env_manager: str | None,
    rebuild_env: bool,
    no_lock: bool,
    conda_to_pip: bool,
    offline: bool,
    as_json: bool,
    quiet: bool,
) -> int:
    """Prepare the env of the project at URI without running anything (for CI caching)."""
    from mlrun import runner
    from mlrun.envs import get_manager
    from mlrun.envs.base import EnvOptions

    reporter = TerminalReporter(quiet=quiet, debug=bool(ctx.obj and ctx.obj.get("debug")))
    request = runner.RunRequest(
        uri=uri,
        version=version,
        env_manager=env_manager,
        env_options=EnvOptions(
            rebuild=rebuild_env, offline=offline, no_lock=no_lock, conda_to_pip=conda_to_pip
        ),
        offline=offline,
        cwd=Path.cwd(),
    )
    with runner.open_project(request, reporter, warn=False) as opened:
        env_plan = runner.plan_env(opened, request)
        prepared = get_manager(env_plan.manager).prepare(env_plan, reporter)
        prepared.release()
    record = prepared.record
    if as_json:
        dump_json(record)
    elif record.get("key"):
        state = "built" if record.get("built") else "cached"
        click.echo(f"{record['kind']} env {record['key']} ({state}): {record.get('path')}")
    else:
        click.echo("this project runs in the current environment: nothing to build")
    return 0


def _ago(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    seconds = time.time() - epoch
    if seconds < 120:
        return "just now"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.0f} h ago"
    return timestamp(epoch)[:10]
