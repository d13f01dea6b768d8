"""`local`: run in the current environment, as it is (MLflow's --env-manager local)."""

from __future__ import annotations

from mlrun.envs import refuse_docker_options
from mlrun.envs.base import EnvOptions, EnvPlan, PreparedEnv
from mlrun.reporting import Reporter
from mlrun.spec.model import Project


class LocalManager:
    name = "local"

    def plan(self, project: Project, options: EnvOptions) -> EnvPlan:
        refuse_docker_options(options, self.name)
        return EnvPlan(
            self.name,
            project,
            options,
            key=None,
            cached=True,
            description="the current environment (local)",
        )

    def prepare(self, plan: EnvPlan, reporter: Reporter) -> PreparedEnv:
        return PreparedEnv(plan)


MANAGER = LocalManager()
