"""The code of a recorded run, from its record alone: what `mlrun reproduce RUN_ID` runs
and `mlrun package RUN_ID` packs.

- a git URL (or a working tree run with --version): the commit, from the mirror cache
  (fetched when missing, unless --offline);
- a git working tree, clean: the commit, checked out from a mirror of that repository;
- a git working tree with uncommitted changes: the commit, the run's
  `mlrun/uncommitted.diff` artifact applied, its untracked files copied from the working
  tree -- only when they are still what the run had (the record's code identity hashes
  them);
- a plain directory: the directory, when its content hash is still the recorded one;
- a bundle: the bundle, when its file still has the recorded digest.

mlrun keeps the diff of a dirty run but not the contents of its untracked files (nor a
copy of a plain directory): when those changed since, the run's code is gone, and this
says so instead of running something else."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from mlrun.errors import UsageError
from mlrun.reporting import Reporter
from mlrun.sources.model import Source


class CodeGoneError(UsageError):
    """The recorded run's code cannot be had any more."""


def recorded_source(
    run_id: str,
    kind: str,
    provenance: dict[str, Any],
    run_dir: Path,
    *,
    offline: bool,
    reporter: Reporter,
) -> Source:
    """A source holding the code run `run_id` ran (`kind`: the record's source type)."""
    short = run_id[:12]
    if kind == "bundle":
        return _bundle(short, provenance, reporter)
    commit = provenance.get("commit")
    if provenance.get("vcs") == "git" and isinstance(commit, str):
        source = _commit(short, kind, provenance, commit, offline, reporter)
        if kind == "local" and provenance.get("dirty"):
            with source.closed_on_failure():
                _restore_changes(short, source, provenance, run_dir)
        return source
    path = provenance.get("path")
    if kind == "local" and isinstance(path, str):
        return _directory(short, Path(path), str(provenance.get("content_hash")), reporter)
    raise CodeGoneError(
        f"run {short} has no code mlrun can find again (its source is {kind!r} without a "
        "commit or a content hash)",
        hint="run projects from git, or package a run (mlrun package RUN) to keep its code",
    )


def _commit(
    short: str,
    kind: str,
    provenance: dict[str, Any],
    commit: str,
    offline: bool,
    reporter: Reporter,
) -> Source:
    from mlrun.sources.gitsource import resolve_remote, resolve_worktree_version
    from mlrun.sources.gituri import local_remote, parse_remote

    subdir = str(provenance.get("subdir") or "")
    top = provenance.get("path")
    if isinstance(top, str) and os.path.isdir(top):
        # A working tree on this machine: its own repository holds the commit (reading
        # it is no network access), copied out through a mirror of it.
        return resolve_worktree_version(Path(top), subdir, commit, reporter)
    if isinstance(top, str) and kind == "local":  # the tree is gone: its mirror, if any
        remote = local_remote(Path(top))
        return resolve_remote(remote, subdir, version=commit, offline=True, reporter=reporter)
    repo = provenance.get("repo")
    if not isinstance(repo, str):
        raise CodeGoneError(f"run {short} names commit {commit[:12]} but no repository")
    return resolve_remote(
        parse_remote(repo), subdir, version=commit, offline=offline, reporter=reporter
    )


def _restore_changes(short: str, source: Source, provenance: dict[str, Any], run_dir: Path) -> None:
    """Apply the run's uncommitted diff and copy its untracked files into the checkout,
    once the record's code identity shows they are what the run had."""
    from mlrun.sources.contenthash import files_hash
    from mlrun.sources.gitcmd import git
    from mlrun.util.sha import sha256

    saved = run_dir / "artifacts" / "mlrun"
    diff_file, listing = saved / "uncommitted.diff", saved / "untracked.txt"
    changed, untracked = provenance.get("changed_files", 0), provenance.get("untracked_files", 0)
    if changed and not diff_file.is_file():
        raise CodeGoneError(
            f"run {short} had uncommitted changes, and their diff ({diff_file}) is gone",
            hint="a run's files are kept in its run directory: was it removed?",
        )
    diff = diff_file.read_bytes() if changed else b""
    files = listing.read_text().splitlines() if untracked and listing.is_file() else []
    top = Path(str(provenance.get("path")))
    digest = sha256(diff)
    if files:
        digest.update(files_hash(top, files).encode())
    identity = str(provenance.get("code_identity") or "")
    if not identity.endswith("+dirty:" + digest.hexdigest()[:32]):
        names = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
        raise CodeGoneError(
            f"run {short} had untracked files ({names}) that changed or went away since, and "
            "mlrun keeps only their names: the run's exact code is gone",
            hint="commit the files a run needs; `mlrun package RUN` right after a run keeps "
            "them (it packs the working tree while it is as the run saw it)",
        )
    checkout = source.root
    if diff:
        patch = checkout / ".git" / "mlrun-uncommitted.diff"
        patch.write_bytes(diff)
        git(["apply", "--binary", "--whitespace=nowarn", str(patch)], cwd=checkout)
        patch.unlink()
    for rel in files:
        target = checkout / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(top / rel, target, follow_symlinks=False)
    source.provenance.update(
        {"dirty": True, "restored": "the commit, its uncommitted diff and untracked files"}
    )
    source.code_identity = identity


def _directory(short: str, path: Path, content_hash: str, reporter: Reporter) -> Source:
    from mlrun.sources.contenthash import tree_hash
    from mlrun.sources.local import resolve_local

    if not path.is_dir() or tree_hash(path) != content_hash:
        raise CodeGoneError(
            f"run {short} ran the directory {path}, which changed since (its content hash is "
            "not the recorded one), and mlrun keeps no copy of a plain directory's files",
            hint="run projects from git, or package a run (mlrun package RUN) to keep its code",
        )
    return resolve_local(str(path), "", path, reporter=reporter)


def _bundle(short: str, provenance: dict[str, Any], reporter: Reporter) -> Source:
    from mlrun.sources.bundle import resolve_bundle
    from mlrun.util.sha import file_sha256

    path = Path(str(provenance.get("bundle")))
    if not path.is_file() or file_sha256(path) != provenance.get("bundle_sha256"):
        raise CodeGoneError(
            f"run {short} ran the bundle {path}, which is gone or is another file now",
            hint="put the bundle back, or run it again with `mlrun run BUNDLE`",
        )
    return resolve_bundle(str(path), "", path.parent, version=None, reporter=reporter)


def project_dir_of(kind: str, uri: str, provenance: dict[str, Any]) -> str | None:
    """The directory a recorded run's project was in."""
    if kind == "local":
        return uri
    if kind == "git" and provenance.get("checkout"):
        subdir = str(provenance.get("subdir") or "")
        return (
            str(Path(str(provenance["checkout"])) / subdir)
            if subdir
            else str(provenance["checkout"])
        )
    if kind == "bundle" and provenance.get("project_dir"):
        return str(provenance["project_dir"])
    return None
