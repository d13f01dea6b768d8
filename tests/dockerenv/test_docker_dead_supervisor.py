"""Issue 11.7 for containers: a container whose mlrun was SIGKILLed keeps running (the
engine owns it, no signal of ours reaches it); the next mlrun that starts finds it by
its label (org.mlrun.run-id) and removes it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.dockerenv.conftest import mlrun_containers
from tests.execution.procs import spawn_mlrun
from tests.helpers import mlrun, wait_until, write_project

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("no_leftover_containers")]


def test_the_container_of_a_dead_mlrun_is_removed_by_the_next_one(
    tmp_path: Path, busybox_image: str, docker_client: Any
) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    project = write_project(
        tmp_path / "p",
        f"""\
        docker_env:
          image: {busybox_image}
          volumes: ["{marks}:/marks"]
        entry_points:
          main: {{command: "sh -c 'touch /marks/started; sleep 300'"}}
        """,
    )
    before = mlrun_containers(docker_client)
    proc = spawn_mlrun("run", str(project))
    wait_until((marks / "started").exists, "the container to start")
    (name,) = mlrun_containers(docker_client) - before
    proc.kill()  # mlrun alone, SIGKILL
    proc.communicate(timeout=60)
    assert docker_client.containers.get(name).status == "running"  # the engine's now
    listed = mlrun("runs", "list")  # any mlrun that starts (run, runs, env) cleans up
    assert listed.returncode == 0, listed.stderr
    assert name not in mlrun_containers(docker_client)
    assert f"removed container {name}" in listed.stderr
