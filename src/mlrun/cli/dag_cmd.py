"""`mlrun dag`: draw a workflow's step graph."""

from __future__ import annotations

from pathlib import Path

import click


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("uri", default=".", required=False)
@click.option(
    "-e",
    "--entry-point",
    "name",
    default=None,
    help="The workflow to draw (default: the project's only workflow).",
)
@click.option("-v", "--version", default=None, help="Git branch, tag or commit (git projects).")
@click.option(
    "--format",
    "fmt",
    default="text",
    show_default=True,
    type=click.Choice(["text", "mermaid", "dot"]),
    help="text for a terminal, mermaid for Markdown, dot for Graphviz.",
)
def dag(uri: str, name: str | None, version: str | None, fmt: str) -> int:
    """Draw the graph of a workflow of the project at URI (matrix steps expanded)."""
    from mlrun import sources
    from mlrun.errors import UsageError
    from mlrun.spec.loader import load_project
    from mlrun.workflow.draw import draw
    from mlrun.workflow.graph import build
    from mlrun.workflow.model import load_workflow, workflow_names

    source = sources.resolve(uri, version=version, cwd=Path.cwd())
    try:
        project = load_project(source.project_dir, source.root)
        if name is None:
            names = workflow_names(project)
            if len(names) != 1:
                raise UsageError(
                    "the project has "
                    + (f"{len(names)} workflows ({', '.join(names)})" if names else "no workflows"),
                    hint="name one with -e" if names else "declare one under `workflows:`",
                )
            name = names[0]
        graph = build(load_workflow(project, name))
    finally:
        source.close()
    click.echo(draw(graph, fmt))
    return 0
