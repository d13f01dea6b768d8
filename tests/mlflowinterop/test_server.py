"""A real `mlflow server` on loopback: runs made through mlrun are read back with the
real MlflowClient; statuses follow the command; credentials never leak; a server that
is down stops the run before anything runs (exit 125)."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from pathlib import Path

import pytest

from tests.dockerenv.runs import run_json, show, split_output
from tests.helpers import mlrun, spawn_mlrun, write_project
from tests.mlflowinterop.clientcode import TRAIN, seen
from tests.mlflowinterop.conftest import CLIENTS, client_project
from tests.services import MlflowServer, free_port, read_mlflow_run, serve_mlflow

# The code also uses mlrun's outputs protocol: mlrun sends what it collected to the run.
PROTOCOL = """
run_dir = os.environ["MLRUN_RUN_DIR"]
with open(os.path.join(run_dir, "params.json"), "w") as handle:
    json.dump({"batch": 32}, handle)
with open(os.path.join(run_dir, "tags.json"), "w") as handle:
    json.dump({"stage": "train"}, handle)
with open(os.path.join(run_dir, "metrics.jsonl"), "w") as handle:
    for step in range(2):
        handle.write(json.dumps({"key": "epoch_time", "value": 10.0 + step, "step": step}) + "\\n")
os.makedirs(os.path.join(run_dir, "artifacts"), exist_ok=True)
with open(os.path.join(run_dir, "artifacts", "report.txt"), "w") as handle:
    handle.write("report")
"""

pytestmark = pytest.mark.slow  # a real mlflow server, real mlrun runs


@pytest.mark.parametrize("version", CLIENTS)
def test_a_run_through_mlrun_reads_back_with_mlflowclient(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mlflow_server: MlflowServer, version: str
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.url)
    project = client_project(tmp_path / "p", version, TRAIN + PROTOCOL)
    proc, output, record = run_json(project, "-P", "alpha=0.25", "--experiment-name", "wine")
    ids = seen(output)
    run_id = record["mlflow"]["run_id"]
    assert ids["run_id"] == ids["env_run_id"] == run_id != record["run_id"]
    assert record["mlflow"]["tracking_uri"] == mlflow_server.url
    back = read_mlflow_run(mlflow_server.url, run_id)
    assert back["status"] == "FINISHED" and back["end_time"]
    assert back["params"] == {"alpha": "0.25", "lr": "0.01", "batch": "32"}
    tags = back["tags"]
    assert tags["team"] == "wine" and tags["stage"] == "train"
    assert tags["mlflow.source.type"] == "PROJECT"
    assert tags["mlflow.source.name"] == str(project)
    assert tags["mlflow.project.entryPoint"] == "main" and tags["mlflow.project.env"] == "uv"
    assert tags["mlflow.project.backend"] == "local" and tags["mlflow.user"] == record["user"]
    assert tags["mlflow.runName"] == "main-" + record["run_id"][:8]
    assert back["history"]["loss"] == [[0, 1.0], [1, 0.5], [2, 1 / 3]]
    assert back["history"]["epoch_time"] == [[0, 10.0], [1, 11.0]]
    assert {"notes/note.txt", "report.txt"} <= set(back["artifacts"])
    # What the code logged on the server is in mlrun's record too.
    assert record["params"]["lr"] == "0.01" and record["tags"]["team"] == "wine"
    loss = [(m["step"], m["value"]) for m in record["metrics"] if m["key"] == "loss"]
    assert loss == [(0, 1.0), (1, 0.5), (2, 1 / 3)]
    assert record["experiment"] == "wine"
    assert "MLflow run " + run_id in proc.stderr
    # The nested run the code started is nested on the server, and a child run in mlrun.
    child = read_mlflow_run(mlflow_server.url, ids["child_id"])
    assert child["tags"]["mlflow.parentRunId"] == run_id
    mine = show(ids["child_id"])
    assert mine["parent_run_id"] == record["run_id"] and mine["run_name"] == "inner"
    assert [(m["key"], m["value"]) for m in mine["metrics"]] == [("inner_score", 0.5)]
    # The model the code logged on the server is listed with its flavors.
    (model,) = record["models"]
    assert model["flavors"] == ["python_function"] and model["name"] == "model"
    assert model["path"].startswith("mlflow-artifacts:")
    # Nothing of the server went into the project directory.
    assert sorted(p.name for p in project.iterdir()) == ["MLproject", "python_env.yaml", "train.py"]


def test_exit_3_is_failed_and_sigterm_is_killed_on_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mlflow_server: MlflowServer
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.url)
    ready = tmp_path / "ready"
    project = write_project(
        tmp_path / "p",
        f"""\
        entry_points:
          fail:
            command: "python -c 'import sys; sys.exit(3)'"
          hang:
            command: "bash -c 'touch {ready}; sleep 300'"
        """,
    )
    _, _, failed = run_json(project, "-e", "fail", code=3)
    back = read_mlflow_run(mlflow_server.url, failed["mlflow"]["run_id"])
    assert failed["status"] == back["status"] == "FAILED" and back["end_time"]
    text = mlrun("runs", "show", failed["run_id"], check=True).stdout
    assert f"{mlflow_server.url}/#/experiments/{back['experiment_id']}/runs/" in text
    proc = spawn_mlrun("run", str(project), "-e", "hang", "--json")
    deadline = time.monotonic() + 120
    while not ready.exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    killed = show(split_output(out)[1]["run_id"])
    back = read_mlflow_run(mlflow_server.url, killed["mlflow"]["run_id"])
    assert killed["status"] == back["status"] == "KILLED" and back["end_time"]


SCAN = """\
import os
token = os.environ["MLFLOW_TRACKING_TOKEN"].encode()
leaked = []
for pid in os.listdir("/proc"):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            if token in handle.read():
                leaked.append(pid)
    except OSError:
        pass
