"""docker_env projects run end to end on a real engine: parameters, exit codes, outputs,
volumes, environment forms, -A settings, signals, the run record."""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.dockerenv.conftest import mlrun_containers
from tests.dockerenv.runs import show, split_output
from tests.helpers import REPO, mlrun, spawn_mlrun, wait_until, write_project

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("no_leftover_containers")]

HOSTILE = [
    "two words",
    "it's",
    'say "hi"',
    "$(touch /tmp/pwned)",
    "a;b",
    "`id`",
    "line1\nline2",
    "-rf",
    "ünïcödé ✓",
    "",
    "{brace}",
    "$HOME",
    "*",
    "\\back",
]


def _docker_project(
    root: Path, image: str, entry_points: str, extra: str = "", files: dict[str, str] | None = None
) -> Path:
    return write_project(
        root, f"docker_env:\n  image: {image}\n{extra}entry_points:\n" + entry_points, files
    )


@pytest.mark.parametrize("mode", ["argv", "shell"])
def test_parameters_arrive_verbatim_in_the_container(
    tmp_path: Path, busybox_image: str, mode: str
) -> None:
    names = [f"p{i}" for i in range(len(HOSTILE))]
    params = "".join(f"      {n}: string\n" for n in names)
    template = "printf [%s] " + " ".join(f"{{{n}}}" for n in names)
    if mode == "shell":
        template += " | cat"  # busybox has no bash: the wrapper falls back to sh
    project = _docker_project(
        tmp_path / "p",
        busybox_image,
        f"""\
  main:
    parameters:
{params}    command: {json.dumps(template)}
""",
    )
    args = [a for n, v in zip(names, HOSTILE, strict=True) for a in ("-P", f"{n}={v}")]
    proc = mlrun("run", str(project), *args, "-q")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "".join(f"[{v}]" for v in HOSTILE)


def test_quoted_placeholders_are_not_evaluated_in_the_container(
    tmp_path: Path, busybox_image: str
) -> None:
    # In double quotes (and in a here-document) the container's shell gets MLflow's
    # quoted text, literally: the values travel in the container's environment.
    project = _docker_project(
        tmp_path / "p",
        busybox_image,
        """\
  main:
    parameters: {a: string}
    command: |
      printf '[%s]' "{a}" '{a}' {a}; cat <<EOF
      [{a}]
      EOF
""",
    )
    value = "$(echo EVALUATED)`echo EVALUATED`"
    proc = mlrun("run", str(project), "-P", f"a={value}", "-q")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"['{value}'][{value}][{value}]['{value}']\n"


def test_path_parameters_through_a_symlink_out_of_the_project_are_not_mounted(
    tmp_path: Path, busybox_image: str
) -> None:
    secret = tmp_path / "elsewhere" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("host file\n")
    project = _docker_project(
        tmp_path / "p",
        busybox_image,
        """\
  main:
    parameters: {f: {type: path, default: data/secret.txt}}
    command: "cat {f}"
""",
    )
    (project / "data").symlink_to(secret.parent)
    proc = mlrun("run", str(project))
    assert proc.returncode == 2, proc.stderr
    assert f"leads outside the project (to {secret})" in proc.stderr
    assert "host file" not in proc.stdout
    # An absolute path the user names is theirs to mount.
    proc = mlrun("run", str(project), "-P", f"f={secret}", "-q")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "host file\n"


@pytest.mark.parametrize(("code", "status"), [(0, "FINISHED"), (3, "FAILED")])
def test_exit_code_is_passed_through(
    tmp_path: Path, busybox_image: str, code: int, status: str
) -> None:
    project = _docker_project(
        tmp_path / "p",
        busybox_image,
        f"""\
  main:
    command: "sh -c 'echo out; echo err >&2; exit {code}'"
""",
    )
    proc = mlrun("run", str(project), "--json")
    assert proc.returncode == code, proc.stderr
    assert split_output(proc.stdout)[0].startswith("out\n")
    assert "err" in proc.stderr
    shown = show(split_output(proc.stdout)[1]["run_id"])
    assert (shown["status"], shown["exit_code"]) == (status, code)
    assert "out" in Path(shown["log_paths"]["stdout"]).read_text()
    assert "err" in Path(shown["log_paths"]["stderr"]).read_text()


