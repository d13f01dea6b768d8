"""The environment section of an MLproject: python_env, conda_env or docker_env.

Precedence and errors follow mlflow/projects/_project_spec.py: at most one of the three
keys; an env key with an empty value is skipped; with none declared, a python_env.yaml in
the project wins over a conda.yaml. MLflow then falls back to "python_env without a file"
(a fresh virtualenv with only the current Python); mlrun calls that case "local" and runs
in the current environment, which is what a project that declares nothing usually wants.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mlrun.spec.context import LoadContext
from mlrun.spec.model import DockerEnv, DockerEnvVar, EnvKind, EnvSpec

ENV_KEYS: tuple[EnvKind, ...] = ("python_env", "conda_env", "docker_env")
DEFAULT_PYTHON_ENV = "python_env.yaml"
DEFAULT_CONDA_ENV = "conda.yaml"
_DEFAULT_FILES: tuple[tuple[EnvKind, str], ...] = (
    ("python_env", DEFAULT_PYTHON_ENV),
    ("conda_env", DEFAULT_CONDA_ENV),
)
_DOCKER_KEYS = ("image", "dockerfile", "context", "volumes", "environment")


def detect_env(directory: Path) -> EnvSpec:
    """The environment of a project that declares none."""
    for kind, name in _DEFAULT_FILES:
        if os.path.isfile(directory / name):
            return EnvSpec(kind=kind, file=directory / name, declared=False)
    return EnvSpec(kind="local")


def parse_env(ctx: LoadContext, data: dict[Any, Any], directory: Path) -> EnvSpec:
    present = [k for k in ENV_KEYS if k in data]
    if len(present) > 1:
        present.sort(key=lambda k: ctx.line(k) or 0)  # point at the one written last
        # MLflow counts keys, not values: `conda_env:` left empty still conflicts.
        listed = " and ".join(present)
        ctx.fail(
            f"the project declares {listed}; an MLproject may declare only one environment",
            present[-1],
            hint="keep one of " + ", ".join(present),
        )
        return EnvSpec(kind="local")
    if not present:
        return detect_env(directory)
    key = present[0]
    value = data[key]
    if not value:
        ctx.warn(f"{key} is empty and ignored, as MLflow does", key)
        return detect_env(directory)
    if key == "docker_env":
        docker = _docker(ctx, value, directory)
        if docker is None:
            return EnvSpec(kind="local")  # the errors are recorded
        return EnvSpec(kind="docker_env", docker=docker, declared=True)
    if not isinstance(value, str):
        example = DEFAULT_PYTHON_ENV if key == "python_env" else DEFAULT_CONDA_ENV
        ctx.fail(f"{key} must name a file in the project, e.g. `{key}: {example}`", key)
        return EnvSpec(kind="local")
    path = Path(os.path.normpath(directory / value))
    # os.path, not Path: it answers False instead of raising for over-long names.
    if not os.path.isfile(path):
        problem = "is not a file" if os.path.exists(path) else "does not exist"
        ctx.fail(f"{key} names the file {value!r}, which {problem} in the project directory", key)
        return EnvSpec(kind="local")
    return EnvSpec(kind=key, file=path, declared=True)


def _docker(ctx: LoadContext, raw: object, directory: Path) -> DockerEnv | None:
    """The docker_env section; None when it has errors (recorded in `ctx`)."""
    if not isinstance(raw, dict):
        ctx.fail("docker_env must be a mapping with at least `image: NAME`", "docker_env")
        return None
    errors = len(ctx.errors)
    image = _optional_str(ctx, raw, "image")
    dockerfile = _optional_str(ctx, raw, "dockerfile")
    context = _optional_str(ctx, raw, "context")
    if not image and not dockerfile and not context and len(ctx.errors) == errors:
        ctx.fail(
            "docker_env has no image",
            "docker_env",
            hint="add `image: NAME` (or, mlrun only, `dockerfile: PATH` to build one)",
        )
    for key, value, want_dir in (("dockerfile", dockerfile, False), ("context", context, True)):
        if value is None:
            continue
        path = directory / value
        if not (os.path.isdir(path) if want_dir else os.path.isfile(path)):
            kind = "directory" if want_dir else "file"
            ctx.fail(
                f"docker_env.{key} names {value!r}, but there is no such {kind} in the project",
                "docker_env",
                key,
            )
            continue
        if image:
            ctx.warn(
                f"docker_env.{key} is an mlrun extension; MLflow ignores it and uses the image",
                "docker_env",
                key,
            )
        else:
            ctx.warn(
                f"docker_env.{key} is an mlrun extension; MLflow rejects this file (no image)",
                "docker_env",
                key,
            )

    volumes: tuple[str, ...] = ()
    if raw.get("volumes"):
        found = raw["volumes"]
        if isinstance(found, list) and all(isinstance(v, str) for v in found):
            volumes = tuple(found)
        else:
            ctx.fail(
                'docker_env.volumes must be a list of strings, e.g. ["/data:/data"]',
                "docker_env",
                "volumes",
            )

    environment: list[DockerEnvVar] = []
    found = raw.get("environment")
    if found:
        if not isinstance(found, list):
            _bad_environment(ctx)
        else:
            for index, item in enumerate(found):
                var = _env_var(ctx, index, item)
                if var is not None:
                    environment.append(var)

    if len(ctx.errors) > errors:
        return None
    extra = {k: v for k, v in raw.items() if k not in _DOCKER_KEYS}
    return DockerEnv(
        image=image or None,
        dockerfile=dockerfile,
        context=context,
        volumes=volumes,
        environment=tuple(environment),
        extra=extra,
    )


def _env_var(ctx: LoadContext, index: int, item: object) -> DockerEnvVar | None:
    if isinstance(item, str) and item:
        return DockerEnvVar(name=item, value=None)  # copied from the host
    if (
        isinstance(item, list)
        and len(item) == 2
        and isinstance(item[0], str)
        and item[0]
        and isinstance(item[1], (str, int, float, bool))
    ):
        return DockerEnvVar(name=item[0], value=str(item[1]))
    _bad_environment(ctx, index)
    return None


def _bad_environment(ctx: LoadContext, *index: int) -> None:
    ctx.fail(
        "docker_env.environment must be a list of variable names (copied from the host) "
        'or [name, value] pairs, e.g. ["HOME", ["MODE", "test"]]',
        "docker_env",
        "environment",
        *index,
    )


def _optional_str(ctx: LoadContext, raw: dict[Any, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        ctx.fail(f"docker_env.{key} must be a string", "docker_env", key)
        return None
    return value
