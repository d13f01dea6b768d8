"""The project's image in the registry the cluster pulls from (`repository-uri`).

The docker env has already built the code image (the `--build-image` path: the project's
files copied into an image `FROM` its docker_env image, tagged by a digest of everything
the build saw). Here it is tagged `<repository-uri>:<that digest>` and pushed only when
the registry does not already hold it: a run whose code and image did not change pushes
nothing. The Job refers to the image by its manifest digest, as MLflow does
(`<repository-uri>:<tag>@sha256:...`), so the cluster runs exactly what was built.

Registry credentials are the docker engine's business: the SDK reads them from the
docker config (`~/.docker/config.json` or `$DOCKER_CONFIG`, credential helpers
included) for each push. mlrun never reads, logs or records them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlrun.errors import EngineError
from mlrun.reporting import Reporter
from mlrun.util.redact import redact

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.images import Image


class Published:
    def __init__(self, reference: str, digest: str, pushed: bool) -> None:
        self.reference = reference  # repository:tag@sha256:...
        self.digest = digest
        self.pushed = pushed


def publish(
    client: DockerClient, image: Image, tag: str, repository: str, reporter: Reporter
) -> Published:
    """`image` in `repository` under `tag`; pushed unless the registry has it."""
    from mlrun.envs.docker.engine import engine_errors

    target = f"{repository}:{tag}"
    with engine_errors(f"tag the image {target}"):
        image.tag(repository, tag)
        image.reload()
    digest = _known_digest(client, image, repository, target)
    if digest is not None:
        reporter.info(f"image {target} is already in the registry ({digest[:19]}); not pushed")
        return Published(f"{target}@{digest}", digest, pushed=False)
    digest = _push(client, repository, tag, reporter)
    return Published(f"{target}@{digest}", digest, pushed=True)


def _known_digest(client: DockerClient, image: Image, repository: str, target: str) -> str | None:
    """The registry's digest for what we would push, when it already holds it: the
    digest the engine recorded at an earlier push of this image (checked to still be
    there), else the digest under our content tag (pushed from another machine)."""
    for repo_digest in image.attrs.get("RepoDigests") or []:
        name, _, digest = str(repo_digest).partition("@")
        if name == repository and _remote_digest(client, f"{repository}@{digest}") == digest:
            return digest
    return _remote_digest(client, target)


def _remote_digest(client: DockerClient, reference: str) -> str | None:
    """The manifest digest the registry serves for `reference`, or None when it has
    none (or cannot be asked: the push then says why)."""
    from docker.errors import DockerException
    from requests.exceptions import RequestException

    try:
        return str(client.images.get_registry_data(reference).id)
    except (DockerException, RequestException):
        return None


def _push(client: DockerClient, repository: str, tag: str, reporter: Reporter) -> str:
    from docker.errors import DockerException
    from requests.exceptions import RequestException

    from mlrun.envs.docker.engine import short_reason

    target = f"{repository}:{tag}"
    digest: str | None = None
    failure: str | None = None
    with reporter.progress(f"pushing image {target}") as bar:
        try:
            for event in client.api.push(repository, tag=tag, stream=True, decode=True):
                if event.get("error") or event.get("errorDetail"):
                    detail: Any = event.get("errorDetail") or {}
                    failure = str(event.get("error") or detail.get("message") or detail)
                    break
                aux = event.get("aux")
                if isinstance(aux, dict) and aux.get("Digest"):
                    digest = str(aux["Digest"])
                bar.update(" ".join(str(event.get(k, "")) for k in ("id", "status")).strip())
        except (DockerException, RequestException) as exc:
            failure = short_reason(exc)
    if failure is None and digest is None:
        digest = _remote_digest(client, target)
        if digest is None:
            failure = "the registry did not report the pushed image's digest"
    if failure is not None:
        raise EngineError(
            f"the registry refused the push of {target}: {redact(' '.join(failure.split()))}",
            hint="log in to the registry (docker login) or check repository-uri; "
            "the credentials come from the docker config",
        )
    assert digest is not None
    reporter.info(f"pushed image {target} ({digest[:19]})")
    return digest