@pytest.mark.parametrize("mount", [False, True])
def test_outputs_protocol_and_the_code(tmp_path: Path, busybox_image: str, mount: bool) -> None:
    script = """\
        set -e
        pwd
        cat hello.txt
        touch probe 2>/dev/null && echo code-writable || echo code-read-only
        echo '{"key": "loss", "value": 0.5, "step": 1}' >> "$MLRUN_RUN_DIR/metrics.jsonl"
        echo '{"answer": 42}' > "$MLRUN_RUN_DIR/outputs.json"
        mkdir -p "$MLRUN_RUN_DIR/artifacts" && echo model > "$MLRUN_RUN_DIR/artifacts/m.txt"
        echo "id=$MLRUN_RUN_ID"
        """
    project = _docker_project(
        tmp_path / "p",
        busybox_image,
        """\
  main:
    command: "sh step.sh"
""",
        files={"step.sh": script, "hello.txt": "hello from the host\n"},
    )
    proc = mlrun("run", str(project), "--json", *(["--mount-code"] if mount else []))
    assert proc.returncode == 0, proc.stderr
    output, result = split_output(proc.stdout)
    lines, run_id = output.splitlines(), result["run_id"]
    assert lines[:4] == [
        "/mlflow/projects/code",
        "hello from the host",
        "code-read-only" if mount else "code-writable",
        f"id={run_id}",
    ]
    assert not (project / "probe").exists()
    shown = show(run_id)
    assert shown["env"]["code"] == ("mounted" if mount else "copy")
    if mount:
        assert "workdir_files" not in shown["env"]
    else:
        assert shown["env"]["workdir_files"] == [{"path": "probe", "change": "added", "size": 0}]
    assert [(m["key"], m["value"], m["step"]) for m in shown["metrics"]] == [("loss", 0.5, 1)]
    assert shown["outputs"] == {"answer": 42}
    assert [a["path"] for a in shown["artifacts"]] == ["m.txt"]


def test_python_project_with_path_parameters(
    tmp_path: Path, python_image: str, docker_client: Any
) -> None:
    project = tmp_path / "elasticnet"
    shutil.copytree(REPO / "example_projects/elasticnet", project)
    text = (project / "MLproject").read_text()
    (project / "MLproject").write_text(f"docker_env:\n  image: {python_image}\n" + text)
    outside = tmp_path / "elsewhere" / "wine.csv"  # a path parameter outside the project
    outside.parent.mkdir()
    shutil.copy(project / "data/wine-quality.csv", outside)

    proc = mlrun("run", str(project), "-P", "alpha=0.3", "-P", f"data={outside}", "--json")
    assert proc.returncode == 0, proc.stderr
    assert "test RMSE" in split_output(proc.stdout)[0]
    shown = show(split_output(proc.stdout)[1]["run_id"])
    assert shown["env_kind"] == "docker"
    assert shown["params"]["data"] == str(outside)
    assert {m["key"] for m in shown["metrics"]} >= {"train_rmse", "test_rmse"}
    assert [a["path"] for a in shown["artifacts"]] == ["model.json"]
    env = shown["env"]
    assert env["image_id"] == docker_client.images.get(python_image).id
    assert env["image"] == python_image and env["code"] == "copy"
    assert env["workdir"] == "/mlflow/projects/code"


