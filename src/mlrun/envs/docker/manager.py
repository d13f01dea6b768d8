"""`docker`: run the entry point in a container of the project's docker_env image.

plan()    resolves the settings (no engine needed: --dry-run works anywhere).
prepare() connects to the engine, gets the image (present, pulled, or built from the
          project's Dockerfile), and gets the code ready: by default the cached copy
          (codecopy.py) each run's writable overlay is layered on, or with --build-image
          (and on an engine that cannot mount that overlay) an image with the code baked
          in; built images are tagged by content digest and reused.
what_to_start() describes the container `mlrun-RUN_ID` (a ContainerSpec): code at
          /mlflow/projects/code (a writable overlay of the copy, the image's, or the
          project mounted read-only with --mount-code), the run dir mounted at its own
          path, path parameters and docker_env volumes mounted at theirs; the local
          backend creates it (container.py), environment values in the API request only.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrun.envs.base import ContainerSpec, EnvOptions, EnvPlan, Launch, PreparedEnv
from mlrun.envs.docker.settings import CODE_DIR, Settings
from mlrun.reporting import Reporter
from mlrun.spec.model import Command, Project
from mlrun.util.redact import register_secret, strip_credentials

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.images import Image

    from mlrun.envs.base import AfterRun
    from mlrun.envs.docker.codecopy import CodeCopy

# Shell-mode commands run under bash when the image has it (MLflow users write bash),
# else under the image's sh. The command is passed as an argument, never re-quoted.
_PLAIN_MODES = frozenset({"ro", "rw", "consistent", "cached", "delegated"})
_SHELL_WRAPPER = 'if command -v bash >/dev/null 2>&1; then exec bash -c "$1"; fi; exec sh -c "$1"'


class DockerManager:
    name = "docker"

    def plan(self, project: Project, options: EnvOptions) -> EnvPlan:
        from mlrun.envs.docker.lock import settings_for

        settings, _lock = settings_for(project, options)
        return EnvPlan(
            self.name,
            project,
            options,
            key=settings.key(),
            cached=not (settings.builds or settings.build_image),
            description=settings.summary(),
            details={**settings.describe(), **_login_shown(options)},
            starts="container",
        )

    def prepare(self, plan: EnvPlan, reporter: Reporter) -> PreparedEnv:
        from mlrun.envs.docker.engine import connect
        from mlrun.envs.docker.lock import settings_for

        settings, lock = settings_for(plan.project, plan.options)
        for value in settings.env.values():
            register_secret(value)  # masked in every message mlrun writes from now on
        for name in settings.missing_env:
            reporter.warn(
                f"docker_env.environment names {name}, which is not set here; "
                "the container runs without it"
            )
        for where, name in settings.unset_vars:
            reporter.warn(f"{where} uses ${name}, which is not set here: it is empty, as in bash")
        client = connect()
        try:
            prepared = self._prepare(plan, settings, client, reporter)
        except BaseException:
            client.close()
            raise
        if lock is not None:
            prepared.record["lock"] = lock.describe(plan.project.directory)
        return prepared

    def _prepare(
        self, plan: EnvPlan, settings: Settings, client: DockerClient, reporter: Reporter
    ) -> DockerEnv:
        from mlrun.envs.docker.engine import engine_address, ensure_image, login
        from mlrun.envs.docker.image import code_image, env_image
        from mlrun.envs.docker.lock import load_archive

        load_archive(client, plan.options, reporter)  # a bundle's image (--with-image)

        if plan.options.docker_auth is not None:
            login(client, plan.options.docker_auth)
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
        copy = None
        if settings.code == "copy":
            copy = _code_copy(client, image, settings, reporter)
            record["code_via"] = "overlay" if copy is not None else "image"
            if copy is not None:
                record["code_digest"], record["code_copy_built"] = copy.digest, copy.built
        try:
            if settings.code == "image" or record.get("code_via") == "image":
                record["base_image_id"] = image.id
                code = code_image(client, image, settings, project_name, reporter)
                image, record["code_image"] = code.image, code.tag
                record["code_image_built"] = code.built
            record["image_id"] = image.id
            record["repo_digests"] = list(image.attrs.get("RepoDigests") or [])
        except BaseException:
            if copy is not None:
                copy.release()
            raise
        user = _user(settings)
        if user is not None:
            record["user"] = user
        return DockerEnv(plan, settings, client, image, user, record, reporter, copy)


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
        copy: CodeCopy | None = None,
    ) -> None:
        super().__init__(plan, record=record)
        self.settings = settings
        self.client = client
        self.image = image
        self.user = user
        self.reporter = reporter
        self.copy = copy  # the code copy the run's overlay is layered on

    def release(self) -> None:
        if self.copy is not None:
            self.copy.release()  # its use lock: prunable again
        self.client.close()  # its pooled connections (Python API callers live on)

    def what_to_start(self, launch: Launch) -> ContainerSpec:
        settings = self.settings
        mounts, volumes, workdir_volume, leftovers = self._mounts(launch)
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
            volumes=volumes,
            user=self.user,
            labels={
                **dict(settings.args.kwargs.get("labels", {})),
                "org.mlrun.run-id": launch.run_id,
            },
            settings=_settings(settings, launch),
            keep=settings.keep_container,
            workdir_volume=workdir_volume,
            leftovers=leftovers,
        )

    def _mounts(
        self, launch: Launch
    ) -> tuple[list[tuple[str, str, bool]], list[str], dict[str, str] | None, AfterRun | None]:
        """Everything the container mounts, in one place: (bind mounts as (host path,
        container path, read-only), docker_env volumes left to the engine, the options
        of the working directory's overlay volume, what to do with the working
        directory afterwards)."""
        from mlrun.envs.docker.workdir import Leftovers, Overlay

        settings = self.settings
        mounts = [(str(launch.run_dir), str(launch.run_dir), False)]
        for path in _extra_paths(launch, self.plan.project.root or launch.cwd):
            mounts.append((str(path), str(path), True))
        volumes: list[str] = []
        for bind in settings.binds:
            host, target, mode = bind.split(":")
            if os.path.isabs(host) and set(mode.split(",")) <= _PLAIN_MODES:
                # A bind mount, not a `-v` bind: the engine refuses a host path that is
                # missing instead of creating it as root (resolve() checked it exists).
                mounts.append((host, target, "ro" in mode.split(",")))
            else:
                volumes.append(bind)  # named volumes; SELinux and propagation modes
        run_dir = launch.run_dir
        keep_to = run_dir / "artifacts" / "workdir" if settings.keep_workdir else None
        if settings.code == "mounted":
            mounts.append((str(launch.cwd), CODE_DIR, True))
            return mounts, volumes, None, None
        if self.copy is None:  # the code is in the image: the container's diff tells
            return mounts, volumes, None, Leftovers(CODE_DIR, keep_to, None, confine=run_dir)
        overlay = Overlay(self.copy.path, launch.run_id)
        leftovers = Leftovers(CODE_DIR, keep_to, overlay, confine=run_dir)
        return mounts, volumes, overlay.options(), leftovers


def _code_copy(
    client: DockerClient, image: Image, settings: Settings, reporter: Reporter
) -> CodeCopy | None:
    """The copy each run's writable working directory is layered on, or None when the
    engine cannot mount that overlay here (the code then goes into an image)."""
    from mlrun.envs.docker import codecopy
    from mlrun.envs.docker.workdir import expressible, overlay_supported

    if expressible(codecopy.code_root()) and overlay_supported(client, str(image.id)):
        return codecopy.prepare(settings.project_dir, reporter)
    reporter.info(
        "the docker engine cannot mount a writable overlay of mlrun's cache here; "
        "the code is copied into an image instead (see README, Docker environments)"
    )
    return None


def _login_shown(options: EnvOptions) -> dict[str, Any]:
    """--docker-auth as a dry run shows it: who logs in where, never the password."""
    if options.docker_auth is None:
        return {}
    auth = options.docker_auth
    return {"registry_login": {k: auth[k] for k in ("registry", "username") if k in auth}}


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
