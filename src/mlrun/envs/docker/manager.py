"""`docker`: run the entry point in a container of the project's docker_env image.

plan()    resolves the settings (no engine needed: --dry-run works anywhere).
prepare() connects to the engine, gets the image (present, pulled, or built from the
          project's Dockerfile), and with --build-image bakes the code into an image;
          built images are tagged by content digest and reused.
what_to_start() describes the container `mlrun-RUN_ID` (a ContainerSpec): code at
          /mlflow/projects/code (mounted read-only, or from the image), the run dir
          mounted at its own path, path parameters mounted read-only at their own paths;
          the local backend creates it (container.py), environment values in the API
          request only.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrun.envs.base import ContainerSpec, EnvOptions, EnvPlan, Launch, PreparedEnv
from mlrun.envs.docker.settings import CODE_DIR, Settings, resolve
from mlrun.reporting import Reporter
from mlrun.spec.model import Command, Project
from mlrun.util.redact import register_secret, strip_credentials

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.images import Image

# Shell-mode commands run under bash when the image has it (MLflow users write bash),
# else under the image's sh. The command is passed as an argument, never re-quoted.
_SHELL_WRAPPER = 'if command -v bash >/dev/null 2>&1; then exec bash -c "$1"; fi; exec sh -c "$1"'


class DockerManager:
    name = "docker"

    def plan(self, project: Project, options: EnvOptions) -> EnvPlan:
        settings = resolve(project, options)
        return EnvPlan(
            self.name,
            project,
            options,
            key=settings.key(),
            cached=not (settings.builds or settings.build_image),
            description=settings.summary(),
            details=settings.describe(),
            starts="container",
        )

    def prepare(self, plan: EnvPlan, reporter: Reporter) -> PreparedEnv:
        from mlrun.envs.docker.engine import connect

        settings = resolve(plan.project, plan.options)
        for value in settings.env.values():
            register_secret(value)  # masked in every message mlrun writes from now on
        for name in settings.missing_env:
            reporter.warn(
                f"docker_env.environment names {name}, which is not set here; "
                "the container runs without it"
            )
        client = connect()
        try:
            return self._prepare(plan, settings, client, reporter)
        except BaseException:
            client.close()
            raise

    def _prepare(
        self, plan: EnvPlan, settings: Settings, client: DockerClient, reporter: Reporter
    ) -> DockerEnv:
        from mlrun.envs.docker.engine import engine_address, ensure_image
        from mlrun.envs.docker.image import code_image, env_image

        project_name = plan.project.name or plan.project.directory.name
        record: dict[str, Any] = {
            **settings.describe(),
            "engine": strip_credentials(engine_address()),
        }
        if settings.builds:
            built = env_image(client, settings, project_name, reporter)
            image, record["env_image"] = built.image, built.tag
            record["env_image_built"] = built.built
        else:
            assert settings.image is not None
            image = ensure_image(
                client, settings.image, offline=settings.offline, reporter=reporter
            )
        if settings.build_image:
            record["base_image_id"] = image.id
            code = code_image(client, image, settings, project_name, reporter)
            image, record["code_image"] = code.image, code.tag
            record["code_image_built"] = code.built
        record["image_id"] = image.id
        record["repo_digests"] = list(image.attrs.get("RepoDigests") or [])
        user = _user(settings)
        if user is not None:
            record["user"] = user
        return DockerEnv(plan, settings, client, image, user, record, reporter)


class DockerEnv(PreparedEnv):
    def __init__(
        self,
        plan: EnvPlan,
        settings: Settings,
        client: DockerClient,
        image: Image,
        user: str | None,
        record: dict[str, Any],
        reporter: Reporter,
    ) -> None:
        super().__init__(plan, record=record)
        self.settings = settings
        self.client = client
        self.image = image
        self.user = user
        self.reporter = reporter

    def release(self) -> None:
        self.client.close()  # its pooled connections (Python API callers live on)

    def what_to_start(self, launch: Launch) -> ContainerSpec:
        settings = self.settings
        mounts = [(str(launch.run_dir), str(launch.run_dir), False)]
        if not settings.build_image:
            mounts.append((str(launch.cwd), CODE_DIR, True))
        for path in _extra_paths(launch, self.plan.project.root or launch.cwd):
            mounts.append((str(path), str(path), True))
        command = container_command(launch.command)
        return ContainerSpec(
            engine=self.client,
            image=self.image.id,
            image_name=str(
                self.record.get("code_image")
                or self.record.get("env_image")
                or settings.image
                or self.image.id
            ),
            name=f"mlrun-{launch.run_id}",
            command=command,
            workdir=CODE_DIR,
            environment={
                "PYTHONUNBUFFERED": "1",
                **settings.env,
                **launch.run_env,
                **launch.command.env,  # the values a shell-mode command refers to
            },
            mounts=mounts,
            volumes=list(settings.binds),
            user=self.user,
            labels={
                **dict(settings.args.kwargs.get("labels", {})),
                "org.mlrun.run-id": launch.run_id,
            },
            settings=_settings(settings, launch),
            keep=settings.keep_container,
        )


def container_command(command: Command) -> list[str]:
    """The container's command: the entry point's words, or its shell script run by the
    image's bash (else sh), passed as an argument, never re-quoted."""
    if command.argv is not None:
        return list(command.argv)
    return ["sh", "-c", _SHELL_WRAPPER, "mlrun-shell", command.launch_argv()[2]]


def _settings(settings: Settings, launch: Launch) -> dict[str, Any]:
    """The -A settings for the engine; with the host's network when the command must
    reach a service on the host's loopback (127.0.0.1 is reachable from the host's
    network namespace only) and `-A network=...` did not choose otherwise."""
    chosen = {k: v for k, v in settings.args.kwargs.items() if k != "labels"}
    if launch.host_network and not {"network", "network_mode"} & set(chosen):
        chosen["network_mode"] = "host"
    return chosen


def _user(settings: Settings) -> str | None:
    """Run as the caller's uid:gid, so files written to the mounted run directory belong
    to them (a root container would leave root-owned files). Root callers keep the
    image's own user, as MLflow does; `-A user=...` overrides both."""
    if "user" in settings.args.kwargs:
        return str(settings.args.kwargs["user"])
    if not hasattr(os, "getuid") or os.getuid() == 0:
        return None
    return f"{os.getuid()}:{os.getgid()}"


def _extra_paths(launch: Launch, root: Path) -> list[Path]:
    """Host paths named by path/uri parameters, minus those already inside a mount.
    One written inside the project must really be there: a committed symlink must not
    mount the host's files (UsageError)."""
    from mlrun.errors import UsageError
    from mlrun.util.confine import escapes, inside, leads_outside

    paths: list[Path] = []
    for path in sorted(set(launch.host_paths)):
        real = escapes(root, path) if inside(root, path) else None
        if real is not None:
            raise UsageError(
                leads_outside(f"the path parameter value {str(path)!r}", real),
                hint="pass the real location (an absolute path) to mount it",
            )
        if path.is_relative_to(launch.run_dir) or any(path.is_relative_to(p) for p in paths):
            continue
        paths.append(path)
    return paths


MANAGER = DockerManager()
