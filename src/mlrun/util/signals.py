"""How the mlrun process turns SIGINT, SIGTERM and SIGHUP into one outcome, whenever
they come: the run KILLED (when it has a record), every process of it gone, exit 128+N.

The command-line process installs the handlers first thing (`install()`, from
cli/entry.py). From then on every such signal is appended to `received`, in arrival
order, and is acted on in exactly one of these modes (main thread only: Python runs
signal handlers there, so calls from other threads change nothing):

- interruptible (the default): the handler raises `Interrupted(N)` once. It unwinds
  whatever is blocking (a git fetch, an env build) through code that stops its
  subprocesses, and the CLI exits 128+N.
- deferred (`with deferred():`): the handler only records. Code that must not be torn in
  half -- creating a child, writing a record, supervising a command -- runs in this mode
  and looks at `received` at its own safe points (`check()`); leaving the outermost
  deferred block raises for a signal nobody acted on. `interruptible()` opens the raising
  mode again inside it, for a long wait that may be cut short (an env build).
- sealed (`seal()`): the run's outcome is decided and about to be recorded; later
  signals are ignored, so the record and the exit code always agree.

Without `install()` (mlrun imported as a library) nothing here changes how the process
handles signals, and every function is a no-op."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from mlrun.errors import Interrupted

STOPPING = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

received: list[int] = []  # every stopping signal since install(), in arrival order


class _State:
    installed = False
    depth = 0  # nesting of deferred() in the main thread; 0 = interruptible
    raised = False  # a signal already became an Interrupted
    sealed = False


_state = _State()
_MAIN = threading.main_thread()


def install() -> dict[int, Any]:
    """Take over the three signals (main thread); returns the previous handlers, for
    `uninstall` (an in-process caller of the CLI, e.g. tests)."""
    previous: dict[int, Any] = {signum: signal.signal(signum, _handler) for signum in STOPPING}
    _state.installed = True
    return previous


def uninstall(previous: dict[int, Any]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)
    _state.installed = False
    _state.depth = 0
    _state.raised = _state.sealed = False
    received.clear()


def installed() -> bool:
    """True in the command-line process: its supervisor reads `received` instead of
    installing handlers of its own."""
    return _state.installed


def _handler(signum: int, frame: FrameType | None) -> None:
    if _state.sealed:
        return
    received.append(signum)
    if _state.depth == 0 and not _state.raised:
        _state.raised = True
        raise Interrupted(signum)


def _ours() -> bool:
    return _state.installed and threading.current_thread() is _MAIN


@contextmanager
def deferred() -> Iterator[None]:
    """Signals only recorded inside; at the end of the outermost block, one that nobody
    acted on raises (unless the block is ending with an exception already)."""
    if not _ours():
        yield
        return
    _state.depth += 1
    try:
        yield
    finally:
        _state.depth -= 1
    if _state.depth == 0:
        check()


@contextmanager
def interruptible() -> Iterator[None]:
    """Inside a deferred block: raise for a signal already received, and for any that
    comes until the block ends (an env build, a lock wait)."""
    if not _ours():
        yield
        return
    saved, _state.depth = _state.depth, 0
    try:
        check()
        yield
    finally:
        _state.depth = saved


def check() -> None:
    """Raise Interrupted for the first signal received, if none was acted on yet."""
    if _ours() and received and not _state.raised and not _state.sealed:
        _state.raised = True
        raise Interrupted(received[0])


def first() -> int | None:
    """The signal that stops this process, if one came (the CLI process only)."""
    return received[0] if _state.installed and received else None


def acted() -> None:
    """A supervisor forwarded the signals received so far: they need no exception."""
    if _ours():
        _state.raised = True


def seal() -> int | None:
    """The outcome is being recorded: from now on signals are ignored. Returns the first
    signal received before this point, if any (which the outcome must reflect)."""
    if not _ours():
        return None
    _state.sealed = True
    # Ignored by the kernel, not by a Python handler: the interpreter's shutdown puts
    # the default action back on signals that have Python handlers, and SIGTERM would
    # then kill the process after its outcome was recorded.
    for signum in STOPPING:
        signal.signal(signum, signal.SIG_IGN)
    return first()


def watch(on_signal: Callable[[int], None]) -> Callable[[], None]:
    """For a library caller's main thread (not the CLI): call `on_signal(N)` for each
    stopping signal until the returned function restores the previous handlers."""

    def _record(signum: int, frame: FrameType | None) -> None:
        on_signal(signum)

    previous = {signum: signal.signal(signum, _record) for signum in STOPPING}

    def restore() -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    return restore
