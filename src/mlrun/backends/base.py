"""The backend contract: where a run's command starts.

An environment describes WHAT to start (`PreparedEnv.what_to_start(launch)`: a
ProcessSpec -- command, working directory, environment -- or a ContainerSpec -- image,
command, environment, mounts, settings). A backend decides WHERE it starts and returns
a `Child` (execution/child.py: stdout/stderr descriptors, poll/wait, signal, kill,
cleanup), so supervision, logs, records and exit codes stay one code path for every
backend. A backend module exposes `BACKEND`, an object with:

    name: str
    check(env_plan, config)                     at plan time, before anything runs:
                                                refuse an env kind (env_plan.starts is
                                                "process" or "container") or a bad
                                                config with a UsageError (exit 2)
    describe(env_plan, command, cwd, config)    for --dry-run: how the run would start
                                                (a JSON-able dict; "name" at least)
    start(env, launch, config, reporter)        start the run's command -> Child;
                                                LaunchError/PrepareError when it cannot

Optional members, looked up with getattr (a plugin may leave them out):

    env_cache(config) -> Path | None            where envs must be built so that the
                                                command can use them (a path compute
                                                nodes see); None: mlrun's cache
    env_options(project, options, config)       the EnvOptions this backend needs for
                                                the project (kubernetes: the code copied
                                                into a docker_env image, --build-image)
    admit(env_plan, config)                     once the run is recorded, before its env
                                                is prepared: refuse what cannot run here
                                                with a PrepareError (exit 125, the run
                                                recorded FAILED): a missing service, an
                                                env kind the backend cannot start
    reconcile(store, runs, reasons) -> set      runs whose mlrun process died (`reasons`
                                                says how that was found) while the
                                                backend's command may run on (a batch
                                                job): finish those that ended, from the
                                                backend's own records; return the ids it
                                                answered for (those still running stay
                                                RUNNING). Runs carry the backend's name
                                                in their `mlrun.backend` tag;
                                                reconciling.finish does the finishing.

`config` is the run's backend config (`-c/--backend-config`, `mlrun.run(backend_config=)`):
a JSON object, `{}` when none was given. Backends are stateless: the same object serves
every run (a workflow's steps run in parallel threads).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from mlrun.envs.base import EnvPlan, Launch, PreparedEnv
from mlrun.execution.child import Child
from mlrun.reporting import Reporter
from mlrun.spec.model import Command


class Backend(Protocol):
    name: str

    def check(self, env_plan: EnvPlan, config: Mapping[str, Any]) -> None: ...

    def describe(
        self, env_plan: EnvPlan, command: Command, cwd: Path, config: Mapping[str, Any]
    ) -> dict[str, Any]: ...

    def start(
        self, env: PreparedEnv, launch: Launch, config: Mapping[str, Any], reporter: Reporter
    ) -> Child: ...
