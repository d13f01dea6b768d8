"""Making a project's lock (`mlrun lock`, and bundles of projects that have none): the
one place that knows which module locks which environment kind."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mlrun.envs.base import EnvOptions
from mlrun.envs.lockfile import Lock, kind_of, lock_path, read, render, spec_digest
from mlrun.errors import UsageError
from mlrun.reporting import Reporter
from mlrun.spec.model import Project


def lock_text(
    project: Project, options: EnvOptions, reporter: Reporter, pins: Sequence[str] | None = None
) -> str:
    """The text of a new lock of the project's environment. `pins` (what a recorded run
    had installed: `name==version`, conda `name=version=build`, a docker image's
    `id: ...` lines) locks those versions instead of resolving the spec afresh."""
    kind = kind_of(project)
    if kind == "python":
        from mlrun.envs.python import lock as python_lock

        python_pins = None if pins is None else [p for p in pins if "==" in p]
        body, facts = python_lock.make(project, options, reporter, python_pins)
    elif kind == "conda":
        from mlrun.envs.conda import lock as conda_lock

        conda_pins = None if pins is None else [p for p in pins if "==" not in p]
        body, facts = conda_lock.make(project, options, reporter, conda_pins)
    elif kind == "docker" and pins is not None:  # `image:`, `id:`, `digest:` of a run
        body, facts = "\n".join(pins), {}
    elif kind == "docker":
        from mlrun.envs.docker import lock as docker_lock

        body, facts = docker_lock.make(project, options, reporter)
    else:
        raise nothing_to_lock(project)
    return render(kind, spec_name(project), spec_digest(project), facts, body)


def write_lock(project: Project, options: EnvOptions, reporter: Reporter) -> Lock:
    """Write the project's lock beside its spec (replacing an older one)."""
    from mlrun.util.files import atomic_write

    path = lock_path(project)
    if path is None:
        raise nothing_to_lock(project)
    atomic_write(path, lock_text(project, options, reporter))
    return read(path)


def spec_name(project: Project) -> str:
    """How the lock header names the spec: a path relative to the project."""
    if project.env.kind == "docker_env":
        return "the docker_env of " + (project.file.name if project.file else "MLproject")
    assert project.env.file is not None
    return _relative(project.env.file, project.directory)


def _relative(path: Path, base: Path) -> str:
    return path.relative_to(base).as_posix() if path.is_relative_to(base) else str(path)


def nothing_to_lock(project: Project) -> UsageError:
    return UsageError(
        f"the project at {project.directory} declares no environment (python_env, conda_env "
        "or docker_env): it runs in the current one, and there is nothing to lock",
        hint="declare one (`mlrun init` writes a python_env.yaml), then run `mlrun lock`",
    )


def recorded_pins(env: dict[str, Any]) -> list[str]:
    """What a run's record says its env held, as pins for a lock: `name==version` (and
    conda `name=version=build`), or a docker image's `image:`/`id:`/`digest:` lines."""
    if env.get("image_id"):
        from mlrun.envs.docker.lock import repo_digest

        image = str(env.get("image") or "")
        pins = [f"image: {image}", f"id: {env['image_id']}"]
        digest = repo_digest(image, list(env.get("repo_digests") or [])) if image else None
        return pins + ([f"digest: {digest}"] if digest else [])
    return [str(p) for p in env.get("packages") or []]
