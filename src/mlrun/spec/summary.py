"""The JSON shape of `mlrun validate --json`. CI tools parse it: change it only by adding
keys. Docker environment variables are listed by name only; their values may be secrets."""

from __future__ import annotations

import os
from typing import Any

from mlrun.spec.model import Project
from mlrun.spec.params import default_warnings


def project_summary(project: Project) -> dict[str, Any]:
    env = project.env
    env_file: str | None = None
    if env.file is not None:
        env_file = os.path.relpath(env.file, project.directory)
    elif env.docker is not None:
        env_file = env.docker.dockerfile
    warnings = [str(w) for w in project.warnings]
    entry_points: dict[str, Any] = {}
    for name, ep in project.entry_points.items():
        entry_points[name] = {
            "command": ep.command,
            "parameters": {
                p.name: {"type": p.declared_type, "default": p.default}
                for p in ep.parameters.values()
            },
        }
        warnings += [str(w) for w in default_warnings(ep)]
    summary: dict[str, Any] = {
        "name": project.name,
        "env": {"kind": env.kind, "file": env_file},
        "entry_points": entry_points,
        "warnings": warnings,
    }
    if env.docker is not None:
        summary["docker"] = {
            "image": env.docker.image,
            "dockerfile": env.docker.dockerfile,
            "context": env.docker.context,
            "volumes": list(env.docker.volumes),
            "environment": [var.name for var in env.docker.environment],
        }
    return summary
