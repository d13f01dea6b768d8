"""The lock a bundle carries: the project's own when it has a fresh one; for a recorded
run, the lock its env was built from when the project still has it, else one made from
the packages that run had installed (the versions it really ran with); else one made now.
A bundle of a project without an environment has none."""

from __future__ import annotations

from typing import Any

from mlrun.envs.base import EnvOptions
from mlrun.packaging.archive import Member
from mlrun.reporting import Reporter
from mlrun.spec.model import Project


def lock_member(
    project: Project, run: Any, options: EnvOptions, reporter: Reporter
) -> tuple[Member | None, dict[str, Any] | None]:
    """(the lock's member, what the manifest says of it), or (None, None)."""
    from mlrun.envs import lockfile

    path = lockfile.lock_path(project)
    if path is None:
        return None, None
    if not path.is_relative_to(project.directory):
        reporter.warn(f"{path} is outside the project directory: the bundle has no lock")
        return None, None
    rel = path.relative_to(project.directory).as_posix()
    if options.no_lock:
        return None, {"file": rel, "made": None, "why": "--no-lock"}
    data, made = _recorded(project, run, path, options, reporter) if run is not None else (None, "")
    if data is None:
        lock = lockfile.find(project, options)  # a stale one stops here, as for a run
        if lock is not None:
            data, made = path.read_bytes(), "the project's lock"
        else:
            data, made = _made(project, options, reporter, None), "made when packaged"
    from mlrun.util.sha import sha256

    info = {"file": rel, "sha256": sha256(data).hexdigest(), "made": made}
    return Member(f"project/{rel}", None, data=data), info


def _recorded(
    project: Project, run: Any, path: Any, options: EnvOptions, reporter: Reporter
) -> tuple[bytes | None, str]:
    """The lock of a recorded run: the very file its env followed, when the project
    still has it; else one of the versions it had installed; (None, "") when the record
    says neither (the env was never built)."""
    from mlrun.util.sha import file_sha256

    followed = run.env.get("lock") or {}
    if path.is_file() and followed.get("sha256") == file_sha256(path):
        return path.read_bytes(), f"the lock run {run.run_id[:12]} was built from"
    from mlrun.envs.locking import recorded_pins

    pins = recorded_pins(run.env)
    if not pins:
        return None, ""
    text = _made(project, options, reporter, pins)
    return text, f"from the packages run {run.run_id[:12]} had installed"


def _made(
    project: Project, options: EnvOptions, reporter: Reporter, pins: list[str] | None
) -> bytes:
    from mlrun.envs.locking import lock_text

    return lock_text(project, options, reporter, pins).encode()
