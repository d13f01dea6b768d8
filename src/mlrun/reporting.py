"""How lower layers talk to the user without printing: they call a Reporter.

The CLI passes a terminal reporter; the Python API and tests use the silent base class
(or a recording one). Keep this interface small."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


class Reporter:
    """Silent reporter: the default for the Python API."""

    def info(self, message: str) -> None:
        """A line of information (goes to stderr in the CLI)."""

    def warn(self, message: str) -> None:
        """A warning the user should see, even when --quiet."""

    def debug(self, message: str) -> None:
        """Detail shown only with --debug."""

    @contextlib.contextmanager
    def progress(self, label: str) -> Iterator[Progress]:
        """A long task (env build, fetch): the CLI shows a live one-line status."""
        yield Progress()

    def event(self, kind: str, **fields: object) -> None:
        """Structured events (workflow step state changes, ...); ignored by default."""


class Progress:
    def update(self, text: str) -> None:
        """Replace the status text of the running task."""


class RecordingReporter(Reporter):
    """Keeps every message; used by tests and by the API when asked."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []

    def info(self, message: str) -> None:
        self.messages.append(("info", message))

    def warn(self, message: str) -> None:
        self.messages.append(("warn", message))

    def debug(self, message: str) -> None:
        self.messages.append(("debug", message))

    def event(self, kind: str, **fields: object) -> None:
        self.messages.append(("event", f"{kind} {fields}"))
