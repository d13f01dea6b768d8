"""Shared fixtures. No test may touch the user's real data or cache directories: every
test gets its own MLRUN_HOME, and the platform defaults are made to fail loudly."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import services

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus" / "mlproject"


@pytest.fixture(autouse=True)
def mlrun_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("mlrun-home")
    monkeypatch.setenv("MLRUN_HOME", str(home))
    monkeypatch.delenv("MLRUN_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLRUN_RUN_ID", raising=False)
    monkeypatch.delenv("MLRUN_RUN_DIR", raising=False)
    return home


@pytest.fixture(autouse=True, scope="session")
def _forbid_platform_dirs() -> Iterator[None]:
    import platformdirs

    def _boom(*args: object, **kwargs: object) -> str:
        raise AssertionError("a test reached the user's real mlrun directory")

    saved = (platformdirs.user_data_dir, platformdirs.user_cache_dir)
    platformdirs.user_data_dir = _boom  # type: ignore[assignment]
    platformdirs.user_cache_dir = _boom  # type: ignore[assignment]
    yield
    platformdirs.user_data_dir, platformdirs.user_cache_dir = saved


def mlrun_cmd() -> list[str]:
    """argv prefix that runs the mlrun CLI of this checkout in a subprocess."""
    return [sys.executable, "-m", "mlrun"]


def require_service(available: bool, reason: str) -> None:
    """Skip when a real engine is absent, but fail when CI demands every service."""
    if available:
        return
    if os.environ.get("MLRUN_REQUIRE_SERVICES") == "1":
        pytest.fail(f"required service unavailable (MLRUN_REQUIRE_SERVICES=1): {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[services.MlflowServer]:
    """One real `mlflow server` (SQLite store, served artifacts) for the test session.
    Tests that stop or reconfigure a server start their own with services.serve_mlflow."""
    require_service(services.mlflow_executable() is not None, services.NO_MLFLOW)
    with services.serve_mlflow(tmp_path_factory.mktemp("mlflow-server")) as server:
        yield server
