"""docker_env locks: the image's digest. The body is `key: value` lines:

    image: python:3.11-slim                       docker_env.image, as written
    id: sha256:1a2b...                            the image id on the engine that locked it
    digest: python@sha256:3c4d...                 its registry digest, when it has one

A locked run uses the digest (pulled by digest when missing), else the id: a tag that
moved since (`python:3.11-slim` rebuilt upstream) is not followed. An image built from a
Dockerfile (`docker_env.dockerfile`) is already named by the digest of its inputs, so
there is nothing more to lock there; pin its FROM line by digest instead."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from mlrun.envs.base import EnvOptions
from mlrun.errors import EngineError, SpecError, UsageError
from mlrun.reporting import Reporter
from mlrun.spec.model import Project

if TYPE_CHECKING:
    from docker import DockerClient

    from mlrun.envs.docker.settings import Settings
    from mlrun.envs.lockfile import Lock


def make(project: Project, options: EnvOptions, reporter: Reporter) -> tuple[str, dict[str, str]]:
    from mlrun.envs.docker.engine import connect, ensure_image
    from mlrun.envs.docker.settings import resolve

    settings = resolve(project, options)
    if settings.builds or settings.image is None:
        raise UsageError(
            "this docker_env builds its image from a Dockerfile, which mlrun already names by "
            "the digest of its inputs: there is nothing to lock",
            hint="pin the base image of its FROM line by digest (FROM python@sha256:...)",
        )
    client = connect()
    try:
        image = ensure_image(client, settings.image, offline=options.offline, reporter=reporter)
    finally:
        client.close()
    lines = [f"image: {settings.image}", f"id: {image.id}"]
    digest = repo_digest(settings.image, list(image.attrs.get("RepoDigests") or []))
    if digest:
        lines.append(f"digest: {digest}")
    return "\n".join(lines), {}


def repo_digest(name: str, digests: list[str]) -> str | None:
    """The registry digest of `name`'s repository among an image's RepoDigests."""
    from docker.utils import parse_repository_tag

    repo = parse_repository_tag(name)[0]
    return next((d for d in digests if d.split("@")[0] == repo), None)


def fields(lock: Lock) -> dict[str, str]:
    found = {}
    for line in lock.body.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() in ("image", "id", "digest"):
            found[key.strip()] = value.strip()
    if "id" not in found:
        raise SpecError("the docker lock names no image id", file=str(lock.path))
    return found


def locked(settings: Settings, lock: Lock | None, options: EnvOptions) -> Settings:
    """The settings with the image pinned by the lock: its registry digest, else (and
    for an image a bundle brings: `docker load` keeps no registry digest) its id."""
    if lock is None or settings.builds:
        return settings
    pinned = fields(lock)
    image = pinned["id"] if options.image_archive else pinned.get("digest") or pinned["id"]
    return dataclasses.replace(settings, image=image)


def settings_for(project: Project, options: EnvOptions) -> tuple[Settings, Lock | None]:
    """The run's docker settings, the image pinned by the project's lock if it has one."""
    from mlrun.envs import lockfile
    from mlrun.envs.docker.settings import resolve

    settings = resolve(project, options)
    lock = None if settings.builds else lockfile.find(project, options)
    return locked(settings, lock, options), lock


def load_archive(client: DockerClient, options: EnvOptions, reporter: Reporter) -> None:
    """Load the bundle's `docker save` archive when its image is not on the engine yet."""
    from docker.errors import ImageNotFound

    from mlrun.envs.docker.engine import engine_errors

    if options.image_archive is None:
        return
    archive, image = options.image_archive

    with engine_errors(f"look up the image {image}"):
        try:
            client.images.get(image)
            return
        except ImageNotFound:
            pass
    with reporter.progress(f"loading the bundle's docker image {image}"):
        with engine_errors("load the bundle's docker image"), open(archive, "rb") as fh:
            client.images.load(fh)
    with engine_errors(f"look up the image {image}"):
        try:
            client.images.get(image)
        except ImageNotFound:
            raise EngineError(
                f"the bundle's docker image archive does not hold {image}",
                hint="package the project again with --with-image",
            ) from None
