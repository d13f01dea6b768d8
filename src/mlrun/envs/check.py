"""What `mlrun validate` checks of a project's environment, building nothing: the keys
and values of python_env.yaml / conda.yaml, the requirement files and local packages
they name, whether this machine has the Python asked for, and the docker_env settings a
run would refuse (a volume that is not HOST:CONTAINER[:MODE], an invalid variable name).
What only this machine lacks (an unset `${VAR}`, a Python version) is a warning: the
project may well run where it is meant to."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlrun.errors import SpecError
from mlrun.spec.model import Project, SpecWarning


def env_findings(project: Project) -> tuple[list[SpecError], list[SpecWarning]]:
    """(errors, warnings) about the project's environment."""
    env = project.env
    if env.kind == "docker_env" and env.docker is not None:
        return _docker(project)
    if env.kind not in ("python_env", "conda_env") or env.file is None:
        return [], []
    from mlrun.envs.python.spec import open_env_file

    try:
        ctx = open_env_file(env.file)
    except SpecError as exc:
        return [exc], []
    if env.kind == "python_env":
        _python_env(ctx, project.directory)
    else:
        _conda_env(ctx, project.directory)
    return list(ctx.errors), list(ctx.warnings)


def _python_env(ctx: Any, directory: Path) -> None:
    from mlrun.envs.python.spec import read_python_env

    spec = read_python_env(ctx)
    if spec is None:
        return
    for key in ("build_dependencies", "dependencies"):
        for index, entry in enumerate(getattr(spec, key)):
            _requirement(ctx, directory, entry, key, index)
    from mlrun.envs.python.interpreters import check_request, find, not_found

    if spec.python is not None and check_request(spec.python) is None:
        found, _ = find(spec.python)
        if found is None:
            problem = not_found(spec.python, ctx.file)
            ctx.warn(f"{problem.message}; a run on this machine fails (exit 125)", "python")


def _conda_env(ctx: Any, directory: Path) -> None:
    from mlrun.envs.conda.spec import read_conda_env

    spec = read_conda_env(ctx)
    if spec is None:
        return
    from mlrun.envs.conda.manager import no_conda_warning, without_conda_summary

    warning = no_conda_warning(without_conda_summary(spec))
    if warning is not None:
        ctx.warn(warning, "dependencies")
    for index, item in enumerate(ctx.doc.data.get("dependencies") or []):
        if isinstance(item, dict) and isinstance(item.get("pip"), list):
            for j, entry in enumerate(item["pip"]):
                if isinstance(entry, str):
                    _requirement(ctx, directory, entry, "dependencies", index, "pip", j)


def _requirement(ctx: Any, directory: Path, entry: str, *where: object) -> None:
    """A requirement line that names a file (`-r x.txt`, `./pkg`) that is not there: an
    error inside the project, a warning outside it (`~/src/lib`: this machine's)."""
    from mlrun.envs.python.requirements import MissingPath, resolve

    try:
        resolve([entry], directory, ctx.file)
    except MissingPath as exc:
        if exc.path.is_relative_to(directory):
            ctx.fail(exc.text, *where, hint=exc.hint)
        else:
            ctx.warn(f"{exc.text}; a run on this machine fails", *where)
    except SpecError as exc:
        ctx.fail(exc.text, *where, hint=exc.hint)


def _docker(project: Project) -> tuple[list[SpecError], list[SpecWarning]]:
    from mlrun.envs.docker.settings import environment_problems, valid_env_name, volume_problems
    from mlrun.spec.yamlio import load_yaml_file

    spec = project.env.docker
    assert spec is not None and project.file is not None
    file = str(project.file)
    doc = load_yaml_file(project.file)
    errors: list[SpecError] = []
    warnings: list[SpecWarning] = []
    for index, raw in enumerate(spec.volumes):
        where = f"docker_env.volumes[{index}]"
        line = doc.line("docker_env", "volumes", index)
        unset, problem, missing = volume_problems(raw, project.directory, where, project.root)
        for name in unset:
            warnings.append(
                SpecWarning(
                    f"{where} uses ${name}, which is not set here; a run needs it set",
                    file,
                    line,
                    where,
                )
            )
        if missing is not None:
            warnings.append(
                SpecWarning(
                    f"{where} mounts {missing}, which does not exist here; a run needs it to exist",
                    file,
                    line,
                    where,
                )
            )
        if problem is not None:
            errors.append(SpecError(problem, file=file, line=line, key=where))
    for index, var in enumerate(spec.environment):
        where = f"docker_env.environment[{index}]"
        line = doc.line("docker_env", "environment", index)
        if not valid_env_name(var.name):
            errors.append(
                SpecError(
                    f"docker_env.environment has the invalid variable name {var.name!r}",
                    file=file,
                    line=line,
                    key=where,
                )
            )
            continue
        unset, problem = environment_problems(var.value, project.directory, where)
        for name in unset:
            warnings.append(
                SpecWarning(
                    f"{where} ({var.name}) uses ${name}, which is not set here; it "
                    "would be empty, as in bash",
                    file,
                    line,
                    where,
                )
            )
        if problem is not None:
            errors.append(SpecError(problem, file=file, line=line, key=where))
    return errors, warnings
