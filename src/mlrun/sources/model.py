"""What fetching a project yields: a local directory and where it came from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Source:
    project_dir: Path  # absolute; the directory holding the MLproject (after #subdir)
    uri: str  # as the user gave it, credentials removed
    kind: str  # "local" | "git"
    provenance: dict[str, Any] = field(default_factory=dict)  # commit, branch, dirty, ...
    # A stable identity of the code, for step caches: commit + diff hash, or content hash.
    code_identity: str | None = None
    # Files to keep with the run, e.g. {"git/uncommitted.diff": b"..."}.
    artifacts: dict[str, bytes] = field(default_factory=dict)
    release: Callable[[], None] | None = None  # give back a checkout/lock when done

    def where(self) -> str:
        """The project's location for messages: `URL at 1a2b3c4d5e6f` for git sources."""
        commit = self.provenance.get("commit")
        if self.kind == "git" and isinstance(commit, str):
            return f"{self.uri} at {commit[:12]}"
        return self.uri

    def close(self) -> None:
        if self.release is not None:
            release, self.release = self.release, None
            release()
