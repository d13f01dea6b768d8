"""A docker_env section plus the user's options, resolved into the settings of a run:
which image (or how to build it), how the code gets in, mounts, environment, -A args.

Pure and cheap (no engine, no docker import), so `--dry-run` works anywhere and bad
input (an unset `${VAR}` in a volume, a host path that does not exist, a malformed
volume, an unknown -A) is exit 2 before any record exists. Variables are expanded as
MLflow's shell expands them (expand.py), with `${PWD}` the project directory.
Environment values live only in `Settings.env`: everything meant for display or the run
record (`describe()`) carries names, never values."""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlrun.envs.base import EnvOptions
from mlrun.envs.docker.args import DockerArgs, parse
from mlrun.envs.docker.expand import expand, shell_variables
from mlrun.errors import UsageError
from mlrun.spec.model import DockerEnv, Project
from mlrun.util.confine import escapes, inside, leads_outside

CODE_DIR = "/mlflow/projects/code"  # MLflow's path for the project inside the container
_VOLUME_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")
_ENV_NAME = re.compile(r"[^=\0]+\Z")
_MODES = frozenset(
    {
        "ro",
        "rw",
        "z",
        "Z",
        "shared",
        "slave",
        "private",
        "rshared",
        "rslave",
        "rprivate",
        "nocopy",
        "consistent",
        "cached",
        "delegated",
    }
)


@dataclass(frozen=True)
class Settings:
    project_dir: Path
    image: str | None  # docker_env.image
    dockerfile: Path | None  # absolute; the build variant
    context: Path | None  # absolute; the build variant's context
    build_image: bool  # --build-image: copy the code into an image
    binds: tuple[str, ...]  # HOST:CONTAINER:MODE, expanded (docker_env.volumes, -A volume)
    env: Mapping[str, str] = field(repr=False)  # values: secret, never shown or recorded
    env_names: tuple[str, ...] = ()
    missing_env: tuple[str, ...] = ()  # names to copy from the host that are not set here
    args: DockerArgs = field(default_factory=DockerArgs)
    # (where, name): a variable an environment value uses that is not set (made empty)
    unset_vars: tuple[tuple[str, str], ...] = ()
    keep_container: bool = False
    rebuild: bool = False
    offline: bool = False
    mount_code: bool = False  # --mount-code: the project mounted read-only
    keep_workdir: bool = False  # --keep-workdir: files the run left become artifacts

    @property
    def code(self) -> str:
        """How the code gets in: "copy" (writable, the default), "mounted" (read-only) or
        "image" (--build-image)."""
        if self.build_image:
            return "image"
        return "mounted" if self.mount_code else "copy"

    @property
    def builds(self) -> bool:
        """The build variant: the env image comes from a Dockerfile."""
        return self.dockerfile is not None or self.context is not None

    def describe(self) -> dict[str, Any]:
        """The settings as shown by --dry-run and kept in the run record (no values)."""
        return {
            "image": self.image,
            "dockerfile": self._rel(self.dockerfile),
            "context": self._rel(self.context),
            "code": self.code,
            "workdir": CODE_DIR,
            "volumes": list(self.binds),
            "environment": list(self.env_names),
            "docker_args": dict(self.args.shown),
            "keep_container": self.keep_container,
            "keep_workdir": self.keep_workdir,
        }

    def key(self) -> str:
        """A key for what was asked (not yet for what gets built: that needs the files)."""
        kept = ("keep_container", "keep_workdir")  # what happens after the run: not the env
        data = {k: v for k, v in self.describe().items() if k not in kept}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()

    def summary(self) -> str:
        """One line for the plan: where the image comes from and how the code gets in."""
        if self.builds:
            source = f"docker image built from {self._rel(self.dockerfile) or 'Dockerfile'}"
        else:
            source = f"docker image {self.image}"
        if self.code == "image":
            return f"{source}, with the code copied in (--build-image)"
        if self.code == "mounted":
            return f"{source}, code mounted read-only at {CODE_DIR}"
        return f"{source}, a writable copy of the code at {CODE_DIR}"

    def _rel(self, path: Path | None) -> str | None:
        if path is None:
            return None
        try:
            return str(path.relative_to(self.project_dir))
        except ValueError:
            return str(path)


