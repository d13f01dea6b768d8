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
@click.option(
    "--fence/--no-fence",
    default=None,
    help="Wrap the drawing in a Markdown code block (```mermaid ... ```). "
    "Default: on for mermaid, off for text and dot.",
)
def dag(uri: str, name: str | None, version: str | None, fmt: str, fence: bool | None) -> int:
    """Draw the graph of a workflow of the project at URI (matrix steps expanded).

    `--format mermaid` prints a fenced block to paste into Markdown (GitHub, GitLab and
    most wikis draw it); `--no-fence` gives the bare diagram for mermaid-cli."""
    from mlrun import sources
    from mlrun.errors import UsageError
    from mlrun.spec.loader import load_project
    from mlrun.workflow.draw import draw
    from mlrun.workflow.graph import build
    from mlrun.workflow.model import load_workflow, workflow_names

    with sources.resolve(uri, version=version, cwd=Path.cwd()) as source:
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
    drawing = draw(graph, fmt)
    if fence if fence is not None else fmt == "mermaid":
        drawing = f"```{fmt}\n{drawing}\n```"
    click.echo(drawing)
    return 0
