"""On the real engine: environment values and volumes as under `mlflow run` (variables
expanded as its shell would, `${PWD}` the project directory from any caller directory),
without a shell; a host path that does not exist stops the run before anything starts."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from mlrun.envs.base import ContainerSpec
from mlrun.envs.docker.container import start
from mlrun.errors import EngineError
from mlrun.reporting import Reporter
from tests.dockerenv.runs import bash_expands, docker_project, run_json
from tests.helpers import mlrun

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("no_leftover_containers")]

SPACES_AND_DOLLARS = "two  words, a lone $ and $ here, \\$HOME kept, 50% *.txt"
QUOTED = 'it\'s "quoted" \\n'  # MLflow's shell would unquote or choke: kept as written
EVALUATED_BY_MLFLOW = "$(touch CANARY) `touch CANARY` $$"


def test_environment_values_arrive_as_mlflow_shell_gives_them(
    tmp_path: Path, busybox_image: str
) -> None:
    environment = [
        ["DOCKER_UID", "${UID}"],
        ["USER_HOME", "$HOME"],
        ["DATA", "${PWD}/data"],
        ["SPACED", SPACES_AND_DOLLARS],
        ["QUOTED", QUOTED],
        ["RAW", EVALUATED_BY_MLFLOW],
        ["FALLBACK", "${MLRUN_TEST_NOT_SET:-fallback}"],
        ["GONE", "before-${MLRUN_TEST_NOT_SET}-after"],
        ["TILDE", "~/cache:~+/lib"],
    ]
    names = [name for name, _ in environment] + ["EXTRA"]
    script = "".join(f'printf "%s=[%s]\\n" {n} "${n}"\n' for n in names)
    project = docker_project(
        tmp_path / "p",
        busybox_image,
        "sh show.sh",
        extra=f"  environment: {json.dumps(environment)}\n",
        files={"show.sh": script},
    )
    caller = tmp_path / "elsewhere"  # the caller's directory is not the project's
    caller.mkdir()
    env = dict(os.environ, HOME=str(tmp_path / "home dir"), PWD=str(caller))
    env.pop("MLRUN_TEST_NOT_SET", None)
    proc, output, _ = run_json(project, "-A", "env=EXTRA=${HOME}/x", cwd=caller, env=env)
    got = dict(line.split("=", 1) for line in output.splitlines())
    bash_env = {k: v for k, v in env.items() if k not in ("UID", "EUID")}
    assert got["DOCKER_UID"] == f"[{bash_expands('${UID}', project, bash_env)}]"
    assert got["DOCKER_UID"] == f"[{os.getuid()}]"
    assert got["USER_HOME"] == f"[{tmp_path / 'home dir'}]"
    assert got["DATA"] == f"[{project}/data]"  # the project, not the caller's directory
    assert got["SPACED"] == f"[{bash_expands(SPACES_AND_DOLLARS, project, env)}]"
    assert got["SPACED"] == "[two  words, a lone $ and $ here, $HOME kept, 50% *.txt]"
    assert got["QUOTED"] == f"[{QUOTED}]"
    assert got["RAW"] == f"[{EVALUATED_BY_MLFLOW}]"  # byte for byte: nothing evaluated
    assert got["FALLBACK"] == "[fallback]"
    assert got["GONE"] == "[before--after]"  # empty, as in bash...
    assert "docker_env.environment[7] (GONE) uses $MLRUN_TEST_NOT_SET, which is not set" in (
        proc.stderr
    )  # ...and said
    assert got["EXTRA"] == f"[{tmp_path / 'home dir'}/x]"
    # bash reads MLflow's `-e TILDE=~/cache:~+/lib` as an assignment: both `~` expand
    tilde = bash_expands("TILDE=~/cache:~+/lib", project, env, quoted=False)
    assert got["TILDE"] == f"[{tilde.removeprefix('TILDE=')}]"
    assert got["TILDE"] == f"[{tmp_path / 'home dir'}/cache:{project}/lib]"
    assert not list(tmp_path.rglob("CANARY"))


def test_pwd_volumes_are_the_project_from_any_caller_directory(
    tmp_path: Path, busybox_image: str
) -> None:
    project = docker_project(
        tmp_path / "work" / "p",
        busybox_image,
        "sh -c 'cat /data/in.txt; echo out > /results/r.txt'",
        extra='  volumes: ["${PWD}/data:/data:ro", "$PWD/results:/results"]\n',
        files={"data/in.txt": "from the project\n", "results/.keep": ""},
    )
    for caller in (tmp_path, tmp_path / "work", project, Path("/")):
        (project / "results" / "r.txt").unlink(missing_ok=True)
        _, output, record = run_json(project, cwd=caller)
        assert output == "from the project\n", caller
        assert (project / "results" / "r.txt").read_text() == "out\n"
        assert record["env"]["volumes"] == [
            f"{project}/data:/data:ro",
            f"{project}/results:/results:rw",
        ]


@pytest.mark.parametrize(
    ("volumes", "args", "entry"),
    [
        ('["${PWD}/missing:/m"]', [], "docker_env.volumes[0] is '${PWD}/missing:/m'"),
        ('["/tmp:/t", "$MLRUN_TEST_DIR/nope:/n:ro"]', [], "docker_env.volumes[1] is"),
        ("[]", ["-A", "volume=/mlrun-test-missing/x:/x"], "-A volume is"),
    ],
)
def test_a_missing_host_path_stops_the_run_before_anything_starts(
    tmp_path: Path,
    busybox_image: str,
    volumes: str,
    args: list[str],
    entry: str,
) -> None:
    project = docker_project(tmp_path / "p", busybox_image, "true", extra=f"  volumes: {volumes}\n")
    env = dict(os.environ, MLRUN_TEST_DIR=str(tmp_path / "d"))
    # Before anything starts: before mlrun even looks for the engine.
    env["DOCKER_HOST"] = f"unix://{tmp_path}/no-engine.sock"
    proc = mlrun("run", str(project), *args, cwd=tmp_path, env=env)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert lines[0].startswith("mlrun: error: ") and entry in lines[0]
    assert "does not exist" in lines[0]
    assert lines[1].startswith("  hint: create it first") and len(lines) == 2
    assert not (project / "missing").exists() and not (tmp_path / "d").exists()
    assert not Path("/mlrun-test-missing").exists()
    assert mlrun("runs", "list", "--json").stdout.strip() == "[]"  # nothing recorded


def test_the_engine_never_creates_a_missing_host_path(
    tmp_path: Path, busybox_image: str, docker_client: Any
) -> None:
    # Should a path vanish between the check and the start, the engine refuses it
    # rather than creating it as root (a bind mount, not a `-v` bind).
    missing = tmp_path / "vanished"
    spec = ContainerSpec(
        engine=docker_client,
        image=docker_client.images.get(busybox_image).id,
        image_name=busybox_image,
        name=f"mlrun-test-{uuid.uuid4().hex[:12]}",
        command=["true"],
        workdir="/",
        environment={},
        mounts=[(str(missing), "/data", False)],
        volumes=[],
        user=None,
        labels={},
        settings={},
        keep=False,
    )
    with pytest.raises(EngineError) as caught:
        start(spec, Reporter())
    assert caught.value.exit_code == 125
    assert "does not exist" in caught.value.message
    assert not missing.exists()
