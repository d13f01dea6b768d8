"""Writing a bundle file: the manifest first (every member's sha256, size, mode, and each
symlink's target), then the members in a fixed order with fixed metadata (owner root,
mtime 0, mode 0644 or 0755), gzipped without a timestamp: the same content packed twice
gives the same members. The file is written beside its destination and renamed over it,
so a failed `mlrun package` never leaves half a bundle. The reader is sources/bundle.py."""

from __future__ import annotations

import gzip
import io
import json
import os
import posixpath
import stat
import tarfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

from mlrun.sources.manifest import MANIFEST


class Member(NamedTuple):
    name: str  # in the bundle: project/train.py, wheels/x.whl, image.tar
    path: Path | None  # the file on disk (None: `data` is the content, or a symlink)
    data: bytes | None = None  # generated content (a lock made on the fly)
    target: str | None = None  # a symlink's target
    executable: bool = False


def describe(members: Iterable[Member]) -> dict[str, dict[str, Any]]:
    """The manifest's `members`: {name: {type, size, sha256, mode} or {type, target}}."""
    from mlrun.util.sha import file_sha256, sha256

    found: dict[str, dict[str, Any]] = {}
    for member in members:
        if member.target is not None:
            found[member.name] = {"type": "symlink", "target": member.target, "mode": 0o777}
            continue
        if member.data is not None:
            size, digest = len(member.data), sha256(member.data).hexdigest()
        else:
            assert member.path is not None
            size, digest = member.path.stat().st_size, file_sha256(member.path)
        mode = 0o755 if member.executable else 0o644
        found[member.name] = {"type": "file", "size": size, "sha256": digest, "mode": mode}
    return found


def write(output: Path, manifest: dict[str, Any], members: list[Member]) -> None:
    """Write the bundle to `output` (atomically: a temporary file renamed over it)."""
    tmp = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    try:
        with (
            open(tmp, "wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as zipped,
            tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar,
        ):
            text = json.dumps(manifest, indent=1, sort_keys=True).encode()
            tar.addfile(_info(MANIFEST, len(text), 0o644), io.BytesIO(text))
            for member in members:
                _add(tar, member)
        os.replace(tmp, output)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _info(name: str, size: int, mode: int, kind: bytes = tarfile.REGTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime, info.type = size, mode, 0, kind
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _add(tar: tarfile.TarFile, member: Member) -> None:
    if member.target is not None:
        info = _info(member.name, 0, 0o777, tarfile.SYMTYPE)
        info.linkname = member.target
        tar.addfile(info)
        return
    mode = 0o755 if member.executable else 0o644
    if member.data is not None:
        tar.addfile(_info(member.name, len(member.data), mode), io.BytesIO(member.data))
        return
    assert member.path is not None
    with open(member.path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        tar.addfile(_info(member.name, size, mode), fh)


def project_members(
    project_dir: Path, files: Iterable[str], skip: Path | None
) -> tuple[list[Member], list[str]]:
    """The members for the project's files (paths relative to `project_dir`), and the
    files left out with why: special files, and symlinks that lead out of the project
    (a bundle is a tree that stands alone). `skip` is the bundle being written."""
    from mlrun.util.confine import escapes

    members: list[Member] = []
    left_out: list[str] = []
    for rel in sorted(files):
        path = project_dir / rel
        try:
            st = os.lstat(path)
        except OSError:
            continue  # deleted meanwhile
        if skip is not None and path == skip:
            continue
        name = f"project/{rel}"
        if stat.S_ISLNK(st.st_mode):
            target = os.readlink(path)
            lexical = posixpath.normpath(posixpath.join(posixpath.dirname(rel), target))
            if target.startswith("/") or lexical.startswith("..") or escapes(project_dir, path):
                left_out.append(f"{rel} (a symlink leading out of the project)")
                continue
            members.append(Member(name, None, target=target))
        elif stat.S_ISREG(st.st_mode):
            members.append(Member(name, path, executable=bool(st.st_mode & 0o111)))
        else:
            left_out.append(f"{rel} (not a regular file)")
    return members, left_out
