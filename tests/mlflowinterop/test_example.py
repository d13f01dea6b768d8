"""example_projects/sklearn-elasticnet, as the README runs it: embedded, then against a
real tracking server."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.dockerenv.runs import run_json
from tests.mlflowinterop.conftest import listing
from tests.services import MlflowServer, read_mlflow_run

EXAMPLE = REPO / "example_projects" / "sklearn-elasticnet"

pytestmark = pytest.mark.slow


def test_the_example_runs_embedded_and_on_a_server(
    monkeypatch: pytest.MonkeyPatch, mlflow_server: MlflowServer
) -> None:
    before = listing(EXAMPLE)
    _, output, record = run_json(EXAMPLE, "-P", "alpha=0.3")
    assert "RMSE:" in output and record["status"] == "FINISHED"
    assert record["params"]["alpha"] == "0.3" and record["params"]["l1_ratio"] == "0.1"
    keys = [m["key"] for m in record["metrics"]]
    assert {"rmse", "mae", "r2"} <= set(keys) and keys.count("rmse_by_train_size") == 6
    assert record["tags"] == {"model_family": "linear"}
    assert "residuals.csv" in {a["path"] for a in record["artifacts"]}
    (model,) = record["models"]
    assert model["flavors"] == ["python_function", "sklearn"]
    assert (Path(model["path"]) / "MLmodel").is_file()
    assert listing(EXAMPLE) == before

    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.url)
    _, _, record = run_json(EXAMPLE, "-P", "alpha=0.3", "--experiment-name", "wine")
    back = read_mlflow_run(mlflow_server.url, record["mlflow"]["run_id"])
    assert back["status"] == "FINISHED" and back["params"]["alpha"] == "0.3"
    assert {"rmse", "mae", "r2", "rmse_by_train_size"} <= set(back["metrics"])
    assert "residuals.csv" in back["artifacts"]
    assert record["experiment"] == "wine" and listing(EXAMPLE) == before
