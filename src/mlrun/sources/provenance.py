"""Provenance of a project run in place from a local directory: the commit, branch, tag
and uncommitted state of a git working tree, or a content hash of a plain directory.

Only read-only git commands run against the user's repository, with optional locks off
(`git status` would otherwise refresh and rewrite the user's index), and plumbing where
the porcelain writes anyway. Dirtiness is judged on the project directory (the pathspec
`.`): changes elsewhere in a monorepo do not make this project's run dirty. Files git
ignores never count: untracked ones are not listed by git, and committed files that
.gitignore covers (outputs committed once, ignored since) are recorded as
`ignored_changes` but leave the tree clean. Which files made it dirty is recorded too
(`changed_paths`, `untracked_paths`) and shown by `mlrun runs show`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from mlrun.errors import UsageError
from mlrun.util.redact import strip_credentials

if TYPE_CHECKING:
    from mlrun.util.proc import ProcResult

_READ_ONLY = ["--no-optional-locks"]
LISTED = 50  # paths recorded in the provenance (the counts are always complete)


class LocalState(NamedTuple):
    provenance: dict[str, Any]
    code_identity: str
    artifacts: dict[str, bytes] = {}  # noqa: RUF012 - never mutated: Source copies it


def find_worktree(path: Path) -> Path | None:
    """The top of the git working tree holding `path`, found without starting git."""
    for directory in (path, *path.parents):
        if (directory / ".git").exists():
            return directory
    return None


def is_bare_repo(path: Path) -> bool:
    return (
        (path / "HEAD").is_file()
        and (path / "objects").is_dir()
        and (path / "refs").is_dir()
        and not (path / ".git").exists()
    )


def git(args: list[str], **kwargs: Any) -> ProcResult:
    """sources.gitcmd.git, imported when a working tree is met: a plain directory's run
    never loads the git machinery."""
    from mlrun.sources.gitcmd import git as run_git

    return run_git(args, **kwargs)


def git_identity(commit: str, subdir: str, dirty_digest: str | None = None) -> str:
    """The step caches' name for this code: the commit, the subdirectory, and a digest
    of the uncommitted changes when there are some."""
    identity = f"git:{commit}" + (f":{subdir}" if subdir else "")
    return identity + (f"+dirty:{dirty_digest}" if dirty_digest else "")


def worktree_state(project_dir: Path, top: Path, *, require_clean: bool) -> LocalState | None:
    """Provenance of `project_dir` inside the working tree `top`; None when git cannot
    describe it (git missing, or not really a repository)."""
    from mlrun.sources.gitcmd import read_only

    status = read_only(
        ["status", "--porcelain=v2", "--branch", "--untracked-files=all", "-z", "--", "."],
        project_dir,
    )
    if status is None:
        return None
    commit, branch, changed, untracked = _parse_status(status)
    ignored = _ignored_tracked(project_dir, changed) if changed else []
    if ignored:  # outputs the user told git to ignore, though committed once: not code
        changed = [path for path in changed if path not in set(ignored)]
    subdir = project_dir.relative_to(top).as_posix() if project_dir != top else ""
    dirty = bool(changed or untracked or commit is None)
    provenance: dict[str, Any] = {
        "vcs": "git",
        "repo": remote_url(top) or str(top),
        "path": str(top),
        "commit": commit,
        "branch": branch,
        "tag": _tag(top) if commit else None,
        "subdir": subdir,
        "dirty": dirty,
    }
    if ignored:
        provenance["ignored_changes"] = ignored[:LISTED]
    if require_clean and dirty:
        what = []
        if changed:
            what.append(f"{len(changed)} changed")
        if untracked:
            what.append(f"{len(untracked)} untracked")
        raise UsageError(
            f"the project at {project_dir} has uncommitted changes "
            f"({', '.join(what) or 'no commit yet'}) and --require-clean was given",
            hint="commit or stash them (git status shows them), or drop --require-clean",
        )
    if not dirty:
        assert commit is not None
        return LocalState(provenance, git_identity(commit, subdir))
    import hashlib

    artifacts: dict[str, bytes] = {}
    digest = hashlib.sha256()
    if changed and commit is not None:
        # diff-index, not `git diff`: the porcelain rewrites the index when it meets files
        # whose stat changed, even with optional locks off.
        diff = git(
            [
                *_READ_ONLY,
                "diff-index",
                "--patch",
                "--binary",
                "--no-color",
                "--no-ext-diff",
                "--no-textconv",
                "--submodule=diff",
                "HEAD",
                "--",
                ".",
                *(f":(top,exclude,literal){path}" for path in ignored),
            ],
            cwd=project_dir,
        ).stdout
        data = diff.encode("utf-8", "surrogateescape")
        artifacts["uncommitted.diff"] = data
        digest.update(data)
        provenance["diff_sha256"] = hashlib.sha256(data).hexdigest()
    if untracked:
        from mlrun.sources.contenthash import files_hash

        listing = "".join(f"{p}\n" for p in untracked).encode("utf-8", "surrogateescape")
        artifacts["untracked.txt"] = listing
        digest.update(files_hash(top, untracked).encode())
    provenance["changed_files"] = len(changed)
    provenance["untracked_files"] = len(untracked)
    # Which files made the tree dirty, for `mlrun runs show` (the full untracked list is
    # the untracked.txt artifact).
    provenance["changed_paths"] = changed[:LISTED]
    provenance["untracked_paths"] = untracked[:LISTED]
    if commit is None:  # no commit yet: the files are the identity
        from mlrun.sources.contenthash import tree_hash

        return LocalState(provenance, tree_hash(project_dir), artifacts)
    return LocalState(provenance, git_identity(commit, subdir, digest.hexdigest()[:32]), artifacts)


def directory_state(project_dir: Path, *, require_clean: bool) -> LocalState:
    if require_clean:
        raise UsageError(
            f"--require-clean needs a git working tree, and {project_dir} is not in one",
            hint="run it from a git repository, or drop --require-clean",
        )
    from mlrun.sources.contenthash import tree_hash

    content = tree_hash(project_dir)
    return LocalState({"vcs": None, "path": str(project_dir), "content_hash": content}, content)


def _ignored_tracked(project_dir: Path, changed: list[str]) -> list[str]:
    """The changed files that .gitignore (or info/exclude, core.excludesFile) covers:
    tracked because they were committed once, but declared outputs since. A run that
    rewrites them does not make the code dirty."""
    from mlrun.sources.gitcmd import read_only

    out = read_only(
        ["ls-files", "-z", "-c", "-i", "--exclude-standard", "--full-name", "--", "."],
        project_dir,
    )
    covered = set(out.split("\0")) if out else set()
    return [path for path in changed if path in covered]


def _parse_status(out: str) -> tuple[str | None, str | None, list[str], list[str]]:
    commit = branch = None
    changed: list[str] = []
    untracked: list[str] = []
    entries = iter(out.split("\0"))
    for entry in entries:
        if entry.startswith("# branch.oid "):
            oid = entry.removeprefix("# branch.oid ")
            commit = None if oid == "(initial)" else oid
        elif entry.startswith("# branch.head "):
            head = entry.removeprefix("# branch.head ")
            branch = None if head == "(detached)" else head
        elif entry.startswith("? "):
            untracked.append(entry[2:])
        elif entry.startswith(("1 ", "u ")):
            changed.append(entry.split(" ", 8 if entry[0] == "1" else 10)[-1])
        elif entry.startswith("2 "):
            changed.append(entry.split(" ", 9)[-1])
            next(entries, None)  # a rename's original path follows as its own entry
    return commit, branch, changed, untracked


def remote_url(top: Path) -> str | None:
    """The URL of `origin` (else of the only remote), credentials removed."""
    out = git(
        ["config", "-z", "--get-regexp", r"^remote\..*\.url$"], cwd=top, check=False, watch=False
    ).stdout
    urls = {}
    for entry in filter(None, out.split("\0")):
        key, _, value = entry.partition("\n")
        urls[key.removeprefix("remote.").removesuffix(".url")] = value
    url = urls.get("origin") or (next(iter(urls.values())) if len(urls) == 1 else None)
    return strip_credentials(url) if url else None


def _tag(top: Path) -> str | None:
    out = git(
        ["tag", "--points-at", "HEAD", "--sort=-creatordate"], cwd=top, check=False
    ).stdout.split()
    return out[0] if out else None
