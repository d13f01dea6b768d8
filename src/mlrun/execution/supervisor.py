"""Watching a child to the end: stream its output, forward signals, enforce the grace
period, and turn how it ended into a run status and an exit code.

Signal policy (the heart of "SIGTERM never leaves a run RUNNING or an orphan behind"):
- SIGINT, SIGTERM and SIGHUP received by mlrun are forwarded once to the child's whole
  process group (or container); after `grace` seconds everything left gets SIGKILL.
  A second signal of the same kind skips the rest of the grace period.
- mlrun then exits 128+N for the signal N it received, and the run is KILLED.

In the command-line process the signals come from util/signals.py (installed when the
process started, so one that came before the child existed is forwarded as soon as it
does); for a library caller's main thread, handlers are installed for the watch only.
"""

from __future__ import annotations

import os
import selectors
import signal
import threading
import time
from collections.abc import Callable

from mlrun.errors import signal_name
from mlrun.execution import reaping
from mlrun.execution.child import Child
from mlrun.execution.logs import LogSink
from mlrun.tracking.model import FAILED, FINISHED, KILLED
from mlrun.util import signals

FORWARDED = signals.STOPPING
# A child that ended by one of these was stopped from outside: KILLED, not FAILED.
TERMINATING: set[int] = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGKILL}
DEFAULT_GRACE = 10.0
_DRAIN_AFTER_EXIT = 2.0  # seconds to collect output still buffered in pipes
_READ_SIZE = 65536


class Outcome:
    """How the child ended. A plain class, not a NamedTuple: defined on every run's
    start-up path, where a NamedTuple costs about 0.2 ms to define."""

    def __init__(
        self,
        status: str,  # FINISHED | FAILED | KILLED
        exit_code: int,  # what mlrun exits with: the child's code, or 128+N
        child_returncode: int | None,  # as reported by the child (negative: signal)
        received_signal: int | None,  # the signal mlrun itself got, if any
        reason: str | None,  # human words for non-FINISHED outcomes
    ) -> None:
        self.status = status
        self.exit_code = exit_code
        self.child_returncode = child_returncode
        self.received_signal = received_signal
        self.reason = reason

    def __repr__(self) -> str:
        return f"Outcome({self.status}, exit code {self.exit_code}, {self.reason or 'no reason'})"


class Cancel:
    """A thread-safe cancel request (Python API's SubmittedRun.cancel())."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signum: int = signal.SIGTERM
        self.count = 0  # a second request kills at once, like a second signal

    def request(self, signum: int = signal.SIGTERM) -> None:
        if not self._event.is_set():
            self.signum = signum
        self.count += 1
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()


def supervise(
    child: Child,
    sink: LogSink,
    *,
    grace: float = DEFAULT_GRACE,
    forward_signals: bool = True,
    cancel: Cancel | None = None,
    tick: Callable[[], None] | None = None,
    tick_every: float = 30.0,
    reap_orphans: bool = False,
) -> Outcome:
    """Run the watch loop until the child ended and its output is drained.
    `reap_orphans`: collect the orphans this process adopts as subreaper meanwhile."""
    received: list[int] = []
    restore: Callable[[], None] | None = None
    if forward_signals and threading.current_thread() is threading.main_thread():
        if signals.installed():
            received = signals.received
        else:
            restore = signals.watch(received.append)
    try:
        returncode, stopped_by = _watch(
            child, sink, grace, received, cancel, tick, tick_every, reap_orphans
        )
    finally:
        if restore is not None:
            restore()
        child.cleanup()
    return _outcome(returncode, stopped_by)


def _watch(
    child: Child,
    sink: LogSink,
    grace: float,
    received: list[int],
    cancel: Cancel | None,
    tick: Callable[[], None] | None,
    tick_every: float,
    reap_orphans: bool,
) -> tuple[int | None, int | None]:
    selector = selectors.DefaultSelector()
    open_fds = {child.stdout: "stdout", child.stderr: "stderr"}
    for fd in open_fds:
        os.set_blocking(fd, False)
        selector.register(fd, selectors.EVENT_READ)
    stopped_by: int | None = None  # first signal forwarded on the user's behalf
    forwarded = 0
    kill_at: float | None = None
    exited_at: float | None = None
    next_tick = time.monotonic() + tick_every
    returncode: int | None = None
    cancels_seen = 0
    try:
        while True:
            now = time.monotonic()
            # Signals are only counted in the handler and acted on here; a cancel request
            # counts as one more signal.
            if cancel is not None and cancel.count > cancels_seen:
                received.extend([cancel.signum] * (cancel.count - cancels_seen))
                cancels_seen = cancel.count
            while forwarded < len(received):
                signum = received[forwarded]
                forwarded += 1
                if stopped_by is None:
                    stopped_by = signum
                    signals.acted()
                    sink.note(
                        f"received {signal.Signals(signum).name}; forwarding it to "
                        f"{child.label}, SIGKILL in {grace:g}s"
                    )
                    child.signal(signum)
                    kill_at = now + grace
                else:
                    sink.note("received another signal; killing now")
                    kill_at = now
            if returncode is None:
                if kill_at is not None and now >= kill_at:
                    child.kill()
                    kill_at = None
                # With both pipes at EOF, block on the exit itself rather than sleeping
                # in select(): the exit status usually follows EOF by microseconds.
                returncode = child.wait(0.05) if not open_fds else child.poll()
                if returncode is not None:
                    exited_at = now
            elif not open_fds or now - exited_at > _DRAIN_AFTER_EXIT:  # type: ignore[operator]
                # Done; a grandchild holding the pipes open does not hold the run.
                break
            if tick is not None and now >= next_tick:
                next_tick = now + tick_every
                tick()
            if reap_orphans:
                reaping.reap_orphans(child.own_pids())
            for key, _ in selector.select(timeout=0.05 if returncode is None else 0.01):
                fd = int(key.fd)
                try:
                    data = os.read(fd, _READ_SIZE)
                except BlockingIOError:
                    continue
                if data:
                    sink.write(open_fds[fd], data)
                else:
                    selector.unregister(fd)
                    del open_fds[fd]
    finally:
        selector.close()
    return returncode, stopped_by


def _outcome(returncode: int | None, stopped_by: int | None) -> Outcome:
    if stopped_by is not None:
        name = signal_name(stopped_by)
        return Outcome(
            KILLED, 128 + stopped_by, returncode, stopped_by, f"stopped by {name} sent to mlrun"
        )
    if returncode is None:
        return Outcome(FAILED, 1, None, None, "the command's exit status was lost")
    if returncode == 0:
        return Outcome(FINISHED, 0, 0, None, None)
    if returncode < 0:
        signum = -returncode
        try:
            name = signal.Signals(signum).name
        except ValueError:
            name = f"signal {signum}"
        status = KILLED if signum in TERMINATING else FAILED
        return Outcome(status, 128 + signum, returncode, None, f"the command was ended by {name}")
    return Outcome(FAILED, returncode, returncode, None, f"the command exited with {returncode}")