print("token given:", bool(token), "argv leaks:", leaked)
"""


def test_a_token_appears_in_no_log_store_argv_or_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mlflow_server: MlflowServer
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("MLRUN_HOME", str(home))
    token = f"tok-{uuid.uuid4().hex}"
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.url)
    project = write_project(
        tmp_path / "p",
        """\
        entry_points:
          main:
            command: "python scan.py"
        """,
        {"scan.py": SCAN},
    )
    proc = mlrun("--debug", "run", str(project), "--json")
    assert proc.returncode == 0, proc.stderr
    assert "token given: True argv leaks: []" in proc.stderr  # --json: output on stderr
    shown = mlrun("runs", "show", split_output(proc.stdout)[1]["run_id"], "--json")
    listed = mlrun("runs", "list", "--json")
    for text in (proc.stdout, proc.stderr, shown.stdout, listed.stdout):
        assert token not in text
    files = [Path(top) / name for top, _, names in os.walk(home) for name in names]
    assert any(f.name == "mlrun.db" for f in files) and any(f.suffix == ".log" for f in files)
    for path in files:
        assert token.encode() not in path.read_bytes(), path


def test_a_server_that_is_down_stops_the_run_before_it_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    marker = tmp_path / "ran"
    project = write_project(
        tmp_path / "p", f"entry_points:\n  main:\n    command: 'touch {marker}'\n"
    )
    proc = mlrun("run", str(project), "--json")
    assert proc.returncode == 125, proc.stderr
    assert f"cannot reach the MLflow tracking server at {url}" in proc.stderr
    assert "Traceback" not in proc.stderr and not marker.exists()
    runs = json.loads(mlrun("runs", "list", "--json", check=True).stdout)
    (run,) = [r for r in runs if r["source_uri"] == str(project)]
    assert run["status"] == "FAILED" and run["exit_code"] == 125


def test_basic_auth_as_mlflow_does_it_and_a_refusal_is_exit_125(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = f"pw-{uuid.uuid4().hex}"
    project = write_project(tmp_path / "p", "entry_points:\n  main:\n    command: 'true'\n")
    with serve_mlflow(
        tmp_path / "auth-server",
        args=["--app-name", "basic-auth"],
        env={
            "MLFLOW_AUTH_ADMIN_PASSWORD": password,
            "MLFLOW_FLASK_SERVER_SECRET_KEY": uuid.uuid4().hex,
        },
    ) as server:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "admin")
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "wrong-" + password)
        proc = mlrun("run", str(project))
        assert proc.returncode == 125, proc.stderr
        assert f"the MLflow tracking server at {server.url} refused" in proc.stderr
        assert "401" in proc.stderr and "MLFLOW_TRACKING_PASSWORD" in proc.stderr
        assert password not in proc.stderr + proc.stdout
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", password)
        _, _, record = run_json(project)
        auth = {"MLFLOW_TRACKING_USERNAME": "admin", "MLFLOW_TRACKING_PASSWORD": password}
        back = read_mlflow_run(server.url, record["mlflow"]["run_id"], auth)
        assert back["status"] == "FINISHED" and back["tags"]["mlflow.user"] == record["user"]


def test_a_server_that_goes_away_during_the_run_costs_a_warning_not_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ready, go = tmp_path / "ready", tmp_path / "go"
    project = write_project(
        tmp_path / "p",
        f"""\
        entry_points:
          main:
            command: "bash -c 'echo 7 > $MLRUN_RUN_DIR/x; touch {ready}; \\
                      while [ ! -e {go} ]; do sleep 0.1; done'"
        """,
    )
    with serve_mlflow(tmp_path / "server") as server:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
        proc = spawn_mlrun("run", str(project), "--json")
        deadline = time.monotonic() + 120
        while not ready.exists():
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.1)
    go.touch()  # the server is stopped now
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err  # the command's own status
    assert "cannot reach the MLflow tracking server" in err and "Traceback" not in err
    record = show(split_output(out)[1]["run_id"])
    assert record["status"] == "FINISHED" and record["exit_code"] == 0
