"""A docker_env section plus the user's options, resolved into the settings of a run:
which image (or how to build it), how the code gets in, mounts, environment, -A args.

Pure and cheap (no engine, no docker import), so `--dry-run` works anywhere and bad
input (an unset `${VAR}` in a volume, a malformed volume, an unknown -A) is exit 2
before any record exists. Environment values live only in `Settings.env`: everything
meant for display or the run record (`describe()`) carries names, never values."""

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
from mlrun.errors import UsageError
from mlrun.spec.model import DockerEnv, Project
from mlrun.util.confine import escapes, leads_outside

CODE_DIR = "/mlflow/projects/code"  # MLflow's path for the project inside the container
_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
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
    keep_container: bool = False
    rebuild: bool = False
    offline: bool = False

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
            "code": "image" if self.build_image else "mounted",
            "workdir": CODE_DIR,
            "volumes": list(self.binds),
            "environment": list(self.env_names),
            "docker_args": dict(self.args.shown),
            "keep_container": self.keep_container,
        }

    def key(self) -> str:
        """A key for what was asked (not yet for what gets built: that needs the files)."""
        data = {k: v for k, v in self.describe().items() if k != "keep_container"}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()

    def summary(self) -> str:
        """One line for the plan: where the image comes from and how the code gets in."""
        if self.builds:
            source = f"docker image built from {self._rel(self.dockerfile) or 'Dockerfile'}"
        else:
            source = f"docker image {self.image}"
        if self.build_image:
            return f"{source}, with the code copied in (--build-image)"
        return f"{source}, code mounted read-only at {CODE_DIR}"

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
    root = project.root or directory
    args = parse(options.docker_args)
    binds = [
        _bind(v, directory, root, f"{where}: docker_env.volumes[{i}]")
        for i, v in enumerate(spec.volumes)
    ]
    binds += [_bind(v, directory, root, "-A volume") for v in args.binds]
    env, names, missing = _environment(spec, args, where)
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
        args=args,
        keep_container=options.keep_container,
        rebuild=options.rebuild,
        offline=options.offline,
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


def expand_vars(text: str, where: str) -> str:
    """`$VAR` and `${VAR}` from mlrun's environment; an unset one is an error (MLflow's
    shell would silently make it empty and mount the wrong directory)."""

    def _sub(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in os.environ:
            raise UsageError(
                f"{where} uses ${name}, which is not set in this environment",
                hint=f"set {name} before running, or change the volume",
            )
        return os.environ[name]

    return _VAR.sub(_sub, text)


def volume_problems(
    raw: str, directory: Path, where: str, root: Path | None = None
) -> tuple[list[str], str | None]:
    """For `mlrun validate`: the variables `raw` uses that are not set here (a run
    elsewhere may have them), and why a run would refuse the volume anyway (or None)."""
    unset = [n for m in _VAR.finditer(raw) if (n := m.group(1) or m.group(2)) not in os.environ]
    text = _VAR.sub(lambda m: "unset" if (m.group(1) or m.group(2)) in unset else m.group(0), raw)
    try:
        _bind(text, directory, root or directory, where)
    except UsageError as exc:
        return unset, exc.message
    return unset, None


def valid_env_name(name: str) -> bool:
    return bool(_ENV_NAME.match(name))


def _bind(raw: str, directory: Path, root: Path, where: str) -> str:
    text = expand_vars(raw, where)
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
    if host.startswith("~"):
        host = os.path.expanduser(host)
    if os.path.isabs(host):
        host = os.path.normpath(host)
    elif host.startswith(".") or "/" in host:
        # `docker run -v` refuses relative paths; the project directory is the only
        # sensible anchor for a path written in the MLproject. Relative means inside:
        # a committed symlink (or `..`) must not mount the host's files.
        host = os.path.normpath(directory / host)
        real = escapes(root, host)
        if real is not None:
            raise UsageError(
                leads_outside(f"{where} ({raw!r})", real),
                hint="write an absolute path (or ${HOME}/...) to mount a directory "
                "outside the project",
            )
    elif not _VOLUME_NAME.match(host):
        raise UsageError(f"{where}: {host!r} in {raw!r} is neither a path nor a volume name")
    return f"{host}:{target}:{mode}"


def _environment(
    spec: DockerEnv, args: DockerArgs, where: str
) -> tuple[dict[str, str], tuple[str, ...], tuple[str, ...]]:
    wanted: dict[str, str | None] = {v.name: v.value for v in spec.environment}
    wanted.update(args.env)
    env: dict[str, str] = {}
    missing: list[str] = []
    for name, value in wanted.items():
        if not valid_env_name(name):
            raise UsageError(f"{where}: docker_env.environment has the invalid name {name!r}")
        if value is None:
            if name not in os.environ:
                missing.append(name)
                continue
            value = os.environ[name]
        env[name] = value
    return env, tuple(wanted), tuple(missing)
