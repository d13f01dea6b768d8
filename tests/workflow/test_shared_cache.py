"""Two machines share runs and the step cache: simulated as two MLRUN_HOMEs (each its
own env cache, git mirrors and step locks) sharing one run store and one artifact root.
The example workflow (example_projects/wine-pipeline) run on the first is fully cached on
the second, which has its checkout at another path; when the second cannot read a cached
run's files, the step re-runs and one line says which step and which path.

Parametrised over the store kind: a shared SQLite file (which also stands for a store
on a network filesystem) and PostgreSQL (tests/services.py; skipped without it, failed
under MLRUN_REQUIRE_SERVICES=1)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import services
from tests.conftest import require_service
from tests.helpers import REPO, mlrun

pytestmark = pytest.mark.slow  # real workflow runs, two per test

STEPS = ["download", "prepare", "train[alpha=0.01]", "train[alpha=0.1]", "train[alpha=1.0]"]
STEPS.append("evaluate")


class Machine:
    """One simulated machine: its own MLRUN_HOME; the store and root as given."""

    def __init__(self, home: Path, store: str, root: Path | None) -> None:
        self.home = home
        self.env = {**os.environ, "MLRUN_HOME": str(home), "MLRUN_TRACKING_URI": store}
        self.env.pop("MLRUN_ARTIFACT_ROOT", None)
        if root is not None:
            self.env["MLRUN_ARTIFACT_ROOT"] = str(root)

    def run(self, project: Path) -> tuple[dict[str, Any], str]:
        proc = mlrun("run", str(project), "-e", "pipeline", "--json", "-q", env=self.env)
        assert proc.returncode == 0, (proc.stdout, proc.stderr)
        return json.loads(proc.stdout), proc.stderr


def _steps(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in result["steps"]}


@contextlib.contextmanager
def _shared(kind: str, tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    """(store URI, artifact root, project): what every machine sees at the same path."""
    mount = tmp_path / "mnt"
    mount.mkdir()
    project = tmp_path / "checkout" / "wine-pipeline"
    shutil.copytree(REPO / "example_projects" / "wine-pipeline", project)
    if kind == "sqlite":
        yield str(mount / "mlrun.db"), mount / "mlrun-runs", project
        return
    require_service(services.postgres_dsn() is not None, services.NO_POSTGRES)
    with services.fresh_postgres_uri() as uri:  # a private schema, dropped afterwards
        yield uri, mount / "mlrun-runs", project


@pytest.fixture(params=["sqlite", "postgres"])
def shared(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    with _shared(request.param, tmp_path) as found:
        yield found


def test_a_workflow_run_on_one_machine_is_fully_cached_on_another(
    shared: tuple[str, Path, Path], tmp_path: Path
) -> None:
    store, root, project = shared
    first, second = (Machine(tmp_path / name, store, root) for name in ("home-a", "home-b"))
    a, _ = first.run(project)
    assert {n: s["status"] for n, s in _steps(a).items()} == dict.fromkeys(STEPS, "finished")
    # Machine A's own disk is gone for B: only the store and the root are shared. B has
    # its own checkout of the project, at another path.
    shutil.rmtree(first.home)
    elsewhere = tmp_path / "home-b" / "src" / "wine"
    shutil.copytree(project, elsewhere)
    shutil.rmtree(project)
    b, err = second.run(elsewhere)
    by_name = _steps(b)
    assert {n: s["status"] for n, s in by_name.items()} == dict.fromkeys(STEPS, "cached"), err
    for name, step in _steps(a).items():
        assert by_name[name]["run_id"] == step["run_id"]  # A's very runs
        assert by_name[name]["reason"].startswith("same inputs as the run of")
    assert b["outputs"] == a["outputs"]  # the result, read from the shared root
    model = Path(b["outputs"]["evaluate"]["model"])
    assert model.is_file() and model.is_relative_to(root)
    # The caches stay per machine: B built its own, nothing of A's was needed.
    assert not (second.home / "runs").exists()  # no run files on B's private disk
    assert (second.home / "cache").is_dir()


def test_a_cached_run_whose_files_are_on_another_machine_reruns_and_says_why(
    shared: tuple[str, Path, Path], tmp_path: Path
) -> None:
    store, root, project = shared
    private_a = tmp_path / "home-a" / "runs"  # A's own disk: B cannot read it
    private_a.parent.mkdir()
    first = Machine(tmp_path / "home-a", store, private_a)
    second = Machine(tmp_path / "home-b", store, root)
    a, _ = first.run(project)
    shutil.rmtree(first.home)  # another machine's disk, as B sees it
    b, err = second.run(project)
    by_name = _steps(b)
    assert {n: s["status"] for n, s in by_name.items()} == dict.fromkeys(STEPS, "finished")
    a_runs = {n: s["run_id"] for n, s in _steps(a).items()}
    missing = private_a / a_runs["download"] / "outputs"
    said = [x for x in err.splitlines() if "has this key, but" in x]
    assert said == [
        f"mlrun: warning: step download: run {a_runs['download'][:12]} (recorded on "
        f"{socket.gethostname()}) has this key, but {missing} does not exist here; "
        "running it again"
    ], err
    assert by_name["download"]["reason"].endswith(f"{missing} does not exist here")
    # Its new output (a file in its new run directory) is a new input downstream.
    assert by_name["prepare"]["reason"].startswith("parameter raw: "), by_name["prepare"]
    # B's runs are on the shared root: a third machine reuses them.
    third = Machine(tmp_path / "home-c", store, root)
    c, _ = third.run(project)
    assert {n: s["status"] for n, s in _steps(c).items()} == dict.fromkeys(STEPS, "cached")


def test_a_shared_store_without_a_root_warns_that_files_stay_private(tmp_path: Path) -> None:
    # (A SQLite store keeps its run files next to its file: shared with it.)
    with _shared("postgres", tmp_path) as (store, _root, project):
        first = Machine(tmp_path / "home-a", store, None)
        a, err = first.run(project)
    local = first.home / "runs"
    said = f"mlrun: warning: run files go to {local} on this machine, which other machines"
    warned = [x for x in err.splitlines() if x.startswith(said)]
    assert len(warned) == 1, err  # once per mlrun process, not once per step
    assert all((local / s["run_id"] / "outputs").is_dir() for s in a["steps"])
