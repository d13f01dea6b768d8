"""conda_env projects built without conda (`--env-manager uv|virtualenv`, `--conda-to-pip`),
for real: mlflow/mlflow-example from the corpus (its MLproject and conda.yaml as their
authors wrote them, our own train.py), offline from stand-in wheels, and once from PyPI
with the real mlflow, pandas and scikit-learn."""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CORPUS, require_service
from tests.envs.projects import assert_bytecode_used, run_json
from tests.envs.wheelhouse import build_standins
from tests.helpers import mlrun, write_project

pytestmark = pytest.mark.slow  # every test builds an env

EXAMPLE = CORPUS / "mlflow__mlflow-example"
IGNORED = "numpy>=1.14.3, pandas>=1.0.0, scikit-learn>0.19.1"

# What the real example's train.py needs, reported instead of trained (the stand-ins
# have no code). Its arguments are the entry point's {alpha} {l1_ratio}.
TRAIN = """\
import importlib.util, json, sys
import mlflow
with mlflow.start_run():
    mlflow.log_param("alpha", float(sys.argv[1]))
found = {m: importlib.util.find_spec(m) is not None for m in ("numpy", "pandas", "sklearn")}
print(json.dumps({"mlflow": mlflow.VERSION, "found": found, "logged": mlflow.logged,
                  "python": ".".join(map(str, sys.version_info[:2]))}))
"""


