"""Building a conda env with py-rattler (the optional `mlrun[conda]` extra): solve and
install in-process, so users need no conda, mamba or micromamba at all.

rattler keeps downloaded packages in its own cache (RATTLER_CACHE_DIR, else its default),
shared across envs: the same package is downloaded once and hard-linked into each env."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from mlrun.envs.cache.buildlog import BuildLog


def available() -> bool:
    import importlib.util

    return importlib.util.find_spec("rattler") is not None


def version() -> str:
    import importlib.metadata

    return importlib.metadata.version("py-rattler")


def install(channels: Sequence[str], specs: Sequence[str], prefix: Path, log: BuildLog) -> None:
    """Solve `specs` from `channels` and install the solution into `prefix`."""
    import rattler

    cache = os.environ.get("RATTLER_CACHE_DIR")

    async def _solve_and_install() -> list[str]:
        records = await _solve(channels, specs)
        log.progress.update(f"installing {len(records)} conda packages")
        await rattler.install(
            records, prefix, cache_dir=Path(cache) / "pkgs" if cache else None, show_progress=False
        )
        return [str(r.url) for r in records]

    log.note(f"solving {' '.join(specs)} from {' '.join(channels)} with py-rattler")
    log.progress.update("solving")
    try:
        urls = asyncio.run(_solve_and_install())
    except Exception as exc:  # rattler raises its own exception types for every failure
        text = " ".join(str(exc).split())
        log.note(f"py-rattler failed: {type(exc).__name__}: {text}")
        raise log.failure(f"solving or installing the conda env failed: {text[:300]}") from None
    for url in urls:
        log.note(f"installed {url}")
    if not (prefix / "conda-meta").is_dir():
        raise log.failure("py-rattler finished but made no conda env")


class Solved(NamedTuple):
    url: str
    sha256: str  # hex; "" when the channel gives none
    platform: str  # the subdir solved for, e.g. linux-64


def solve(channels: Sequence[str], specs: Sequence[str]) -> list[Solved]:
    """The packages `specs` resolve to (for a lock), without installing anything.
    EnvBuildError when there is no solution."""
    import rattler

    from mlrun.errors import EnvBuildError

    try:
        records = asyncio.run(_solve(channels, specs))
    except Exception as exc:
        text = " ".join(str(exc).split())
        raise EnvBuildError(
            f"solving the conda env failed: {text[:300]}",
            hint="check the channels and package specs",
        ) from None
    kind = getattr(rattler, "Subdir", None) or rattler.Platform  # Platform: older releases
    platform = str(kind.current())
    return [Solved(str(r.url), r.sha256.hex() if r.sha256 else "", platform) for r in records]


async def _solve(channels: Sequence[str], specs: Sequence[str]) -> list[Any]:
    import rattler

    cache = os.environ.get("RATTLER_CACHE_DIR")
    gateway = rattler.Gateway(cache_dir=Path(cache) / "repodata" if cache else None)
    records: list[Any] = await rattler.solve(
        [rattler.Channel(c) for c in channels],
        list(specs),
        gateway=gateway,
        virtual_packages=rattler.VirtualPackage.detect(),
    )
    return records
