"""Per-run checkouts of one commit: `<mirror root>/checkouts/<commit>/<n>/`.

A run leases a slot (a file lock held until the run ends, released by the OS if mlrun
dies), so two concurrent runs of one commit never share a working directory. A slot is
reused only when its marker (written last) names the commit and `git status` shows it
exactly as checked out: no modified, untracked or ignored file left by an earlier run.
Anything else is rebuilt. A checkout is a small repository whose objects are borrowed
from the mirror (alternates), detached at the commit, so `git` works inside it as in a
clone; submodules are checked out the same way from their own mirrors, recursively.
Checkouts unused for a week are removed when a new one is made."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mlrun.errors import FetchError, PrepareError, UsageError
from mlrun.reporting import Reporter
from mlrun.sources.gitcmd import git
from mlrun.sources.gituri import GitRemote, file_url_path, local_remote, parse_remote
from mlrun.sources.mirror import Mirror
from mlrun.util.files import atomic_write
from mlrun.util.redact import redact

_MAX_SLOTS = 32
PRUNE_AFTER = 7 * 24 * 3600.0  # seconds a checkout is kept after its last use
_NO_HOOKS = ["-c", "core.hooksPath=/dev/null", "-c", "advice.detachedHead=false"]


@dataclass
class Checkout:
    path: Path
    release: Callable[[], None]
    submodules: dict[str, str] = field(default_factory=dict)  # path -> commit, recursive
    reused: bool = False


def lease(mirror: Mirror, commit: str, *, offline: bool, reporter: Reporter) -> Checkout:
    """A clean working tree of `commit`, reserved for the caller until `release()`."""
    from mlrun.util.locks import FileLock

    base = mirror.root / "checkouts" / commit
    base.mkdir(parents=True, exist_ok=True)
    for n in range(_MAX_SLOTS):
        # The Python API resolves in the caller's thread and releases when the run ends,
        # in the thread that ran it: a flock belongs to the open file, not the thread.
        lock = FileLock(base / f"{n}.lock")
        if not lock.exclusive(blocking=False):
            continue  # another run is using this slot
        try:
            path, marker = base / str(n), base / f"{n}.json"
            submodules = _reusable(path, marker, commit)
            reused = submodules is not None
            if submodules is not None:
                os.utime(marker)  # recently used: not pruned
            else:
                marker.unlink(missing_ok=True)
                shutil.rmtree(path, ignore_errors=True)
                with reporter.progress(f"checking out {commit[:12]}"):
                    submodules = materialize(
                        mirror, commit, path, offline=offline, reporter=reporter
                    )
                # Written last: a slot without it (mlrun killed mid-checkout) is rebuilt.
                atomic_write(marker, json.dumps({"commit": commit, "submodules": submodules}))
                prune(base.parent, keep=commit)
        except BaseException:
            lock.release()
            raise
        return Checkout(path, lock.release, submodules, reused)
    raise PrepareError(
        f"{_MAX_SLOTS} runs of commit {commit[:12]} are already using checkouts of it",
        hint="wait for some of them to finish",
    )


def prune(checkouts: Path, *, keep: str, max_age: float = PRUNE_AFTER) -> None:
    """Remove checkouts not used for `max_age` seconds (and not leased now). Runs when a
    new checkout is made, so the cache does not grow by one tree per commit forever."""
    from mlrun.util.locks import FileLock

    cutoff = time.time() - max_age
    for marker in checkouts.glob("*/*.json"):
        try:
            if marker.parent.name == keep or marker.stat().st_mtime > cutoff:
                continue
        except OSError:  # pruned meanwhile by another run
            continue
        lock = FileLock(marker.with_suffix(".lock"))
        if not lock.exclusive(blocking=False):
            continue
        try:
            marker.unlink(missing_ok=True)
            shutil.rmtree(marker.with_suffix(""), ignore_errors=True)
        finally:
            lock.release()


def _reusable(path: Path, marker: Path, commit: str) -> dict[str, str] | None:
    try:
        recorded = json.loads(marker.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(recorded, dict) or recorded.get("commit") != commit:
        return None
    status = git(
        [
            "--no-optional-locks",
            "status",
            "--porcelain=v2",
            "--branch",
            "--ignored",
            "--untracked-files=all",
            "-z",
        ],
        cwd=path,
        check=False,
    )
    if not status.ok:
        return None
    entries = [e for e in status.stdout.split("\0") if e]
    if f"# branch.oid {commit}" not in entries:
        return None
    if any(not e.startswith("# ") for e in entries):
        return None  # an earlier run changed, added or left files here
    submodules = recorded.get("submodules", {})
    return dict(submodules) if isinstance(submodules, dict) else None


def materialize(
    mirror: Mirror, commit: str, path: Path, *, offline: bool, reporter: Reporter
) -> dict[str, str]:
    """Check out `commit` of `mirror` into the new directory `path`; returns the
    submodules checked out below it (path -> commit)."""
    git(["init", "--quiet", "--template=", str(path)])
    alternates = path / ".git" / "objects" / "info" / "alternates"
    alternates.parent.mkdir(parents=True, exist_ok=True)
    alternates.write_text(f"{(mirror.git_dir / 'objects').absolute()}\n")
    git(["config", "remote.origin.url", mirror.remote.url], cwd=path)
    result = git(
        [*_NO_HOOKS, "checkout", "--quiet", "--detach", commit],
        cwd=path,
        env=mirror.env,
        check=False,
    )
    if not result.ok:
        reporter.debug(result.describe())
        detail = (result.stderr.strip().splitlines() or ["git checkout failed"])[-1]
        raise PrepareError(
            f"cannot check out {commit[:12]} of {mirror.remote.display}: {redact(detail)}",
            hint="run with --debug for git's output",
        )
    return _submodules(mirror, path, offline=offline, reporter=reporter)


def _submodules(parent: Mirror, path: Path, *, offline: bool, reporter: Reporter) -> dict[str, str]:
    if not (path / ".gitmodules").is_file():
        return {}
    listing = git(
        ["config", "--file", ".gitmodules", "-z", "--get-regexp", r"^submodule\..*\.(path|url)$"],
        cwd=path,
        check=False,
    ).stdout
    declared: dict[str, dict[str, str]] = {}
    for entry in filter(None, listing.split("\0")):
        key, _, value = entry.partition("\n")
        name, _, attr = key.removeprefix("submodule.").rpartition(".")
        declared.setdefault(name, {})[attr] = value
    by_path = {
        d["path"].strip("/"): d["url"] for d in declared.values() if d.get("path") and d.get("url")
    }
    if not by_path:
        return {}
    staged = git(["ls-files", "--stage", "-z", "--", *by_path], cwd=path).stdout
    found: dict[str, str] = {}
    for entry in filter(None, staged.split("\0")):
        info, _, sub_path = entry.partition("\t")
        mode, sha, _stage = info.split()
        if mode != "160000" or sub_path not in by_path:
            continue
        sub_remote = submodule_remote(by_path[sub_path], parent.remote)
        sub_mirror = Mirror.for_remote(sub_remote)
        with sub_mirror.locked(reporter):
            try:
                sub_mirror.sync(offline=offline, version=sha, reporter=reporter)
                sub_mirror.resolve(sha, offline=offline, reporter=reporter)
            except FetchError as exc:
                raise FetchError(f"submodule {sub_path}: {exc.message}", exc.hint) from None
            except UsageError as exc:  # the superproject names a commit that is not there
                raise FetchError(
                    f"submodule {sub_path}: commit {sha[:12]} is not in {sub_remote.display}",
                    hint="the superproject points at a "
                    "commit its submodule's repository does not have",
                ) from exc
        # (git left an empty directory there, which `git init` takes as it is)
        nested = materialize(sub_mirror, sha, path / sub_path, offline=offline, reporter=reporter)
        found[sub_path] = sha
        found.update({f"{sub_path}/{p}": c for p, c in nested.items()})
    return found


def submodule_remote(url: str, parent: GitRemote) -> GitRemote:
    """A submodule's URL as git reads it: relative ones (`../lib.git`) against the
    superproject's URL. Credentials of the superproject go along only to the same host
    (the scoped header does the rest)."""
    if url.startswith(("./", "../")):
        base, rel = parent.url.rstrip("/"), url
        while rel.startswith(("./", "../")):
            if rel.startswith("./"):
                rel = rel[2:]
                continue
            rel = rel[3:]
            head, sep, _ = base.rpartition("/")
            if sep and not head.endswith(("://", ":/")) and head:
                base = head
            elif ":" in base and "://" not in base:  # scp-like: host:repo
                base = base.split(":", 1)[0] + ":"
        url = base + ("" if base.endswith(":") else "/") + rel
    if url.startswith("/") or url.lower().startswith("file://"):
        return local_remote(Path(file_url_path(url)))
    remote = parse_remote(url)
    if (
        remote.host_prefix is not None
        and remote.host_prefix == parent.host_prefix
        and remote.password is None
        and remote.username is None
    ):
        return GitRemote(remote.url, parent.username, parent.password)
    return remote
