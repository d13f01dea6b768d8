"""Docker engine and base images for tests and benchmarks, made here (Docker Hub is not
reachable): a busybox image from the host's static busybox, and a Debian image with
python3 from debootstrap. Each is built once per engine and found by name afterwards.

Run as a script (`python tests/docker_support.py`) to build both ahead of a test run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

BUSYBOX = "mlrun-test/busybox:1"
PYTHON = "mlrun-test/python:bookworm"
_PATH_ENV = "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_TRIM = (
    "usr/share/doc",
    "usr/share/man",
    "usr/share/locale",
    "usr/share/info",
    "var/cache/apt",
    "var/lib/apt/lists",
)


def engine() -> tuple[Any, str]:
    """(client, "") when an engine answers, else (None, why not)."""
    try:
        import docker

        client = docker.from_env(timeout=30)
        client.ping()
        return client, ""
    except Exception as exc:
        return None, f"no docker engine reachable ({type(exc).__name__}: {exc})"


def has_image(client: Any, name: str) -> bool:
    import docker.errors

    try:
        client.images.get(name)
        return True
    except docker.errors.ImageNotFound:
        return False


def _import(client: Any, root: Path, name: str) -> None:
    """`tar -C root -c . | docker import -c ENV... - name`, through the SDK."""
    with tempfile.TemporaryFile() as fh:
        with tarfile.open(fileobj=fh, mode="w") as tar:
            for entry in sorted(os.listdir(root)):
                tar.add(root / entry, arcname=entry)
        fh.seek(0)
        repo, tag = name.rsplit(":", 1)
        client.api.import_image_from_data(fh.read(), repository=repo, tag=tag, changes=[_PATH_ENV])


def ensure_busybox(client: Any) -> str:
    """An image holding only a static busybox and its applet links; "" if it exists."""
    if has_image(client, BUSYBOX):
        return ""
    busybox = shutil.which("busybox")
    if busybox is None:
        return "busybox is not installed (apt-get install busybox-static)"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "bin").mkdir()
        (root / "tmp").mkdir(mode=0o1777)
        (root / "etc").mkdir()
        (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
        (root / "etc/group").write_text("root:x:0:\n")
        shutil.copy2(busybox, root / "bin/busybox")
        applets = subprocess.run(
            [busybox, "--list"], capture_output=True, text=True, check=True
        ).stdout.split()
        for applet in applets:
            if applet != "busybox":
                os.symlink("busybox", root / "bin" / applet)
        _import(client, root, BUSYBOX)
    import docker.errors

    try:
        client.containers.run(BUSYBOX, ["true"], remove=True)
    except docker.errors.ContainerError:
        client.images.remove(BUSYBOX, force=True)
        return "the host's busybox is not static (apt-get install busybox-static)"
    return ""


def ensure_python(client: Any) -> str:
    """Debian bookworm (minbase) with python3 as `python`; "" if it exists or was built."""
    if has_image(client, PYTHON):
        return ""
    if shutil.which("debootstrap") is None:
        return "debootstrap is not installed (apt-get install debootstrap)"
    if os.geteuid() != 0:
        return "building the python test image with debootstrap needs root"
    with tempfile.TemporaryDirectory(prefix="mlrun-debootstrap-") as tmp:
        root = Path(tmp) / "root"
        proc = subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                "--include=python3,python-is-python3",
                "bookworm",
                str(root),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            return "debootstrap failed: " + (proc.stdout + proc.stderr).strip()[-500:]
        for rel in _TRIM:
            shutil.rmtree(root / rel, ignore_errors=True)
        _import(client, root, PYTHON)
    return ""


if __name__ == "__main__":
    found, why = engine()
    if found is None:
        sys.exit(why)
    problems = [p for p in (ensure_busybox(found), ensure_python(found)) if p]
    sys.exit("\n".join(problems) or None)
