"""A token in the URL is used for the fetch and found nowhere else: not in the store, the
logs, the terminal, the mirror, the checkout, or any process's argv while git runs."""

from __future__ import annotations

import base64
import os
import queue
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import mlrun
from tests.sources.gitrepos import (
    MLPROJECT,
    add_submodule,
    commit,
    git,
    output_fields,
    project_repo,
    publish,
    run_recorded,
)
from tests.sources.gitservers import GitHttpServer

pytestmark = pytest.mark.gitserver

ENV_DUMP = 'import os\nfor k, v in sorted(os.environ.items()):\n    print(f"ENV {k}={v}")\n'


def _secret_forms(server: GitHttpServer) -> list[bytes]:
    basic = base64.b64encode(f"{server.user}:{server.password}".encode())
    return [server.password.encode(), basic]


def _parent(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return int(fh.read().rsplit(")", 1)[-1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def _descends_from(pid: int, root: int) -> bool:
    while pid > 1:
        pid = _parent(pid)
        if pid == root:
            return True
    return False


def _scan_processes(root: int, own: bytes, secrets: list[bytes]) -> tuple[list[str], list[bytes]]:
    """(argv of each git process seen, argv of every process holding a secret) among the
    processes `root` started (others on the machine may run this very test). `own` is
    mlrun's own argv: a child between fork and exec still shows it, and is not a leak."""
    gits, leaks = [], []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or not _descends_from(int(entry.name), root):
            continue
        cmdline = _cmdline(entry.name)
        argv0 = cmdline.split(b"\0", 1)[0]
        if argv0.endswith((b"git", b"git-remote-http", b"git-remote-https")):
            gits.append(cmdline.replace(b"\0", b" ").decode(errors="replace"))
        if cmdline != own and any(s in cmdline for s in secrets):
            # A read that races an exec can join the old argv (mlrun's, with the URL) to
            # the new one; a real leak is still there when read again.
            if _cmdline(entry.name) == cmdline:
                leaks.append(cmdline)
    return gits, leaks


def _cmdline(pid: str) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read()
    except OSError:
        return b""


def test_token_is_used_but_never_written_shown_or_passed_in_argv(
    http_server: GitHttpServer, served: Path, tmp_path: Path, mlrun_home: Path
) -> None:
    work = tmp_path / "app"
    project_repo(work, "v1")
    commit(
        work,
        {
            "MLproject": MLPROJECT.replace("python show.py {alpha}", "python env.py"),
            "env.py": ENV_DUMP,
        },
    )
    publish(work, served, "app.git")
    secrets = _secret_forms(http_server)
    http_server.hold = frozenset({"ls-refs", "fetch"})  # git waits there while we look
    url = http_server.url("app.git", credentials=True)

    proc = subprocess.Popen(
        [sys.executable, "-m", "mlrun", "run", url, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    seen: list[str] = []
    leaks: list[bytes] = []
    # mlrun's own argv holds the URL the user typed; every process it starts must not.
    own = b"\0".join(os.fsencode(a) for a in proc.args) + b"\0"  # type: ignore[union-attr]
    points: list[str] = []
    while proc.poll() is None:
        try:  # git is waiting for the server's answer: it is surely running now
            point: str | None = http_server.held.get(timeout=0.005)
        except queue.Empty:
            point = None
        gits, found = _scan_processes(proc.pid, own, secrets)
        seen += gits
        leaks += found
        if point is not None:
            points.append(point)
            http_server.resume()
    out, err = proc.communicate()
    assert proc.returncode == 0, err
    assert {"ls-refs", "fetch"} <= set(points)  # looked at git at each stage
    assert any(" fetch " in g or "remote-http" in g for g in seen), seen  # caught git running
    assert any("127.0.0.1" in g for g in seen)
    assert not leaks, leaks
    for secret in secrets:
        assert secret not in out and secret not in err
    assert b"ENV " in err  # the project's own environment holds no credential either
    assert all(r.authorized for r in http_server.requests)  # ... yet every request had it

    stored = [p for p in mlrun_home.rglob("*") if p.is_file() and not p.is_symlink()]
    assert any(p.name == "config" and "mirror.git" in str(p) for p in stored)
    assert any(p.name == "output.log" for p in stored)
    for path in stored:
        data = path.read_bytes()
        for secret in secrets:
            assert secret not in data, path

    # Errors and --debug tracebacks do not show it either.
    bad = mlrun("--debug", "run", url.replace("@", "x@"))
    assert bad.returncode == 125
    assert http_server.password not in bad.stderr + bad.stdout


def test_credential_helpers_keep_working(
    http_server: GitHttpServer, served: Path, tmp_path: Path, git_isolation: Path
) -> None:
    work = tmp_path / "app"
    project_repo(work, "helped")
    publish(work, served, "app.git")
    store = tmp_path / "credentials"
    store.write_text(
        f"http://{http_server.user}:{http_server.password}@127.0.0.1:{http_server.port}\n"
    )
    with git_isolation.open("a") as fh:
        fh.write(f"[credential]\n\thelper = store --file {store}\n")
    out, record = run_recorded(http_server.url("app.git"))
    assert output_fields(out)["version"] == "helped"
    assert record["source"]["repo"] == http_server.url("app.git")
    assert any(r.authorized for r in http_server.requests)


def test_token_goes_to_its_own_host_only(
    http_server: GitHttpServer, served: Path, tmp_path: Path
) -> None:
    other_root = tmp_path / "other-served"
    other_root.mkdir()
    other = GitHttpServer(other_root, user="bob", password="other-host-password").start()
    try:
        lib = tmp_path / "lib"
        lib.mkdir()
        git(lib, "init", "-q", "-b", "main")
        commit(lib, {"lib.txt": "lib"})
        publish(lib, other_root, "lib.git")
        app = tmp_path / "app"
        project_repo(app, "v1")
        add_submodule(app, str(other_root / "lib.git"), "lib")
        gitmodules = (app / ".gitmodules").read_text()
        (app / ".gitmodules").write_text(
            gitmodules.replace(str(other_root / "lib.git"), other.url("lib.git"))
        )
        git(app, "commit", "-q", "-am", "submodule on another host")
        publish(app, served, "app.git")

        proc = mlrun("run", http_server.url("app.git", credentials=True))
        assert proc.returncode == 125
        assert "submodule lib" in proc.stderr and "authentication failed" in proc.stderr
        assert other.requests  # the other host was asked ...
        sent = {r.authorization for r in other.requests}
        token = base64.b64encode(f"{http_server.user}:{http_server.password}".encode())
        assert not any(s and token.decode() in s for s in sent)  # ... without our token
    finally:
        other.stop()


def test_crash_log_of_a_run_with_a_token_does_not_keep_it(
    mlrun_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mlrun.cli.main import _crash

    url = "https://ci:glpat-TOKEN-4242@git.example/org/repo.git"
    monkeypatch.setattr(sys, "argv", ["mlrun", "run", url])
    assert _crash(RuntimeError(f"bug while fetching {url}"), debug=True) == 1
    (log,) = mlrun_home.glob("crash-*.log")
    assert "glpat-TOKEN-4242" not in log.read_text()
    assert "git.example/org/repo.git" in log.read_text()
    captured = capsys.readouterr()
    assert "glpat-TOKEN-4242" not in captured.err + captured.out
