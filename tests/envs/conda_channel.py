"""A local conda channel for tests: one noarch package, `hello-mlrun`, whose script
`bin/hello-mlrun` prints a greeting. Written by hand (a .tar.bz2 with info/index.json and
info/paths.json), with the channel's repodata.json for noarch and the current platform."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

SCRIPT = b'#!/bin/sh\necho "hello-mlrun $1 from ${CONDA_PREFIX}"\n'


def _add(archive: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, 1700000000
    archive.addfile(info, io.BytesIO(data))


def build_channel(root: Path, version: str = "1.0", platform: str = "linux-64") -> Path:
    noarch = root / "noarch"
    noarch.mkdir(parents=True, exist_ok=True)
    (root / platform).mkdir(exist_ok=True)
    index = {
        "name": "hello-mlrun",
        "version": version,
        "build": "0",
        "build_number": 0,
        "depends": [],
        "noarch": "generic",
        "subdir": "noarch",
        "license": "MIT",
        "timestamp": 1700000000000,
    }
    paths = {
        "paths_version": 1,
        "paths": [
            {
                "_path": "bin/hello-mlrun",
                "path_type": "hardlink",
                "sha256": hashlib.sha256(SCRIPT).hexdigest(),
                "size_in_bytes": len(SCRIPT),
            }
        ],
    }
    filename = f"hello-mlrun-{version}-0.tar.bz2"
    with tarfile.open(noarch / filename, "w:bz2") as archive:
        _add(archive, "info/index.json", json.dumps(index).encode())
        _add(archive, "info/paths.json", json.dumps(paths).encode())
        _add(archive, "info/files", b"bin/hello-mlrun\n")
        _add(archive, "bin/hello-mlrun", SCRIPT, 0o755)
    data = (noarch / filename).read_bytes()
    record = {
        **index,
        "md5": hashlib.md5(data).hexdigest(),
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
    }
    # A channel built again with another version keeps the packages it already had.
    try:
        published = json.loads((noarch / "repodata.json").read_text())["packages"]
    except (OSError, ValueError, KeyError):
        published = {}
    for subdir, packages in (("noarch", {**published, filename: record}), (platform, {})):
        (root / subdir / "repodata.json").write_text(
            json.dumps(
                {
                    "info": {"subdir": subdir},
                    "packages": packages,
                    "packages.conda": {},
                    "repodata_version": 1,
                }
            )
        )
    return root


def require_rattler() -> None:
    """Skip (fail under MLRUN_REQUIRE_SERVICES=1) when py-rattler is not installed."""
    import importlib.util

    from tests.conftest import require_service

    require_service(
        importlib.util.find_spec("rattler") is not None,
        "py-rattler is not installed (pip install 'mlrun[conda]')",
    )
