"""Git corner cases (issue 18, item 4), with real repositories and servers: a bare
repository whose HEAD names a branch that does not exist, and `file://` URLs to a path
that is gone, online and --offline."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers import mlrun
from tests.sources.gitrepos import commit, git, output_fields, project_repo
from tests.sources.gitservers import GitDaemon, GitHttpServer

pytestmark = pytest.mark.gitserver


def _headless_bare(tmp_path: Path, root: Path) -> Path:
    """`git init --bare` (HEAD names master) to which the user pushed main and dev."""
    work = tmp_path / "work"
    project_repo(work, "v-main")
    git(work, "checkout", "-q", "-b", "dev")
    commit(work, {"version.txt": "v-dev"})
    root.mkdir(parents=True, exist_ok=True)
    bare = root / "app.git"
    git(root, "-c", "init.defaultBranch=master", "init", "-q", "--bare", str(bare))
    git(work, "push", "-q", str(bare), "main", "dev")
    assert (bare / "HEAD").read_text().strip() == "ref: refs/heads/master"
    return bare


@pytest.fixture(params=["path", "file-url", "http", "daemon"])
def headless(request: pytest.FixtureRequest, tmp_path: Path, served: Path) -> tuple[Path, str]:
    """(the bare repository, the URI a user gives for it)."""
    bare = _headless_bare(tmp_path, served)
    kind = request.param
    if kind == "path":
        return bare, str(bare)
    if kind == "file-url":
        return bare, bare.as_uri()
    server: GitHttpServer | GitDaemon = request.getfixturevalue(
        "http_server" if kind == "http" else "daemon"
    )
    if isinstance(server, GitHttpServer):
        return bare, server.url("app.git", credentials=True)
    return bare, server.url("app.git")


def test_bare_repo_whose_head_names_a_missing_branch(headless: tuple[Path, str]) -> None:
    bare, uri = headless
    ran = mlrun("run", uri, "-v", "main")
    assert ran.returncode == 0, ran.stderr
    assert output_fields(ran.stdout)["version"] == "v-main"
    assert "empty" not in ran.stderr
    other = mlrun("run", uri, "-v", "dev")
    assert other.returncode == 0 and output_fields(other.stdout)["version"] == "v-dev"
    # Without -v there is no version to choose: say which branches there are.
    plain = mlrun("run", uri)
    assert plain.returncode == 2, plain.stderr
    assert "has no default branch (its HEAD names no branch that exists)" in plain.stderr
    assert "hint: choose one with -v (branches: " in plain.stderr
    listed = plain.stderr.split("branches: ", 1)[1].split(";", 1)[0]
    assert sorted(listed.split(", ")) == ["dev", "main"]
    assert "Traceback" not in plain.stderr
    # Once the repository names a default branch, a plain run takes it.
    git(bare, "symbolic-ref", "HEAD", "refs/heads/dev")
    fixed = mlrun("run", uri)
    assert fixed.returncode == 0, fixed.stderr
    assert output_fields(fixed.stdout)["version"] == "v-dev"


def test_a_repository_without_any_branch_is_still_empty(tmp_path: Path) -> None:
    bare = tmp_path / "empty.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    proc = mlrun("run", bare.as_uri())
    assert proc.returncode == 125
    assert "is empty (it has no branch or tag)" in proc.stderr


def test_file_url_to_a_missing_path_is_a_fetch_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.git"
    proc = mlrun("run", missing.as_uri())
    assert proc.returncode == 125, proc.stderr
    assert f"cannot clone {missing.as_uri()}: there is no repository at this URL" in proc.stderr
    assert "project directory" not in proc.stderr
    offline = mlrun("run", missing.as_uri(), "--offline")
    assert offline.returncode == 125
    assert "is not in the mirror cache and --offline forbids fetching it" in offline.stderr
    assert "mlrun: fetching" not in offline.stderr and "mlrun: cloning" not in offline.stderr
    # A plain path that does not exist is still bad input, as before.
    path = mlrun("run", str(missing))
    assert path.returncode == 2 and "does not exist" in path.stderr


@pytest.mark.parametrize("as_url", [True, False])
def test_offline_runs_a_gone_repository_from_the_mirror(tmp_path: Path, as_url: bool) -> None:
    work = tmp_path / "work"
    project_repo(work, "v1")
    bare = tmp_path / "repo.git"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(bare))
    uri = bare.as_uri() if as_url else str(bare)
    first = mlrun("run", uri)
    assert first.returncode == 0 and output_fields(first.stdout)["version"] == "v1"
    if as_url:
        shutil.rmtree(bare)  # the repository is gone; the mirror still has it
    offline = mlrun("run", uri, "--offline")
    assert offline.returncode == 0, offline.stderr
    assert output_fields(offline.stdout)["version"] == "v1"
    assert "mlrun: fetching" not in offline.stderr and "mlrun: cloning" not in offline.stderr
    tagged = mlrun("run", uri, "--offline", "-v", "main")
    assert tagged.returncode == 0, tagged.stderr
    unknown = mlrun("run", uri, "--offline", "-v", "no-such-branch")
    assert unknown.returncode == 125
    assert "is not in the mirror cache" in unknown.stderr
    if as_url:
        online = mlrun("run", uri)
        assert online.returncode == 125
        assert "there is no repository at this URL" in online.stderr
