"""Talking to the docker engine: connecting by the usual rules (DOCKER_HOST, DOCKER_TLS_*,
then the current docker context, then the default socket), making sure an image is
present (pulling it when it is not), and turning engine failures into one sentence.

Only the docker manager imports this module: `import docker` costs start-up time that a
local run must not pay."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from mlrun.errors import EngineError
from mlrun.reporting import Reporter
from mlrun.util.redact import redact, register_secret

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.images import Image

_DEFAULT_HOST = "unix:///var/run/docker.sock"
_START_HINT = (
    "start the docker engine (e.g. `sudo dockerd &` or `systemctl start docker`), "
    "or point DOCKER_HOST at a running one"
)


def connect() -> DockerClient:
    """A client for the engine, or EngineError (exit 125) when none answers."""
    import docker
    from docker.errors import DockerException

    try:
        return docker.from_env()
    except DockerException as exc:
        raise EngineError(
            f"no docker engine is reachable at {engine_address()} ({short_reason(exc)})",
            hint=_START_HINT,
        ) from None


def engine_address() -> str:
    host = os.environ.get("DOCKER_HOST")
    if host:
        return host
    try:
        from docker.context import ContextAPI

        context = ContextAPI.get_current_context()
        if context is not None and context.Host:
            return str(context.Host)
    except Exception:  # a broken ~/.docker/config.json must not hide the real error
        pass
    return _DEFAULT_HOST


def short_reason(exc: BaseException) -> str:
    """What went wrong, in a few words, from the SDK's nested exception text."""
    from docker.errors import APIError

    if isinstance(exc, APIError) and exc.explanation:
        return redact(str(exc.explanation).strip())
    text = str(exc)
    for needle, words in (
        ("No such file", "no engine socket there"),
        ("Connection refused", "connection refused"),
        ("Permission denied", "permission denied: is this user allowed to use docker?"),
        ("timed out", "timed out"),
        ("Name or service not known", "unknown host"),
    ):
        if needle in text:
            return words
    return redact(text.strip().splitlines()[-1] if text.strip() else type(exc).__name__)


@contextlib.contextmanager
def engine_errors(what: str) -> Iterator[None]:
    """Map the SDK's failures during `what` to EngineError (exit 125)."""
    from docker.errors import DockerException
    from requests.exceptions import RequestException

    try:
        yield
    except (DockerException, RequestException) as exc:
        raise EngineError(f"the docker engine failed to {what}: {short_reason(exc)}") from None


def login(client: DockerClient, auth: Mapping[str, Any]) -> None:
    """Log the client in to a registry (--docker-auth), as MLflow does before pulling:
    the engine checks the credentials now, and the client's pulls and builds use them.
    EngineError (exit 125) when the registry refuses them or cannot be reached."""
    from docker.errors import DockerException

    password = auth.get("password")
    if isinstance(password, str):
        register_secret(password)
    registry = str(auth.get("registry") or "Docker Hub")
    try:
        client.login(**auth)
    except DockerException as exc:
        raise EngineError(
            f"docker login to {registry} as {auth.get('username')!r} failed ({short_reason(exc)})",
            hint="check the registry, username and password given with --docker-auth",
        ) from None


def ensure_image(client: DockerClient, name: str, *, offline: bool, reporter: Reporter) -> Image:
    """The local image `name`, pulled first when it is not present."""
    from docker.errors import DockerException, ImageNotFound
    from docker.utils import parse_repository_tag

    with engine_errors(f"look up the image {name!r}"):
        try:
            return client.images.get(name)
        except ImageNotFound:
            pass
    if offline:
        raise EngineError(
            f"docker image {name!r} is not present locally and --offline forbids pulling it",
            hint="build, load or import the image first",
        )
    repo, tag = parse_repository_tag(name)
    try:
        with reporter.progress(f"pulling docker image {name}") as progress:
            for event in client.api.pull(repo, tag=tag or "latest", stream=True, decode=True):
                if "error" in event:
                    raise EngineError(str(event["error"]))
                progress.update(" ".join(str(event.get(k, "")) for k in ("id", "status")))
            return client.images.get(name)
    except (DockerException, EngineError) as exc:
        reason = exc.message if isinstance(exc, EngineError) else short_reason(exc)
        raise EngineError(
            f"docker image {name!r} is not present locally and could not be pulled "
            f"({redact(reason)})",
            hint="build, load or import it first (docker build / load / import), or check "
            "the image name and your registry login",
        ) from None
