"""`local`: processes on this machine, containers on the local docker engine."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlrun.envs.base import ContainerSpec, EnvPlan, Launch, PreparedEnv
from mlrun.execution.child import Child, LocalChild
from mlrun.reporting import Reporter
from mlrun.spec.model import Command


class LocalBackend:
    name = "local"

    def check(self, env_plan: EnvPlan, config: Mapping[str, Any]) -> None:
        if config:
            from mlrun.errors import UsageError

            # MLflow ignores them silently; a setting that does nothing is worth a stop.
            raise UsageError(
                "-c/--backend-config settings mean nothing to the local backend "
                f"(given: {', '.join(sorted(config))})",
                hint="the local backend has no settings: drop -c/--backend-config",
            )

    def describe(
        self, env_plan: EnvPlan, command: Command, cwd: Path, config: Mapping[str, Any]
    ) -> dict[str, Any]:
        where = "the local docker engine" if env_plan.starts == "container" else "this machine"
        return {"name": self.name, "starts": env_plan.starts, "where": where}

    def start(
        self, env: PreparedEnv, launch: Launch, config: Mapping[str, Any], reporter: Reporter
    ) -> Child:
        what = env.what_to_start(launch)
        if isinstance(what, ContainerSpec):
            from mlrun.envs.docker.container import start

            return start(what, reporter)
        return LocalChild(what.argv(), what.cwd, what.environ)


BACKEND = LocalBackend()
