"""Shared fixtures. No test may touch the user's real data or cache directories: every
test gets its own MLRUN_HOME, and the platform defaults are made to fail loudly.

Test tiers: `pytest -m "not slow"` is the inner loop; CI runs everything. A test is `slow`
when it builds an environment, needs a docker engine, a git server or another service
(the `docker`, `gitserver` and `slurm` markers imply `slow`: see pytest_collection_modifyitems), or
takes more than about 1 s alone. A run reports the tests outside the slow tier that took longer."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import services

REPO = Path(__file__).resolve().parent.parent
# Third-party MLproject files (and what MLflow made of them): see its README for sources.
CORPUS = REPO / "tests" / "data" / "mlproject"


@pytest.fixture(autouse=True)
def mlrun_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("mlrun-home")
    monkeypatch.setenv("MLRUN_HOME", str(home))
    monkeypatch.delenv("MLRUN_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLRUN_ARTIFACT_ROOT", raising=False)
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


# Markers whose tests are slow by nature: a real engine or server is involved.
SLOW_BY_MARKER = ("docker", "gitserver", "slurm")
FAST_TIER_BUDGET = 1.0  # seconds; a test that needs more belongs in the slow tier
_over_budget: list[tuple[str, float]] = []


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(item.get_closest_marker(name) for name in SLOW_BY_MARKER):
            item.add_marker(pytest.mark.slow)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.duration > FAST_TIER_BUDGET:
        if "slow" not in report.keywords:
            _over_budget.append((report.nodeid, report.duration))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _over_budget:
        return
    terminalreporter.section("fast tier over budget")
    terminalreporter.write_line(
        f"{len(_over_budget)} test(s) not marked slow took more than {FAST_TIER_BUDGET:.0f} s "
        "(on a busy machine everything takes longer): mark them slow, or make them faster"
    )
    for nodeid, seconds in sorted(_over_budget, key=lambda t: -t[1]):
        terminalreporter.write_line(f"  {seconds:5.2f}s {nodeid}")


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


@pytest.fixture
def postgres_uri() -> Iterator[str]:
    """A URI of the test PostgreSQL (password included) whose search path is a new, empty
    schema of this test's own, dropped afterwards (services.fresh_postgres_uri)."""
    require_service(services.postgres_dsn() is not None, services.NO_POSTGRES)
    with services.fresh_postgres_uri() as uri:
        yield uri


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[services.MlflowServer]:
    """One real `mlflow server` (SQLite store, served artifacts) for the test session.
    Tests that stop or reconfigure a server start their own with services.serve_mlflow."""
    require_service(services.mlflow_executable() is not None, services.NO_MLFLOW)
    with services.serve_mlflow(tmp_path_factory.mktemp("mlflow-server")) as server:
        yield server
