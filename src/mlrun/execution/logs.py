"""A run's log files: stdout.log, stderr.log, and output.log with both interleaved in
arrival order (what `mlrun runs logs` shows)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

STREAMS = ("stdout", "stderr")


def log_paths(log_dir: Path) -> dict[str, str]:
    return {
        "stdout": str(log_dir / "stdout.log"),
        "stderr": str(log_dir / "stderr.log"),
        "combined": str(log_dir / "output.log"),
    }


class LogSink:
    """Writes each chunk to its stream file, the combined file and (optionally) the
    terminal, unbuffered, so `runs logs -f` and a crash both see everything so far."""

    def __init__(self, log_dir: Path, echo: bool = True) -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        paths = log_paths(log_dir)
        self._fds = {name: os.open(paths[name], flags, 0o644) for name in STREAMS}
        self._combined = os.open(paths["combined"], flags, 0o644)
        self._echo = echo
        self.paths = paths

    def write(self, stream: str, data: bytes) -> None:
        _write_all(self._fds[stream], data)
        _write_all(self._combined, data)
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
        _write_all(self._combined, f"[mlrun] {text}\n".encode())

    def close(self) -> None:
        for fd in (*self._fds.values(), self._combined):
            try:
                os.close(fd)
            except OSError:
                pass
        self._fds = {}


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
