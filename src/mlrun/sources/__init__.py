"""Turning a project URI into a local directory plus provenance."""

from __future__ import annotations

import re
from pathlib import Path

from mlrun.errors import NotAvailableError
from mlrun.reporting import Reporter
from mlrun.sources.model import Source

__all__ = ["Source", "looks_remote", "resolve"]

_REMOTE = re.compile(r"^(https?|ssh|git|git\+ssh|git\+https?)://|^[\w.-]+@[\w.-]+:")


def looks_remote(uri: str) -> bool:
    return bool(_REMOTE.match(uri))


def resolve(
    uri: str,
    *,
    version: str | None = None,
    cwd: Path | None = None,
    offline: bool = False,
    require_clean: bool = False,
    reporter: Reporter | None = None,
) -> Source:
    from mlrun.sources.local import resolve_local

    if looks_remote(uri):
        raise NotAvailableError(f"git projects ({uri.split('://')[0]}) are not available yet",
                                hint="clone the repository and run the local directory")
    if version is not None:
        raise NotAvailableError("--version is not available yet for local projects")
    return resolve_local(uri, cwd or Path.cwd())
