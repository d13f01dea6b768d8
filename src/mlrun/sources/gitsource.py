"""Projects from git: a remote URL, a local bare repository, or a local working tree run
at another --version. All go through the mirror cache and a leased clean checkout, so
the user's own repository is only ever read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlrun.errors import FetchError, UsageError
from mlrun.reporting import Reporter
from mlrun.sources.checkout import lease
from mlrun.sources.gitcmd import git
from mlrun.sources.gituri import GitRemote, check_subdir, local_remote
from mlrun.sources.mirror import Mirror, Target, check_version
from mlrun.sources.model import Source
from mlrun.sources.provenance import git_identity, remote_url


def resolve_remote(
    remote: GitRemote, subdir: str, *, version: str | None, offline: bool, reporter: Reporter
) -> Source:
    mirror = Mirror.for_remote(remote)
    with mirror.locked(reporter):
        mirror.sync(offline=offline, version=version, reporter=reporter)
        target = mirror.resolve(version, offline=offline, reporter=reporter)
    provenance: dict[str, Any] = {"vcs": "git", "repo": remote.url}
    return _checkout_source(mirror, target, subdir, version, offline, reporter, provenance)


def resolve_worktree_version(top: Path, subdir: str, version: str, reporter: Reporter) -> Source:
    """`mlrun run <working tree> --version V`: V as the user's repository names it (any
    branch, tag, remote-tracking branch or commit, even one on no branch), checked out
    from a mirror of that repository, never in it."""
    check_version(version)
    target = _resolve_in_worktree(top, version)
    mirror = Mirror.for_remote(local_remote(top))
    with mirror.locked(reporter):
        mirror.sync(offline=False, version=target.commit, reporter=reporter)
        if not mirror.has_commit(target.commit) and not mirror.fetch_commit(
            target.commit, reporter
        ):
            raise FetchError(
                f"cannot copy commit {target.commit[:12]} out of the repository at {top}",
                hint="check it with `git fsck`",
            )
    provenance: dict[str, Any] = {
        "vcs": "git",
        "repo": remote_url(top) or str(top),
        "path": str(top),
    }
    return _checkout_source(
        mirror, target, subdir, version, False, reporter, provenance, display=str(top)
    )


def _resolve_in_worktree(top: Path, version: str) -> Target:
    ro = ["--no-optional-locks"]
    commit = git(
        [*ro, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{version}^{{commit}}"],
        cwd=top,
        check=False,
    )
    if not commit.ok:
        raise UsageError(
            f"version {version!r} is not a branch, tag or commit of the repository at {top}",
            hint="`git branch -a` and `git tag` list what there is",
        )
    # (check_version refused a leading "-": the name cannot be read as an option)
    full = git(
        [*ro, "rev-parse", "--symbolic-full-name", version], cwd=top, check=False
    ).stdout.strip()
    sha = commit.stdout.strip()
    if full.startswith("refs/heads/"):
        return Target(sha, full, branch=full.removeprefix("refs/heads/"))
    if full.startswith("refs/remotes/"):
        return Target(sha, full, branch=full.removeprefix("refs/remotes/"))
    if full.startswith("refs/tags/"):
        return Target(sha, full, tag=full.removeprefix("refs/tags/"))
    return Target(sha)


def _checkout_source(
    mirror: Mirror,
    target: Target,
    subdir: str,
    version: str | None,
    offline: bool,
    reporter: Reporter,
    provenance: dict[str, Any],
    display: str | None = None,
) -> Source:
    checkout = lease(mirror, target.commit, offline=offline, reporter=reporter)
    project_dir = checkout.path / subdir if subdir else checkout.path
    provenance.update(
        {
            "commit": target.commit,
            "version": version,
            "branch": target.branch,
            "tag": target.tag,
            "ref": target.ref,
            "subdir": subdir,
            "dirty": False,
            "offline": offline,
            "checkout": str(checkout.path),
        }
    )
    if checkout.submodules:
        provenance["submodules"] = dict(checkout.submodules)
    reporter.debug(f"{'reusing' if checkout.reused else 'new'} checkout {checkout.path}")
    uri = (display or mirror.remote.display) + (f"#{subdir}" if subdir else "")
    source = Source(
        project_dir=project_dir.absolute(),
        uri=uri,
        kind="git",
        provenance=provenance,
        code_identity=git_identity(target.commit, subdir),
        release=checkout.release,
        root=checkout.path.absolute(),
    )
    with source.closed_on_failure():
        if subdir:
            check_subdir(checkout.path, subdir, f"{mirror.remote.url} at {target.commit[:12]}")
        if not project_dir.is_dir():
            raise UsageError(
                f"the subdirectory {subdir!r} does not exist in "
                f"{mirror.remote.display} at {target.commit[:12]}",
                hint="check the path after '#' (it is relative to the repository's top)",
            )
    return source
