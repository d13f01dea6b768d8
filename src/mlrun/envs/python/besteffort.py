"""Installing requirements that may fail without failing the env: the conda packages of a
conda.yaml installed by their pip names (`--conda-to-pip`).

All of them are first resolved together with the project's own requirements (one
consistent set of versions). When that fails, the project's requirements are installed
alone (they must work), then each extra one on its own, constrained to what is already
installed so that none of them changes a version the project asked for; the ones the
package index does not have, or that do not install, are skipped and reported."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from mlrun.envs.cache.store import BuildContext
from mlrun.errors import EnvBuildError

Install = Callable[[list[Path]], None]  # installs requirement files into the env


def install_best_effort(
    install: Install, ctx: BuildContext, required: list[Path], extra: Sequence[str]
) -> tuple[list[str], list[str]]:
    """(the extra requirements installed, those skipped)."""
    from mlrun.envs.installed import python_packages

    extra_file = ctx.directory / "conda-to-pip.txt"
    extra_file.write_text("".join(f"{line}\n" for line in extra))
    try:
        install([*required, extra_file])
        return list(extra), []
    except EnvBuildError:
        ctx.log.note("--conda-to-pip: not all of them install; now one by one")
    if required:
        install(required)
    pins = ctx.directory / "installed-constraints.txt"
    pins.write_text("".join(f"{p}\n" for p in python_packages(ctx.prefix)))
    installed, skipped = [], []
    for index, requirement in enumerate(extra):
        one = ctx.directory / f"conda-to-pip-{index}.txt"
        one.write_text(f"-c {pins}\n{requirement}\n")
        try:
            install([one])
            installed.append(requirement)
        except EnvBuildError:
            ctx.log.note(f"--conda-to-pip: skipped {requirement}")
            skipped.append(requirement)
    return installed, skipped
