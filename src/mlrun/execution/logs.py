"""A run's log files: stdout.log, stderr.log, and output.log with both interleaved in
arrival order (what `mlrun runs logs` shows).

A log that cannot be written (a full disk, a quota) never stops the command: its output
still reaches the terminal, one warning says the log is incomplete, and writing resumes
when space comes back, after a line in output.log saying how much is missing."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from mlrun.util.files import write_all

STREAMS = ("stdout", "stderr")


def log_paths(log_dir: Path) -> dict[str, str]:
    return {
        "stdout": str(log_dir / "stdout.log"),
        "stderr": str(log_dir / "stderr.log"),
        "combined": str(log_dir / "output.log"),
    }


class LogSink:
    """Writes each chunk to its stream file, the combined file and (optionally) the
    terminal, unbuffered, so `runs logs -f` and a crash both see everything so far.
    `warn` is told once when the files cannot be written."""

    def __init__(
        self, log_dir: Path, echo: bool = True, warn: Callable[[str], None] | None = None
    ) -> None:
        self.paths = log_paths(log_dir)
        self._echo = echo
        self._warn = warn
        self._warned = False
        self.lost = 0  # bytes of output the log files are missing
        self._fds: dict[str, int] = {}
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        try:
            log_dir.mkdir(parents=True, exist_ok=True)
            for name in (*STREAMS, "combined"):
                self._fds[name] = os.open(self.paths[name], flags, 0o644)
        except OSError as exc:
            self._failed(exc)

    def write(self, stream: str, data: bytes) -> None:
        self._log(stream, data)
        if self._echo:
            target = sys.stdout if stream == "stdout" else sys.stderr
            try:
                target.buffer.write(data)
                target.flush()
            except (OSError, ValueError, AttributeError):
                # A closed terminal (or a pipe whose reader left) must not kill the
                # supervisor: the run goes on and the log files still get everything.
                self._echo = False

    def note(self, text: str) -> None:
        """A line from mlrun itself (e.g. "forwarding SIGTERM"), in the combined log only."""
        self._log(None, f"[mlrun] {text}\n".encode())

    def close(self) -> None:
        for fd in self._fds.values():
            try:
                os.close(fd)
            except OSError:
                pass
        self._fds = {}

    def _log(self, stream: str | None, data: bytes) -> None:
        if not self._fds:
            self.lost += len(data)
            return
        try:
            if self.lost:
                gap = f"[mlrun] {self.lost} bytes of output missing here (log not writable)\n"
                write_all(self._fds["combined"], gap.encode())
                self.lost = 0
            if stream is not None:
                write_all(self._fds[stream], data)
            write_all(self._fds["combined"], data)
        except OSError as exc:
            self.lost += len(data)
            self._failed(exc)

    def _failed(self, exc: OSError) -> None:
        if self._warned or self._warn is None:
            return
        self._warned = True
        self._warn(
            f"the run's log could not be written ({exc.strerror or exc}): the command goes "
            "on and its output still reaches the terminal, but the log files miss what "
            "cannot be written"
        )
