"""The environment manager contract (pre-commit's "language" pattern).

Each manager module (`envs/local.py`, `envs/python/uv.py`, `envs/python/virtualenv.py`,
`envs/conda/manager.py`, `envs/docker/manager.py`) exposes a `MANAGER` object with:

    name: str
    plan(project, options) -> EnvPlan          cheap: the key, whether it is cached; no build
    prepare(plan, reporter) -> PreparedEnv     build when needed (from the cache otherwise)

and registers in `mlrun.envs.MANAGERS` (one line). A PreparedEnv knows how to start a
command inside itself (`spawn`) and what to record about itself in the run store.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from mlrun.execution.child import Child, LocalChild
from mlrun.reporting import Reporter
from mlrun.spec.model import EMPTY, Command, Project


class EnvOptions(NamedTuple):
    """User choices that affect environments."""

    rebuild: bool = False  # --rebuild-env
    build_image: bool = False  # docker: bake the code into an image
    docker_args: Mapping[str, str | None] = EMPTY
    keep_container: bool = False
    offline: bool = False
    conda_to_pip: bool = False  # conda_env without conda: conda packages by pip name


class EnvPlan(NamedTuple):
    manager: str
    project: Project
    options: EnvOptions
    key: str | None = None  # content key in the env cache; None for "local"
    cached: bool = True  # False when prepare() would build
    description: str = ""  # one line for --dry-run ("uv env 3f2a... (cached)")
    details: Mapping[str, Any] = EMPTY


class Launch(NamedTuple):
    """Everything about the command to start, independent of the environment."""

    command: Command
    cwd: Path  # the project directory
    run_env: Mapping[str, str]  # MLRUN_RUN_ID, MLRUN_RUN_DIR, MLRUN_TRACKING_URI, ...
    run_dir: Path
    run_id: str
    # Existing local files/dirs named by path/uri parameters (a container mounts them).
    host_paths: tuple[Path, ...] = ()

    def argv(self) -> list[str]:
        if self.command.argv is not None:
            return list(self.command.argv)
        assert self.command.shell is not None
        return ["bash", "-c", self.command.shell]


class PreparedEnv:
    """A ready environment. The default implementation runs commands locally with the
    current process environment plus `environ_overrides()`."""

    def __init__(
        self, plan: EnvPlan, path: Path | None = None, record: dict[str, Any] | None = None
    ) -> None:
        self.plan = plan
        self.kind = plan.manager
        self.key = plan.key
        self.path = path
        self.record: dict[str, Any] = {"kind": plan.manager, "key": plan.key, **(record or {})}

    def environ_overrides(self) -> dict[str, str]:
        """Variables that put the env in charge (PATH, VIRTUAL_ENV, CONDA_PREFIX...)."""
        return {}

    def child_environ(self, launch: Launch) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.environ_overrides())
        env.setdefault("PYTHONUNBUFFERED", "1")  # live logs from Python steps
        env.update(launch.run_env)
        return env

    def spawn(self, launch: Launch) -> Child:
        return LocalChild(launch.argv(), launch.cwd, self.child_environ(launch))

    def describe(self, launch: Launch) -> dict[str, Any]:
        """For --dry-run: how the command would start, without starting it."""
        return {"cwd": str(launch.cwd), "env_vars": sorted(self.environ_overrides())}

    def release(self) -> None:
        """The run is over: drop the shared lock that protects the env from pruning."""


class EnvManager(Protocol):
    name: str

    def plan(self, project: Project, options: EnvOptions) -> EnvPlan: ...

    def prepare(self, plan: EnvPlan, reporter: Reporter) -> PreparedEnv: ...
