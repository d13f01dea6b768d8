"""Local projects: a git working tree run in place (commit, branch, dirty state, diff),
at another --version (checked out elsewhere, the user's repository untouched), and plain
directories (a content hash)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.helpers import cli, mlrun
from tests.sources.gitrepos import (
    MLPROJECT,
    SHOW,
    commit,
    git,
    output_fields,
    project_repo,
    run_recorded,
    write,
)


def _artifact(record: dict, name: str) -> str:  # type: ignore[type-arg]
    return (Path(record["run_dir"]) / "artifacts" / "mlrun" / name).read_text()


def test_clean_tree_records_commit_and_branch(tmp_path: Path) -> None:
    work = tmp_path / "repo"
    sha = project_repo(work, "v1")
    git(work, "remote", "add", "origin", "https://bob:hunter2@git.example/org/repo.git")
    out, record = run_recorded(str(work), "--require-clean")
    source = record["source"]
    assert output_fields(out)["cwd"] == str(work)  # run in place
    assert source["commit"] == sha and source["branch"] == "main"
    assert source["dirty"] is False and source["subdir"] == ""
    assert source["repo"] == "https://git.example/org/repo.git"  # no credentials
    assert source["path"] == str(work)
    assert source["code_identity"] == f"git:{sha}"
    assert not any(a["path"].startswith("mlrun/") for a in record["artifacts"])
    git(work, "tag", "v1.0")
    _, record = run_recorded(str(work))
    assert record["source"]["tag"] == "v1.0"


@pytest.mark.slow  # git and runs (~1.3 s)
def test_dirty_tree_records_flag_diff_and_untracked_files(tmp_path: Path) -> None:
    work = tmp_path / "repo"
    sha = project_repo(work, "v1")
    write(work, {"version.txt": "v1-edited", "notes/todo.txt": "untracked\n"})
    out, record = run_recorded(str(work))
    assert output_fields(out)["version"] == "v1-edited"
    source = record["source"]
    assert source["dirty"] is True and source["commit"] == sha
    assert (source["changed_files"], source["untracked_files"]) == (1, 1)
    diff = _artifact(record, "uncommitted.diff")
    assert "-v1" in diff and "+v1-edited" in diff
    assert _artifact(record, "untracked.txt") == "notes/todo.txt\n"
    paths = {a["path"] for a in record["artifacts"]}
    assert {"mlrun/uncommitted.diff", "mlrun/untracked.txt"} <= paths
    identity = source["code_identity"]
    assert identity.startswith(f"git:{sha}+dirty:")

    assert source["changed_paths"] == ["version.txt"]
    assert source["untracked_paths"] == ["notes/todo.txt"]
    assert "(1 changed, 1 untracked file(s): version.txt, notes/todo.txt)" in out_err(work)
    text = cli("runs", "show", record["run_id"], check=True).stdout
    assert "dirty: true" in text and f"commit: {sha}" in text
    assert "untracked_paths: notes/todo.txt" in text  # which files made it dirty

    _, again = run_recorded(str(work))
    assert again["source"]["code_identity"] == identity  # same changes, same identity
    (work / "notes" / "todo.txt").write_text("untracked, edited\n")
    _, edited = run_recorded(str(work))
    assert edited["source"]["code_identity"] != identity  # untracked contents count

    refused = cli("run", str(work), "--require-clean")
    assert refused.returncode == 2
    assert "uncommitted changes (1 changed, 1 untracked)" in refused.stderr
    assert "--require-clean" in refused.stderr and "Traceback" not in refused.stderr


def out_err(work: Path) -> str:
    proc = mlrun("run", str(work))
    assert proc.returncode == 0, proc.stderr
    return proc.stderr


RUN_WRITES = """\
import os
os.makedirs("out/model", exist_ok=True)
for name in ("out/metrics.json", "out/model/weights.bin", "cache/x.tmp", "notes.log"):
    os.makedirs(os.path.dirname(name) or ".", exist_ok=True)
    with open(name, "w") as fh:
        fh.write(str(os.getpid()))
