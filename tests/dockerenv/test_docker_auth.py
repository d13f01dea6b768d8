"""--docker-auth (MLflow's docker_auth): a registry login before the image is pulled,
against the real registry with HTTP basic auth of docs/services.md. The password never
shows in output or in the run record."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import services
from tests.conftest import require_service
from tests.dockerenv.runs import show
from tests.helpers import cli, mlrun, write_project


@pytest.fixture
def private_image(docker_client: Any, busybox_image: str) -> Iterator[tuple[str, Any]]:
    """busybox pushed to the auth registry under a fresh name, and absent locally."""
    login = services.auth_registry()
    require_service(login is not None, services.NO_AUTH_REGISTRY)
    assert login is not None
    repo = f"{login.address}/mlrun-test/auth-{uuid.uuid4().hex[:10]}"
    image = docker_client.images.get(busybox_image)
    image.tag(repo, tag="1")
    auth = {"username": login.username, "password": login.password}
    for line in docker_client.images.push(
        repo, tag="1", stream=True, decode=True, auth_config=auth
    ):
        assert "error" not in line, line
    docker_client.images.remove(f"{repo}:1")
    try:
        yield f"{repo}:1", login
    finally:
        for name in (f"{repo}:1",):
            try:
                docker_client.images.remove(name, force=True)
            except Exception:
                pass


def _project(root: Path, image: str) -> Path:
    return write_project(
        root,
        f"""\
        docker_env:
          image: {image}
        entry_points:
          main: {{command: "echo pulled-and-ran"}}
        """,
    )


@pytest.mark.slow
def test_docker_auth_logs_in_before_the_pull(
    tmp_path: Path, private_image: tuple[str, Any], no_leftover_containers: None
) -> None:
    image, login = private_image
    project = _project(tmp_path / "p", image)

    anonymous = mlrun("run", str(project))
    assert anonymous.returncode == 125
    assert "could not be pulled" in anonymous.stderr
    assert "no basic auth credentials" in anonymous.stderr

    wrong = json.dumps(
        {"registry": login.address, "username": login.username, "password": "not-the-password"}
    )
    refused = mlrun("run", str(project), "--docker-auth", wrong)
    assert refused.returncode == 125
    assert f"docker login to {login.address} as {login.username!r} failed" in refused.stderr
    assert "not-the-password" not in refused.stderr + refused.stdout

    auth_file = tmp_path / "auth.json"
    auth_file.write_text(
        json.dumps(
            {"registry": login.address, "username": login.username, "password": login.password}
        )
    )
    plan = json.loads(
        cli("run", str(project), "--docker-auth", str(auth_file), "--dry-run", "--json").stdout
    )
    assert plan["env"]["registry_login"] == {
        "registry": login.address,
        "username": login.username,
    }
    assert login.password not in json.dumps(plan)

    ok = mlrun("run", str(project), "--docker-auth", str(auth_file), "--json")
    assert ok.returncode == 0, ok.stderr
    record = show(json.loads(ok.stdout)["run_id"])
    assert record["status"] == "FINISHED"
    assert login.password not in json.dumps(record) + ok.stderr + ok.stdout
    assert record["env"]["image"] == image


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("{not json", "--docker-auth is not valid JSON"),
        ('["a"]', "--docker-auth must be a JSON object"),
        ('{"username": "u", "pasword": "p"}', "unknown key 'pasword'"),
        ('{"password": "p"}', 'needs a "username"'),
        ('{"username": "u", "password": 5}', "'password' must be a string"),
        ("absent.json", "--docker-auth file absent.json does not exist"),
    ],
)
def test_bad_docker_auth_is_bad_input(tmp_path: Path, value: str, words: str) -> None:
    project = _project(tmp_path / "p", "busybox:1")
    proc = cli("run", str(project), "--docker-auth", value, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert words in proc.stderr and "Traceback" not in proc.stderr


def test_docker_auth_is_refused_for_a_project_without_docker(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", 'entry_points:\n  main: {command: "true"}\n')
    proc = cli("run", str(project), "--docker-auth", '{"username": "u", "password": "p"}')
    assert proc.returncode == 2 and "--docker-auth" in proc.stderr


@pytest.mark.slow
def test_docker_auth_reaches_a_dockerfile_build(
    tmp_path: Path,
    private_image: tuple[str, Any],
    project_name: str,
    no_leftover_containers: None,
) -> None:
    """A Dockerfile FROM an image of the auth registry builds with the same login."""
    image, login = private_image
    project = write_project(
        tmp_path / project_name,
        """\
        docker_env:
          dockerfile: Dockerfile
        entry_points:
          main: {command: "cat /built"}
        """,
        {"Dockerfile": f"FROM {image}\nRUN echo built-on-private-base > /built\n"},
    )
    anonymous = mlrun("run", str(project))
    assert anonymous.returncode == 125, anonymous.stderr
    assert "no basic auth credentials" in anonymous.stderr
    auth = json.dumps(
        {"registry": login.address, "username": login.username, "password": login.password}
    )
    ok = mlrun("run", str(project), "--docker-auth", auth)
    assert ok.returncode == 0, ok.stderr
    assert "built-on-private-base" in ok.stdout
    assert login.password not in ok.stdout + ok.stderr
