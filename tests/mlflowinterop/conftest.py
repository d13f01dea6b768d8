"""The interop tests install the real MLflow client (PyPI `mlflow-skinny`, the current
3.x and one pinned 2.x) in the run's environment, from uv's own cache (not isolated:
repeated builds take seconds). They share one MLRUN_HOME per session so that the env
built for a client version is built once."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dockerenv.conftest import (  # noqa: F401 (the docker tests' fixtures)
    docker_client,
    no_leftover_containers,
    python_image,
)
from tests.helpers import write_project

MLFLOW3 = "3.17.2"
MLFLOW2 = "2.22.4"
CLIENTS = (MLFLOW3, MLFLOW2)
# mlflow.pyfunc imports numpy and pandas, which mlflow-skinny does not bring.
EXTRAS = ("numpy==2.2.6", "pandas==2.2.3")
PYTHON = "3.11"


@pytest.fixture(scope="session")
def shared_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mlflow-home")


@pytest.fixture(autouse=True)
def _interop_env(shared_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("MLRUN_HOME", str(shared_home))
    for name in list(os.environ):
        if name.startswith("MLFLOW_") or name == "MLRUN_MLFLOW":
            monkeypatch.delenv(name)
    yield shared_home


def python_env(version: str) -> str:
    deps = "\n".join(f"  - {d}" for d in (f"mlflow-skinny=={version}", *EXTRAS))
    return f'python: "{PYTHON}"\ndependencies:\n{deps}\n'


def client_project(root: Path, version: str, code: str) -> Path:
    """A python_env project whose `main` runs train.py with the given MLflow client."""
    return write_project(
        root,
        """\
        name: interop
        python_env: python_env.yaml
        entry_points:
          main:
            parameters:
              alpha: {type: float, default: 0.5}
            command: "python train.py --alpha {alpha}"
        """,
        {"python_env.yaml": python_env(version), "train.py": code},
    )


def listing(root: Path) -> list[tuple[str, int]]:
    """Every file and directory under `root` with its size: the project must not change."""
    found = []
    for top, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(top) / name
            size = path.stat().st_size if path.is_file() else -1
            found.append((str(path.relative_to(root)), size))
    return sorted(found)
