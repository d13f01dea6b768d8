"""The env cache on its own: keys, markers written last, look/lock/look again, rebuilds
of incomplete or unhealthy envs, and the locks that keep prune away from envs in use."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from mlrun.envs.cache.buildlog import BuildLog
from mlrun.envs.cache.store import MARKER, BuildContext, EnvCache, make_key
from mlrun.errors import EnvBuildError
from mlrun.reporting import RecordingReporter
from mlrun.util.locks import FileLock
from tests.helpers import flock_waiters, wait_until


class Builder:
    """Makes a fake env (a directory with a file) and counts its builds."""

    def __init__(self, fail: bool = False) -> None:
        self.builds = 0
        self.fail = fail

    def __call__(self, ctx: BuildContext) -> dict[str, Any]:
        self.builds += 1
        ctx.prefix.mkdir()
        (ctx.prefix / "ok").write_text("1")
        ctx.log.run(["sh", "-c", "echo step one; echo step two"], what="fake step")
        if self.fail:
            ctx.log.run(["sh", "-c", "echo the reason it broke; exit 3"], what="failing step")
        return {"kind": "fake", "packages": ["a==1"]}


def healthy(prefix: Path, marker: Mapping[str, Any]) -> bool:
    return (prefix / "ok").is_file()


def test_key_is_stable_and_order_free() -> None:
    assert make_key({"a": 1, "b": [1, 2]}) == make_key({"b": [1, 2], "a": 1})
    assert make_key({"a": 1}) != make_key({"a": 2})
    assert len(make_key({})) == 24


def test_build_once_then_reuse(tmp_path: Path) -> None:
    cache, build = EnvCache(tmp_path), Builder()
    key = make_key({"x": 1})
    assert not cache.ready(key, healthy)
    lease = cache.acquire(key, build, healthy, RecordingReporter(), "fake env", user=tmp_path)
    assert lease.built and build.builds == 1
    marker = json.loads((cache.directory(key) / MARKER).read_text())
    assert marker["packages"] == ["a==1"] and marker["key"] == key
    assert "step two" in (cache.directory(key) / "build.log").read_text()
    lease.release()
    again = cache.acquire(key, build, healthy, RecordingReporter(), "fake env")
    assert not again.built and build.builds == 1
    again.release()
    assert cache.ready(key, healthy)
    assert (cache.directory(key) / "used-by").is_dir()


def test_incomplete_env_is_removed_and_rebuilt(tmp_path: Path) -> None:
    cache, build = EnvCache(tmp_path), Builder()
    key = make_key({"x": 2})
    (cache.prefix(key)).mkdir(parents=True)
    (cache.prefix(key) / "half-written").write_text("junk")  # a build killed halfway
    lease = cache.acquire(key, build, healthy, RecordingReporter(), "fake env")
    assert lease.built
    assert not (cache.prefix(key) / "half-written").exists()
    lease.release()


def test_unhealthy_env_is_rebuilt(tmp_path: Path) -> None:
    cache, build = EnvCache(tmp_path), Builder()
    key = make_key({"x": 3})
    cache.acquire(key, build, healthy, RecordingReporter(), "fake env").release()
    (cache.prefix(key) / "ok").unlink()  # e.g. its base interpreter was uninstalled
    assert not cache.ready(key, healthy)
    lease = cache.acquire(key, build, healthy, RecordingReporter(), "fake env")
    assert lease.built and build.builds == 2
    lease.release()


def test_failed_build_leaves_no_marker_and_shows_the_log(tmp_path: Path) -> None:
    cache = EnvCache(tmp_path)
    key = make_key({"x": 4})
    with pytest.raises(EnvBuildError) as caught:
        cache.acquire(key, Builder(fail=True), healthy, RecordingReporter(), "fake env")
    error = caught.value
    assert error.exit_code == 125
    assert "failing step" in error.message and "exited with 3" in error.message
    assert "the reason it broke" in error.message  # the tail of the log
    assert f"full build log: {cache.directory(key) / 'build.log'}" in error.message
    assert not (cache.directory(key) / MARKER).exists()
    assert cache.marker(key) is None
    # the next attempt starts from scratch and succeeds
    lease = cache.acquire(key, Builder(), healthy, RecordingReporter(), "fake env")
    assert lease.built
    lease.release()


def test_rebuild_refuses_while_in_use(tmp_path: Path) -> None:
    cache, build = EnvCache(tmp_path), Builder()
    key = make_key({"x": 5})
    holder = cache.acquire(key, build, healthy, RecordingReporter(), "fake env")
    with pytest.raises(EnvBuildError, match="another run is using it"):
        cache.acquire(key, build, healthy, RecordingReporter(), "fake env", rebuild=True)
    holder.release()
    lease = cache.acquire(key, build, healthy, RecordingReporter(), "fake env", rebuild=True)
    assert lease.built and build.builds == 2
    lease.release()


def test_waiters_reuse_the_build_they_waited_for(tmp_path: Path) -> None:
    cache = EnvCache(tmp_path)
    key = make_key({"x": 6})
    started, proceed = threading.Event(), threading.Event()
    builds: list[int] = []

    def slow(ctx: BuildContext) -> dict[str, Any]:
        builds.append(1)
        started.set()
        proceed.wait(30)
        ctx.prefix.mkdir()
        (ctx.prefix / "ok").write_text("1")
        return {"kind": "fake"}

    results: list[bool] = []

    def run() -> None:
        lease = cache.acquire(key, slow, healthy, RecordingReporter(), "fake env")
        results.append(lease.built)
        lease.release()

    first = threading.Thread(target=run)
    first.start()
    assert started.wait(30)
    others = [threading.Thread(target=run) for _ in range(3)]
    for thread in others:
        thread.start()
    build_lock = cache.build_lock(key).path
    wait_until(lambda: flock_waiters(build_lock) == 3, "the others to wait on the build lock")
    proceed.set()
    for thread in [first, *others]:
        thread.join(30)
    assert len(builds) == 1
    assert sorted(results) == [False, False, False, True]


def test_lock_file_deleted_while_waiting_is_not_shared(tmp_path: Path) -> None:
    path = tmp_path / "k.use"
    holder = FileLock(path)
    assert holder.exclusive()
    waiter = FileLock(path)
    got: list[bool] = []
    thread = threading.Thread(target=lambda: got.append(waiter.exclusive()))
    thread.start()
    wait_until(lambda: flock_waiters(path) == 1, "the waiter to block on the lock")
    holder.unlink()  # prune deletes the lock file while someone waits on it
    third = FileLock(path)
    assert third.exclusive(blocking=False)  # the new file
    holder.release()
    # The waiter got the orphaned file's lock, saw it was unlinked, and now waits on the
    # new file: it must not think it holds a lock beside `third`.
    wait_until(lambda: flock_waiters(path) == 1, "the waiter to block on the new lock file")
    assert not got
    third.release()
    thread.join(10)
    assert got == [True] and waiter.held
    waiter.release()


def test_build_log_streams_lines_to_progress(tmp_path: Path) -> None:
    seen: list[str] = []

    class Recorder:
        def update(self, text: str) -> None:
            seen.append(text)

    log = BuildLog(tmp_path / "log", Recorder())  # type: ignore[arg-type]
    out = log.run(["sh", "-c", "echo one; echo two"], what="step")
    log.close()
    assert out == "one\ntwo\n"
    assert "step: two" in seen
