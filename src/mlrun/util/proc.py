"""The one helper for running short subprocesses (git, docker CLI probes, uv, pip...).

Long-running, supervised user commands go through mlrun.execution instead. Errors show
the command, exit code and the tail of its output, with secrets redacted.

Every helper process starts in a session of its own with stopping signals deferred
(util/signals.py), so an interruption can never leave one unknown to mlrun; an
interruption while it runs stops its whole group (`Helper.stop`). `watch=True` adds a
lifeline (util/lifeline.py): the group dies with mlrun, SIGKILL included -- for
anything that writes shared state (a git fetch into the mirror cache, an env build)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from mlrun.util import signals
from mlrun.util.lifeline import Lifeline
from mlrun.util.redact import redact

_STOP_GRACE = 5.0  # seconds a stopped helper gets between SIGTERM and SIGKILL
_live: set[Helper] = set()  # helpers running now, in any thread (interrupt_helpers)
_live_lock = threading.Lock()


class ProcResult(NamedTuple):
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def describe(self, tail: int = 20) -> str:
        """The command, its exit code and the last lines of its output, redacted."""
        out = self.stdout + ("\n" if self.stdout and self.stderr else "") + self.stderr
        lines = out.rstrip().splitlines()[-tail:]
        head = f"`{redact(' '.join(self.argv))}` exited with {self.returncode}"
        return redact("\n".join([head, *("  " + line for line in lines)]))


class ProcError(Exception):
    def __init__(self, result: ProcResult) -> None:
        super().__init__(result.describe())
        self.result = result


class Helper:
    """A started helper process: `proc` (a Popen in its own session), stopped as a group."""

    def __init__(self, argv: Sequence[str], *, watch: bool = False, **popen: Any) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self._lifeline: Lifeline | None = None
        try:
            with signals.deferred():  # a signal now acts once the pid is known
                # Known before it can be collected: a subreaper's reaping, in another
                # thread, never collects a helper (helpers_held).
                with _live_lock:
                    self.proc = subprocess.Popen(list(argv), start_new_session=True, **popen)
                    _live.add(self)
                if watch:
                    self._lifeline = Lifeline(self.proc.pid)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """SIGTERM to the group, SIGKILL after a grace period (at once on another
        signal), then collect it. For an interruption: call from an except clause."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            seen = len(signals.received)
            self._signal(signal.SIGTERM)
            deadline = time.monotonic() + _STOP_GRACE
            while self.proc.poll() is None and time.monotonic() < deadline:
                if len(signals.received) > seen:
                    break
                time.sleep(0.01)
        self.done()

    def done(self) -> None:
        """The helper ended (or must): remove what is left of its group, collect it."""
        if self.proc is None:
            return
        self._signal(signal.SIGKILL)
        self.proc.wait()
        if self._lifeline is not None:
            self._lifeline.release()
        with _live_lock:
            _live.discard(self)

    def _signal(self, signum: int) -> None:
        assert self.proc is not None
        try:
            os.killpg(self.proc.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass


@contextlib.contextmanager
def helpers_held() -> Iterator[set[int]]:
    """The pids of the helpers running now, in any thread; none starts until the block
    ends. For a subreaper's reaping (execution/reaping.py): a helper's exit status is its
    owner's, and taken away it reads as a success (Popen's wait then says 0)."""
    with _live_lock:
        yield {helper.proc.pid for helper in _live if helper.proc is not None}


def interrupt_helpers() -> None:
    """SIGTERM to every helper running now, whatever thread waits for it (a workflow
    stopping: a step's env build must not go on to its end first). Each waiting thread
    then sees its helper fail and unwinds as it would on any failure."""
    with _live_lock:
        helpers = list(_live)
    for helper in helpers:
        helper._signal(signal.SIGTERM)


def run(
    argv: Sequence[str],
    *,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    extra_env: Mapping[str, str] | None = None,
    check: bool = True,
    timeout: float | None = None,
    input: str | None = None,
    on_stderr: Callable[[str], None] | None = None,
    watch: bool = False,
) -> ProcResult:
    """Run `argv` to completion, capturing output as text.

    `extra_env` is merged over `env` (or os.environ): use it to pass secrets, which must
    never appear in argv. `on_stderr` gets each stderr line (split on CR too, so
    `git fetch --progress` counters arrive live) while the command runs. `watch`: the
    command dies with mlrun (see the module's docstring)."""
    full_env = dict(os.environ if env is None else env)
    if extra_env:
        full_env.update(extra_env)
    if on_stderr is not None:
        result = _run_streaming(argv, cwd, full_env, on_stderr, watch)
    else:
        result = _run_captured(argv, cwd, full_env, timeout, input, watch)
    if check and not result.ok:
        raise ProcError(result)
    return result


def _run_captured(
    argv: Sequence[str],
    cwd: str | Path | None,
    env: Mapping[str, str],
    timeout: float | None,
    input: str | None,
    watch: bool,
) -> ProcResult:
    try:
        helper = Helper(
            argv,
            watch=watch,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    except FileNotFoundError as exc:
        return ProcResult(tuple(argv), 127, "", f"{argv[0]}: command not found ({exc})")
    proc = helper.proc
    assert proc is not None
    try:
        out, err = proc.communicate(None if input is None else input.encode(), timeout)
    except subprocess.TimeoutExpired:
        helper.stop()
        out, err = proc.communicate()
        return ProcResult(
            tuple(argv), 124, _text(out), _text(err) + f"\n(timed out after {timeout}s)"
        )
    except BaseException:  # Ctrl-C, SIGTERM unwinding: never leave the child behind
        helper.stop()
        raise
    helper.done()
    return ProcResult(tuple(argv), proc.returncode, _text(out), _text(err))


def _text(data: bytes | None) -> str:
    # Not the locale's codec: git prints file names and diffs in any bytes, and
    # surrogateescape gives them back exactly (`.encode("utf-8", "surrogateescape")`).
    return (data or b"").decode("utf-8", "surrogateescape")


_LINE_END = re.compile(r"[\r\n]")


def _run_streaming(
    argv: Sequence[str],
    cwd: str | Path | None,
    env: Mapping[str, str],
    on_stderr: Callable[[str], None],
    watch: bool,
) -> ProcResult:
    try:
        helper = Helper(
            argv,
            watch=watch,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    except FileNotFoundError as exc:
        return ProcResult(tuple(argv), 127, "", f"{argv[0]}: command not found ({exc})")
    proc = helper.proc
    assert proc is not None and proc.stdout is not None and proc.stderr is not None
    out_chunks: list[bytes] = []
    stdout_pipe = proc.stdout
    reader = threading.Thread(target=lambda: out_chunks.append(stdout_pipe.read()), daemon=True)
    reader.start()
    err = bytearray()
    pending = ""
    try:
        while chunk := os.read(proc.stderr.fileno(), 8192):
            err += chunk
            pending += chunk.decode(errors="replace")  # progress text only
            *lines, pending = _LINE_END.split(pending)
            for line in lines:
                if line.strip():
                    on_stderr(line)
        proc.wait()
    except BaseException:  # Ctrl-C, SIGTERM unwinding: never leave the child behind
        helper.stop()
        raise
    finally:
        reader.join()
        proc.stdout.close()
        proc.stderr.close()
    helper.done()
    stdout = b"".join(out_chunks).decode("utf-8", "surrogateescape")
    return ProcResult(
        tuple(argv), proc.returncode, stdout, bytes(err).decode("utf-8", "surrogateescape")
    )
