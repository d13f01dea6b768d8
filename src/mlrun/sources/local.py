"""Projects in a local directory."""

from __future__ import annotations

from pathlib import Path

from mlrun.errors import UsageError
from mlrun.sources.model import Source


def resolve_local(uri: str, cwd: Path) -> Source:
    raw = uri[len("file://"):] if uri.startswith("file://") else uri
    path = (cwd / Path(raw).expanduser()).resolve()
    if not path.exists():
        raise UsageError(f"project directory {uri!r} does not exist",
                         hint="give a path to a directory holding an MLproject, or a git URL")
    if not path.is_dir():
        raise UsageError(f"project {uri!r} is a file, not a directory",
                         hint="point at the directory; choose a script with -e")
    return Source(project_dir=path, uri=str(path), kind="local", provenance={"path": str(path)})