@pytest.fixture
def example(tmp_path: Path, isolated_tools: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The corpus project with a train.py, and the stand-in wheels on the find-links."""
    if not EXAMPLE.is_dir():
        pytest.skip(f"the MLproject corpus is not at {CORPUS}")
    project = tmp_path / "mlflow-example"
    shutil.copytree(EXAMPLE, project)
    (project / "train.py").write_text(TRAIN)
    standins = build_standins(tmp_path / "standins")
    monkeypatch.setenv("MLRUN_FIND_LINKS", f"{isolated_tools} {standins}")
    return project


def _no_conda(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A machine without conda: no conda executable on PATH, and py-rattler hidden from
    mlrun's interpreter (a None in sys.modules reads as "not installed")."""
    hide = tmp_path / "no-rattler"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text("import sys\nsys.modules['rattler'] = None\n")
    monkeypatch.setenv("PYTHONPATH", str(hide))
    monkeypatch.delenv("MLRUN_CONDA_EXE", raising=False)
    keep = [
        d
        for d in os.environ["PATH"].split(os.pathsep)
        if not any(os.path.exists(os.path.join(d, n)) for n in ("conda", "mamba", "micromamba"))
    ]
    monkeypatch.setenv("PATH", os.pathsep.join(keep))


@pytest.mark.parametrize("manager", ["uv", "virtualenv"])
def test_mlflow_example_runs_without_conda_as_mlflow_runs_it(example: Path, manager: str) -> None:
    """MLflow's reading: the `pip:` section (mlflow) and pip as a build dependency; the
    other conda packages are not installed, and the warning names them."""
    proc = mlrun("run", str(example), "--offline", "--env-manager", manager, "--json")
    assert proc.returncode == 0, proc.stderr
    run_id = json.loads(proc.stdout)["run_id"]  # --json: the command's output is in its log
    record = json.loads(mlrun("runs", "show", run_id, "--json", check=True).stdout)
    seen = json.loads(Path(record["log_paths"]["stdout"]).read_text().splitlines()[0])
    assert seen["mlflow"] == "0.0.1" and seen["logged"] == {"alpha": 0.5}
    assert seen["found"] == {"numpy": False, "pandas": False, "sklearn": False}
    assert seen["python"] == f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert f"without conda, these conda packages are not installed: {IGNORED}" in proc.stderr
    assert "names no Python version" in proc.stderr  # as MLflow warns
    assert "Traceback" not in proc.stderr
    assert record["env_kind"] == manager and record["status"] == "FINISHED"
    assert any(p.startswith("pip==") for p in record["env"]["packages"])


def test_conda_to_pip_installs_the_conda_packages_by_pip_name(
    example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_conda(monkeypatch, tmp_path)
    default = mlrun("run", str(example), "--offline")
    assert default.returncode == 125  # conda_env still means conda by default, as MLflow
    assert "no conda was found" in default.stderr and "--conda-to-pip" in default.stderr

    plain = json.loads(
        mlrun("run", str(example), "--dry-run", "--json", "--env-manager", "uv").stdout
    )
    assert plain["env"]["conda_left_out"] == IGNORED.split(", ")
    dry = json.loads(mlrun("run", str(example), "--dry-run", "--json", "--conda-to-pip").stdout)
    assert dry["env_manager"] == "uv"  # --conda-to-pip alone: built without conda
    assert dry["env"]["conda_to_pip"] == IGNORED.split(", ")
    assert dry["env"]["key"] != plain["env"]["key"]

    seen, shown = run_json(example, "--conda-to-pip")
    assert seen["found"] == {"numpy": True, "pandas": True, "sklearn": True}
    env = shown["env"]
    assert env["conda_to_pip"] == {"installed": IGNORED.split(", "), "skipped": []}
    assert {"numpy==1.14.5", "pandas==1.0.1", "scikit-learn==0.20.0"} <= set(env["packages"])
    assert_bytecode_used(Path(env["path"]), "numpy")

    built = mlrun("env", "build", str(example), "--conda-to-pip", "--offline", "--json")
    assert built.returncode == 0, built.stderr
    assert json.loads(built.stdout)["key"] == env["key"]  # `mlrun env build` says the same

    both = mlrun("run", str(example), "--conda-to-pip", "--env-manager", "conda")
    assert both.returncode == 2 and "--conda-to-pip" in both.stderr


def test_conda_to_pip_is_best_effort_the_index_has_the_last_word(
    tmp_path: Path, isolated_tools: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Conda packages with a pip name the index does not have are skipped with a
    warning on every run (the env is built without them); conda-only packages are never
    asked for; the project's own `pip:` section still has to install."""
    project = write_project(
        tmp_path / "p",
        """\
        conda_env: conda.yaml
        entry_points:
          main:
            command: "python -c 'import mlt_gamma, mlt_beta; print(mlt_beta.VERSION)'"
        """,
        {
            "conda.yaml": """\
            dependencies:
              - python
              - mlt-beta=1.0
              - mlt-nowhere>=2
              - cudatoolkit=11.3
              - libgcc-ng
              - pip:
                - mlt-gamma==1.0
            """
        },
    )
    proc = mlrun("run", str(project), "--offline", "--conda-to-pip", "--env-manager", "virtualenv")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "1.0"  # mlt-beta=1.0 -> mlt-beta==1.0.*
    assert "could not install mlt-nowhere>=2 from the package index" in proc.stderr
    assert "cudatoolkit=11.3: a conda-only package" in proc.stderr
    assert "libgcc-ng: a conda-only package" in proc.stderr
    assert "`python` does not name one Python version" in proc.stderr
    again = mlrun("run", str(project), "--offline", "--conda-to-pip", "--env-manager", "virtualenv")
    assert again.returncode == 0 and "could not install mlt-nowhere>=2" in again.stderr
    log = Path(proc.stderr.split("the build log says why: ")[1].split(")")[0]).read_text()
    assert "mlt-nowhere" in log and "cudatoolkit" not in log  # never asked for

    (project / "conda.yaml").write_text(
        "dependencies: [python, mlt-beta=1.0, {pip: [mlt-missing==9]}]\n"
    )
    failed = mlrun("run", str(project), "--offline", "--conda-to-pip")
    assert failed.returncode == 125 and "mlt-missing" in failed.stderr


def test_validate_says_what_a_build_without_conda_leaves_out(
    example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = json.loads(mlrun("validate", str(example), "--json", check=True).stdout)
    without = summary["env"]["without_conda"]
    assert without["python"] is None and without["pip"] == ["mlflow"]
    assert without["build_dependencies"] == ["pip"]
    assert without["not_installed"] == IGNORED.split(", ")
    assert without["conda_to_pip"]["scikit-learn>0.19.1"] == "scikit-learn>0.19.1"

    _no_conda(monkeypatch, tmp_path)
    proc = mlrun("validate", str(example))
    assert proc.returncode == 0
    assert "no conda on this machine" in proc.stderr and IGNORED in proc.stderr
    assert "--conda-to-pip would install" in proc.stderr
    assert mlrun("validate", str(example), "--strict").returncode == 2


def test_the_python_api_takes_conda_to_pip(example: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import mlrun as api
    from mlrun.tracking import open_store

    monkeypatch.setenv("UV_OFFLINE", "1")  # the API has no --offline: uv's own switch
    submitted = api.run(str(example), conda_to_pip=True, echo=False)
    assert submitted.get_status() == "FINISHED"
    record = open_store(None).get_run(submitted.run_id)
    assert record.env_kind == "uv"
    assert record.env["conda_to_pip"]["installed"] == IGNORED.split(", ")


def _pypi_reachable() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
    except OSError:
        return False
    return True


REAL_TRAIN = """\
import sys
import numpy as np
import pandas as pd
from sklearn.linear_model import ElasticNet
from sklearn.model_selection import train_test_split
import mlflow
import mlflow.sklearn

rng = np.random.default_rng(40)
data = pd.DataFrame(rng.normal(size=(200, 4)), columns=list("abcd"))
data["quality"] = data.a * 2 - data.b + rng.normal(scale=0.1, size=200)
train, test = train_test_split(data, random_state=40)
model = ElasticNet(alpha=float(sys.argv[1]), l1_ratio=float(sys.argv[2]), random_state=42)
model.fit(train.drop(columns="quality"), train.quality)
print("r2", round(model.score(test.drop(columns="quality"), test.quality), 2))
print("mlflow", mlflow.__version__)
"""


def test_mlflow_example_from_pypi_under_uv(
    tmp_path: Path, isolated_tools: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real thing: mlflow (and through it pandas, numpy, scikit-learn) from PyPI
    into a uv env built from the corpus conda.yaml; the entry point trains a model."""
    if not EXAMPLE.is_dir():
        pytest.skip(f"the MLproject corpus is not at {CORPUS}")
    require_service(_pypi_reachable(), "PyPI (pypi.org) is not reachable")
    project = tmp_path / "mlflow-example"
    shutil.copytree(EXAMPLE, project)
    (project / "train.py").write_text(REAL_TRAIN)
    monkeypatch.setenv("MLRUN_FIND_LINKS", "")
    proc = mlrun("run", str(project), "--env-manager", "uv", "-P", "alpha=0.1", timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "r2 0.9" in proc.stdout and "mlflow 3." in proc.stdout
    assert f"not installed: {IGNORED}" in proc.stderr
    prefix = _env_prefix(project)
    for module in ("sklearn", "pandas"):
        assert_bytecode_used(prefix, module)


def _env_prefix(project: Path) -> Path:
    from mlrun.envs.cache.store import EnvCache

    out = mlrun("run", str(project), "--env-manager", "uv", "--dry-run", "--json", check=True)
    plan: dict[str, Any] = json.loads(out.stdout)
    assert plan["env"]["cached"] is True
    return EnvCache().prefix(plan["env"]["key"])