def resolve(project: Project, options: EnvOptions) -> Settings:
    spec = project.env.docker
    assert spec is not None, "resolve() is for docker_env projects"
    where = str(project.file) if project.file else str(project.directory)
    directory = project.directory
    _check_code_options(options)
    root = project.root or directory
    args = parse(options.docker_args)
    variables = shell_variables(directory)
    binds = [
        _bind(v, directory, root, f"{where}: docker_env.volumes[{i}]", variables)
        for i, v in enumerate(spec.volumes)
    ]
    binds += [_bind(v, directory, root, "-A volume", variables) for v in args.binds]
    env, names, missing, unset = _environment(spec, args, where, variables)
    dockerfile, context = _build_paths(spec, directory)
    return Settings(
        project_dir=directory,
        image=spec.image,
        dockerfile=dockerfile,
        context=context,
        build_image=options.build_image,
        binds=tuple(binds),
        env=env,
        env_names=names,
        missing_env=missing,
        unset_vars=unset,
        args=args,
        keep_container=options.keep_container,
        rebuild=options.rebuild,
        offline=options.offline,
        mount_code=options.mount_code,
        keep_workdir=options.keep_workdir,
    )


def _check_code_options(options: EnvOptions) -> None:
    if options.mount_code and options.build_image:
        raise UsageError(
            "--mount-code and --build-image are two ways for the code to get in; choose one",
            hint="--build-image bakes the code into an image; --mount-code mounts it read-only",
        )
    if options.mount_code and options.keep_workdir:
        raise UsageError(
            "--keep-workdir keeps what the run wrote in its working directory, which "
            "--mount-code makes read-only",
            hint="drop --mount-code (the default copy is writable), or write results to "
            "$MLRUN_RUN_DIR",
        )


def _build_paths(spec: DockerEnv, directory: Path) -> tuple[Path | None, Path | None]:
    if spec.dockerfile is None and spec.context is None:
        return None, None
    # As `docker build -f FILE CONTEXT`: the context defaults to the project directory,
    # the Dockerfile to CONTEXT/Dockerfile. Both were checked to exist when loading.
    context = Path(os.path.normpath(directory / (spec.context or ".")))
    dockerfile = (
        Path(os.path.normpath(directory / spec.dockerfile))
        if spec.dockerfile
        else context / "Dockerfile"
    )
    return dockerfile, context


def volume_problems(
    raw: str, directory: Path, where: str, root: Path | None = None
) -> tuple[list[str], str | None, str | None]:
    """For `mlrun validate`: the variables `raw` uses that are not set here and the host
    path it names that does not exist here (a run elsewhere may have them), and why a
    run would refuse the volume anyway (or None)."""
    variables = shell_variables(directory)
    unset: list[str] = []

    def _note(name: str) -> str:
        unset.append(name)
        return "unset"

    try:
        text = expand(raw, variables, where, _note, "start")
        host = _parse_bind(text, raw, directory, root or directory, where)[0]
    except UsageError as exc:
        return unset, exc.message, None
    missing = host if os.path.isabs(host) and not unset and not os.path.exists(host) else None
    return unset, None, missing


def environment_problems(
    value: str | None, directory: Path, where: str
) -> tuple[list[str], str | None]:
    """For `mlrun validate`: the variables an environment value uses that are not set
    here, and why a run would refuse it (an expansion mlrun does not do), or None."""
    unset: list[str] = []
    if value is None:
        return unset, None

    def _note(name: str) -> str:
        unset.append(name)
        return ""

    try:
        expand(value, shell_variables(directory), where, _note, "assignment")
    except UsageError as exc:
        return unset, exc.message
    return unset, None


def valid_env_name(name: str) -> bool:
    return bool(_ENV_NAME.match(name))


