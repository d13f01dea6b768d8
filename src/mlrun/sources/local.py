"""Projects in a local directory (or a local repository used as a remote)."""

from __future__ import annotations

from pathlib import Path

from mlrun.errors import UsageError
from mlrun.reporting import Reporter
from mlrun.sources.model import Source


def resolve_local(
    uri: str,
    subdir: str,
    cwd: Path,
    *,
    version: str | None = None,
    require_clean: bool = False,
    offline: bool = False,
    reporter: Reporter,
) -> Source:
    from mlrun.sources.provenance import find_worktree, is_bare_repo

    is_file_url = uri.lower().startswith("file://")
    raw = uri
    if is_file_url:
        from mlrun.sources.gituri import file_url_path

        raw = file_url_path(uri)
    path = (cwd / Path(raw).expanduser()).resolve()
    if is_file_url and not path.exists():
        # A URL names a repository, like any remote: one that is not there is a fetch
        # error (125), and --offline can still run it from the mirror cache.
        return _as_remote(path, subdir, version, offline, reporter)
    if not path.exists():
        from mlrun.sources.gituri import redacted

        raise UsageError(
            f"project directory {redacted(uri)!r} does not exist",
            hint="give a path to a directory holding an MLproject, or a git URL",
        )
    if not path.is_dir():
        raise UsageError(
            f"project {raw!r} is a file, not a directory",
            hint="point at the directory; choose a script with -e",
        )
    top = find_worktree(path)
    if is_bare_repo(path) or (is_file_url and top == path):
        # A repository named as a remote: its commits, not its files, are the project.
        return _as_remote(path, subdir, version, offline, reporter)
    if top is not None and version is not None:
        from mlrun.sources.gitsource import resolve_worktree_version

        inner = (path / subdir) if subdir else path
        if subdir:
            _check_subdir(path, subdir)
        rel = inner.relative_to(top).as_posix() if inner != top else ""
        return resolve_worktree_version(top, "" if rel == "." else rel, version, reporter)
    if version is not None:
        raise UsageError(
            f"--version needs a git repository, and {path} is not in one",
            hint="drop --version to run the directory as it is",
        )
    project_dir = path / subdir if subdir else path
    if subdir:
        _check_subdir(path, subdir)
    if not project_dir.is_dir():
        raise UsageError(
            f"the subdirectory {subdir!r} does not exist in {path}", hint="check the path after '#'"
        )
    return _in_place(project_dir, top, top or path, require_clean, reporter)


def _check_subdir(path: Path, subdir: str) -> None:
    from mlrun.sources.gituri import check_subdir  # only for URI#subdir: start-up time

    check_subdir(path, subdir, str(path))


def _as_remote(
    path: Path, subdir: str, version: str | None, offline: bool, reporter: Reporter
) -> Source:
    from mlrun.sources.gitsource import resolve_remote
    from mlrun.sources.gituri import local_remote

    return resolve_remote(
        local_remote(path), subdir, version=version, offline=offline, reporter=reporter
    )


def _in_place(
    project_dir: Path, top: Path | None, root: Path, require_clean: bool, reporter: Reporter
) -> Source:
    """`root`: the git working tree holding the project, or the directory named."""
    from mlrun.sources.provenance import directory_state, worktree_state

    state = None
    if top is not None:
        state = worktree_state(project_dir, top, require_clean=require_clean)
        if state is None:
            reporter.debug(f"git could not describe {top}; hashing the files instead")
    if state is None:
        state = directory_state(project_dir, require_clean=require_clean)
    p = state.provenance
    if p.get("dirty"):
        changed, untracked = p.get("changed_files", 0), p.get("untracked_files", 0)
        named = _some(
            [*p.get("changed_paths", ()), *p.get("untracked_paths", ())], changed + untracked
        )
        reporter.info(
            f"{project_dir} has uncommitted changes ({changed} changed, "
            f"{untracked} untracked file(s)" + (f": {named})" if named else ")")
        )
    if p.get("ignored_changes"):
        reporter.info(
            "changes to committed files covered by .gitignore are not counted: "
            + _some(p["ignored_changes"], len(p["ignored_changes"]))
        )
    return Source(
        project_dir=project_dir,
        uri=str(project_dir),
        kind="local",
        provenance=state.provenance,
        code_identity=state.code_identity,
        artifacts=state.artifacts,
        root=root,
    )


def _some(paths: list[str], total: int, shown: int = 3) -> str:
    """`a, b, c and 4 more` (`total` counts the paths not listed too)."""
    text = ", ".join(paths[:shown])
    more = total - min(len(paths), shown)
    return text + (f" and {more} more" if text and more > 0 else "")
