"""A build context: the files of a directory that a build may see, their content digest,
and the tar stream the engine receives.

The digest covers exactly what goes into the tar (paths, types, permission bits, file
contents, link targets), so an image tagged with it is reused precisely when a build
would see the same context."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from mlrun.envs.docker.dockerignore import Matcher, load_matcher, walk
from mlrun.util.sha import file_sha256


@dataclass(frozen=True)
class Context:
    root: Path
    paths: tuple[str, ...]  # relative, sorted, not excluded

    def digest(self) -> str:
        h = hashlib.sha256(b"mlrun-context-v1\0")
        for rel in self.paths:
            full = self.root / rel
            try:
                st = os.lstat(full)
            except FileNotFoundError:
                continue  # removed while we looked; the tar will not have it either
            mode = stat.S_IMODE(st.st_mode)
            if stat.S_ISLNK(st.st_mode):
                h.update(f"l {rel}\0{os.readlink(full)}\0".encode())
            elif stat.S_ISDIR(st.st_mode):
                h.update(f"d {rel}\0{mode:o}\0".encode())
            elif stat.S_ISREG(st.st_mode):
                h.update(f"f {rel}\0{mode:o}\0".encode())
                h.update(file_sha256(full).encode())
        return h.hexdigest()


def collect(root: Path, matcher: Matcher | None = None) -> Context:
    """The context of `root` after its .dockerignore (and mlrun's never-sent list)."""
    matcher = matcher if matcher is not None else load_matcher(root)
    return Context(root, tuple(walk(root, matcher)))


def write_tar(
    out: IO[bytes],
    context: Context,
    *,
    prefix: str = "",
    extra: Sequence[tuple[str, bytes]] = (),
) -> None:
    """Write `context` (under `prefix/` when given) plus `extra` (name, bytes) files as an
    uncompressed tar. Owners are zeroed: the image must not depend on who built it."""
    replaced = {name for name, _ in extra}  # an extra file wins over the context's own
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        if prefix:
            tar.addfile(_dir_info(prefix))
        for rel in context.paths:
            if not prefix and rel in replaced:
                continue
            full = context.root / rel
            try:
                info = tar.gettarinfo(str(full), arcname=f"{prefix}/{rel}" if prefix else rel)
            except FileNotFoundError:
                continue
            if info is None or not (info.isfile() or info.isdir() or info.issym()):
                continue  # sockets, fifos, devices: nothing a build can use
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if info.isfile():
                with open(full, "rb") as fh:
                    tar.addfile(info, fh)
            else:
                tar.addfile(info)
        for name, data in extra:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))


def _dir_info(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    return info
