"""util/: the one atomic write, the one file hasher and the one lock library."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest

from mlrun.util.files import atomic_write
from mlrun.util.locks import FileLock
from mlrun.util.sha import file_sha256


def test_atomic_write_replaces_and_leaves_nothing_behind(tmp_path: Path) -> None:
    target = tmp_path / "marker.json"
    atomic_write(target, "{}")
    atomic_write(target, b"\x00\xff", durable=True)
    assert target.read_bytes() == b"\x00\xff"
    assert [p.name for p in tmp_path.iterdir()] == ["marker.json"]


def test_a_failed_atomic_write_removes_its_temporary_file(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()  # a directory cannot be replaced by a file
    with pytest.raises(OSError):
        atomic_write(tmp_path / "taken", "x")
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]


def test_threads_writing_one_file_never_share_a_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "cache.json"
    texts = [str(i) * 10_000 for i in range(8)]
    errors: list[BaseException] = []

    def write(text: str) -> None:
        try:
            for _ in range(20):
                atomic_write(target, text)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(t,)) for t in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert target.read_text() in texts
    assert [p.name for p in tmp_path.iterdir()] == ["cache.json"]


def test_file_sha256_is_sha256_of_the_contents(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    data = bytes(range(256)) * 9000  # more than one block
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()
    assert file_sha256(str(path)) == file_sha256(path)


def test_lock_try_once_and_bounded_wait(tmp_path: Path) -> None:
    path = tmp_path / "locks" / "k.lock"  # the directory is made on first use
    holder, other = FileLock(path), FileLock(path)
    assert holder.exclusive()
    assert not other.exclusive(blocking=False)
    assert not other.exclusive(timeout=0.1)
    assert not other.shared(timeout=0)
    holder.release()
    assert other.exclusive(timeout=30)
    other.release()


def test_lock_shared_holders_coexist_and_exclude_an_exclusive_one(tmp_path: Path) -> None:
    path = tmp_path / "env.use"
    first, second, prune = FileLock(path), FileLock(path), FileLock(path)
    assert first.shared() and second.shared(blocking=False)
    assert not prune.exclusive(blocking=False)
    first.release()
    second.release()
    with prune.holding():
        assert prune.held and not first.shared(blocking=False)
    assert not prune.held


def test_a_bounded_wait_gets_the_lock_once_it_is_released(tmp_path: Path) -> None:
    path = tmp_path / "step.lock"
    holder = FileLock(path)
    assert holder.exclusive()
    waiting = threading.Event()
    got: list[bool] = []

    def wait_for_it() -> None:
        other = FileLock(path)
        waiting.set()
        got.append(other.exclusive(timeout=60))
        other.release()

    thread = threading.Thread(target=wait_for_it)
    thread.start()
    waiting.wait()
    holder.release()
    thread.join()
    assert got == [True]
