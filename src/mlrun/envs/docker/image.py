"""Images mlrun builds: the build variant (`docker_env.dockerfile` / `context`) and the
`--build-image` code image (the project copied to /mlflow/projects/code on top of the
env image). Both are tagged by a digest of everything the build sees and reused when
an image with that tag exists: "look, lock, look again, build".

The code image is built from a context laid out as `Dockerfile` + `code/...`, so the
generated Dockerfile is not copied into the image, and the project's own .dockerignore
(applied here, plus the never-sent list) decides what `code/` holds."""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from mlrun.envs.docker.context import Context, collect, write_tar
from mlrun.envs.docker.engine import engine_errors, short_reason
from mlrun.envs.docker.settings import CODE_DIR, Settings
from mlrun.errors import EnvBuildError
from mlrun.reporting import Reporter
from mlrun.util.redact import redact

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.images import Image

_TAIL = 12  # build output lines quoted in a failure
_OUTSIDE_NAME = ".mlrun.Dockerfile"  # a Dockerfile from outside the context, in the tar
_USES_CONTEXT = re.compile(r"^\s*(?:ONBUILD\s+)?(COPY|ADD)\s", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class Built:
    image: Image
    tag: str
    built: bool  # False: an image with this tag existed and was reused


def env_image(
    client: DockerClient, settings: Settings, project_name: str, reporter: Reporter
) -> Built:
    """The image of the build variant, built from the project's Dockerfile."""
    assert settings.dockerfile is not None and settings.context is not None
    dockerfile = settings.dockerfile.read_bytes()
    context_dir = settings.context
    try:
        in_context = settings.dockerfile.relative_to(context_dir).as_posix()
    except ValueError:
        in_context = None
    # A Dockerfile without COPY/ADD never reads its context: do not let every code
    # change rebuild (or even re-send) it.
    uses_context = bool(_USES_CONTEXT.search(_joined(dockerfile)))
    context = collect(context_dir) if uses_context else Context(context_dir, ())
    digest = _digest(b"env-v1", dockerfile, (in_context or "").encode(), context.digest().encode())
    repo = _repo_of(settings.image) if settings.image else f"mlrun/{_slug(project_name)}-env"
    tag = f"{repo}:{digest[:20]}"

    extra: list[tuple[str, bytes]] = []
    if in_context is None or in_context not in context.paths:
        name = _OUTSIDE_NAME if in_context is None or uses_context else "Dockerfile"
        extra.append((name, dockerfile))
        if name == _OUTSIDE_NAME:
            ignore = context_dir / ".dockerignore"
            text = ignore.read_bytes() if ignore.is_file() else b""
            extra.append((".dockerignore", text + f"\n{name}\n.dockerignore\n".encode()))
        dockerfile_name = name
    else:
        dockerfile_name = in_context

    def _tar(out: IO[bytes]) -> None:
        write_tar(out, context, extra=extra)

    what = settings.describe()["dockerfile"] or "Dockerfile"
    return _reuse_or_build(
        client,
        tag,
        digest,
        f"from {what}",
        dockerfile_name,
        _tar,
        {"kind": "env", "project": project_name},
        settings.rebuild,
        reporter,
    )


def code_image(
    client: DockerClient, base: Image, settings: Settings, project_name: str, reporter: Reporter
) -> Built:
    """`base` plus the project's files at /mlflow/projects/code (--build-image)."""
    context = collect(settings.project_dir)
    digest = _digest(b"code-v1", str(base.id).encode(), context.digest().encode())
    tag = f"mlrun/{_slug(project_name)}:{digest[:20]}"
    dockerfile = f"FROM {base.id}\nCOPY code/ {CODE_DIR}/\nWORKDIR {CODE_DIR}\n".encode()

    def _tar(out: IO[bytes]) -> None:
        write_tar(out, context, prefix="code", extra=[("Dockerfile", dockerfile)])

    return _reuse_or_build(
        client,
        tag,
        digest,
        "with the project's code",
        "Dockerfile",
        _tar,
        {"kind": "code", "project": project_name},
        settings.rebuild,
        reporter,
    )


def _reuse_or_build(
    client: DockerClient,
    tag: str,
    digest: str,
    what: str,
    dockerfile_name: str,
    make_tar: Callable[[IO[bytes]], None],
    labels: dict[str, str],
    rebuild: bool,
    reporter: Reporter,
) -> Built:
    from mlrun.util.locks import FileLock
    from mlrun.util.paths import cache_dir

    if not rebuild and (found := _existing(client, tag)) is not None:
        return Built(found, tag, built=False)
    folder = cache_dir() / "docker"
    with FileLock(folder / "locks" / f"{digest[:32]}.lock").holding():
        # Another mlrun may have built it while we waited for the lock.
        if not rebuild and (found := _existing(client, tag)) is not None:
            return Built(found, tag, built=False)
        log_path = folder / "build-logs" / f"{digest[:32]}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile() as context_tar:
            make_tar(context_tar)
            context_tar.seek(0)
            _build(
                client,
                tag,
                what,
                dockerfile_name,
                context_tar,
                {f"org.mlrun.{k}": v for k, v in {**labels, "digest": digest}.items()},
                rebuild,
                log_path,
                reporter,
            )
        with engine_errors(f"find the image it just built ({tag})"):
            return Built(client.images.get(tag), tag, built=True)


def _build(
    client: DockerClient,
    tag: str,
    what: str,
    dockerfile_name: str,
    context_tar: IO[bytes],
    labels: dict[str, str],
    nocache: bool,
    log_path: Path,
    reporter: Reporter,
) -> None:
    from docker.errors import DockerException
    from requests.exceptions import RequestException

    lines: list[str] = []
    failure: str | None = None
    with open(log_path, "w") as log, reporter.progress(f"building docker image {tag}") as bar:
        try:
            events = client.api.build(
                fileobj=context_tar,
                custom_context=True,
                tag=tag,
                dockerfile=dockerfile_name,
                rm=True,
                forcerm=True,
                nocache=nocache,
                labels=labels,
                decode=True,
            )
            for event in events:
                text = redact(str(event.get("stream") or event.get("status") or ""))
                if text:
                    log.write(text)
                    log.flush()
                    lines.extend(line for line in text.splitlines() if line.strip())
                    if lines:
                        bar.update(lines[-1][:120])
                if "error" in event:
                    failure = redact(str(event["error"]).strip())
                    log.write(failure + "\n")
                    break
        except (DockerException, RequestException) as exc:
            failure = short_reason(exc)
        if failure is not None:
            tail = "\n".join("  | " + line for line in lines[-_TAIL:])
            raise EnvBuildError(
                f"building the docker image {what} failed: {failure}"
                + (f"\n{tail}" if tail else ""),
                hint=f"the full build output is in {log_path}",
            )


def _existing(client: DockerClient, tag: str) -> Image | None:
    from docker.errors import ImageNotFound

    with engine_errors(f"look up the image {tag}"):
        try:
            return client.images.get(tag)
        except ImageNotFound:
            return None


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256(b"mlrun-image\0")
    for part in parts:
        h.update(len(part).to_bytes(8, "big") + part)
    return h.hexdigest()


def _joined(dockerfile: bytes) -> str:
    """The Dockerfile with line continuations joined (instructions may span lines)."""
    return re.sub(r"\\\r?\n", " ", dockerfile.decode(errors="replace"))


def _repo_of(image: str) -> str:
    from docker.utils import parse_repository_tag

    return str(parse_repository_tag(image)[0])


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("._-")
    return slug or "project"
