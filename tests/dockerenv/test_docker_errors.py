"""Docker failures are one clear sentence and the right exit code: 125 when the engine,
the image or its build fails (the run recorded FAILED), 2 for bad input (nothing ran).
The first tests need no engine: they point DOCKER_HOST at nothing, and as they stop before
anything runs, most run the CLI in this process."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.dockerenv.runs import show, split_output
from tests.helpers import cli, mlrun, write_project


def _project(root: Path, image: str = "mlrun-test/busybox:1", extra: str = "") -> Path:
    return write_project(
        root,
        f"""\
        docker_env:
          image: {image}
        {extra}
        entry_points:
          main:
            parameters: {{n: {{type: int, default: 1}}}}
            command: "echo {{n}}"
        """,
    )


def _no_engine(tmp_path: Path) -> dict[str, str]:
    return dict(os.environ, DOCKER_HOST=f"unix://{tmp_path}/no-engine.sock")


def _error_lines(stderr: str) -> list[str]:
    """stderr from the error on (progress lines before it are not part of it)."""
    lines = stderr.splitlines()
    return lines[next(i for i, line in enumerate(lines) if line.startswith("mlrun: error:")) :]


def test_no_engine_is_exit_125_in_one_sentence_and_recorded(tmp_path: Path) -> None:
    # In a process of its own: the docker SDK leaves a socket open when it finds no engine.
    proc = mlrun("run", str(_project(tmp_path / "p")), env=_no_engine(tmp_path))
    assert proc.returncode == 125
    lines = _error_lines(proc.stderr)
    assert lines[0] == (
        f"mlrun: error: no docker engine is reachable at "
        f"unix://{tmp_path}/no-engine.sock (no engine socket there)"
    )
    assert lines[1].startswith("  hint: start the docker engine")
    assert len(lines) == 2 and "Traceback" not in proc.stderr
    runs = json.loads(cli("runs", "list", "--json", check=True).stdout)
    assert [(r["status"], r["exit_code"]) for r in runs] == [("FAILED", 125)]


def test_dry_run_needs_no_engine(tmp_path: Path) -> None:
    proc = cli(
        "run",
        str(_project(tmp_path / "p")),
        "-P",
        "n=5",
        "--dry-run",
        "--json",
        env=_no_engine(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert plan["argv"] == ["echo", "5"]
    assert plan["env_manager"] == "docker"
    assert plan["env"]["image"] == "mlrun-test/busybox:1"
    assert plan["env"]["workdir"] == "/mlflow/projects/code"
    text = cli("run", str(_project(tmp_path / "p")), "--dry-run", env=_no_engine(tmp_path))
    assert "argv:         'echo' '1'" in text.stdout
    assert "a writable copy of the code at /mlflow/projects/code" in text.stdout
    mounted = mlrun(
        "run", str(tmp_path / "p"), "--mount-code", "--dry-run", env=_no_engine(tmp_path)
    )
    assert "code mounted read-only at /mlflow/projects/code" in mounted.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-A", "bogus=1"], "-A bogus is not a docker run option mlrun knows"),
        (["-A", "rm"], "-A rm: mlrun sets this itself"),
        (["-A", "shm-size=lots"], "-A shm-size=lots: expects a size such as 512m or 2g"),
        (["-A", "gpus"], "-A gpus: this option needs a value"),
        (["-A", "privileged=maybe"], "-A privileged=maybe: expects no value, or true/false"),
    ],
)
def test_bad_docker_args_are_exit_2_before_anything_runs(
    tmp_path: Path, args: list[str], message: str
) -> None:
    proc = cli("run", str(_project(tmp_path / "p")), *args, env=_no_engine(tmp_path))
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[0] == f"mlrun: error: {message}"
    assert cli("runs", "list", "--json").stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("volumes", "message"),
    [
        (
            '["${MLRUN_TEST_UNSET}:/data"]',
            "docker_env.volumes[0] uses $MLRUN_TEST_UNSET, which is not set in this environment",
        ),
        ('["/data"]', "docker_env.volumes[0] is '/data', which is not HOST:CONTAINER[:ro|rw]"),
        ('["/a:/b:rx"]', "docker_env.volumes[0] has the unknown mount option 'rx' in '/a:/b:rx'"),
        (
            '["/a:relative"]',
            "docker_env.volumes[0]: the container path 'relative' in '/a:relative' is not absolute",
        ),
    ],
)
def test_bad_volumes_are_exit_2(tmp_path: Path, volumes: str, message: str) -> None:
    project = _project(tmp_path / "p", extra=f"  volumes: {volumes}")
    env = _no_engine(tmp_path)
    env.pop("MLRUN_TEST_UNSET", None)
    proc = cli("run", str(project), env=env)
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[0] == f"mlrun: error: {project / 'MLproject'}: {message}"


@pytest.mark.parametrize(
    ("extra", "args", "message"),
    [
        (
            '  environment: [[TRIM, "${HOME%/}"]]',
            [],
            "docker_env.environment[0] (TRIM) uses ${HOME%/} in '${HOME%/}', "
            "which mlrun does not expand",
        ),
        (
            '  environment: [[LEN, "x${#HOME}"]]',
            [],
            "docker_env.environment[0] (LEN) uses ${#HOME} in 'x${#HOME}', "
            "which mlrun does not expand",
        ),
        (
            "",
            ["-A", "env=ALT=${HOME:+set}"],
            "-A env=ALT uses ${HOME:+set} in '${HOME:+set}', which mlrun does not expand",
        ),
        (
            '  volumes: ["${PWD:/data"]',
            [],
            "docker_env.volumes[0] has a `${` without its closing `}` in '${PWD:/data'",
        ),
    ],
)
def test_expansions_bash_would_do_differently_are_exit_2(
    tmp_path: Path, extra: str, args: list[str], message: str
) -> None:
    # mlrun refuses rather than give a value different from MLflow's shell silently.
    project = _project(tmp_path / "p", extra=extra)
    proc = cli("run", str(project), *args, env=_no_engine(tmp_path))
    assert proc.returncode == 2
    first, hint = proc.stderr.splitlines()
    where = "" if args else f"{project / 'MLproject'}: "
    assert first == f"mlrun: error: {where}{message}"
    assert hint.startswith("  hint: ")
    assert cli("runs", "list", "--json").stdout.strip() == "[]"


@pytest.mark.docker
@pytest.mark.usefixtures("no_leftover_containers")
def test_image_not_present_and_not_pullable(tmp_path: Path, docker_client: object) -> None:
    # A registry on a closed loopback port: the pull fails at once, and nothing leaves
    # the machine.
    image = "127.0.0.1:9/mlrun-test/absent:never"
    proc = mlrun("run", str(_project(tmp_path / "p", image=image)))
    assert proc.returncode == 125
    lines = _error_lines(proc.stderr)
    assert lines[0].startswith(
        f"mlrun: error: docker image {image!r} is not present locally and could not be pulled ("
    )
    assert lines[-1].startswith("  hint: build, load or import it first")
    assert "Traceback" not in proc.stderr
    offline = mlrun("run", str(_project(tmp_path / "p", image=image)), "--offline")
    assert offline.returncode == 125
    assert "--offline forbids pulling it" in offline.stderr


@pytest.mark.docker
@pytest.mark.usefixtures("no_leftover_containers")
def test_build_failure_shows_the_last_lines(
    tmp_path: Path, busybox_image: str, project_name: str
) -> None:
    project = write_project(
        tmp_path / "p",
        f"""\
        name: {project_name}
        docker_env: {{dockerfile: Dockerfile}}
        entry_points:
          main: {{command: "true"}}
        """,
        {"Dockerfile": f"FROM {busybox_image}\nRUN echo output-before-the-failure && exit 7\n"},
    )
    proc = mlrun("run", str(project), "--json")
    assert proc.returncode == 125, proc.stderr
    lines = _error_lines(proc.stderr)
    assert lines[0] == (
        "mlrun: error: building the docker image from Dockerfile failed: "
        "The command '/bin/sh -c echo output-before-the-failure && exit 7' "
        "returned a non-zero code: 7"
    )
    assert "  | output-before-the-failure" in lines[1:]
    assert lines[-1].startswith("  hint: the full build output is in ")
    log = Path(lines[-1].split(" is in ", 1)[1])
    assert "output-before-the-failure" in log.read_text()
    runs = json.loads(cli("runs", "list", "--json", check=True).stdout)
    assert [(r["status"], r["exit_code"]) for r in runs] == [("FAILED", 125)]


@pytest.mark.docker
@pytest.mark.usefixtures("no_leftover_containers")
def test_command_not_found_in_the_image(tmp_path: Path, busybox_image: str) -> None:
    project = write_project(
        tmp_path / "p",
        f"""\
        docker_env: {{image: {busybox_image}}}
        entry_points:
          main: {{command: "no-such-program --flag"}}
        """,
    )
    proc = mlrun("run", str(project), "--json")
    assert proc.returncode == 127
    assert "no-such-program" in proc.stderr
    run = show(split_output(proc.stdout)[1]["run_id"])
    assert (run["status"], run["exit_code"]) == ("FAILED", 127)
