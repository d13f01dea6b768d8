"""Every environment kind gives the command its run's MLflow context: the variables
`mlflow run` sets, the run already in the store they name, and what is written there
lands in the run. (The real MLflow client is exercised in tests/mlflowinterop/, in uv
envs and containers; here a stdlib script writes what the client would, so that the
conda, virtualenv and local kinds are covered offline.)"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.envs.conda_channel import build_channel
from tests.envs.projects import PYTHON
from tests.helpers import mlrun, write_project

# What MLflow's file store does on log_metric, done by hand.
LOGGER = """\
import os, time
from urllib.parse import unquote, urlsplit
root = unquote(urlsplit(os.environ["MLFLOW_TRACKING_URI"]).path)
run = os.path.join(root, os.environ["MLFLOW_EXPERIMENT_ID"], os.environ["MLFLOW_RUN_ID"])
assert os.path.exists(os.path.join(run, "meta.yaml"))
assert os.environ["MLFLOW_ALLOW_FILE_STORE"] == "true"
with open(os.path.join(run, "metrics", "seen"), "a") as handle:
    handle.write(f"{int(time.time() * 1000)} 1.5 3\\n")
print("logged", os.environ["MLFLOW_RUN_ID"])
"""

ENVS = {
    "local": ("", ""),
    "uv": ("python_env: python_env.yaml", f'python: "{PYTHON}"\ndependencies: [mlt-alpha==1.0]\n'),
    "virtualenv": (
        "python_env: python_env.yaml",
        f'python: "{PYTHON}"\nbuild_dependencies: [pip]\ndependencies: [mlt-alpha==1.0]\n',
    ),
    "conda": ("conda_env: conda.yaml", "channels: [./channel]\ndependencies: [hello-mlrun]\n"),
}

pytestmark = pytest.mark.slow  # builds environments


@pytest.mark.parametrize("kind", sorted(ENVS))
def test_every_env_kind_gets_the_mlflow_context(tmp_path: Path, kind: str) -> None:
    if kind == "conda":
        pytest.importorskip("rattler")
    section, env_file = ENVS[kind]
    files = {"log.py": LOGGER}
    if env_file:
        files["conda.yaml" if kind == "conda" else "python_env.yaml"] = env_file
    project = write_project(
        tmp_path / "p",
        f"""\
        {section}
        entry_points:
          main:
            command: "{sys.executable if kind == "conda" else "python"} log.py"
        """,
        files,
    )
    if kind == "conda":
        build_channel(project / "channel")
    args = ["--env-manager", kind] if kind != "conda" else []
    extra = {"MLRUN_CONDA_EXE": "rattler"} if kind == "conda" else {}
    proc = mlrun("run", str(project), "--offline", "--json", *args, env={**os.environ, **extra})
    assert proc.returncode == 0, proc.stderr
    run_id = json.loads(proc.stdout)["run_id"]  # --json: the command's output is on stderr
    assert f"logged {run_id}" in proc.stderr
    record = json.loads(mlrun("runs", "show", run_id, "--json", check=True).stdout)
    assert record["env_kind"] == kind
    assert [(m["key"], m["value"], m["step"]) for m in record["metrics"]] == [("seen", 1.5, 3)]
