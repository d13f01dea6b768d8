"""Project code for the interop tests: what an MLflow user's train.py does with the real
client (params, metrics with steps, a tag, an artifact, a pyfunc model, a nested run)."""

from __future__ import annotations

import json
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