"""


@pytest.mark.slow  # several runs
def test_files_the_run_writes_into_ignored_places_leave_it_clean(tmp_path: Path) -> None:
    """Outputs written where .gitignore, info/exclude or a nested .gitignore say: the
    next run is clean, even where an output was committed once before being ignored."""
    work = tmp_path / "repo"
    project_repo(work, "v1", subdir="proj")
    proj = work / "proj"
    write(proj, {"writes.py": RUN_WRITES, "out/metrics.json": "committed once\n"})
    write(work, {".gitignore": "proj/out/\n", "proj/cache/.gitignore": "*\n"})
    (work / ".git" / "info").mkdir(exist_ok=True)
    (work / ".git" / "info" / "exclude").write_text("*.log\n")
    git(work, "add", "-A")
    git(work, "add", "-f", "proj/out/metrics.json")  # tracked although covered
    git(work, "commit", "-q", "-m", "outputs ignored")
    sha = git(work, "rev-parse", "HEAD")
    first = mlrun("run", str(proj), "-e", "writes.py", "--require-clean")
    assert first.returncode == 0, first.stderr
    assert "M proj/out/metrics.json" in git(work, "status", "--porcelain")  # git: modified
    _, record = run_recorded(str(proj), "--require-clean")
    source = record["source"]
    assert source["dirty"] is False and source["code_identity"] == f"git:{sha}:proj"
    assert source["ignored_changes"] == ["proj/out/metrics.json"]
    assert "untracked_paths" not in source
    assert not any(a["path"].startswith("mlrun/") for a in record["artifacts"])
    shown = mlrun("runs", "show", record["run_id"], check=True).stdout
    assert "ignored_changes: proj/out/metrics.json" in shown
    # A real change next to them is still seen, and the diff leaves the outputs out.
    write(proj, {"version.txt": "v1-edited"})
    _, dirty = run_recorded(str(proj))
    assert dirty["source"]["dirty"] is True
    assert dirty["source"]["changed_paths"] == ["proj/version.txt"]
    diff = _artifact(dirty, "uncommitted.diff")
    assert "version.txt" in diff and "metrics.json" not in diff


def test_changes_outside_the_project_directory_do_not_make_it_dirty(tmp_path: Path) -> None:
    work = tmp_path / "monorepo"
    sha = project_repo(work, "v1", subdir="projects/a")
    write(work, {"README": "edited elsewhere\n", "other/new.txt": "x"})
    _out, record = run_recorded(str(work / "projects" / "a"), "--require-clean")
    assert record["source"]["dirty"] is False
    assert record["source"]["subdir"] == "projects/a"
    assert record["source"]["code_identity"] == f"git:{sha}:projects/a"
    _, via_fragment = run_recorded(f"{work}#projects/a")
    assert via_fragment["source"]["subdir"] == "projects/a"


def _snapshot(root: Path) -> dict[str, tuple[bytes | str, int, int]]:
    """Every file and directory under root: content (or link target), mode, mtime."""
    state: dict[str, tuple[bytes | str, int, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = path.lstat()
            if path.is_symlink():
                content: bytes | str = os.readlink(path)
            elif path.is_file():
                content = path.read_bytes()
            else:
                content = "dir"
            state[str(path.relative_to(root))] = (content, st.st_mode, st.st_mtime_ns)
    return state


def test_running_another_version_leaves_the_users_repository_untouched(tmp_path: Path) -> None:
    work = tmp_path / "repo"
    project_repo(work, "main-version", subdir="proj")
    git(work, "checkout", "-q", "-b", "other")
    other = commit(work, {"proj/version.txt": "other-version"})
    git(work, "checkout", "-q", "main")
    # The user is in the middle of something: staged, modified and untracked files.
    write(work, {"proj/show.py": SHOW + "# staged\n"})
    git(work, "add", "proj/show.py")
    write(work, {"proj/version.txt": "work-in-progress", "scratch.txt": "mine"})
    before = _snapshot(work)

    out, record = run_recorded("proj", "--version", "other", cwd=work)
    fields = output_fields(out)
    assert fields["version"] == "other-version"
    assert not fields["cwd"].startswith(str(work))  # checked out elsewhere
    source = record["source"]
    assert (source["commit"], source["branch"], source["subdir"]) == (other, "other", "proj")
    assert source["dirty"] is False and source["path"] == str(work)
    assert _snapshot(work) == before  # byte for byte, modes and mtimes included
    assert git(work, "rev-parse", "--abbrev-ref", "HEAD") == "main"

    tag_run = run_recorded(str(work / "proj"), "-v", other[:10])[1]
    assert tag_run["source"]["commit"] == other
    assert _snapshot(work) == before
    bad = cli("run", str(work / "proj"), "-v", "no-such-thing")
    assert bad.returncode == 2 and "'no-such-thing' is not a branch" in bad.stderr


def test_describing_a_dirty_tree_does_not_rewrite_its_index(tmp_path: Path) -> None:
    work = tmp_path / "repo"
    project_repo(work, "v1")
    write(work, {"version.txt": "dirty"})
    show = work / "show.py"
    os.utime(show, ns=(show.stat().st_atime_ns, show.stat().st_mtime_ns + 5_000_000_000))
    before = _snapshot(work / ".git")  # a plain `git status` would refresh the index now
    run_recorded(str(work))
    assert _snapshot(work / ".git") == before


@pytest.mark.slow  # several runs (~1 s)
def test_plain_directory_records_a_content_hash(tmp_path: Path) -> None:
    project = tmp_path / "plain"
    write(project, {"MLproject": MLPROJECT, "show.py": SHOW, "version.txt": "p1"})
    _, record = run_recorded(str(project))
    source = record["source"]
    assert source["vcs"] is None and source["content_hash"].startswith("sha256:")
    assert source["code_identity"] == source["content_hash"]
    # Running it wrote __pycache__ nowhere that matters; noise directories are skipped.
    (project / "__pycache__").mkdir(exist_ok=True)
    (project / "__pycache__" / "x.pyc").write_bytes(b"noise")
    _, same = run_recorded(str(project))
    assert same["source"]["content_hash"] == source["content_hash"]
    (project / "version.txt").write_text("p2")
    _, changed = run_recorded(str(project))
    assert changed["source"]["content_hash"] != source["content_hash"]

    for args, words in (
        (["--require-clean"], "needs a git working tree"),
        (["--version", "main"], "--version needs a git repository"),
    ):
        proc = mlrun("run", str(project), *args)
        assert proc.returncode == 2 and words in proc.stderr


def test_without_git_installed(tmp_path: Path) -> None:
    import sys

    bindir = tmp_path / "bin"  # a PATH with python and no git
    bindir.mkdir()
    (bindir / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (bindir / "python").chmod(0o755)
    env = dict(os.environ, PATH=str(bindir))
    work = tmp_path / "repo"
    project_repo(work, "v1")
    ran = mlrun("run", str(work), "--json", env=env)
    assert ran.returncode == 0, ran.stderr  # still runs, identified by its files
    run_id = json.loads(ran.stdout)["run_id"]
    source = json.loads(cli("runs", "show", run_id, "--json", env=env).stdout)["source"]
    assert source["content_hash"].startswith("sha256:") and source["vcs"] is None
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(bare))
    remote = mlrun("run", bare.as_uri(), env=env)
    assert remote.returncode == 125
    assert "git is not installed" in remote.stderr and "Traceback" not in remote.stderr


@pytest.mark.slow  # clones and runs
def test_local_remote_messages_show_plain_paths(tmp_path: Path) -> None:
    """A repository in a directory with a space, named by path or by file:// URL: the
    messages show its path as the user knows it, never percent-encoded; a clone that
    fails after the remote answered says "cannot clone"."""
    work = tmp_path / "repo"
    project_repo(work, "v1")
    bare = tmp_path / "my projects" / "app.git"
    bare.parent.mkdir()
    git(tmp_path, "clone", "-q", "--bare", str(work), str(bare))
    assert "%20" in bare.as_uri()
    for uri in (str(bare), bare.as_uri()):
        proc = mlrun("run", uri, "-v", "no-such-branch")
        assert proc.returncode == 2, proc.stderr
        assert f"is not a branch, tag or commit of file://{bare}\n" in proc.stderr
        assert "%20" not in proc.stderr
    missing = mlrun("run", (tmp_path / "my projects" / "gone.git").as_uri())
    assert missing.returncode == 125, missing.stderr
    assert f"cannot clone file://{tmp_path}/my projects/gone.git: " in missing.stderr
    assert "%20" not in missing.stderr
    _, record = run_recorded(bare.as_uri())
    assert record["source_uri"] == f"file://{bare}"  # what `runs list` shows as SOURCE

    broken = tmp_path / "my projects" / "broken.git"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(broken))
    tree = git(broken, "rev-parse", "HEAD^{tree}")
    (broken / "objects" / tree[:2] / tree[2:]).unlink()  # refs answer, objects do not
    proc = mlrun("run", str(broken))
    assert proc.returncode == 125, proc.stderr
    assert f"error: cannot clone file://{broken}: " in proc.stderr
    assert "clon " not in proc.stderr and "Traceback" not in proc.stderr
