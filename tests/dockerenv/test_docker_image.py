"""Images mlrun builds: the Dockerfile variant and --build-image, tagged by content and
reused when nothing changed; .dockerignore honoured; secrets never copied."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.dockerenv.runs import run_json, split_output
from tests.helpers import write_project

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("no_leftover_containers")]
BUILDING = "building docker image"


def _run(project: Path, *args: str) -> tuple[Any, dict[str, Any]]:
    proc, _, shown = run_json(project, *args)
    return proc, shown


def _out(proc: Any) -> str:
    """The command's own stdout (under --json it is in the run's log, not mlrun's stdout)."""
    return split_output(proc.stdout)[0]


def test_dockerfile_variant_is_built_once_and_reused(
    tmp_path: Path, busybox_image: str, project_name: str, docker_client: Any
) -> None:
    project = write_project(
        tmp_path / "p",
        f"""\
        name: {project_name}
        docker_env:
          dockerfile: docker/Dockerfile
        entry_points:
          main:
            command: "cat /built.txt"
        """,
        {"docker/Dockerfile": f"FROM {busybox_image}\nRUN echo built > /built.txt\n"},
    )
    first, shown = _run(project)
    assert _out(first).startswith("built\n")
    assert BUILDING in first.stderr
    env = shown["env"]
    assert env["env_image_built"] is True and env["dockerfile"] == "docker/Dockerfile"
    image = docker_client.images.get(env["env_image"])
    assert image.id == env["image_id"]
    assert image.labels["org.mlrun.project"] == project_name

    (project / "train.py").write_text("print('a code change')\n")  # the Dockerfile has no COPY
    second, shown = _run(project)
    assert _out(second).startswith("built\n")
    assert BUILDING not in second.stderr
    assert shown["env"]["env_image_built"] is False
    assert shown["env"]["image_id"] == env["image_id"]


def test_dockerfile_with_copy_rebuilds_when_its_context_changes(
    tmp_path: Path, busybox_image: str, project_name: str
) -> None:
    project = write_project(
        tmp_path / "p",
        f"""\
        name: {project_name}
        docker_env:
          image: {project_name}-env
          dockerfile: Dockerfile
        entry_points:
          main:
            command: "cat /opt/conf.txt"
        """,
        {
            "Dockerfile": f"FROM {busybox_image}\nCOPY conf.txt /opt/conf.txt\n",
            "conf.txt": "v1\n",
            ".dockerignore": "scratch/\n",
        },
    )
    first, shown = _run(project)
    assert _out(first).startswith("v1\n") and BUILDING in first.stderr
    assert shown["env"]["env_image"].startswith(f"{project_name}-env:")
    (project / "scratch").mkdir()
    (project / "scratch/notes.txt").write_text("ignored by .dockerignore\n")
    second, _ = _run(project)
    assert BUILDING not in second.stderr
    (project / "conf.txt").write_text("v2\n")
    third, _ = _run(project)
    assert _out(third).startswith("v2\n") and BUILDING in third.stderr


def test_build_image_copies_code_reuses_and_honours_dockerignore(
    tmp_path: Path, busybox_image: str, project_name: str, docker_client: Any
) -> None:
    project = write_project(
        tmp_path / "p",
        f"""\
        name: {project_name}
        docker_env:
          image: {busybox_image}
        entry_points:
          main:
            command: "sh -c 'find . | sort; grep -c /mlflow/projects/code /proc/mounts || true'"
        """,
        {
            "train.py": "print('hi')\n",
            "data/keep.csv": "1\n",
            "data/big.bin": "x" * 1000,
            "notes.log": "log\n",
            "important.log": "kept by an exception\n",
            ".dockerignore": "# comment\n*.log\n!important.log\ndata/*.bin\n!.env\n!.git\n",
            ".env": "SECRET=1\n",
            ".git/HEAD": "ref: refs/heads/main\n",
            "keys/id_rsa": "-----BEGIN KEY-----\n",
            "tls/server.pem": "pem\n",
        },
    )
    first, shown = _run(project, "--build-image")
    assert BUILDING in first.stderr
    listing = split_output(first.stdout)[0].splitlines()
    assert listing[:-1] == [
        ".",
        "./.dockerignore",
        "./MLproject",
        "./data",
        "./data/keep.csv",
        "./important.log",
        "./keys",
        "./tls",
        "./train.py",
    ]
    assert listing[-1] == "0"  # the code is in the image, not mounted
    env = shown["env"]
    assert env["code"] == "image" and env["code_image_built"] is True
    assert env["base_image_id"] == docker_client.images.get(busybox_image).id
    assert docker_client.images.get(env["code_image"]).id == env["image_id"]

    second, shown = _run(project, "--build-image")
    assert BUILDING not in second.stderr
    assert shown["env"]["code_image_built"] is False
    assert shown["env"]["image_id"] == env["image_id"]

    (project / "notes.log").write_text("ignored changes do not matter\n")
    third, _ = _run(project, "--build-image")
    assert BUILDING not in third.stderr

    (project / "train.py").write_text("print('changed')\n")
    fourth, shown = _run(project, "--build-image")
    assert BUILDING in fourth.stderr
    assert shown["env"]["code_image_built"] is True
    assert shown["env"]["image_id"] != env["image_id"]


def test_rebuild_env_forces_a_build(tmp_path: Path, busybox_image: str, project_name: str) -> None:
    project = write_project(
        tmp_path / "p",
        f"""\
        name: {project_name}
        docker_env: {{image: {busybox_image}}}
        entry_points:
          main: {{command: "true"}}
        """,
    )
    assert BUILDING in _run(project, "--build-image")[0].stderr
    assert BUILDING in _run(project, "--build-image", "--rebuild-env")[0].stderr


def test_dockerfile_outside_its_context(
    tmp_path: Path, busybox_image: str, project_name: str
) -> None:
    project = write_project(
        tmp_path / "p",
        f"""\
        name: {project_name}
        docker_env:
          dockerfile: docker/Dockerfile
          context: app
        entry_points:
          main:
            command: "find /opt/app"
        """,
        {
            "docker/Dockerfile": f"FROM {busybox_image}\nCOPY . /opt/app/\n",
            "app/a.txt": "a\n",
            "app/.dockerignore": "secret.txt\n",
            "app/secret.txt": "s\n",
        },
    )
    proc, _, shown = run_json(project)
    # Neither the Dockerfile (sent under another name) nor .dockerignore is copied.
    assert sorted(split_output(proc.stdout)[0].split()) == ["/opt/app", "/opt/app/a.txt"]
    assert shown["env"]["context"] == "app"
