"""Environments: choosing a manager for a project, and the registry of managers.

Adding an environment kind = one module exposing MANAGER + one line in MANAGERS; the
command line's `--env-manager` choices come from here too. Importing this package
stays cheap (the CLI builds its options from it): the managers load when used."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from mlrun.errors import NotAvailableError, UsageError

if TYPE_CHECKING:
    from mlrun.envs.base import EnvManager, EnvOptions
    from mlrun.spec.model import EnvSpec

# manager name -> module; modules are imported only when used (start-up time).
MANAGERS: dict[str, str] = {
    "local": "mlrun.envs.local",
    "uv": "mlrun.envs.python.uv",
    "virtualenv": "mlrun.envs.python.virtualenv",
    "conda": "mlrun.envs.conda.manager",
    "docker": "mlrun.envs.docker.manager",
}
# What --env-manager offers: every manager but docker, which a docker_env section selects.
CHOICES = tuple(name for name in MANAGERS if name != "docker")


def choose_manager(env: EnvSpec, requested: str | None, conda_to_pip: bool = False) -> str:
    """The manager for a project, following MLflow's rules, with uv for python_env.
    `conda_to_pip` (build conda_env projects without conda) makes uv their default."""
    if conda_to_pip and requested == "conda":
        raise UsageError(
            "--conda-to-pip builds conda.yaml projects without conda, and "
            "--env-manager conda asks for conda",
            hint="drop one of them",
        )
    if requested is not None and requested not in MANAGERS:
        raise UsageError(
            f"unknown environment manager {requested!r}",
            hint=f"choose one of: {', '.join(MANAGERS)}",
        )
    if env.kind == "docker_env":
        if requested not in (None, "docker"):
            raise UsageError(
                f"--env-manager {requested} cannot be used with a docker_env project",
                hint="docker projects always run in their container; drop --env-manager",
            )
        return "docker"
    if requested == "docker":
        raise UsageError("--env-manager docker needs a project with a docker_env section")
    if requested is not None:
        return requested
    if env.kind == "conda_env" and conda_to_pip:
        return "uv"
    return {"python_env": "uv", "conda_env": "conda", "local": "local"}[env.kind]


def refuse_docker_options(options: EnvOptions, manager: str) -> None:
    """Docker settings given to a project that does not run in a container are a mistake
    worth stopping for (MLflow ignores them silently)."""
    given = [
        flag
        for flag, on in (
            ("-A/--docker-args " + " ".join(options.docker_args), bool(options.docker_args)),
            ("--build-image", options.build_image),
            ("--keep-container", options.keep_container),
            ("--docker-auth", options.docker_auth is not None),
        )
        if on
    ]
    if given:
        raise UsageError(
            f"{', '.join(given)}: only for docker_env projects, and this one runs in a "
            f"{manager} environment",
            hint="drop the option, or declare a docker_env in the MLproject",
        )


def get_manager(name: str) -> EnvManager:
    module_name = MANAGERS.get(name)
    if module_name is None:
        raise NotAvailableError(
            f"environment manager {name!r} is not available yet",
            hint="run in the current environment with --env-manager local",
        )
    manager: EnvManager = importlib.import_module(module_name).MANAGER
    return manager