def _bind(raw: str, directory: Path, root: Path, where: str, variables: dict[str, str]) -> str:
    """HOST:CONTAINER:MODE with variables expanded (an unset one is an error: MLflow's
    shell would make it empty and mount the wrong directory) and the host path checked:
    one that does not exist is an error, never a directory the engine creates as root."""

    def _refuse(name: str) -> str:
        raise UsageError(
            f"{where} uses ${name}, which is not set in this environment",
            hint=f"set {name} before running, or change the volume",
        )

    text = expand(raw, variables, where, _refuse, "start")
    host, target, mode = _parse_bind(text, raw, directory, root, where)
    if os.path.isabs(host) and not os.path.exists(host):
        hint = "create it first, or correct the volume (mlrun never creates host paths)"
        if "PWD" in raw:
            hint += f"; ${{PWD}} is the project directory, {directory}"
        raise UsageError(f"{where} is {raw!r}, whose host path {host} does not exist", hint=hint)
    return f"{host}:{target}:{mode}"


def _parse_bind(
    text: str, raw: str, directory: Path, root: Path, where: str
) -> tuple[str, str, str]:
    parts = text.split(":")
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        raise UsageError(
            f"{where} is {raw!r}, which is not HOST:CONTAINER[:ro|rw]",
            hint='write e.g. "/data:/data:ro" or "${HOME}/cache:/cache"',
        )
    host, target = parts[0], parts[1]
    mode = parts[2] if len(parts) == 3 else "rw"
    bad = [m for m in mode.split(",") if m not in _MODES]
    if bad:
        raise UsageError(
            f"{where} has the unknown mount option {bad[0]!r} in {raw!r}",
            hint="use ro or rw (and optionally z, Z or a propagation mode)",
        )
    if not posixpath.isabs(target):
        raise UsageError(f"{where}: the container path {target!r} in {raw!r} is not absolute")
    relative = False
    if os.path.isabs(host):
        host = os.path.normpath(host)
    elif host.startswith(".") or "/" in host:
        # `docker run -v` refuses relative paths; the project directory is the only
        # sensible anchor for a path written in the MLproject.
        host, relative = os.path.normpath(directory / host), True
    elif not _VOLUME_NAME.match(host):
        raise UsageError(f"{where}: {host!r} in {raw!r} is neither a path nor a volume name")
    if relative or (os.path.isabs(host) and inside(directory, host)):
        # A path in the project (relative, or `${PWD}/...`) means inside it: a committed
        # symlink (or `..`) must not mount the host's files.
        real = escapes(root, host)
        if real is not None:
            raise UsageError(
                leads_outside(f"{where} ({raw!r})", real),
                hint="write an absolute path (or ${HOME}/...) to mount a directory "
                "outside the project",
            )
    return host, target, mode


def _environment(
    spec: DockerEnv, args: DockerArgs, where: str, variables: dict[str, str]
) -> tuple[dict[str, str], tuple[str, ...], tuple[str, ...], tuple[tuple[str, str], ...]]:
    """The container's variables. A name alone copies the host's value verbatim; the
    value of a [name, value] pair (or of `-A env=NAME=VALUE`) has its variables expanded,
    an unset one giving "" as in bash (the caller warns)."""
    wanted: dict[str, tuple[str | None, str]] = {
        v.name: (v.value, f"{where}: docker_env.environment[{i}] ({v.name})")
        for i, v in enumerate(spec.environment)
    }
    wanted.update({name: (value, f"-A env={name}") for name, value in args.env.items()})
    env: dict[str, str] = {}
    missing: list[str] = []
    unset: list[tuple[str, str]] = []
    for name, (value, entry) in wanted.items():
        if not valid_env_name(name):
            raise UsageError(f"{where}: docker_env.environment has the invalid name {name!r}")
        if value is None:
            if name not in os.environ:
                missing.append(name)
                continue
            env[name] = os.environ[name]
            continue

        def _empty(var: str, entry: str = entry) -> str:
            unset.append((entry, var))
            return ""

        # bash reads MLflow's `-e NAME=VALUE` as an assignment: `~` after `:` too
        env[name] = expand(value, variables, entry, _empty, "assignment")
    return env, tuple(wanted), tuple(missing), tuple(unset)
