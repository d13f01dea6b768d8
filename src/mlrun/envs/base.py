"""The environment manager contract (pre-commit's "language" pattern).

Each manager module (`envs/local.py`, `envs/python/uv.py`, `envs/python/virtualenv.py`,
`envs/conda/manager.py`, `envs/docker/manager.py`) exposes a `MANAGER` object with:

    name: str
    plan(project, options) -> EnvPlan          cheap: the key, whether it is cached; no build
    prepare(plan, reporter) -> PreparedEnv     build when needed (from the cache otherwise)

and registers in `mlrun.envs.MANAGERS` (one line). A PreparedEnv says WHAT to start for a
run (`what_to_start(launch)`: a `ProcessSpec`, or a `ContainerSpec` for docker) and what
to record about itself in the run store; a backend (mlrun.backends) decides WHERE it
starts, as tox separates an env from its execute step.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from mlrun.reporting import Reporter
from mlrun.spec.model import EMPTY, Command, Project

if TYPE_CHECKING:  # defining a Protocol costs start-up time that every run would pay

    class AfterRun(Protocol):
        """What a container's finish step does about its working directory (docker envs:
        envs/docker/workdir.py `Leftovers`)."""

        def collect(self, container: Any) -> tuple[dict[str, Any], list[str]]:
            """Before the container is removed: (what the run record's env gains, problems)."""

        def discard(self, *, container_removed: bool) -> None:
            """After it: remove what only this run needed."""


class EnvOptions(NamedTuple):
    """User choices that affect environments."""

    rebuild: bool = False  # --rebuild-env
    build_image: bool = False  # docker: bake the code into an image
    docker_args: Mapping[str, str | None] = EMPTY
    keep_container: bool = False
    offline: bool = False
    no_lock: bool = False  # --no-lock: build from the spec, ignoring its lock file
    lock_file: str | None = None  # a lock to follow instead of the spec's (mlrun reproduce)
    find_links: tuple[str, ...] = ()  # wheel directories a bundle brings (--with-wheels)
    # (archive, image id): a `docker save` archive a bundle brings (--with-image)
    image_archive: tuple[str, str] | None = None
    conda_to_pip: bool = False  # conda_env without conda: conda packages by pip name
    mount_code: bool = False  # docker: mount the code read-only instead of a writable copy
    keep_workdir: bool = False  # docker: keep the files the run left in its working dir
    # docker: registry login for pulls, MLflow's docker_auth (username, password,
    # registry, ...). Never part of an env key, never recorded.
    docker_auth: Mapping[str, str] | None = None
    # Where cached envs live (`<root>/<key>/env`); None: mlrun's cache dir. A backend
    # whose commands run on other machines sets a path they see (backends/slurm).
    cache_root: Path | None = None


class EnvPlan(NamedTuple):
    manager: str
    project: Project
    options: EnvOptions
    key: str | None = None  # content key in the env cache; None for "local"
    cached: bool = True  # False when prepare() would build
    description: str = ""  # one line for --dry-run ("uv env 3f2a... (cached)")
    details: Mapping[str, Any] = EMPTY
    starts: str = "process"  # what the env starts: "process" | "container" (backends check)
    # Why prepare() will fail (a missing interpreter): raised then, so that the run is
    # recorded; a dry run lists it among the plan's problems.
    problem: Exception | None = None


class Launch:
    """Everything about the command to start, independent of the environment. A plain
    class, not a NamedTuple: defined on every run's start-up path."""

    def __init__(
        self,
        command: Command,
        cwd: Path,  # the project directory
        run_env: Mapping[str, str],  # MLRUN_RUN_ID, MLRUN_RUN_DIR, MLRUN_TRACKING_URI, ...
        run_dir: Path,
        run_id: str,
        # Existing local files/dirs named by path/uri parameters (a container mounts them).
        host_paths: tuple[Path, ...] = (),
        # The command talks to a service on this host's loopback interface (an MLflow
        # tracking server on 127.0.0.1): a container then shares the host's network.
        host_network: bool = False,
    ) -> None:
        self.command = command
        self.cwd = cwd
        self.run_env = run_env
        self.run_dir = run_dir
        self.run_id = run_id
        self.host_paths = host_paths
        self.host_network = host_network


class ProcessSpec:
    """A command to start as a process (local, uv, virtualenv and conda envs): the
    command, its working directory and its complete environment. A plain class, not a
    dataclass: defined on every run's start-up path."""

    kind = "process"

    def __init__(self, command: Command, cwd: Path, environ: Mapping[str, str]) -> None:
        self.command = command
        self.cwd = cwd
        self.environ = dict(environ)

    def argv(self) -> list[str]:
        return self.command.launch_argv()


class ContainerSpec:
    """A container to run (docker envs), described without the docker SDK's types:
    the image and the engine it was prepared on, the argv, the environment (values
    included: they must travel in the engine's API request and nowhere else), bind mounts
    as (host path, container path, read-only), docker_env volumes, further settings
    (`-A` options as docker SDK keyword arguments), the options of a `local` volume
    driver mount at the working directory (the writable copy of the code), and what to
    do about the working directory once the command ended (`leftovers`)."""

    kind = "container"

    def __init__(
        self,
        *,
        engine: Any,  # the connected docker client holding `image`
        image: str,  # the image id
        image_name: str,  # its tag or name, for messages and registries
        name: str,  # the container's name: mlrun-RUN_ID
        command: list[str],
        workdir: str,
        environment: Mapping[str, str],
        mounts: list[tuple[str, str, bool]],
        volumes: list[str],
        user: str | None,
        labels: Mapping[str, str],
        settings: Mapping[str, Any],
        keep: bool,  # --keep-container
        workdir_volume: Mapping[str, str] | None = None,
        leftovers: AfterRun | None = None,
    ) -> None:
        self.engine = engine
        self.image = image
        self.image_name = image_name
        self.name = name
        self.command = command
        self.workdir = workdir
        self.environment = dict(environment)
        self.mounts = mounts
        self.volumes = volumes
        self.user = user
        self.labels = dict(labels)
        self.settings = dict(settings)
        self.keep = keep
        self.workdir_volume = workdir_volume
        self.leftovers = leftovers

    def __repr__(self) -> str:  # names only: environment values are secret
        return f"ContainerSpec({self.name} of {self.image_name}, env {sorted(self.environment)})"


class PreparedEnv:
    """A ready environment. The default implementation describes a process run with the
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
        env.update(launch.command.env)  # the values a shell-mode command refers to
        return env

    def what_to_start(self, launch: Launch) -> ProcessSpec | ContainerSpec:
        """What a backend starts for this run (where it starts is the backend's choice)."""
        return ProcessSpec(launch.command, launch.cwd, self.child_environ(launch))

    def release(self) -> None:
        """The run is over: drop the shared lock that protects the env from pruning."""


class EnvManager(Protocol):
    name: str

    def plan(self, project: Project, options: EnvOptions) -> EnvPlan: ...

    def prepare(self, plan: EnvPlan, reporter: Reporter) -> PreparedEnv: ...
