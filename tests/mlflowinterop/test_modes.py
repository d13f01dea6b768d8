"""Where the MLflow run goes: MLFLOW_TRACKING_URI unset (a run-private store), a file:
store of the user's, a store mlrun cannot serve (exit 2, nothing recorded), or none at
all (MLRUN_MLFLOW=off). Runs the code starts itself become child runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.dockerenv.runs import run_json, show, split_output
from tests.helpers import cli, mlrun, write_project
from tests.mlflowinterop.clientcode import seen
from tests.mlflowinterop.conftest import MLFLOW3, client_project

SEVERAL_RUNS = """\
import json
import mlflow
first = mlflow.start_run()
mlflow.log_metric("train/loss", 0.25, step=4)  # a key with a slash: nested directories
mlflow.log_param("opt/name", "adam")
mlflow.end_run()
with mlflow.start_run(run_name="second") as second:  # not nested: a run of its own
    mlflow.log_metric("score", 2.0)
    with mlflow.start_run(run_name="grandchild", nested=True) as third:
        mlflow.set_tag("depth", "2")
print("seen", json.dumps({"first": first.info.run_id, "second": second.info.run_id,
                          "third": third.info.run_id, "uri": mlflow.get_tracking_uri(),
                          "experiment": first.info.experiment_id}))
"""


@pytest.mark.slow
def test_runs_the_code_starts_become_child_runs(tmp_path: Path) -> None:
    project = client_project(tmp_path / "p", MLFLOW3, SEVERAL_RUNS)
    _, output, record = run_json(project)
    ids = seen(output)
    assert ids["first"] == record["run_id"]
    assert [(m["key"], m["value"], m["step"]) for m in record["metrics"]] == [
        ("train/loss", 0.25, 4)
    ]
    assert record["params"]["opt/name"] == "adam"
    second, third = show(ids["second"]), show(ids["third"])
    assert second["parent_run_id"] == record["run_id"] and second["run_name"] == "second"
    assert third["parent_run_id"] == ids["second"] and third["tags"]["depth"] == "2"
    assert [(m["key"], m["value"]) for m in second["metrics"]] == [("score", 2.0)]


@pytest.mark.slow
def test_a_file_store_of_the_users_gets_the_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "mlruns"
    # A run someone else made in that store earlier: not ours, not imported.
    foreign = store / "0" / ("f" * 32)
    for sub in ("params", "metrics", "artifacts", "tags"):
        (foreign / sub).mkdir(parents=True)
    (foreign / "meta.yaml").write_text(f"run_id: {'f' * 32}\nexperiment_id: '0'\nstatus: 3\n")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store.as_uri())
    project = client_project(tmp_path / "p", MLFLOW3, SEVERAL_RUNS)
    runs = [run_json(project, "--experiment-name", "wine")[1:] for _ in range(2)]
    experiments = {seen(output)["experiment"] for output, _ in runs}
    assert len(experiments) == 1  # created once, found the second time
    (experiment,) = experiments
    assert 'name: "wine"' in (store / experiment / "meta.yaml").read_text()
    for output, record in runs:
        ids = seen(output)
        assert ids["uri"] == store.as_uri() and (store / experiment / record["run_id"]).is_dir()
        assert record["mlflow"]["tracking_uri"] == store.as_uri()
        # Only the runs this run started are its children (a shared store holds others);
        # the non-nested "second" cannot be told apart from a stranger's run there.
        children = json.loads(mlrun("runs", "list", "--json", check=True).stdout)
        assert "f" * 32 not in {c["run_id"] for c in children}
        assert ids["third"] not in {c["run_id"] for c in children}


@pytest.mark.parametrize(
    "uri", ["sqlite:///mlflow.db", "postgresql://u:secret@db/mlflow", "databricks"]
)
def test_a_store_mlrun_cannot_serve_is_exit_2_before_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, uri: str
) -> None:
    project = write_project(tmp_path / "p", "entry_points:\n  main:\n    command: 'true'\n")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    proc = cli("run", str(project))
    assert proc.returncode == 2, proc.stderr
    assert "MLFLOW_TRACKING_URI" in proc.stderr and "tracking server" in proc.stderr
    assert "secret" not in proc.stderr and "Traceback" not in proc.stderr
    runs = json.loads(cli("runs", "list", "--json", check=True).stdout)
    assert str(project) not in {r["source_uri"] for r in runs}  # nothing recorded


@pytest.mark.slow
def test_mlrun_mlflow_off_gives_the_command_no_mlflow_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = write_project(
        tmp_path / "p",
        "entry_points:\n  main:\n    command: 'env'\n",
    )
    monkeypatch.setenv("MLRUN_MLFLOW", "off")
    proc = mlrun("run", str(project), "--json")
    assert proc.returncode == 0, proc.stderr
    output, result = split_output(proc.stdout)
    assert "PATH=" in output and "MLFLOW_" not in output
    record = show(result["run_id"])
    assert not (Path(record["run_dir"]) / "mlflow").exists()
    assert record["mlflow"] is None and not record["system_tags"]
    monkeypatch.delenv("MLRUN_MLFLOW")
    proc = mlrun("run", str(project))
    assert "MLFLOW_RUN_ID=" in proc.stdout and "MLFLOW_ALLOW_FILE_STORE=true" in proc.stdout


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (None, {"mode": "embedded", "tracking_uri": None}),
        (
            "https://user:pw@mlflow.example/x",
            {"mode": "server", "tracking_uri": "https://mlflow.example/x"},
        ),
        ("file:///tmp/mlruns", {"mode": "file", "tracking_uri": "file:///tmp/mlruns"}),
    ],
)
def test_dry_run_says_where_the_mlflow_run_would_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, uri: str | None, expected: dict[str, str]
) -> None:
    project = write_project(tmp_path / "p", "entry_points:\n  main:\n    command: 'true'\n")
    if uri:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    proc = cli("run", str(project), "--dry-run", "--json", check=True)
    assert json.loads(proc.stdout)["mlflow"] == expected
    assert "pw" not in proc.stdout


MESS = """\
import os
from urllib.parse import unquote, urlsplit
root = unquote(urlsplit(os.environ["MLFLOW_TRACKING_URI"]).path)
run = os.path.join(root, "0", os.environ["MLFLOW_RUN_ID"])
with open(os.path.join(run, "metrics", "loss"), "w") as handle:
    handle.write("1000 0.5 0\\nnot a metric line\\n2000 0.25 1\\n")
other = os.path.join(root, "0", "b" * 32)
for sub in ("metrics", "params", "tags", "artifacts"):
    os.makedirs(os.path.join(other, sub))
with open(os.path.join(other, "meta.yaml"), "w") as handle:
    handle.write("{{{ not yaml")
"""


@pytest.mark.slow
def test_a_store_the_code_left_in_a_mess_costs_warnings_not_the_run(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p", "entry_points:\n  main:\n    command: 'python mess.py'\n", {"mess.py": MESS}
    )
    proc = mlrun("run", str(project), "--json")
    assert proc.returncode == 0, proc.stderr
    assert "metrics/loss:2: metric value ignored ('not a metric line')" in proc.stderr
    record = show(split_output(proc.stdout)[1]["run_id"])
    assert record["status"] == "FINISHED"
    assert [(m["step"], m["value"]) for m in record["metrics"]] == [(0, 0.5), (1, 0.25)]
    child = show("b" * 32)  # a run without readable metadata still becomes a child run
    assert child["parent_run_id"] == record["run_id"] and child["status"] == "KILLED"
