"""docker_env locks and bundles on a real engine: the lock pins the image by id (a tag
that moves is not followed), and a bundle made `--with-image` carries the image to an
engine that does not have it."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import services
from tests.conftest import require_service
from tests.dockerenv.runs import run_json
from tests.helpers import cli, mlrun, write_project

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("no_leftover_containers")]


@pytest.fixture
def moving_tag(docker_client: Any, busybox_image: str) -> Iterator[tuple[str, Any]]:
    """A tag of this test's own, and a function that points it at a new image (one that
    prints `word`); every image made is removed afterwards."""
    tag = f"mlrun-test/lock-{uuid.uuid4().hex[:12]}:1"
    made: list[str] = []

    def point_at(word: str) -> str:
        dockerfile = f"FROM {busybox_image}\nRUN echo {word} > /word.txt\n".encode()
        image, _ = docker_client.images.build(fileobj=io.BytesIO(dockerfile), tag=tag, rm=True)
        made.append(image.id)
        return str(image.id)

    yield tag, point_at
    for image_id in made:
        try:
            docker_client.images.remove(image_id, force=True)
        except Exception:  # already removed by the test
            pass


@pytest.fixture
def registry_tag(docker_client: Any, busybox_image: str) -> Iterator[tuple[str, Any]]:
    """A tag of this test's own on the real registry, and a function that pushes a new
    image (one that prints `word`) under it; (the pushed image's registry digest)."""
    address = services.registry_address()
    require_service(address is not None, services.NO_REGISTRY)
    repo = f"{address}/mlrun-test/lock-{uuid.uuid4().hex[:12]}"
    made: list[str] = []

    def push(word: str) -> str:
        dockerfile = f"FROM {busybox_image}\nRUN echo {word} > /word.txt\n".encode()
        image, _ = docker_client.images.build(fileobj=io.BytesIO(dockerfile), tag=f"{repo}:1")
        made.append(image.id)
        digest = error = ""
        for line in docker_client.images.push(repo, tag="1", stream=True, decode=True):
            digest, error = line.get("aux", {}).get("Digest", digest), line.get("error", error)
        assert not error and digest, error
        return f"{repo}@{digest}"

    yield repo, push
    for image in docker_client.images.list(name=repo):
        docker_client.images.remove(image.id, force=True)
    for image_id in made:
        try:
            docker_client.images.remove(image_id, force=True)
        except Exception:  # already removed
            pass


def _forget(docker_client: Any, repo: str) -> None:
    """The engine forgets every image of `repo`: as on a machine that never pulled it."""
    for image in docker_client.images.list(name=repo):
        docker_client.images.remove(image.id, force=True)


def test_a_docker_lock_pins_a_registry_image_by_digest_and_pulls_that_digest(
    tmp_path: Path, registry_tag: tuple[str, Any], docker_client: Any
) -> None:
    repo, push = registry_tag
    first = push("first")
    project = _project(tmp_path / "p", f"{repo}:1")
    locked = json.loads(cli("lock", str(project), "--json").stdout)
    assert f"digest: {first}" in locked["packages"]
    second = push("second")  # the tag moves on in the registry
    assert second != first
    _forget(docker_client, repo)  # another machine: it never pulled either image
    _, output, shown = run_json(project)
    assert output == "first\n"  # pulled by the locked digest, not by the moved tag
    assert shown["env"]["lock"]["sha256"] == locked["sha256"]
    assert first in docker_client.images.get(shown["env"]["image_id"]).attrs["RepoDigests"]
    _, output, _ = run_json(project, "--no-lock")
    assert output == "second\n"
    # A locked digest the registry no longer has is one clear error, not another image.
    _forget(docker_client, repo)
    gone = (
        (project / "docker_env.lock").read_text().replace(first.split("@")[1], "sha256:" + "0" * 64)
    )
    (project / "docker_env.lock").write_text(gone)
    proc = mlrun("run", str(project))
    assert proc.returncode == 125 and "Traceback" not in proc.stderr, proc.stderr
    assert "sha256:" + "0" * 64 in proc.stderr


def _project(root: Path, image: str) -> Path:
    return write_project(
        root,
        f"""\
        docker_env:
          image: {image}
        entry_points:
          main:
            command: "cat /word.txt"
        """,
    )


def test_a_docker_lock_pins_the_image_a_moved_tag_does_not_change_it(
    tmp_path: Path, moving_tag: tuple[str, Any]
) -> None:
    tag, point_at = moving_tag
    first = point_at("first")
    project = _project(tmp_path / "p", tag)
    locked = json.loads(cli("lock", str(project), "--json").stdout)
    assert locked["file"] == "docker_env.lock" and f"id: {first}" in locked["packages"]
    point_at("second")  # the tag moves on
    _, output, shown = run_json(project)
    assert output == "first\n"
    assert shown["env"]["image_id"] == first
    assert shown["env"]["lock"]["sha256"] == locked["sha256"]
    _, output, _ = run_json(project, "--no-lock")
    assert output == "second\n"
    # Changing the docker_env makes the lock stale.
    (project / "MLproject").write_text((project / "MLproject").read_text().replace(tag, "x:1"))
    proc = cli("run", str(project), "--dry-run")
    assert proc.returncode == 2 and "the lock is stale" in proc.stderr


def test_a_bundle_with_its_image_runs_where_the_engine_lacks_it(
    tmp_path: Path, moving_tag: tuple[str, Any], docker_client: Any
) -> None:
    tag, point_at = moving_tag
    image_id = point_at("bundled")
    project = _project(tmp_path / "p", tag)
    bundle = tmp_path / "with-image.tar.gz"
    proc = mlrun("package", str(project), "-o", str(bundle), "--with-image", "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["image"]["id"] == image_id and summary["lock"]["made"] == "made when packaged"
    docker_client.images.remove(image_id, force=True)  # another engine: it has no such image
    _, output, shown = run_json(bundle)
    assert output == "bundled\n"
    assert shown["env"]["image_id"] == image_id
    assert "loading the bundle's docker image" not in cli("run", str(bundle), "--dry-run").stderr
