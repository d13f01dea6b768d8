"""`mlrun package`: one portable file holding a project (or a recorded run's project) and
what its environment needs, to run elsewhere with `mlrun run FILE.tar.gz`.

What goes in (sources/bundle.py reads it back):

- `project/`: the project's files as a run sees them -- for a git project what git
  tracks plus untracked files it does not ignore; for a recorded run its commit with its
  uncommitted diff and untracked files restored (sources/recorded.py); for a plain
  directory its files, minus the noise the content hash skips (`.git`, `__pycache__`...);
- the lock, beside the env spec: the project's own when it has one (a stale one is an
  error, as for a run), else made now (for a recorded run: from the packages that run had
  installed), so the bundle's env builds the same everywhere;
- `wheels/` (`--with-wheels`): every locked package's file, so the env builds offline;
- `image.tar` (`--with-image`): the docker_env's image, as `docker save` writes it;
- the manifest: every member's sha256, the original provenance and code identity, the
  lock, and for a recorded run its entry point, parameters and outcomes (exit code,
  outputs, metrics, artifact hashes: what `mlrun reproduce BUNDLE --check` compares)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

from mlrun.envs.base import EnvOptions
from mlrun.errors import UsageError
from mlrun.packaging.archive import Member
from mlrun.reporting import Reporter
from mlrun.sources.model import Source
from mlrun.spec.model import Project


class PackageRequest(NamedTuple):
    target: str  # a project URI or a run id
    output: Path
    with_wheels: bool = False
    with_image: bool = False
    version: str | None = None
    offline: bool = False
    no_lock: bool = False
    cwd: Path = Path()
    tracking_uri: str | None = None


def package(request: PackageRequest, reporter: Reporter) -> dict[str, Any]:
    """Write the bundle; returns its summary (path, sha256, members, lock, run)."""
    from mlrun.packaging.target import open_target

    output = (request.cwd / request.output).absolute()
    if not output.name.lower().endswith((".tar.gz", ".tgz")):
        raise UsageError(
            f"the bundle's name {output.name!r} must end in .tar.gz or .tgz",
            hint="mlrun recognises bundles by that suffix: -o project.tar.gz",
        )
    if not output.parent.is_dir():
        raise UsageError(f"the directory of {output} does not exist")
    options = EnvOptions(offline=request.offline, no_lock=request.no_lock)
    with open_target(request, reporter) as (source, project, run):
        return _pack(source, project, run, output, request, options, reporter)


def _pack(
    source: Source,
    project: Project,
    run: Any,
    output: Path,
    request: PackageRequest,
    options: EnvOptions,
    reporter: Reporter,
) -> dict[str, Any]:
    from mlrun import __version__
    from mlrun.packaging.archive import describe, project_members, write
    from mlrun.packaging.lockmember import lock_member
    from mlrun.sources.bundle import tree_digest
    from mlrun.sources.codefiles import project_files
    from mlrun.sources.manifest import FORMAT

    files = project_files(source.project_dir, source.provenance.get("vcs") == "git")
    members, left_out = project_members(source.project_dir, files, skip=output)
    for item in left_out:
        reporter.warn(f"not in the bundle: {item}")
    lock, lock_info = lock_member(project, run, options, reporter)
    if lock is not None:
        members = [m for m in members if m.name != lock.name] + [lock]
    extra: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="mlrun-package-") as scratch:
        scratch_dir = Path(scratch)
        members += _supplies(project, lock, request, options, scratch_dir, extra, reporter)
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "mlrun_version": __version__,
            "project": {
                "name": project.name,
                "uri": source.uri,
                "entry_points": sorted(project.entry_points),
            },
            "provenance": dict(source.provenance),
            "code_identity": source.code_identity,
            "lock": lock_info,
            "run": _run_summary(run) if run is not None else None,
            "left_out": left_out,
            **extra,
            "members": describe(members),
        }
        with reporter.progress(f"writing {output.name}"):
            write(output, manifest, members)
    from mlrun.util.sha import file_sha256

    return {
        "bundle": str(output),
        "sha256": file_sha256(output),
        "size": output.stat().st_size,
        "files": sum(1 for m in members if m.name.startswith("project/")),
        "project_sha256": tree_digest(manifest["members"]),
        "lock": lock_info,
        "run_id": run.run_id if run is not None else None,
        "wheels": sum(1 for m in members if m.name.startswith("wheels/")),
        "image": extra.get("image"),
        "left_out": left_out,
    }


def _supplies(
    project: Project,
    lock: Member | None,
    request: PackageRequest,
    options: EnvOptions,
    scratch: Path,
    extra: dict[str, Any],
    reporter: Reporter,
) -> list[Member]:
    """The wheels and the image members, as asked."""
    from mlrun.packaging import supplies

    found: list[Member] = []
    if request.with_wheels:
        if lock is None:
            raise UsageError(
                "--with-wheels needs a lock, and this bundle has none (no python_env, or "
                "--no-lock)",
                hint="drop --with-wheels, or declare a python_env",
            )
        from mlrun.envs.lockfile import read

        assert lock.data is not None
        lock_file = scratch / "bundle.lock"
        lock_file.write_bytes(lock.data)
        wheels = supplies.download_wheels(read(lock_file), options, scratch / "wheels", reporter)
        found += [Member(f"wheels/{wheel.name}", wheel) for wheel in wheels]
    if request.with_image:
        archive = scratch / "image.tar"
        extra["image"] = supplies.save_image(project, options, archive, reporter)
        found.append(Member("image.tar", archive))
    return found


# What a bundle keeps of a run's env: enough to lock and compare, no local paths.
_ENV_KEPT = ("kind", "packages", "python", "lock", "image", "image_id", "repo_digests")


def _run_summary(run: Any) -> dict[str, Any]:
    """What a bundle keeps of the run it was packaged from: enough to run it again
    (entry point, parameters) and to check the outcome (`mlrun reproduce --check`)."""
    from mlrun.sources.recorded import project_dir_of
    from mlrun.tracking.outcome import outcome_of

    return {
        "run_id": run.run_id,
        "experiment": run.experiment,
        "run_name": run.run_name,
        "project_dir": project_dir_of(run.source_type, run.source_uri, dict(run.source)),
        "entry_point": run.entry_point,
        "parameters": dict(run.params),
        "command": run.command,
        "env_kind": run.env_kind,
        "env": {
            k: run.env.get(k) for k in ("packages", "python", "lock", "image_id") if k in run.env
        },
        "start_time": run.start_time,
        **outcome_of(run),
    }
