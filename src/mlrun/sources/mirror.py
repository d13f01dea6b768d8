"""The mirror cache: one bare repository per remote under `<cache>/git/<name>/mirror.git`.

Each run fetches into it (only what changed travels), under a file lock per remote so
concurrent runs of one URL clone once. A new mirror is built in a temporary directory
and renamed into place; a fetch writes a marker first and removes it last, so a fetch
killed half-way (SIGKILL, power loss) is noticed by the next run, which clears git's
stale lock and temporary files, checks the repository, and rebuilds it if it is broken."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mlrun.errors import FetchError, UsageError
from mlrun.reporting import Reporter
from mlrun.sources.gitcmd import auth_env, fetch_error, git
from mlrun.sources.gituri import GitRemote
from mlrun.util.proc import ProcResult
from mlrun.util.redact import redact

FULL_SHA = re.compile(r"^[0-9a-f]{40}$")
_FETCHING = "mlrun-fetching"  # marker: a fetch into this mirror has not finished
_REMOTE_HEAD = "refs/mlrun/remote-head"  # the commit the remote's HEAD was on
_NO_DEFAULT = "refs/mlrun/no-default-branch"  # the mirror's HEAD when the remote has none
# Branches and tags as they are on the remote (pruned), plus the remote's HEAD commit.
_HEAD_SPEC = f"+HEAD:{_REMOTE_HEAD}"
_REFSPECS = ("+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*", _HEAD_SPEC)
PINS = "refs/mlrun/pins/"  # commits fetched by id (on no branch): kept from gc
_ING = {"fetch": "fetching", "clone": "cloning"}  # the progress line's word for an action


@dataclass(frozen=True)
class Target:
    """A version resolved in the mirror."""

    commit: str
    ref: str | None = None  # refs/heads/x or refs/tags/x when the version named one
    branch: str | None = None
    tag: str | None = None


class Mirror:
    def __init__(self, remote: GitRemote, root: Path) -> None:
        self.remote = remote
        self.root = root
        self.git_dir = root / "mirror.git"
        self.env = auth_env(remote)

    @classmethod
    def for_remote(cls, remote: GitRemote) -> Mirror:
        from mlrun.util.paths import cache_dir

        return cls(remote, cache_dir() / "git" / remote.cache_name)

    @contextlib.contextmanager
    def locked(self, reporter: Reporter) -> Iterator[None]:
        """Hold this remote's lock: one fetch or clone at a time per mirror."""
        from mlrun.util.locks import FileLock

        lock = FileLock(self.root / "lock")
        if not lock.exclusive(blocking=False):
            with reporter.progress(f"waiting for another mlrun fetching {self.remote.display}"):
                lock.exclusive()
        try:
            yield
        finally:
            lock.release()

    def exists(self) -> bool:
        return (self.git_dir / "HEAD").is_file()

    def sync(self, *, offline: bool, version: str | None, reporter: Reporter) -> None:
        """Make the mirror current (call with the lock held). Contacts the remote unless
        offline, or unless `version` is a full commit id the mirror already holds: a
        commit id names fixed content, so asking the server about it again buys nothing."""
        self._repair(reporter)
        if not self.exists():
            if offline:
                raise FetchError(
                    f"{self.remote.display} is not in the mirror cache and "
                    "--offline forbids fetching it",
                    hint="run once without --offline",
                )
            self._create(reporter)
        elif not offline and not (
            version and FULL_SHA.match(version.lower()) and self.has_commit(version.lower())
        ):
            self._fetch(reporter, list(_REFSPECS), prune=True)

    def has_commit(self, sha: str) -> bool:
        return git(["cat-file", "-e", f"{sha}^{{commit}}"], git_dir=self.git_dir, check=False).ok

    def fetch_commit(self, sha: str, reporter: Reporter) -> bool:
        """Fetch one commit by id (one that is on no branch or tag). False when the
        server does not have it or refuses to serve an id (not all servers do)."""
        try:
            self._fetch(reporter, [f"+{sha}:{PINS}{sha}"], prune=False)
        except FetchError:
            return False
        return self.has_commit(sha)

    # -- creating, fetching, repairing ---------------------------------------------------

    def _create(self, reporter: Reporter) -> None:
        tmp = self.root / f"mirror.git.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        git(["init", "--quiet", "--bare", "--template=", str(tmp)])
        for key, value in (
            ("remote.origin.url", self.remote.url),
            ("gc.autoDetach", "false"),
            ("maintenance.autoDetach", "false"),
            ("core.logAllRefUpdates", "false"),
        ):
            git(["config", key, value], git_dir=tmp)
        head = git(
            ["ls-remote", "--symref", "origin", "HEAD"], git_dir=tmp, env=self.env, check=False
        )
        if not head.ok:
            shutil.rmtree(tmp, ignore_errors=True)
            reporter.debug(head.describe())
            raise fetch_error(head, self.remote, "clone")
        has_head = re.search(r"^[0-9a-f]{40}\tHEAD$", head.stdout, re.MULTILINE)
        if not has_head and not self._has_refs(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
            raise FetchError(
                f"the repository at {self.remote.display} is empty (it has no branch or tag)",
                hint="push a commit, or check the URL",
            )
        match = re.search(r"^ref: (refs/heads/\S+)\tHEAD$", head.stdout, re.MULTILINE)
        if not has_head:  # HEAD names a branch that does not exist: no default branch
            git(["symbolic-ref", "HEAD", _NO_DEFAULT], git_dir=tmp)
        elif match is not None:  # else the remote's HEAD is detached
            git(["symbolic-ref", "HEAD", match.group(1)], git_dir=tmp)
        try:
            self._fetch(reporter, list(_REFSPECS), prune=True, git_dir=tmp, action="clone")
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        os.replace(tmp, self.git_dir)

    def _has_refs(self, git_dir: Path) -> bool:
        """Does the remote have any branch or tag? (Its HEAD may name a branch that does
        not exist: `git init --bare` names `master`, and the user pushed `main`.)"""
        refs = git(
            ["ls-remote", "--heads", "--tags", "origin"], git_dir=git_dir, env=self.env, check=False
        )
        return refs.ok and bool(refs.stdout.strip())

    def _fetch(
        self,
        reporter: Reporter,
        refspecs: list[str],
        *,
        prune: bool,
        git_dir: Path | None = None,
        action: str = "fetch",
    ) -> None:
        git_dir = git_dir or self.git_dir
        marker = git_dir / _FETCHING
        marker.touch()
        args = ["fetch", "--progress", "--no-write-fetch-head", "--no-tags"]
        if prune:
            args.append("--prune")
        with reporter.progress(f"{_ING[action]} {self.remote.display}") as progress:

            def fetch(specs: list[str]) -> ProcResult:
                return git(
                    [*args, "origin", *specs],
                    git_dir=git_dir,
                    env=self.env,
                    check=False,
                    on_stderr=lambda line: progress.update(redact(line)),
                )

            result = fetch(refspecs)
            if (
                not result.ok
                and _HEAD_SPEC in refspecs
                and "couldn't find remote ref head" in result.stderr.lower()
            ):
                # The remote's HEAD names no existing branch: fetch the branches and
                # tags, and forget the HEAD we knew (there is no default branch now).
                git(["update-ref", "-d", _REMOTE_HEAD], git_dir=git_dir, check=False)
                git(["symbolic-ref", "HEAD", _NO_DEFAULT], git_dir=git_dir)
                result = fetch([r for r in refspecs if r != _HEAD_SPEC])
            # git cleans up after itself when it exits, even on failure; only a killed
            # git (marker left behind) needs the repair.
            marker.unlink()
            if not result.ok:
                reporter.debug(result.describe())
                raise fetch_error(result, self.remote, action)
        if "->" in result.stderr:  # some ref moved (an unchanged remote prints nothing)
            self._follow_default_branch(git_dir)

    def _follow_default_branch(self, git_dir: Path) -> None:
        """Point HEAD at the branch the remote's HEAD is on, when that changed."""
        head_file = git_dir / "HEAD"
        current = head_file.read_text().strip().removeprefix("ref: ")
        out = git(
            [
                "for-each-ref",
                "--format=%(objectname) %(refname)",
                _REMOTE_HEAD,
                "refs/heads/",
            ],
            git_dir=git_dir,
        ).stdout
        refs: dict[str, str] = {}
        for line in out.splitlines():
            sha, _, name = line.partition(" ")
            refs[name] = sha
        remote_head = refs.pop(_REMOTE_HEAD, None)
        if remote_head is None or refs.get(current) == remote_head:
            return
        candidates = sorted(name for name, sha in refs.items() if sha == remote_head)
        if len(candidates) == 1:
            git(["symbolic-ref", "HEAD", candidates[0]], git_dir=git_dir)

    def _repair(self, reporter: Reporter) -> None:
        """Undo what a killed mlrun left behind (called with the lock held, so nothing
        else is using these files)."""
        for stale in self.root.glob("mirror.git.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        if not (self.git_dir / _FETCHING).exists():
            return
        for path in _stale_files(self.git_dir):
            path.unlink(missing_ok=True)
        check = git(
            ["fsck", "--connectivity-only", "--no-progress", "--no-dangling"],
            git_dir=self.git_dir,
            check=False,
        )
        if check.ok:
            reporter.warn(
                f"repaired the mirror of {self.remote.display} after an interrupted fetch"
            )
            (self.git_dir / _FETCHING).unlink()
        else:
            reporter.warn(
                f"the mirror of {self.remote.display} was broken by an interrupted "
                "fetch; cloning it again"
            )
            shutil.rmtree(self.git_dir)

    # -- resolving versions --------------------------------------------------------------

    def resolve(self, version: str | None, *, offline: bool, reporter: Reporter) -> Target:
        if version is None:
            return self._default_target()
        check_version(version)
        target = self._lookup(version)
        if target is None and FULL_SHA.match(version.lower()) and not offline:
            if self.fetch_commit(version.lower(), reporter):
                target = Target(version.lower())
        if target is not None:
            return target
        if offline:
            raise FetchError(
                f"version {version!r} is not in the mirror cache of "
                f"{self.remote.display}, and --offline forbids fetching",
                hint="run once without --offline",
            )
        raise UsageError(
            f"version {version!r} is not a branch, tag or commit of {self.remote.display}",
            hint=self._known_versions(),
        )

    def _lookup(self, version: str) -> Target | None:
        # git checkout's order: a branch, then a tag, then anything else git resolves
        # (a commit id, possibly abbreviated; a full ref name).
        branch, tag, other = self._batch(
            [
                f"refs/heads/{version}^{{commit}}",
                f"refs/tags/{version}^{{commit}}",
                f"{version}^{{commit}}",
            ]
        )
        if branch:
            return Target(branch, f"refs/heads/{version}", branch=version)
        if tag:
            return Target(tag, f"refs/tags/{version}", tag=version)
        if other == "ambiguous":
            raise UsageError(
                f"the abbreviated commit {version!r} is ambiguous in {self.remote.display}",
                hint="give more of its characters",
            )
        if other is None:
            return None
        if version.startswith("refs/heads/"):
            return Target(other, version, branch=version.removeprefix("refs/heads/"))
        if version.startswith("refs/tags/"):
            return Target(other, version, tag=version.removeprefix("refs/tags/"))
        return Target(other)

    def _default_target(self) -> Target:
        head = (self.git_dir / "HEAD").read_text().strip().removeprefix("ref: ")
        remote_head, branch_head = self._batch([f"{_REMOTE_HEAD}^{{commit}}", f"{head}^{{commit}}"])
        commit = remote_head or branch_head
        if not commit or commit == "ambiguous":
            raise UsageError(
                f"the repository at {self.remote.display} has no default branch (its HEAD "
                "names no branch that exists), so there is no version to run without -v",
                hint=f"choose one with -v ({self._known_versions()})",
            )
        branch = head.removeprefix("refs/heads/") if branch_head == commit else None
        return Target(commit, head if branch else None, branch=branch)

    def _batch(self, queries: list[str]) -> list[str | None]:
        """Resolve several names in one git process: a commit id, "ambiguous" or None."""
        out = git(
            ["cat-file", "--batch-check=%(objectname) %(objecttype)"],
            git_dir=self.git_dir,
            input="".join(q + "\n" for q in queries),
        ).stdout
        answers: list[str | None] = []
        for line in out.splitlines():
            words = line.rsplit(" ", 1)
            if words[-1] == "commit":
                answers.append(words[0])
            elif words[-1] == "ambiguous":
                answers.append("ambiguous")
            else:
                answers.append(None)
        return answers

    def _known_versions(self) -> str:
        out = git(
            [
                "for-each-ref",
                "--format=%(refname)",
                "--sort=-committerdate",
                "refs/heads/",
                "refs/tags/",
            ],
            git_dir=self.git_dir,
            check=False,
        ).stdout
        names = out.split()
        branches = [n.removeprefix("refs/heads/") for n in names if n.startswith("refs/heads/")]
        tags = [n.removeprefix("refs/tags/") for n in names if n.startswith("refs/tags/")]
        parts = []
        if branches:
            parts.append("branches: " + ", ".join(branches[:6]) + (" ..." * (len(branches) > 6)))
        if tags:
            parts.append("tags: " + ", ".join(tags[:6]) + (" ..." * (len(tags) > 6)))
        parts.append("or a commit id")
        return "; ".join(parts)


def check_version(version: str) -> None:
    if (
        not version
        or version.startswith("-")
        or len(version) > 255
        or any(c.isspace() or ord(c) < 32 or c == "\x7f" for c in version)
    ):
        raise UsageError(
            f"{version!r} is not a valid --version",
            hint="give a branch, a tag, or a (possibly abbreviated) commit id",
        )


def _stale_files(git_dir: Path) -> Iterator[Path]:
    """git's lock files and half-written objects: left only by a killed git."""
    for top in git_dir.iterdir():
        if top.name.endswith(".lock"):
            yield top
    for dirpath, _dirs, files in os.walk(git_dir / "refs"):
        for name in files:
            if name.endswith(".lock"):
                yield Path(dirpath) / name
    objects = git_dir / "objects"
    yield from (objects / "pack").glob("tmp_*")
    yield from objects.glob("*/tmp_obj_*")
    for incoming in objects.glob("incoming-*"):
        shutil.rmtree(incoming, ignore_errors=True)
