"""conda_env locks: an explicit package list (conda's `@EXPLICIT` format, one
`URL#sha256:HEX` per package), solved with py-rattler for this platform.

A build from the lock installs exactly those packages: with py-rattler each line becomes
a match spec pinning the channel, name, version, build and sha256 (a package the
channel now serves with other bytes has no candidate); micromamba, mamba and conda take
the explicit file as it is (`create --file`). The `pip:` section of a conda.yaml is not
locked: it is resolved when the env is built, and the lock's header says so."""

from __future__ import annotations

from collections.abc import Sequence

from mlrun.envs.base import EnvOptions
from mlrun.errors import EnvBuildError, SpecError
from mlrun.reporting import Reporter
from mlrun.spec.model import Project

EXPLICIT = "@EXPLICIT"
_SUFFIXES = (".tar.bz2", ".conda")


def make(
    project: Project, options: EnvOptions, reporter: Reporter, pins: Sequence[str] | None = None
) -> tuple[str, dict[str, str]]:
    """(body, header facts) of a lock of the project's conda env: its dependencies
    solved afresh, or `pins` (`name=version=build`, what a recorded run had)."""
    from mlrun.envs.conda import rattler as conda_rattler
    from mlrun.envs.conda.manager import channel_url, conda_spec

    if not conda_rattler.available():
        raise EnvBuildError(
            "locking a conda env needs py-rattler, which is not installed",
            hint="pip install 'mlrun[conda]'",
        )
    spec = conda_spec(project)
    channels = [channel_url(c, project.directory) for c in spec.channels] or ["conda-forge"]
    specs = [_pin_spec(p) for p in pins] if pins is not None else list(spec.dependencies)
    with reporter.progress(f"solving {spec.file.name} with py-rattler"):
        solved = conda_rattler.solve(channels, specs)
    lines = [f"{s.url}#sha256:{s.sha256}" if s.sha256 else s.url for s in solved]
    facts = {
        "platform": solved[0].platform if solved else "",
        "resolver": f"py-rattler {conda_rattler.version()}",
    }
    if spec.pip:
        facts["pip"] = "not locked: the pip: section is resolved when the env is built"
        reporter.warn(f"{spec.file}: the pip: section is not locked (only conda packages are)")
    return "\n".join([EXPLICIT, f"# platform: {facts['platform']}", *lines]), facts


def _pin_spec(pin: str) -> str:
    name, _, rest = pin.partition("=")
    version, _, build = rest.partition("=")
    return f"{name}=={version}[build={build}]" if build else f"{name}=={version}"


def locked_specs(body: str, file: str) -> tuple[list[str], list[str]]:
    """(channels, match specs) that solve to exactly the locked packages."""
    channels: list[str] = []
    specs = []
    for line in body.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or line == EXPLICIT:
            continue
        url, _, fragment = line.partition("#")
        channel, filename = _split_url(url, file)
        stem = next((filename[: -len(s)] for s in _SUFFIXES if filename.endswith(s)), None)
        parts = stem.rsplit("-", 2) if stem else []
        if len(parts) != 3:
            raise SpecError(f"{filename!r} is not a conda package file name", file=file)
        name, version, build = parts
        extra = f",sha256={fragment.removeprefix('sha256:')}" if fragment else ""
        specs.append(f"{channel}::{name}=={version}[build={build}{extra}]")
        if channel not in channels:
            channels.append(channel)
    return channels, specs


def _split_url(url: str, file: str) -> tuple[str, str]:
    """(channel, file name) of `CHANNEL/SUBDIR/FILE`."""
    head, _, filename = url.rpartition("/")
    channel, _, subdir = head.rpartition("/")
    if not channel or not subdir or not filename:
        raise SpecError(f"{url!r} is not a conda package URL", file=file)
    return channel, filename
