"""Choosing the entry point to run: a declared one, or a script file, as `mlflow run -e`."""

from __future__ import annotations

import os

from mlrun.errors import UsageError
from mlrun.spec.model import EntryPoint, Project

# MLflow's choice of interpreter per script extension (mlflow/projects/_project_spec.py):
# `python` for .py and the user's login shell ($SHELL, else bash) for .sh.
_SCRIPT_EXTENSIONS = (".py", ".sh")


def get_entry_point(project: Project, name: str) -> EntryPoint:
    declared = project.entry_points.get(name)
    if declared is not None:
        return declared
    extension = os.path.splitext(name)[1]
    if extension in _SCRIPT_EXTENSIONS and os.path.isfile(project.directory / name):
        import shlex

        program = "python" if extension == ".py" else os.environ.get("SHELL") or "bash"
        command = f"{shlex.quote(program)} {shlex.quote(name)}"
        # The result is a str.format template like any other: braces in a file name
        # must not be taken for placeholders.
        command = command.replace("{", "{{").replace("}", "}}")
        return EntryPoint(name=name, command=command, is_script=True)
    available = ", ".join(project.entry_points) or "none"
    where = project.file.name if project.file else "no MLproject"
    if extension in _SCRIPT_EXTENSIONS:
        problem = f"there is no entry point {name!r} and no file {name} in {project.directory}"
    else:
        problem = f"there is no entry point {name!r} ({where}; entry points: {available})"
    raise UsageError(
        problem,
        hint=f"entry points: {available}; a .py or .sh file in the project directory "
        "can also be run directly, e.g. -e train.py",
    )
