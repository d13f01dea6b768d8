"""`mlrun run <git-url>` against real git servers on loopback (git daemon, and git
http-backend behind basic auth): versions, subdirectories, submodules, the mirror cache,
--offline, and the errors a user meets."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import cli, mlrun
from tests.sources.gitrepos import (
    MLPROJECT,
    SHOW,
    add_submodule,
    commit,
    git,
    output_fields,
    project_repo,
    publish,
    run_recorded,
)
from tests.sources.gitservers import GitDaemon, GitHttpServer

pytestmark = pytest.mark.gitserver


@dataclass
class Origin:
    work: Path
    first: str  # commit with version v1, tagged v1.0 (annotated)
    second: str  # main: version v2, plus the project examples/demo
    dev: str  # branch dev: version dev


@pytest.fixture
def origin(tmp_path: Path, served: Path) -> Origin:
    work = tmp_path / "app"
    first = project_repo(work, "v1")
    git(work, "tag", "-a", "-m", "release", "v1.0")
    second = commit(
        work,
        {
            "version.txt": "v2",
            "examples/demo/MLproject": MLPROJECT,
            "examples/demo/show.py": SHOW,
            "examples/demo/version.txt": "demo",
        },
    )
    git(work, "checkout", "-q", "-b", "dev")
    dev = commit(work, {"version.txt": "dev"})
    git(work, "checkout", "-q", "main")
    publish(work, served, "app.git")
    return Origin(work, first, second, dev)


def _url(server: GitDaemon | GitHttpServer, name: str) -> str:
    if isinstance(server, GitHttpServer):
        return server.url(name, credentials=True)
    return server.url(name)


@pytest.fixture(params=["git-daemon", "http"])
def server(request: pytest.FixtureRequest) -> GitDaemon | GitHttpServer:
    name = "daemon" if request.param == "git-daemon" else "http_server"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


def test_versions_and_subdirectories(server: GitDaemon | GitHttpServer, origin: Origin) -> None:
    url = _url(server, "app.git")
    shown_url = url.replace("alice:tok-9f8e7d6c5b4a-SECRET@", "")
    cases = [
        ([], "v2", origin.second, {"branch": "main", "tag": None}),
        (["-v", "v1.0"], "v1", origin.first, {"tag": "v1.0", "branch": None}),
        (["-v", "dev"], "dev", origin.dev, {"branch": "dev"}),
        (["-v", origin.first[:8]], "v1", origin.first, {"branch": None, "tag": None}),
        (["-v", origin.dev], "dev", origin.dev, {}),
    ]
    for args, version, sha, expected in cases:
        out, record = run_recorded(url, *args, "-P", "alpha=0.5")
        fields = output_fields(out)
        assert (fields["version"], fields["alpha"]) == (version, "0.5"), args
        source = record["source"]
        assert source["commit"] == sha and source["repo"] == shown_url, args
        assert source["vcs"] == "git" and source["dirty"] is False
        assert source["code_identity"] == f"git:{sha}"
        for key, value in expected.items():
            assert source[key] == value, (args, key)
        assert record["source_uri"] == shown_url and record["source_type"] == "git"
        assert Path(fields["cwd"]) == Path(source["checkout"])

    out, record = run_recorded(url + "#examples/demo")
    assert output_fields(out)["version"] == "demo"
    assert record["source"]["subdir"] == "examples/demo"
    assert record["source"]["code_identity"] == f"git:{origin.second}:examples/demo"
    assert output_fields(out)["cwd"].endswith("/examples/demo")
    assert record["source_uri"] == shown_url + "#examples/demo"

    text = cli("runs", "show", record["run_id"], check=True).stdout
    assert f"commit: {origin.second}" in text and "subdir: examples/demo" in text
    assert f"repo: {shown_url}" in text and "tok-9f8e" not in text


def _submodule_origin(tmp_path: Path, served: Path) -> tuple[Path, Path]:
    deep = tmp_path / "deep"
    deep.mkdir()
    git(deep, "init", "-q", "-b", "main")
    commit(deep, {"deep.txt": "deep-1"})
    publish(deep, served, "deep.git")
    lib = tmp_path / "lib"
    lib.mkdir()
    git(lib, "init", "-q", "-b", "main")
    git(lib, "remote", "add", "origin", str(served / "lib.git"))
    commit(lib, {"lib.txt": "lib-1"})
    add_submodule(lib, "../deep.git", "deep")  # relative: resolved against the remote URL
    publish(lib, served, "lib.git")
    app = tmp_path / "app"
    project_repo(app, "with-submodules")
    git(app, "remote", "add", "origin", str(served / "app.git"))
    add_submodule(app, "../lib.git", "lib")
    publish(app, served, "app.git")
    return app, lib


def test_submodules_are_checked_out_recursively(
    server: GitDaemon | GitHttpServer, tmp_path: Path, served: Path
) -> None:
    app, lib = _submodule_origin(tmp_path, served)
    url = _url(server, "app.git")
    out, record = run_recorded(url)
    fields = output_fields(out)
    assert (fields["lib"], fields["deep"]) == ("lib-1", "deep-1")
    subs = record["source"]["submodules"]
    assert subs["lib"] == git(lib, "rev-parse", "HEAD")
    assert subs["lib/deep"] == git(lib / "deep", "rev-parse", "HEAD")

    # The superproject moves its submodule to a new commit: the submodule's mirror fetches it.
    new_lib = commit(lib, {"lib.txt": "lib-2"})
    publish(lib, served, "lib.git")
    git(app / "lib", "fetch", "-q", "origin")
    git(app / "lib", "checkout", "-q", new_lib)
    git(app, "commit", "-q", "-am", "bump lib")
    publish(app, served, "app.git")
    out, record = run_recorded(url)
    assert output_fields(out)["lib"] == "lib-2"
    assert record["source"]["submodules"]["lib"] == new_lib


def _mirror(home: Path) -> Path:
    (mirror,) = (home / "cache" / "git").glob("*/mirror.git")
    return mirror


def _objects(mirror: Path) -> set[str]:
    return {str(p.relative_to(mirror)) for p in (mirror / "objects").rglob("*")}


def test_second_run_of_unchanged_remote_transfers_nothing(
    http_server: GitHttpServer, origin: Origin, mlrun_home: Path
) -> None:
    url = http_server.url("app.git", credentials=True)
    first_out, _ = run_recorded(url)
    assert http_server.commands().count("fetch") == 1  # the clone
    before = len(http_server.requests)
    objects = _objects(_mirror(mlrun_home))
    second_out, record = run_recorded(url)
    # The remote was asked (its refs listed) but no pack was requested.
    assert [r.command for r in http_server.requests[before:] if r.command] == ["ls-refs"]
    assert _objects(_mirror(mlrun_home)) == objects
    # ... and the clean checkout of that commit was reused.
    assert output_fields(second_out)["cwd"] == output_fields(first_out)["cwd"]
    assert record["source"]["commit"] == origin.second

    # A new commit on the remote: only it travels, and it is what runs.
    newer = commit(origin.work, {"version.txt": "v3"})
    publish(origin.work, http_server.root, "app.git")
    out, record = run_recorded(url)
    assert output_fields(out)["version"] == "v3" and record["source"]["commit"] == newer
    assert http_server.commands().count("fetch") == 2


def test_unchanged_remote_over_git_daemon_adds_no_objects(
    daemon: GitDaemon, origin: Origin, mlrun_home: Path
) -> None:
    run_recorded(daemon.url("app.git"))
    objects = _objects(_mirror(mlrun_home))
    run_recorded(daemon.url("app.git"))
    assert _objects(_mirror(mlrun_home)) == objects


def test_full_commit_already_mirrored_needs_no_server(daemon: GitDaemon, origin: Origin) -> None:
    url = daemon.url("app.git")
    run_recorded(url)
    daemon.stop()  # a commit id names fixed content: nothing to ask the server
    out, _ = run_recorded(url, "-v", origin.first)
    assert output_fields(out)["version"] == "v1"


def test_offline_uses_the_mirror_and_fails_clearly(
    http_server: GitHttpServer, origin: Origin
) -> None:
    url = http_server.url("app.git", credentials=True)
    never = mlrun("run", url, "--offline")
    assert never.returncode == 125
    assert "not in the mirror cache" in never.stderr and "--offline" in never.stderr
    assert not http_server.requests  # offline means the server is never contacted
    run_recorded(url)
    http_server.stop()
    out, record = run_recorded(url, "--offline", "-v", "dev")
    assert output_fields(out)["version"] == "dev"
    assert record["source"]["offline"] is True and record["source"]["branch"] == "dev"
    out, _ = run_recorded(url, "--offline")
    assert output_fields(out)["version"] == "v2"
    missing = mlrun("run", url, "--offline", "-v", "no-such-branch")
    assert missing.returncode == 125
    assert "'no-such-branch' is not in the mirror cache" in missing.stderr
    assert "tok-9f8e" not in missing.stderr


def _error(*args: str) -> tuple[int, list[str]]:
    proc = mlrun(*args)
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith(("mlrun: error:", "  hint"))]
    assert "Traceback" not in proc.stderr
    return proc.returncode, lines


def test_errors_are_one_sentence_without_credentials(
    http_server: GitHttpServer, daemon: GitDaemon, origin: Origin, tmp_path: Path
) -> None:
    token = http_server.password
    good = http_server.url("app.git", credentials=True)
    bad_token = good.replace(token, "wrong-token")
    cases = [
        (["run", bad_token], 125, "authentication failed"),
        (["run", http_server.url("app.git")], 125, "authentication failed"),
        (["run", http_server.url("missing.git", credentials=True)], 125, "no repository"),
        (["run", daemon.url("missing.git")], 125, "no repository"),
        (["run", "https://u:tok@host.invalid/r.git"], 125, "unknown host host.invalid"),
        (["run", f"git://127.0.0.1:{_closed_port()}/r.git"], 125, "could not connect"),
        (["run", good, "-v", "nope"], 2, "version 'nope' is not a branch, tag or commit"),
        (["run", good, "-v", "abcdef12"], 2, "is not a branch, tag or commit"),
        (["run", good + "#no/such/dir"], 2, "subdirectory 'no/such/dir' does not exist"),
        (["run", "ftp://u:tok@h/r"], 2, "unsupported URI scheme"),
        (["run", good, "-v", "--bad"], 2, "not a valid --version"),
    ]
    for args, code, words in cases:
        rc, lines = _error(*args)
        assert rc == code, (args, lines)
        assert lines and words in lines[0], (args, lines)
        assert len(lines) <= 2
        assert token not in "".join(lines) and "wrong-token" not in "".join(lines)
        if "127.0.0.1" in args[1] and "--bad" not in args:
            assert "127.0.0.1" in lines[0]  # the URL is named, without its credentials


def test_a_repository_without_a_project_is_named(
    daemon: GitDaemon, served: Path, tmp_path: Path
) -> None:
    work = tmp_path / "plain"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    sha = commit(work, {"notes.txt": "no project here"})
    publish(work, served, "plain.git")
    rc, lines = _error("run", daemon.url("plain.git"))
    assert rc == 2
    assert f"{daemon.url('plain.git')} at {sha[:12]} has no MLproject" in lines[0]


def test_validate_reads_a_git_url(daemon: GitDaemon, origin: Origin) -> None:
    proc = mlrun("validate", daemon.url("app.git") + "#examples/demo", "-v", "main", "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["name"] == "gitproj"
    assert summary["source"]["commit"] == origin.second
    assert summary["source"]["subdir"] == "examples/demo"
    text = mlrun("validate", daemon.url("app.git"), "-v", "v1.0", check=True).stdout
    assert f"source: {daemon.url('app.git')} at {origin.first}" in text


def _closed_port() -> int:
    from tests.sources.gitservers import free_port

    return free_port()


def test_file_url_and_bare_path_are_remotes(served: Path, origin: Origin) -> None:
    out, record = run_recorded((served / "app.git").as_uri(), "-v", "dev")
    assert output_fields(out)["version"] == "dev"
    out, record = run_recorded(os.fspath(served / "app.git"))
    assert output_fields(out)["version"] == "v2"
    assert record["source"]["commit"] == origin.second


def test_https_with_a_token(https_server: GitHttpServer, origin: Origin) -> None:
    url = https_server.url("app.git", credentials=True)
    out, record = run_recorded(url, "-v", "v1.0")
    assert output_fields(out)["version"] == "v1"
    assert record["source"]["repo"] == https_server.url("app.git")
    assert record["source"]["repo"].startswith("https://127.0.0.1:")
    assert all(r.authorized for r in https_server.requests)
    run_recorded(url, "-v", "v1.0")
    assert https_server.commands().count("fetch") == 1
