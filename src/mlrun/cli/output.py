"""Terminal output: the reporter the CLI hands to lower layers, and small formatters."""

from __future__ import annotations

import contextlib
import io
import os
import sys
import threading
import time
from collections.abc import Iterator
from typing import TextIO

import click

from mlrun.reporting import Progress, Reporter
from mlrun.util.texttable import duration as duration
from mlrun.util.texttable import size_text as size_text
from mlrun.util.texttable import table as table
from mlrun.util.texttable import timestamp as timestamp


class TerminalReporter(Reporter):
    """mlrun's own lines go to stderr, prefixed, so stdout stays the command's."""

    def __init__(self, quiet: bool = False, debug: bool = False) -> None:
        self.quiet = quiet
        self.debug_enabled = debug
        self.tty = sys.stderr.isatty()

    def info(self, message: str) -> None:
        if not self.quiet:
            click.echo(f"mlrun: {message}", err=True)

    def warn(self, message: str) -> None:
        from mlrun.util.redact import redact

        click.echo(f"mlrun: warning: {redact(message)}", err=True)

    def debug(self, message: str) -> None:
        if self.debug_enabled:
            click.echo(f"mlrun: debug: {message}", err=True)

    @contextlib.contextmanager
    def progress(self, label: str) -> Iterator[Progress]:
        if self.quiet:
            yield Progress()
            return
        live = _LiveLine(label, self.tty)
        live.start()
        try:
            yield live
        except BaseException:
            live.stop(ok=False)
            raise
        live.stop(ok=True)


class _LiveLine(Progress):
    """One status line: `mlrun: building uv env 3f2a... (4.2s) resolving numpy`."""

    def __init__(self, label: str, tty: bool) -> None:
        self.label = label
        self.tty = tty
        self.text = ""
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.tty:
            self._thread = threading.Thread(target=self._loop, daemon=True)
            self._thread.start()
        else:
            click.echo(f"mlrun: {self.label}...", err=True)

    def update(self, text: str) -> None:
        self.text = text

    def _line(self) -> str:
        elapsed = time.monotonic() - self.started
        extra = f" {self.text}" if self.text else ""
        return f"mlrun: {self.label} ({elapsed:.1f}s){extra}"

    def _loop(self) -> None:
        while not self._stop.wait(0.2):
            sys.stderr.write("\r\x1b[2K" + self._line()[:200])
            sys.stderr.flush()

    def stop(self, ok: bool) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            sys.stderr.write("\r\x1b[2K")
        elapsed = time.monotonic() - self.started
        click.echo(f"mlrun: {self.label} {'done' if ok else 'failed'} in {elapsed:.1f}s", err=True)


class _JsonStdout:
    """Where the one JSON document goes while --json holds stdout (see json_stdout)."""

    stream: TextIO | None = None
    emitted = False


@contextlib.contextmanager
def json_stdout(enabled: bool) -> Iterator[None]:
    """Under --json, stdout holds exactly one JSON document, on success and on error:
    everything else written to stdout meanwhile -- the entry point's own output, a
    library's stray print -- goes to stderr (and the run's log files, as always). Both
    Python's sys.stdout and, for anything writing to file descriptor 1, the descriptor
    itself are pointed at stderr; dump_json() writes to the real stdout."""
    if not enabled:
        yield
        return
    real = sys.stdout
    real.flush()
    saved_fd: int | None = None
    try:
        fd = real.fileno()
        saved_fd = os.dup(fd)
        os.dup2(sys.stderr.fileno(), fd)
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        saved_fd = None  # not a real file (an in-process test runner): Python level only
    out = real if saved_fd is None else open(saved_fd, "w", encoding="utf-8", closefd=False)
    _JsonStdout.stream, _JsonStdout.emitted = out, False
    sys.stdout = sys.stderr
    try:
        yield
    finally:
        for stream in (sys.stdout, out):
            with contextlib.suppress(OSError, ValueError):  # a reader that left (head)
                stream.flush()
        sys.stdout = real
        _JsonStdout.stream = None
        if saved_fd is not None:
            os.dup2(saved_fd, fd)
            os.close(saved_fd)


def dump_json(data: object) -> None:
    """The command's JSON document (on the real stdout under --json)."""
    import json

    from mlrun.util.jsonsafe import strict

    text = json.dumps(strict(data), indent=2, sort_keys=False, default=str, allow_nan=False)
    if _JsonStdout.stream is None:
        click.echo(text)
        return
    if not _JsonStdout.emitted:  # one document, never two
        _JsonStdout.emitted = True
        _JsonStdout.stream.write(text + "\n")
        _JsonStdout.stream.flush()


def dump_json_error(
    kind: str, message: str, hint: str | None, exit_code: int, **extra: object
) -> None:
    """Under --json, a failure is a JSON document too (unless the command already wrote
    its own): `{"error": {"kind", "message", "hint", "exit_code", ...}}`."""
    if _JsonStdout.stream is not None and not _JsonStdout.emitted:
        fields = {k: v for k, v in extra.items() if v is not None}
        dump_json(
            {
                "error": {
                    "kind": kind,
                    "message": message,
                    "hint": hint,
                    "exit_code": exit_code,
                    **fields,
                }
            }
        )
