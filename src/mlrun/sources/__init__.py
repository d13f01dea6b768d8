"""Turning a project URI into a local directory plus provenance.

| URI | how it is run |
|---|---|
| `https://`, `http://`, `ssh://`, `git://`, `user@host:path` | mirror cache + clean checkout |
| `file://` or a path to a git repository (bare, or a working tree via `file://`) | the same |
| a path inside a git working tree | in place; commit, branch and uncommitted state recorded |
| the same with `--version V` | V checked out from a mirror of it; the tree is not touched |
| any other directory | in place; a content hash of its files recorded |

`URI#sub/dir` runs the project in that subdirectory, for every kind."""

from __future__ import annotations

import os
from pathlib import Path

from mlrun.reporting import Reporter
from mlrun.sources.model import Source

__all__ = ["Source", "looks_remote", "resolve"]


def looks_remote(uri: str) -> bool:
    # Plain paths (the common, hot case) decide without importing the URL parser.
    if "://" not in uri and "@" not in uri:
        return False
    from mlrun.sources.gituri import is_remote

    return is_remote(uri)


def resolve(
    uri: str,
    *,
    version: str | None = None,
    cwd: Path | None = None,
    offline: bool = False,
    require_clean: bool = False,
    reporter: Reporter | None = None,
) -> Source:
    reporter = reporter or Reporter()
    cwd = cwd or Path.cwd()
    base, subdir = uri, ""
    if "#" in uri:
        from mlrun.sources.gituri import split_subdir

        base, subdir = split_subdir(uri)
    if base.lower().endswith((".tar.gz", ".tgz")):  # else decided without importing
        from mlrun.sources.bundle import looks_like_bundle, resolve_bundle

        if looks_like_bundle(base, cwd):
            source = resolve_bundle(base, subdir, cwd, version=version, reporter=reporter)
            source.provenance["code_identity"] = source.code_identity
            return source
    if looks_remote(base):
        from mlrun.sources.gitsource import resolve_remote
        from mlrun.sources.gituri import parse_remote

        source = resolve_remote(
            parse_remote(base), subdir, version=version, offline=offline, reporter=reporter
        )
    else:
        from mlrun.sources.local import resolve_local

        source = resolve_local(
            base,
            subdir,
            cwd,
            version=version,
            require_clean=require_clean,
            offline=offline,
            reporter=reporter,
        )
    source.provenance["code_identity"] = source.code_identity
    with source.closed_on_failure():
        _check_text_path(source)
    return source


def _check_text_path(source: Source) -> None:
    """A project path that is not UTF-8 cannot be recorded: say so, before anything runs."""
    try:
        str(source.project_dir).encode("utf-8")
    except UnicodeEncodeError:
        from mlrun.errors import UsageError

        raise UsageError(
            f"the project directory {os.fsencode(source.project_dir)!r} is not a UTF-8 path",
            hint="mlrun records paths as text; rename the directory or run it from a copy",
        ) from None
