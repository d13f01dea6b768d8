"""What `mlrun package TARGET` packs: a project URI (a directory, a git URL, a bundle),
or a recorded run (a run id or a unique prefix of one), whose code is found again from
its record (sources/recorded.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrun.errors import RunNotFoundError, UsageError
from mlrun.reporting import Reporter
from mlrun.sources.model import Source
from mlrun.spec.model import Project

if TYPE_CHECKING:
    from mlrun.packaging import PackageRequest
    from mlrun.tracking.model import Run


def is_project_uri(target: str, cwd: Path) -> bool:
    """A path that exists, or a URL: a project. Anything else may be a run id."""
    from mlrun.sources import looks_remote

    base = target.split("#", 1)[0]
    return os.path.lexists(cwd / os.path.expanduser(base)) or looks_remote(base)


def find_run(target: str, tracking_uri: str | None) -> Run:
    """The recorded run `target` names; UsageError when it names neither a project nor
    a run."""
    from mlrun.tracking import open_store

    with open_store(tracking_uri) as store:
        try:
            return store.get_run(target)
        except RunNotFoundError:
            raise UsageError(
                f"{target!r} is neither a project (a directory, a git URL or a bundle) nor the "
                f"id of a run in {store.uri}",
                hint="`mlrun runs list` shows the runs; give a path to a directory with ./",
            ) from None


@contextmanager
def open_target(
    request: PackageRequest, reporter: Reporter
) -> Iterator[tuple[Source, Project, Any]]:
    """(source, project, the run or None), the source closed afterwards."""
    from mlrun import sources
    from mlrun.spec.loader import load_project

    run = None
    if is_project_uri(request.target, request.cwd):
        source = sources.resolve(
            request.target,
            version=request.version,
            cwd=request.cwd,
            offline=request.offline,
            reporter=reporter,
        )
    else:
        if request.version is not None:
            raise UsageError("--version applies to a project URI, not to a run")
        run = find_run(request.target, request.tracking_uri)
        source = run_source(run, offline=request.offline, reporter=reporter)
    with source:
        yield source, load_project(source.project_dir, source.root), run


def run_source(run: Run, *, offline: bool, reporter: Reporter) -> Source:
    """The code `run` ran, from its record."""
    from mlrun.sources.recorded import recorded_source

    if run.env_kind == "workflow":
        raise UsageError(
            f"run {run.run_id[:12]} is a workflow run; its steps are runs of their own",
            hint="give the run id of a step (`mlrun runs list` shows them), or the project",
        )
    return recorded_source(
        run.run_id,
        run.source_type,
        dict(run.source),
        Path(run.run_dir),
        offline=offline,
        reporter=reporter,
    )
