"""SubmittedRun: an asynchronous run returns as soon as its record exists, told so by an
event (not by polling), and the run's owner (its source) is closed when the run ends."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, NamedTuple

import pytest

from mlrun import submitted as submitted_module
from mlrun.errors import ExecutionError, UsageError
from mlrun.execution.supervisor import Cancel
from mlrun.submitted import submit


class Result(NamedTuple):
    status: str
    exit_code: int


class Owner:
    def __init__(self) -> None:
        self.closed = threading.Event()

    def __enter__(self) -> Owner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.closed.set()


class CountingEvent(threading.Event):
    """threading.Event that remembers every wait() with a timeout (a polling loop)."""

    timed_waits = 0

    def wait(self, timeout: float | None = None) -> bool:
        if timeout is not None:
            CountingEvent.timed_waits += 1
        return super().wait(timeout)


def test_asynchronous_submit_learns_the_run_id_from_an_event(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(submitted_module.threading, "Event", CountingEvent)
    CountingEvent.timed_waits = 0
    gate = threading.Event()
    owner = Owner()

    def work(forward: bool, cancel: Cancel, on_record: Callable[[str], None]) -> Any:
        assert forward is False  # not the main thread: no signal handlers
        on_record("abc123")
        gate.wait()  # the run goes on long after its record exists
        return Result("FINISHED", 0)

    run = submit(work, tracking_uri="db", synchronous=False, owner=owner)
    assert run.run_id == "abc123" and run.get_status() == "RUNNING"
    assert CountingEvent.timed_waits == 0  # woken by the event, never by a timer
    assert not owner.closed.is_set()
    gate.set()
    assert run.wait() is True and run.exit_code == 0
    assert owner.closed.is_set()


def test_asynchronous_failure_before_the_record_raises_in_the_caller() -> None:
    owner = Owner()

    def work(forward: bool, cancel: Cancel, on_record: Callable[[str], None]) -> Any:
        raise UsageError("bad input")

    with pytest.raises(UsageError, match="bad input"):
        submit(work, tracking_uri="db", synchronous=False, owner=owner)
    assert owner.closed.is_set()


def test_synchronous_failure_raises_execution_error_with_the_run_id() -> None:
    owner = Owner()

    def work(forward: bool, cancel: Cancel, on_record: Callable[[str], None]) -> Any:
        on_record("r1")
        return Result("FAILED", 3)

    with pytest.raises(ExecutionError) as info:
        submit(work, tracking_uri="db", synchronous=True, owner=owner)
    assert (info.value.run_id, info.value.exit_code) == ("r1", 3)
    assert owner.closed.is_set()
