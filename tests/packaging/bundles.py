"""Writing bundles by hand for the safety tests: any member, any manifest, in any order
-- what a hostile or damaged file may hold."""

from __future__ import annotations

import gzip
import hashlib
import json
import tarfile
from pathlib import Path
from typing import Any

MLPROJECT = b"name: handmade\nentry_points:\n  main:\n    command: \"python -c 'print(1)'\"\n"


def file_entry(data: bytes, mode: int = 0o644) -> dict[str, Any]:
    return {
        "type": "file",
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "mode": mode,
    }


def good_members() -> dict[str, dict[str, Any]]:
    return {"project/MLproject": file_entry(MLPROJECT)}


def write_bundle(
    path: Path,
    members: list[tarfile.TarInfo | tuple[tarfile.TarInfo, bytes]],
    manifest: dict[str, dict[str, Any]] | None = None,
    *,
    manifest_first: bool = True,
    document: bytes | None = None,
    tail: bytes = b"",
) -> Path:
    """A bundle holding `members` (TarInfo, or TarInfo with content) and a manifest
    listing `manifest` (default: the members as given, a file's entry from its content),
    or whose manifest is `document` as it is; `tail`: raw bytes after the last member (a
    header whose data never comes, say)."""
    if manifest is None:
        manifest = {}
        for item in members:
            info, data = item if isinstance(item, tuple) else (item, b"")
            if info.isreg():
                manifest[info.name] = file_entry(data, info.mode)
            elif info.issym():
                manifest[info.name] = {"type": "symlink", "target": info.linkname, "mode": 0o777}
    if document is None:
        document = json.dumps({"format": 1, "members": manifest, "provenance": {}}).encode()
    head = (regular("mlrun-bundle.json", document), document)
    ordered = [head, *members] if manifest_first else [*members, head]
    body = b""
    for item in ordered:
        info, data = item if isinstance(item, tuple) else (item, b"")
        data = data if info.isreg() else b""
        body += info.tobuf(tarfile.PAX_FORMAT) + data + b"\0" * (-len(data) % tarfile.BLOCKSIZE)
    if not tail:
        body += b"\0" * (2 * tarfile.BLOCKSIZE)  # the end of the archive
    path.write_bytes(gzip.compress(body + tail))
    return path


def header(name: str, size: int) -> bytes:
    """The tar header of a file member of `size` bytes (its data left to the caller)."""
    info = tarfile.TarInfo(name)
    info.size, info.mode = size, 0o644
    return info.tobuf(tarfile.PAX_FORMAT)


def regular(name: str, data: bytes, mode: int = 0o644) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), mode
    return info


def special(name: str, kind: bytes, linkname: str = "", mode: int = 0o644) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, linkname, mode
    return info
