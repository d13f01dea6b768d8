"""`mlrun init`: write an MLproject and a python_env.yaml for existing scripts, then
validate the project."""

from __future__ import annotations

from pathlib import Path

import click

from mlrun.cli.output import dump_json


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("directory", default=".", required=False, type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace an existing MLproject / python_env.yaml.")
@click.option("--dry-run", is_flag=True, help="Print what would be written; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def init(directory: Path, force: bool, dry_run: bool, as_json: bool) -> int:
    """Make the scripts in DIRECTORY (default: the current one) a project: an MLproject
    with an entry point per script, its parameters read from argparse / click declarations
    in the source (nothing is run), and a python_env.yaml from requirements.txt,
    pyproject.toml or the imports. Existing files are kept unless --force is given.
    Then the project is checked as `mlrun validate` does (exit 2 when it fails)."""
    from mlrun.scaffold import init as make
    from mlrun.scaffold import summary

    result = make(directory, force=force, dry_run=dry_run)
    document = summary(result)
    if dry_run:
        if as_json:
            dump_json({**document, "files": result.texts})
        else:
            for name in result.written:
                click.echo(f"--- {name} (would be written)")
                click.echo(result.texts[name], nl=False)
            for name in result.kept:
                click.echo(f"--- {name} exists: kept (--force replaces it)")
        return 0
    from mlrun.validation import validate_project

    report = validate_project(result.directory)
    if as_json:
        dump_json(
            {
                **document,
                "valid": not report.errors,
                "diagnostics": [d.to_json() for d in report.diagnostics],
            }
        )
    else:
        for name in result.written:
            click.echo(f"wrote {result.directory / name}")
        for name in result.kept:
            click.echo(f"kept {result.directory / name} (it exists; --force replaces it)")
        for entry_point, script in result.scripts.items():
            click.echo(f"entry point {entry_point}: {script}")
        if result.env is not None:
            deps = ", ".join(result.env.dependencies) or "none"
            click.echo(f"dependencies (from the {result.env.source}): {deps}")
        for note in result.notes:
            click.echo(f"note: {note}", err=True)
    for d in report.diagnostics:
        click.echo(f"mlrun: {d.severity}: {d}", err=True)
    if report.errors:
        click.echo("mlrun: error: the project does not validate; edit the files above", err=True)
        return 2
    if not as_json:
        click.echo(f"mlrun validate: OK; run it with `mlrun run {directory}`")
    return 0
