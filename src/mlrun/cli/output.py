"""Terminal output: the reporter the CLI hands to lower layers, and small formatters."""

from __future__ import annotations

import contextlib
import io
import os
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from typing import TextIO

import click

from mlrun.reporting import Progress, Reporter


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


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=False)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=False)).rstrip()]
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)).rstrip())
    return "\n".join(lines)


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def size_text(size: int) -> str:
    """Bytes for people: 512 B, 3.4 KB, 4.8 MB (powers of 1024)."""
    value = float(size)
    for unit in ("B", "KB", "MB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def timestamp(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))


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

    text = json.dumps(data, indent=2, sort_keys=False, default=str)
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
