"""The mirror cache under concurrency and after crashes: one clone for concurrent runs,
repair or rebuild after a fetch killed with SIGKILL, and checkouts that are never shared
or reused dirty."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlrun.reporting import RecordingReporter
from mlrun.sources.checkout import lease
from mlrun.sources.gituri import parse_remote
from mlrun.sources.mirror import Mirror
from tests.execution.procs import survivors
from tests.helpers import pid_alive, wait_until
from tests.sources.gitrepos import commit, git, output_fields, project_repo, publish, run_recorded
from tests.sources.gitservers import GitDaemon, GitHttpServer
from tests.workflow.wfhelpers import read_stream_until

pytestmark = pytest.mark.gitserver


def _spawn(*args: str) -> subprocess.Popen[str]:
    # A session of its own, so the test can kill mlrun and the git it started together,
    # as a crash or `kill -9` of the job would.
    return subprocess.Popen(
        [sys.executable, "-m", "mlrun", "run", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _mirror_dir(home: Path) -> Path:
    (root,) = (home / "cache" / "git").iterdir()
    return root


def _fsck(git_dir: Path) -> None:
    proc = subprocess.run(
        ["git", f"--git-dir={git_dir}", "fsck", "--no-progress"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def test_concurrent_runs_of_a_new_url_clone_once(
    http_server: GitHttpServer, served: Path, tmp_path: Path
) -> None:
    work = tmp_path / "app"
    sha = project_repo(work, "v1")
    publish(work, served, "app.git")
    url = http_server.url("app.git", credentials=True)
    http_server.hold = frozenset({"fetch"})  # the first clone waits, holding the mirror lock
    first = _spawn(url, "-P", "alpha=0")
    assert http_server.wait_held() == "fetch"
    http_server.hold = frozenset()
    second = _spawn(url, "-P", "alpha=1")
    queued = read_stream_until(second, "waiting for another mlrun fetching", timeout=60)
    assert "waiting for another mlrun fetching" in queued  # the second queues behind it
    http_server.resume()
    procs = [first, second]
    outputs = [p.communicate(timeout=120) for p in procs]
    outputs[1] = (outputs[1][0], queued + outputs[1][1])
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert output_fields(out)["version"] == "v1"
    assert http_server.commands().count("fetch") == 1  # one clone, one pack
    assert sum(err.count(f"cloning {http_server.url('app.git')}...") for _, err in outputs) == 1
    assert all(sha in output_fields(out)["cwd"] for out, _ in outputs)


def _big_repo(tmp_path: Path, served: Path) -> Path:
    work = tmp_path / "app"
    project_repo(work, "v1")
    (work / "blob.bin").write_bytes(os.urandom(3 << 20))  # incompressible: a long transfer
    git(work, "add", "blob.bin")
    git(work, "commit", "-q", "-m", "big")
    publish(work, served, "app.git")
    return work


def _kill_during_fetch(server: GitHttpServer, url: str) -> str:
    server.hold = frozenset({"pack"})
    proc = _spawn(url)
    assert server.wait_held() == "pack"  # 64 KiB of the pack are on their way
    os.killpg(proc.pid, signal.SIGKILL)
    _out, err = proc.communicate()
    server.hold = frozenset()
    server.resume()  # the answer goes on into a closed connection
    assert proc.returncode == -signal.SIGKILL
    return err


def _published_with_a_newer_big_commit(work: Path, served: Path, url: str) -> str:
    """The repository in the mirror at v1, then a v2 with 3 MiB more on the server."""
    project_repo(work, "v1")
    publish(work, served, "app.git")
    run_recorded(url)
    (work / "blob.bin").write_bytes(os.urandom(3 << 20))
    newer = commit(work, {"version.txt": "v2"})
    publish(work, served, "app.git")
    return newer


def _run_json(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlrun", "run", url, "--json"],
        capture_output=True,
        text=True,
        check=False,
    )


def test_clone_killed_midway_is_rebuilt(
    http_server: GitHttpServer, served: Path, tmp_path: Path, mlrun_home: Path
) -> None:
    _big_repo(tmp_path, served)
    url = http_server.url("app.git", credentials=True)
    _kill_during_fetch(http_server, url)
    root = _mirror_dir(mlrun_home)
    assert list(root.glob("mirror.git.tmp-*"))  # killed half-way through the clone
    assert not (root / "mirror.git").exists()

    out, _ = run_recorded(url)
    assert output_fields(out)["version"] == "v1"
    assert not list(root.glob("mirror.git.tmp-*"))
    _fsck(root / "mirror.git")


def test_fetch_killed_midway_is_repaired(
    http_server: GitHttpServer, served: Path, tmp_path: Path, mlrun_home: Path
) -> None:
    url = http_server.url("app.git", credentials=True)
    newer = _published_with_a_newer_big_commit(tmp_path / "app", served, url)

    _kill_during_fetch(http_server, url)
    git_dir = _mirror_dir(mlrun_home) / "mirror.git"
    assert (git_dir / "mlrun-fetching").exists()  # the kill did land mid-fetch
    assert git(git_dir, "rev-parse", "refs/heads/main") != newer  # ... before it ended

    proc = _run_json(url)
    assert proc.returncode == 0, proc.stderr
    assert "repaired the mirror" in proc.stderr
    assert output_fields(proc.stderr)["version"] == "v2"  # --json: the output is on stderr
    assert not (git_dir / "mlrun-fetching").exists()
    assert not list((git_dir / "objects" / "pack").glob("tmp_*"))
    assert git(git_dir, "rev-parse", "refs/heads/main") == newer
    _fsck(git_dir)


def test_a_fetch_whose_mlrun_is_killed_leaves_a_mirror_the_next_run_uses(
    http_server: GitHttpServer, served: Path, tmp_path: Path, mlrun_home: Path
) -> None:
    """Issue 11.7: only mlrun is SIGKILLed, in the middle of a fetch. Its git must die
    with it: an orphaned fetch would go on and move the refs under the next run's own
    fetch, which then fails ("unable to update local ref")."""
    url = http_server.url("app.git", credentials=True)
    newer = _published_with_a_newer_big_commit(tmp_path / "app", served, url)
    git_dir = _mirror_dir(mlrun_home) / "mirror.git"
    http_server.hold = frozenset({"pack"})
    first = _spawn(url)
    assert http_server.wait_held() == "pack"  # 64 KiB of the pack are on their way
    first.kill()  # mlrun alone: its git is not part of the kill
    first.communicate()
    orphans = [pid for pid, _ in survivors(str(git_dir))]  # a fetch that would go on
    # The next run negotiates while that fetch is still under way ...
    http_server.hold = frozenset({"fetch"})
    second = _spawn(url, "--json")
    assert http_server.wait_held() == "fetch"
    # ... which then gets the rest of its pack, and ends (or died with its mlrun).
    http_server.resume("pack")
    wait_until(lambda: not any(pid_alive(p) for p in orphans), "the first fetch to end")
    http_server.hold = frozenset()
    http_server.resume("fetch")
    _out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert output_fields(err)["version"] == "v2"  # --json: the output is on stderr
    assert git(git_dir, "rev-parse", "refs/heads/main") == newer
    _fsck(git_dir)


def test_stale_ref_lock_from_a_killed_fetch_is_cleared(
    daemon: GitDaemon, served: Path, tmp_path: Path, mlrun_home: Path
) -> None:
    work = tmp_path / "app"
    project_repo(work, "v1")
    publish(work, served, "app.git")
    run_recorded(daemon.url("app.git"))
    git_dir = _mirror_dir(mlrun_home) / "mirror.git"
    # What a fetch killed while updating refs leaves: its marker and git's ref lock,
    # which make every later fetch of that branch fail ("cannot lock ref").
    (git_dir / "mlrun-fetching").touch()
    (git_dir / "refs" / "heads").mkdir(parents=True, exist_ok=True)
    (git_dir / "refs" / "heads" / "main.lock").write_text("")
    commit(work, {"version.txt": "v2"})
    publish(work, served, "app.git")
    out, _ = run_recorded(daemon.url("app.git"))
    assert output_fields(out)["version"] == "v2"
    assert not (git_dir / "refs" / "heads" / "main.lock").exists()


def test_broken_mirror_is_cloned_again(
    daemon: GitDaemon, served: Path, tmp_path: Path, mlrun_home: Path
) -> None:
    work = tmp_path / "app"
    sha = project_repo(work, "v1")
    publish(work, served, "app.git")
    run_recorded(daemon.url("app.git"))
    git_dir = _mirror_dir(mlrun_home) / "mirror.git"
    # A small fetch leaves loose objects; lose the tip commit's, as a crash might.
    loose = git_dir / "objects" / sha[:2] / sha[2:]
    assert loose.exists()
    loose.unlink()
    (git_dir / "mlrun-fetching").touch()
    proc = subprocess.run(
        [sys.executable, "-m", "mlrun", "run", daemon.url("app.git")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "cloning it again" in proc.stderr
    assert loose.exists() or git(git_dir, "cat-file", "-t", sha) == "commit"
    _fsck(git_dir)


def _published_and_synced(work: Path, served: Path) -> tuple[Mirror, RecordingReporter]:
    """Publish the repository at `work` as app.git and bring its mirror up to date."""
    publish(work, served, "app.git")
    reporter = RecordingReporter()
    mirror = Mirror.for_remote(parse_remote((served / "app.git").as_uri()))
    with mirror.locked(reporter):
        mirror.sync(offline=False, version=None, reporter=reporter)
    return mirror, reporter


def test_checkouts_are_leased_and_never_reused_dirty(served: Path, tmp_path: Path) -> None:
    work = tmp_path / "app"
    sha = project_repo(work, "v1")
    mirror, reporter = _published_and_synced(work, served)

    first = lease(mirror, sha, offline=False, reporter=reporter)
    second = lease(mirror, sha, offline=False, reporter=reporter)
    assert first.path != second.path  # held at the same time: never shared
    first.release()
    second.release()

    again = lease(mirror, sha, offline=False, reporter=reporter)
    assert again.reused and again.path == first.path
    (again.path / "model.pkl").write_text("left by a run")  # an untracked output
    (again.path / "__pycache__").mkdir()
    (again.path / "__pycache__" / "x.pyc").write_bytes(b"ignored too")
    again.release()
    fresh = lease(mirror, sha, offline=False, reporter=reporter)
    assert not fresh.reused and fresh.path == first.path
    assert not (fresh.path / "model.pkl").exists()
    (fresh.path / "version.txt").write_text("edited by a run")  # a modified tracked file
    fresh.release()
    rebuilt = lease(mirror, sha, offline=False, reporter=reporter)
    assert not rebuilt.reused and (rebuilt.path / "version.txt").read_text() == "v1"
    rebuilt.release()

    # mlrun killed while checking out (no marker written last): rebuilt, not trusted.
    marker = rebuilt.path.parent / f"{rebuilt.path.name}.json"
    marker.unlink()
    after_crash = lease(mirror, sha, offline=False, reporter=reporter)
    assert not after_crash.reused and (after_crash.path / "show.py").exists()
    after_crash.release()


def test_a_lease_released_by_another_thread_is_free_again(served: Path, tmp_path: Path) -> None:
    import threading

    work = tmp_path / "app"
    sha = project_repo(work, "v1")
    mirror, reporter = _published_and_synced(work, served)
    held = lease(mirror, sha, offline=False, reporter=reporter)
    # mlrun.run(synchronous=False): resolved here, released by the thread that ran it.
    releaser = threading.Thread(target=held.release)
    releaser.start()
    releaser.join()
    again = lease(mirror, sha, offline=False, reporter=reporter)
    assert again.path == held.path and again.reused
    again.release()


def test_checkouts_unused_for_a_week_are_pruned(served: Path, tmp_path: Path) -> None:
    work = tmp_path / "app"
    old_sha = project_repo(work, "v1")
    new_sha = commit(work, {"version.txt": "v2"})
    busy_sha = commit(work, {"version.txt": "v3"})
    mirror, reporter = _published_and_synced(work, served)
    old = lease(mirror, old_sha, offline=False, reporter=reporter)
    old.release()
    busy = lease(mirror, busy_sha, offline=False, reporter=reporter)  # still running
    week_ago = time.time() - 8 * 24 * 3600
    for leased in (old, busy):
        os.utime(leased.path.parent / f"{leased.path.name}.json", (week_ago, week_ago))
    fresh = lease(mirror, new_sha, offline=False, reporter=reporter)
    assert not old.path.exists()  # unused for a week: gone
    assert busy.path.exists() and (busy.path / "show.py").exists()  # in use: kept
    fresh.release()
    busy.release()