def test_volumes_expand_variables_and_honour_modes(tmp_path: Path, busybox_image: str) -> None:
    data_in, data_out = tmp_path / "in", tmp_path / "out"
    data_in.mkdir()
    data_out.mkdir()
    (data_in / "x.txt").write_text("input data\n")
    project = _docker_project(
        tmp_path / "p",
        busybox_image,
        """\
  main:
    command: "sh -c 'cat /in/x.txt; echo result > /out/y.txt; \\
              touch /in/z 2>/dev/null && echo in-writable || echo in-read-only; cat /rel/r.txt'"
""",
        extra='  volumes: ["${DATA_IN}:/in:ro", "$DATA_OUT:/out:rw", "./rel:/rel:ro"]\n',
        files={"rel/r.txt": "relative to the project\n"},
    )
    env = dict(os.environ, DATA_IN=str(data_in), DATA_OUT=str(data_out))
    proc = mlrun("run", str(project), "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    lines = split_output(proc.stdout)[0].splitlines()
    assert lines[:3] == ["input data", "in-read-only", "relative to the project"]
    assert (data_out / "y.txt").read_text() == "result\n"
    assert not (data_in / "z").exists()
    shown = show(split_output(proc.stdout)[1]["run_id"])
    assert shown["env"]["volumes"] == [
        f"{data_in}:/in:ro",
        f"{data_out}:/out:rw",
        f"{project / 'rel'}:/rel:ro",
    ]


def test_environment_forms(tmp_path: Path, busybox_image: str) -> None:
    project = _docker_project(
        tmp_path / "p",
        busybox_image,
        """\
  main:
    command: "sh -c 'echo \\"$FROM_HOST|$PAIR|${{NOT_ON_HOST-unset}}|$EXTRA|$NUMBER\\"'"
""",
        extra='  environment: [FROM_HOST, [PAIR, "pair value"], NOT_ON_HOST, [NUMBER, 7]]\n',
    )
    env = dict(os.environ, FROM_HOST="host value")
    env.pop("NOT_ON_HOST", None)
    proc = mlrun("run", str(project), "-A", "env=EXTRA=from -A", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    assert split_output(proc.stdout)[0].splitlines()[0] == "host value|pair value|unset|from -A|7"
    assert "NOT_ON_HOST, which is not set here" in proc.stderr
    shown = show(split_output(proc.stdout)[1]["run_id"])
    assert shown["env"]["environment"] == ["FROM_HOST", "PAIR", "NOT_ON_HOST", "NUMBER", "EXTRA"]
    assert shown["env"]["docker_args"] == {"env": "EXTRA"}  # the name, never the value


def test_docker_args_reach_the_engine_and_keep_container(
    tmp_path: Path, busybox_image: str, docker_client: Any
) -> None:
    project = _docker_project(
        tmp_path / "p",
        busybox_image,
        """\
  main:
    command: "sh -c 'ls /sys/class/net; df -k /dev/shm | tail -n 1; id -u; \\
              touch /probe 2>/dev/null && echo root-writable || echo root-read-only'"
""",
    )
    proc = mlrun(
        "run",
        str(project),
        "-A",
        "network=none",
        "-A",
        "shm-size=64m",
        "-A",
        "user=4321:4321",
        "-A",
        "read-only",
        "-A",
        "label=team=ml",
        "--keep-container",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    output, result = split_output(proc.stdout)
    out, run_id = output.splitlines(), result["run_id"]
    assert out[0] == "lo"  # no network but loopback
    assert out[1].split()[1] == str(64 * 1024)
    assert out[2:4] == ["4321", "root-read-only"]
    container = docker_client.containers.get(f"mlrun-{run_id}")  # kept
    try:
        assert container.status == "exited"
        assert container.labels["team"] == "ml"
        assert container.labels["org.mlrun.run-id"] == run_id
        host = container.attrs["HostConfig"]
        assert (host["NetworkMode"], host["ReadonlyRootfs"], host["Init"]) == ("none", True, True)
    finally:
        volumes = [m["Name"] for m in container.attrs["Mounts"] if m["Type"] == "volume"]
        assert len(volumes) == 1  # the writable working directory, labelled as its run
        labels = docker_client.volumes.get(volumes[0]).attrs["Labels"]
        assert labels["org.mlrun.run-id"] == run_id
        container.remove(force=True, v=True)
        assert not [v for v in docker_client.volumes.list() if v.name in volumes]
    assert f"kept container mlrun-{run_id} (remove it with `docker rm -v mlrun-{run_id}`" in (
        proc.stderr
    )
    shown = show(run_id)
    assert shown["env"]["docker_args"] == {
        "network": "none",
        "shm-size": "64m",
        "user": "4321:4321",
        "read-only": None,
        "label": "team=ml",
    }


@pytest.mark.parametrize(
    ("signum", "ignores", "code"),
    [
        (signal.SIGTERM, False, 143),
        (signal.SIGTERM, True, 143),  # the command ignores SIGTERM: SIGKILL after the grace
        (signal.SIGINT, False, 130),
    ],
)
def test_signal_stops_and_removes_the_container(
    tmp_path: Path, busybox_image: str, docker_client: Any, signum: int, ignores: bool, code: int
) -> None:
    signals = tmp_path / "signals"
    signals.mkdir()
    trap = 'trap \\"\\" TERM INT; ' if ignores else ""
    project = _docker_project(
        tmp_path / "p",
        busybox_image,
        f"""\
  main:
    command: "sh -c '{trap}touch /signals/started; sleep 300 & wait'"
""",
        extra=f'  volumes: ["{signals}:/signals"]\n',
    )
    before = mlrun_containers(docker_client)
    proc = spawn_mlrun("run", str(project), "--grace-period", "3", "--json")
    wait_until((signals / "started").exists, "the container to start")
    (name,) = mlrun_containers(docker_client) - before
    assert docker_client.containers.get(name).status == "running"
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert name not in mlrun_containers(docker_client)  # gone, not just stopped
    shown = show(split_output(out)[1]["run_id"])
    assert (shown["status"], shown["exit_code"]) == ("KILLED", code)
    assert name == f"mlrun-{shown['run_id']}"


def test_python_api_cancel_removes_the_container(
    tmp_path: Path, busybox_image: str, docker_client: Any
) -> None:
    import mlrun

    signals = tmp_path / "signals"
    signals.mkdir()
    project = _docker_project(
        tmp_path / "p",
        busybox_image,
        """\
  main:
    command: "sh -c 'echo $GREETING > /signals/t && mv /signals/t /signals/started; sleep 300'"
""",
        extra=f'  volumes: ["{signals}:/signals"]\n',
    )
    before = mlrun_containers(docker_client)
    submitted = mlrun.run(
        str(project), synchronous=False, echo=False, docker_args={"env": "GREETING=hello"}
    )
    wait_until((signals / "started").exists, "the container to start")
    assert (signals / "started").read_text() == "hello\n"
    (name,) = mlrun_containers(docker_client) - before
    assert name == f"mlrun-{submitted.run_id}"
    submitted.cancel()
    assert submitted.get_status() == "KILLED"
    assert submitted.exit_code == 143
    assert name not in mlrun_containers(docker_client)
