"""What fetching a project yields: a local directory and where it came from.

A Source may hold a leased git checkout until it is closed. Whoever opens one closes it
with `with` (`with sources.resolve(uri) as source: ...`); a function that opens one and
hands it on closes it only when it fails (`with source.closed_on_failure(): ...`), as
pre-commit's `clean_path_on_failure` does."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any


class Source:
    """A plain class, not a dataclass: it is built on every run's start-up path, where a
    dataclass costs a millisecond to define (see spec/model.py)."""

    def __init__(
        self,
        project_dir: Path,  # absolute; the directory holding the MLproject (after #subdir)
        uri: str,  # as the user gave it, credentials removed
        kind: str,  # "local" | "git"
        provenance: dict[str, Any] | None = None,  # commit, branch, dirty, ...
        # A stable identity of the code, for step caches: commit + diff hash, or content hash.
        code_identity: str | None = None,
        # Files to keep with the run, e.g. {"git/uncommitted.diff": b"..."}.
        artifacts: dict[str, bytes] | None = None,
        release: Callable[[], None] | None = None,  # give back a checkout/lock when done
        # The checkout, or the directory the URI names: no project file may lead outside.
        root: Path | None = None,
        # What the source brings for the environment (a bundle's wheels and image):
        # {"find_links": (dir, ...), "image_archive": (archive, image id)}.
        supplies: dict[str, Any] | None = None,
    ) -> None:
        self.project_dir = project_dir
        self.root = root if root is not None else project_dir
        self.uri = uri
        self.kind = kind
        self.provenance: dict[str, Any] = provenance if provenance is not None else {}
        self.code_identity = code_identity
        self.artifacts: dict[str, bytes] = dict(artifacts) if artifacts else {}
        self.release = release
        self.supplies: dict[str, Any] = supplies or {}

    def __repr__(self) -> str:
        return f"Source({self.kind} {self.uri!r} at {self.project_dir})"

    def where(self) -> str:
        """The project's location for messages: `URL at 1a2b3c4d5e6f` for git sources."""
        commit = self.provenance.get("commit")
        if self.kind == "git" and isinstance(commit, str):
            return f"{self.uri} at {commit[:12]}"
        return self.uri

    def close(self) -> None:
        """Give back what the source holds (a leased checkout); once only."""
        if self.release is not None:
            release, self.release = self.release, None
            release()

    def __enter__(self) -> Source:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def closed_on_failure(self) -> Iterator[Source]:
        """For code that opens a source and hands it on: close it only if the block fails."""
        try:
            yield self
        except BaseException:
            self.close()
            raise
