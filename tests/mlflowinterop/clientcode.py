"""Project code for the interop tests: what an MLflow user's train.py does with the real
client (params, metrics with steps, a tag, an artifact, a pyfunc model, a nested run)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TRAIN = """\
import json, os, sys, tempfile
import mlflow
import mlflow.pyfunc


class Echo(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input


major = int(mlflow.__version__.split(".")[0])
given_run_id = os.environ.get("MLFLOW_RUN_ID")
with mlflow.start_run() as run:
    mlflow.log_param("lr", "0.01")
    for step in range(3):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
    mlflow.set_tag("team", "wine")
    note = os.path.join(tempfile.mkdtemp(), "note.txt")
    with open(note, "w") as handle:
        handle.write("hello from the code")
    mlflow.log_artifact(note, artifact_path="notes")
    where = {"name": "model"} if major >= 3 else {"artifact_path": "model"}
    mlflow.pyfunc.log_model(python_model=Echo(), pip_requirements=["mlflow-skinny"], **where)
    with mlflow.start_run(nested=True, run_name="inner") as child:
        mlflow.log_metric("inner_score", 0.5)
    print("seen", json.dumps({
        "run_id": run.info.run_id,
        "child_id": child.info.run_id,
        "experiment_id": run.info.experiment_id,
        "version": mlflow.__version__,
        "tracking_uri": mlflow.get_tracking_uri(),
        "env_run_id": given_run_id,
    }))
"""


def seen(output: str) -> dict[str, Any]:
    """What the code printed about its run (`seen {...}`)."""
    for line in output.splitlines():
        if line.startswith("seen "):
            data: dict[str, Any] = json.loads(line[5:])
            return data
    raise AssertionError(f"the code printed no 'seen' line:\n{output}")


def check_landed(record: dict[str, Any], output: str, version: str) -> dict[str, Any]:
    """Everything TRAIN logged is in mlrun's record (run with -P alpha=0.25, embedded).
    Returns what the code printed about its run."""
    from tests.dockerenv.runs import show

    ids = seen(output)
    run_id = record["run_id"]
    assert ids["version"] == version
    # The code attached to the run mlrun created (one id for both), in the run directory.
    assert ids["run_id"] == ids["env_run_id"] == run_id
    assert ids["tracking_uri"] == (Path(record["run_dir"]) / "mlflow").as_uri()
    assert record["status"] == "FINISHED"
    assert record["params"] == {"alpha": "0.25", "lr": "0.01"}
    loss = [(m["step"], m["value"]) for m in record["metrics"] if m["key"] == "loss"]
    assert loss == [(0, 1.0), (1, 0.5), (2, 1 / 3)]
    assert all(m["timestamp"] > 1e9 for m in record["metrics"])
    assert record["tags"] == {"team": "wine"}  # the user's; MLflow's and mlrun's apart
    assert record["system_tags"]["mlrun.mlflow.experiment_id"] == ids["experiment_id"]
    assert record["mlflow"]["run_id"] == run_id
    assert record["mlflow"]["tracking_uri"] == ids["tracking_uri"]
    artifacts = {a["path"]: a for a in record["artifacts"]}
    assert artifacts["notes/note.txt"]["size"] == len("hello from the code")
    (model,) = record["models"]
    assert model["flavors"] == ["python_function"] and model["mlflow_version"] == version
    # A relative path is in the run's artifacts; MLflow 3 keeps a logged model apart.
    assert (Path(record["run_dir"]) / "artifacts" / model["path"] / "MLmodel").is_file()
    if int(version.split(".")[0]) >= 3:
        assert model["name"] == "model" and model["model_id"].startswith("m-")
    else:
        assert model["path"] == "model"
    # The nested run is a child run with its own metric.
    child = show(ids["child_id"])
    assert child["parent_run_id"] == run_id and child["run_name"] == "inner"
    assert child["status"] == "FINISHED" and child["system_tags"]["mlrun.kind"] == "mlflow"
    assert [(m["key"], m["value"]) for m in child["metrics"]] == [("inner_score", 0.5)]
    return ids
