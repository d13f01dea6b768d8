"""`mlrun validate`: load an MLproject, report its entry points and every warning."""

from __future__ import annotations

from pathlib import Path

import click

from mlrun.cli.output import TerminalReporter, dump_json


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("uri", default=".", required=False)
@click.option("-v", "--version", default=None, help="Git branch, tag or commit (git projects).")
@click.option("--json", "as_json", is_flag=True, help="Print the project summary as JSON.")
@click.option("--strict", is_flag=True, help="Exit 2 when there are warnings.")
@click.option("--offline", is_flag=True, help="git: use the mirror cache only.")
def validate(uri: str, version: str | None, as_json: bool, strict: bool, offline: bool) -> int:
    """Check the MLproject at URI; print its entry points, parameters and warnings.

    Exit 0 when the project loads (warnings allowed unless --strict), 2 otherwise.
    """
    from mlrun import sources
    from mlrun.spec.loader import load_project
    from mlrun.spec.summary import project_summary

    source = sources.resolve(
        uri,
        version=version,
        cwd=Path.cwd(),
        offline=offline,
        reporter=TerminalReporter(quiet=as_json),
    )
    try:
        project = load_project(source.project_dir)
        summary = project_summary(project)
        if project.env.kind == "conda_env" and project.env.file is not None:
            from mlrun.envs.conda.manager import without_conda_report

            without, warnings = without_conda_report(project.env.file)
            summary["env"]["without_conda"] = without
            summary["warnings"] += warnings
        if "workflows" in project.extra:
            from mlrun.workflow.summary import workflows_summary

            summary["workflows"] = workflows_summary(project)
    finally:
        source.close()
    if as_json:
        dump_json({**summary, "source": source.provenance})
    else:
        _print_summary(summary, project.file)
        click.echo(f"source: {_describe(source)}")
    return 2 if strict and summary["warnings"] else 0


def _print_summary(summary: dict, file: Path | None) -> None:  # type: ignore[type-arg]
    click.echo(f"{file or 'no MLproject file'}: OK")
    click.echo(f"name: {summary['name'] or '(none)'}")
    env = summary["env"]
    click.echo(f"environment: {env['kind']}" + (f" ({env['file']})" if env.get("file") else ""))
    without = env.get("without_conda")
    if without and without["not_installed"] and without["conda"]:  # else: a warning says it
        click.echo(
            f"  conda here: {without['conda']}; without it (--env-manager uv or virtualenv) "
            f"not installed: {', '.join(without['not_installed'])}"
        )
    for name, ep in summary["entry_points"].items():
        click.echo(f"entry point {name}: {ep['command'].strip()}")
        for pname, param in ep["parameters"].items():
            default = "required" if param["default"] is None else f"default {param['default']!r}"
            click.echo(f"  {pname}: {param['type']} ({default})")
    for name, wf in summary.get("workflows", {}).items():
        click.echo(f"workflow {name}: {len(wf['order'])} steps ({', '.join(wf['steps'])})")
    for warning in summary["warnings"]:
        click.echo(f"warning: {warning}", err=True)


def _describe(source: object) -> str:
    """`URL at COMMIT (branch main, subdir x)`, or the directory and its content hash."""
    from mlrun.sources import Source

    assert isinstance(source, Source)
    p = source.provenance
    if p.get("vcs") != "git" or not p.get("commit"):
        return f"{source.uri} ({p.get('content_hash') or 'not in git'})"
    where = source.uri.split("#", 1)[0] if source.kind == "git" else p.get("path")
    extra = []
    if p.get("branch"):
        extra.append(f"branch {p['branch']}")
    elif p.get("tag"):
        extra.append(f"tag {p['tag']}")
    if p.get("subdir"):
        extra.append(f"subdir {p['subdir']}")
    if p.get("dirty"):
        extra.append("uncommitted changes")
    return f"{where} at {p['commit']}" + (f" ({', '.join(extra)})" if extra else "")
