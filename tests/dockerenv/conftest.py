"""Fixtures for docker tests: a real engine (skip without one, fail under
MLRUN_REQUIRE_SERVICES=1), locally made base images, unique project names whose images
are removed afterwards, and a check that no test leaves a container behind."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import require_service
from tests.docker_support import BUSYBOX, PYTHON, engine, ensure_busybox, ensure_python

RUN_LABEL = "org.mlrun.run-id"


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    client, why = engine()
    require_service(client is not None, why)
    yield client
    client.close()


@pytest.fixture(scope="session")
def busybox_image(docker_client: Any) -> str:
    problem = ensure_busybox(docker_client)
    require_service(not problem, problem)
    return BUSYBOX


@pytest.fixture(scope="session")
def python_image(docker_client: Any) -> str:
    problem = ensure_python(docker_client)
    require_service(not problem, problem)
    return PYTHON


def _this_tests_run_ids() -> set[str]:
    # The engine is shared with whatever else runs on the machine (other test sessions
    # too): only containers of runs recorded in this test's own store are this test's.
    from mlrun.tracking import open_store

    with open_store(None) as store:
        return {run.run_id for run in store.search_runs(limit=None)}


def mlrun_containers(client: Any) -> set[str]:
    """Names of the containers of this test's own runs (see _this_tests_run_ids)."""
    ours = _this_tests_run_ids()
    # The list endpoint alone (containers.list() inspects each one afterwards, and a
    # container another process removes in between makes that fail with 404).
    listed = client.api.containers(all=True, filters={"label": RUN_LABEL})
    return {
        c["Names"][0].lstrip("/") for c in listed if (c.get("Labels") or {}).get(RUN_LABEL) in ours
    }


@pytest.fixture
def no_leftover_containers(docker_client: Any) -> Iterator[None]:
    before = mlrun_containers(docker_client)
    yield
    left = mlrun_containers(docker_client) - before
    for name in left:
        docker_client.containers.get(name).remove(force=True)
    assert not left, f"containers left behind: {sorted(left)}"


@pytest.fixture
def project_name(docker_client: Any) -> Iterator[str]:
    """A name no earlier test run used (so nothing is reused by accident); the images
    built for it are removed afterwards."""
    name = f"t-{uuid.uuid4().hex[:12]}"
    yield name
    import docker.errors

    built = docker_client.images.list(filters={"label": f"org.mlrun.project={name}"})
    # Code images first: they are children of the env images.
    for image in sorted(built, key=lambda i: i.labels.get("org.mlrun.kind") != "code"):
        try:
            docker_client.images.remove(image.id, force=True)
        except docker.errors.NotFound:
            pass
