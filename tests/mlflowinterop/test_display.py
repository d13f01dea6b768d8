"""Seeing what the code logged: `mlrun runs show` (text, --history, --json) and
`mlrun runs list --metric NAME [--sort asc|desc]`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import mlrun, write_project

# Logs a metric history through mlrun's outputs protocol and saves a model directory
# with an MLmodel file (what mlflow.<flavor>.save_model writes) among its artifacts.
STEP = """\
import json, os, sys
run_dir = os.environ["MLRUN_RUN_DIR"]
values = [float(v) for v in sys.argv[1].split(",")]
with open(os.path.join(run_dir, "metrics.jsonl"), "w") as handle:
    for step, value in enumerate(values):
        handle.write(json.dumps({"key": "rmse", "value": value, "step": step}) + "\\n")
with open(os.path.join(run_dir, "tags.json"), "w") as handle:
    json.dump({"team": "wine"}, handle)
model = os.path.join(run_dir, "artifacts", "model")
os.makedirs(model)
with open(os.path.join(model, "MLmodel"), "w") as handle:
    handle.write("flavors:\\n  python_function: {loader_module: x}\\n  sklearn: {}\\n"
                 "mlflow_version: 2.22.4\\nmodel_uuid: abc123\\n")
"""

pytestmark = pytest.mark.slow  # real mlrun runs


@pytest.fixture(autouse=True)
def _own_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLRUN_HOME", str(tmp_path / "home"))  # these tests list all runs


def project(root: Path) -> Path:
    return write_project(
        root,
        """\
        entry_points:
          main:
            parameters: {values: string}
            command: "python step.py {values}"
          plain:
            command: "true"
        """,
        {"step.py": STEP},
    )


def run(project_dir: Path, *args: str) -> str:
    proc = mlrun("run", str(project_dir), *args, "--json", check=True)
    run_id: str = json.loads(proc.stdout)["run_id"]
    return run_id


def test_runs_show_gives_metric_history_models_and_tags_apart(tmp_path: Path) -> None:
    run_id = run(project(tmp_path / "p"), "-P", "values=0.9,0.5,0.7")
    data: dict[str, Any] = json.loads(mlrun("runs", "show", run_id, "--json", check=True).stdout)
    assert [(m["step"], m["value"]) for m in data["metrics"]] == [(0, 0.9), (1, 0.5), (2, 0.7)]
    assert all(m["key"] == "rmse" and m["timestamp"] > 0 for m in data["metrics"])
    assert data["models"] == [
        {
            "path": "model",
            "name": "model",
            "flavors": ["python_function", "sklearn"],
            "model_id": "abc123",
            "mlflow_version": "2.22.4",
        }
    ]
    assert data["tags"] == {"team": "wine"}
    assert data["system_tags"]["mlrun.mlflow.run_id"] == run_id
    assert data["mlflow"] == {
        "tracking_uri": (Path(data["run_dir"]) / "mlflow").as_uri(),
        "run_id": run_id,
        "experiment_id": "0",
    }
    text = mlrun("runs", "show", run_id, check=True).stdout
    assert "  rmse: 0.7 (step 2), 3 values, min 0.5, max 0.9" in text
    assert "  model [python_function, sklearn] at model" in text
    assert f"mlflow run   {run_id} in file://" in text
    tags, system = text.index("\ntags:\n  team: wine"), text.index("\nsystem tags:\n")
    assert tags < system
    history = mlrun("runs", "show", run_id, "--history", check=True).stdout
    assert [line.split()[:4] for line in history.splitlines() if "step " in line] == [
        ["step", "0", "0.9", history.split("step 0")[1].split()[1]],
        ["step", "1", "0.5", history.split("step 1")[1].split()[1]],
        ["step", "2", "0.7", history.split("step 2")[1].split()[1]],
    ]


def test_runs_list_shows_a_metric_column_and_sorts_by_it(tmp_path: Path) -> None:
    p = project(tmp_path / "p")
    ids = {v: run(p, "-P", f"values=1,{v}") for v in ("0.3", "0.1", "0.2")}
    none = run(p, "-e", "plain")
    table = mlrun("runs", "list", "--metric", "rmse", check=True).stdout.splitlines()
    assert table[0].split()[-2:] == ["RMSE", "SOURCE"]
    rows = {line.split()[0]: line.split()[-2] for line in table[1:]}
    assert rows[ids["0.1"][:12]] == "0.1" and rows[none[:12]] == "-"
    best = mlrun("runs", "list", "--metric", "rmse", "--sort", "asc", "--limit", "2", check=True)
    assert [line.split()[0] for line in best.stdout.splitlines()[1:]] == [
        ids["0.1"][:12],
        ids["0.2"][:12],
    ]
    worst = mlrun("runs", "list", "--metric", "rmse", "--sort", "desc", "--json", check=True)
    order = [r["run_id"] for r in json.loads(worst.stdout)]
    assert order == [ids["0.3"], ids["0.2"], ids["0.1"], none]  # without the metric: last
    bad = mlrun("runs", "list", "--sort", "asc")
    assert bad.returncode == 2 and "--metric" in bad.stderr
