"""`mlrun validate`: every error and warning of a project at once, then its entry points
(the checks are in mlrun/validation.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from mlrun.cli.output import TerminalReporter, dump_json


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("uri", default=".", required=False)
@click.option("-v", "--version", default=None, help="Git branch, tag or commit (git projects).")
@click.option("--json", "as_json", is_flag=True, help="Print the project summary as JSON.")
@click.option("--strict", is_flag=True, help="Exit 2 when there are warnings.")
@click.option("--offline", is_flag=True, help="git: use the mirror cache only.")
def validate(uri: str, version: str | None, as_json: bool, strict: bool, offline: bool) -> int:
    """Check the MLproject at URI, its workflows and its environment files; print every
    error and warning at once (in line order), then its entry points and parameters.

    Exit 0 when the project is valid (warnings allowed unless --strict), 2 otherwise.
    """
    from mlrun import sources
    from mlrun.validation import validate_project

    with sources.resolve(
        uri,
        version=version,
        cwd=Path.cwd(),
        offline=offline,
        reporter=TerminalReporter(quiet=as_json),
    ) as source:
        report = validate_project(source.project_dir, source.root)
    for d in report.diagnostics:
        click.echo(f"mlrun: {d.severity}: {d}", err=True)
        if d.hint and d.severity == "error":
            click.echo(f"  hint: {d.hint}", err=True)
    failure = _failure(report, strict)
    file = report.project.file if report.project else None
    if as_json:
        document: dict[str, Any] = dict(report.summary or {})
        if failure is not None:
            document["error"] = failure
        document["diagnostics"] = [d.to_json() for d in report.diagnostics]
        document.setdefault("warnings", [str(d) for d in report.warnings])
        document["source"] = source.provenance
        dump_json(document)
    elif report.summary is not None:
        _print_summary(report.summary, file, failure)
        click.echo(f"source: {_describe(source)}")
    if failure is not None and not (len(report.diagnostics) == 1 and report.errors):
        click.echo(f"mlrun: error: {failure['message']}", err=True)
    return 0 if failure is None else 2


def _failure(report: Any, strict: bool) -> dict[str, Any] | None:
    """The `error` of the validate JSON, or None when the project passes."""
    errors, warnings = report.errors, report.warnings
    if errors:
        first = errors[0]
        counts = _count(len(errors), "error") + (
            f" and {_count(len(warnings), 'warning')}" if warnings else ""
        )
        return {
            "kind": "SpecError",
            "message": str(first) if len(errors) == 1 else f"{counts} in {_where(report)}",
            "hint": first.hint,
            "exit_code": 2,
            "file": first.file,
            "line": first.line,
            "key": first.key,
        }
    if strict and warnings:
        return {
            "kind": "SpecError",
            "message": f"{_count(len(warnings), 'warning')}, and --strict was given",
            "hint": "fix them, or drop --strict",
            "exit_code": 2,
        }
    return None


def _where(report: Any) -> str:
    files = {d.file for d in report.errors}
    if len(files) == 1 and None not in files:
        return str(files.pop())
    return f"the project at {report.project.directory}" if report.project else "the project"


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _print_summary(
    summary: dict[str, Any], file: Path | None, failure: dict[str, Any] | None
) -> None:
    verdict = "OK" if failure is None else f"FAILED ({failure['message']})"
    click.echo(f"{file or 'no MLproject file'}: {verdict}")
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
        for step, info in wf["steps"].items():
            if info["code"]:
                click.echo(f"  {step}: code {', '.join(info['code'])}")


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
