"""The `workflows` key of `mlrun validate --json`: every workflow, validated (a broken
declaration raises its SpecError, so validate exits 2 naming file and line)."""

from __future__ import annotations

from typing import Any

from mlrun.spec.model import Project
from mlrun.workflow.graph import build
from mlrun.workflow.model import load_workflows


def workflows_summary(project: Project) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for workflow in load_workflows(project):
        graph = build(workflow)
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
                }
                for s in workflow.steps.values()
            },
            "order": list(graph.nodes),
        }
    return result
