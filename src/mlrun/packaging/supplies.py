"""What a bundle can carry besides the project, so that its env builds where the
package index or the registry is out of reach: the locked wheels (`--with-wheels`,
downloaded by pip, hash-checked against the lock) and the docker image (`--with-image`,
as `docker save` writes it)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrun.envs.base import EnvOptions
from mlrun.errors import EnvBuildError, UsageError
from mlrun.reporting import Reporter
from mlrun.spec.model import Project

if TYPE_CHECKING:
    from mlrun.envs.lockfile import Lock


def download_wheels(lock: Lock, options: EnvOptions, into: Path, reporter: Reporter) -> list[Path]:
    """The locked packages' files (wheels, or sdists where there are none), downloaded by
    pip for the lock's Python and checked against its hashes."""
    from mlrun.envs.python.lock import requirements
    from mlrun.envs.python.venv import index_args
    from mlrun.util.proc import run

    if lock.kind != "python":
        raise UsageError(
            f"--with-wheels carries the wheels of a python_env lock, and {lock.path.name} "
            f"locks a {lock.kind} environment",
            hint="drop --with-wheels",
        )
    hashed, _local = requirements(lock.body)  # local packages travel in project/
    into.mkdir(parents=True, exist_ok=True)
    if not hashed:
        return []
    listing = into.parent / "wheels-to-download.txt"
    listing.write_text("\n".join(hashed) + "\n")
    argv = [
        *_pip(lock.header.get("python")),
        "download",
        "--no-deps",
        "--require-hashes",
        "--disable-pip-version-check",
        "--no-input",
        "--dest",
        str(into),
        *index_args("pip", options),
        "-r",
        str(listing),
    ]
    with reporter.progress(f"downloading {len(hashed)} locked package(s) for the bundle"):
        result = run(argv, check=False)
    if not result.ok:
        raise EnvBuildError(
            "downloading the locked packages for --with-wheels failed: "
            + " ".join(result.stderr.strip().splitlines()[-3:]),
            hint="check the package index (pip's configuration and MLRUN_FIND_LINKS apply)",
        )
    return sorted(into.iterdir())


def _pip(version: str | None) -> list[str]:
    """pip for the lock's Python: its interpreter running the pip wheel virtualenv
    bundles (an interpreter needs no pip of its own), else its own `-m pip`."""
    from mlrun.envs.python import interpreters

    found, _ = interpreters.find(version)
    interpreter = found or interpreters.current()
    try:
        from virtualenv.seed.wheels.embed import get_embed_wheel

        wheel = get_embed_wheel("pip", interpreter.minor)
    except ImportError:
        wheel = None
    if wheel is not None and os.path.isfile(wheel.path):
        return [interpreter.path, os.path.join(str(wheel.path), "pip")]
    return [interpreter.path, "-m", "pip"]


def save_image(
    project: Project, options: EnvOptions, into: Path, reporter: Reporter
) -> dict[str, Any]:
    """`docker save` of the image the project's docker_env runs (pulled or built first
    when needed) into the file `into`; returns {"id", "name"}."""
    from mlrun.envs import get_manager
    from mlrun.envs.docker.engine import connect, engine_errors

    if project.env.kind != "docker_env":
        raise UsageError(
            f"--with-image carries a docker_env's image, and this project has a {project.env.kind}",
            hint="drop --with-image",
        )
    manager = get_manager("docker")
    prepared = manager.prepare(manager.plan(project, options), reporter)
    prepared.release()
    image_id = str(prepared.record["image_id"])
    name = str(prepared.record.get("env_image") or prepared.record.get("image") or image_id)
    client = connect()
    try:
        with reporter.progress(f"saving the docker image {name}"):
            with engine_errors(f"save the image {name}"), open(into, "wb") as out:
                for chunk in client.images.get(image_id).save(named=True):
                    out.write(chunk)
    finally:
        client.close()
    return {"id": image_id, "name": name}
