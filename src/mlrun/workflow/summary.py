"""The `workflows` key of `mlrun validate --json`, and every error of the declarations
(for validate, which lists them all at once)."""

from __future__ import annotations

from typing import Any

from mlrun.errors import SpecError
from mlrun.spec.model import Project
from mlrun.workflow.graph import build
from mlrun.workflow.model import Workflow, read_workflows


def workflow_findings(project: Project) -> tuple[dict[str, Any], list[SpecError]]:
    """({name: summary} of the valid workflows, every error found)."""
    workflows, errors = read_workflows(project)
    result: dict[str, Any] = {}
    for workflow in workflows:
        try:
            graph = build(workflow)
        except SpecError as exc:
            errors.append(exc)
            continue
        errors += code_errors(project, workflow)
        result[workflow.name] = {
            "parameters": {
                p.name: {"type": p.declared_type, "default": p.default}
                for p in workflow.parameters.values()
            },
            "steps": {
                s.name: {
                    "entry_point": s.entry_point,
                    "needs": list(s.needs),
                    "matrix": {k: list(v) for k, v in s.matrix.items()},
                    "code": list(s.code),
                }
                for s in workflow.steps.values()
            },
            "order": list(graph.nodes),
        }
    return result, errors


def code_errors(project: Project, workflow: Workflow) -> list[SpecError]:
    """Each `code:` pattern must select a file, as a run will demand."""
    patterns = {p for s in workflow.steps.values() for p in s.code}
    if not patterns:
        return []
    from mlrun.sources.codefiles import project_files, select
    from mlrun.sources.provenance import find_worktree

    in_git = find_worktree(project.directory) is not None
    chosen = select(patterns, project_files(project.directory, in_git))
    return [
        SpecError(
            f"code pattern {pattern!r} of step {step.name!r} matches no file in the project",
            hint="code: lists files, directories or globs relative to the project",
            file=str(workflow.file),
            line=step.line,
            key=f"workflows.{workflow.name}.steps.{step.name}.code",
        )
        for step in workflow.steps.values()
        for pattern in step.code
        if not chosen[pattern]
    ]
