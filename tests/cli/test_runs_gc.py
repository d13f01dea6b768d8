"""`mlrun runs delete` and `mlrun runs gc`: a deleted run's files are removed; a live
run's directory, one being created, another store's, and whatever a symlink leads to
never are."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from mlrun.tracking import open_store
from mlrun.tracking.artifacts import MARKER, LocalRoot
from mlrun.tracking.gc import collect, remove
from mlrun.tracking.model import RUNNING
from tests import services
from tests.conftest import require_service
from tests.helpers import cli, write_project
from tests.tracking.conftest import make_new_run

ECHO = """\
name: echo
entry_points:
  main:
    command: "python -c \\"print('x' * 1000)\\""
"""
HOURS_AGO = time.time() - 2 * 3600


def _runs(tmp_path: Path, root: Path, count: int) -> list[str]:
    project = write_project(tmp_path / "echo", ECHO)
    ids = []
    for _ in range(count):
        proc = cli("run", str(project), "--artifact-root", str(root), "--json", "-q")
        assert proc.returncode == 0, proc.stderr
        ids.append(json.loads(proc.stdout)["run_id"])
    return ids


def _age(path: Path) -> None:
    """Make a run directory look untouched for two hours (what gc's age test reads)."""
    for part in (path, path / "outputs", path / "logs", path / MARKER):
        if part.exists():
            os.utime(part, (HOURS_AGO, HOURS_AGO), follow_symlinks=False)


def _bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "shared"


@pytest.fixture(params=["sqlite", "postgres"])
def any_store(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The embedded store, or a private schema of the test PostgreSQL (MLRUN_TRACKING_URI)."""
    if request.param == "sqlite":
        yield open_store().uri
        return
    require_service(services.postgres_dsn() is not None, services.NO_POSTGRES)
    with services.fresh_postgres_uri() as uri:
        monkeypatch.setenv("MLRUN_TRACKING_URI", uri)
        yield open_store().uri


def test_delete_then_gc_removes_only_the_deleted_runs_files(
    tmp_path: Path, root: Path, any_store: str
) -> None:
    keep, gone1, gone2 = _runs(tmp_path, root, 3)
    for run_id in (keep, gone1, gone2):
        _age(root / run_id)
    proc = cli("runs", "delete", gone1, gone2[:10])  # a unique prefix will do
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:2] == [f"deleted run {gone1}", f"deleted run {gone2}"]
    assert "their files stay until `mlrun runs gc`" in proc.stderr
    assert [r.run_id for r in open_store().search_runs()] == [keep]
    expected = _bytes(root / gone1) + _bytes(root / gone2)

    dry = cli("runs", "gc", "--artifact-root", str(root), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    listed = sorted(line.split()[2] for line in dry.stdout.splitlines())
    assert listed == sorted([str(root / gone1), str(root / gone2)])
    assert dry.stderr.strip().startswith(f"would remove 2 run directories, {expected} bytes"), (
        dry.stderr
    )
    assert (root / gone1).is_dir() and (root / gone2).is_dir()  # nothing removed

    data = json.loads(cli("runs", "gc", "--artifact-root", str(root), "--json").stdout)
    assert data["dry_run"] is False and data["count"] == 2 and data["bytes"] == expected
    assert {e["run_id"]: e["action"] for e in data["entries"]} == {
        gone1: "removed",
        gone2: "removed",
    }
    assert not (root / gone1).exists() and not (root / gone2).exists()
    assert (root / keep / "outputs").is_dir()  # its run is in the store
    marker = (root / keep / MARKER).read_text()
    assert marker.strip() == any_store
    password = urlsplit(os.environ.get("MLRUN_TRACKING_URI", "")).password
    assert password is None or password not in marker  # the URI as shown, never the password
    again = cli("runs", "gc", "--artifact-root", str(root))
    assert again.returncode == 0 and "removed 0 run directories, 0 bytes" in again.stderr


def test_gc_uses_the_default_root_of_the_store(tmp_path: Path, mlrun_home: Path) -> None:
    project = write_project(tmp_path / "echo", ECHO)
    proc = cli("run", str(project), "--json", "-q")
    run_id = json.loads(proc.stdout)["run_id"]
    _age(mlrun_home / "runs" / run_id)
    cli("runs", "delete", run_id, check=True)
    data = json.loads(cli("runs", "gc", "--json", check=True).stdout)
    assert data["artifact_root"] == str(mlrun_home / "runs") and data["count"] == 1
    assert not (mlrun_home / "runs" / run_id).exists()


def test_a_running_run_is_not_deleted_and_its_directory_stays(root: Path, any_store: str) -> None:
    store = open_store()
    live = store.create_run(make_new_run(run_dir=str(root / "live" / "outputs")))
    (root / live.run_id / "outputs").mkdir(parents=True)
    _age(root / live.run_id)
    proc = cli("runs", "delete", live.run_id)
    assert proc.returncode == 2
    assert f"run {live.run_id} is RUNNING: a live run's record is not deleted." in proc.stderr
    assert store.get_run(live.run_id).status == RUNNING
    data = json.loads(cli("runs", "gc", "--artifact-root", str(root), "--json").stdout)
    assert data["count"] == 0 and data["entries"] == []
    assert (root / live.run_id / "outputs").is_dir()


def test_runs_show_says_when_a_runs_files_are_not_here(tmp_path: Path, root: Path) -> None:
    (run_id,) = _runs(tmp_path, root, 1)
    shown = cli("runs", "show", run_id, check=True).stdout
    assert f"run dir      {root / run_id / 'outputs'}\n" in shown
    os.rename(root, tmp_path / "unmounted")  # as another machine without the root sees it
    shown = cli("runs", "show", run_id, check=True).stdout
    missing = root / run_id / "outputs"
    assert f"run dir      {missing}  (not here: {missing} does not exist here)\n" in shown


def test_an_unknown_id_deletes_nothing(tmp_path: Path, root: Path) -> None:
    (kept,) = _runs(tmp_path, root, 1)
    proc = cli("runs", "delete", kept, "f" * 32)
    assert proc.returncode == 2 and "no run has the id" in proc.stderr
    assert open_store().get_run(kept).run_id == kept


def test_a_young_directory_may_be_a_run_starting_and_stays(tmp_path: Path, root: Path) -> None:
    # A run's directory exists before its record is committed: without a record and
    # changed within --older-than, it is left alone.
    starting = root / ("a" * 32)
    (starting / "outputs").mkdir(parents=True)
    data = json.loads(cli("runs", "gc", "--artifact-root", str(root), "--json").stdout)
    assert data["count"] == 0
    (entry,) = data["entries"]
    assert entry["action"] == "skipped" and "may be a run starting" in entry["reason"]
    assert starting.is_dir()
    # Once old enough it goes (its run never got a record).
    _age(starting)
    data = json.loads(cli("runs", "gc", "--artifact-root", str(root), "--json").stdout)
    assert data["count"] == 1 and not starting.exists()


def test_a_record_committed_between_listing_and_removal_keeps_the_directory(
    root: Path,
) -> None:
    store = open_store()
    run_dir = root / ("b" * 32)
    (run_dir / "outputs").mkdir(parents=True)
    _age(run_dir)
    entries = collect(store, LocalRoot(root), min_age=3600)
    assert [e.action for e in entries] == ["remove"]
    store.create_run(make_new_run(run_id="b" * 32, run_dir=str(run_dir / "outputs")))
    (after,) = remove(store, entries)
    assert after.action == "skipped" and after.reason == "its run is in the store now"
    assert run_dir.is_dir()


def test_symlinks_are_never_followed(tmp_path: Path, root: Path) -> None:
    outside = tmp_path / "precious"
    (outside / "outputs").mkdir(parents=True)
    (outside / "outputs" / "data.bin").write_bytes(b"keep me")
    root.mkdir()
    # A symlink named like a run directory, to a directory shaped like one.
    (root / ("c" * 32)).symlink_to(outside)
    # A deleted run's directory with a symlink inside leading out of the root.
    orphan = root / ("d" * 32)
    (orphan / "outputs").mkdir(parents=True)
    (orphan / "outputs" / "link").symlink_to(outside)
    (orphan / "outputs" / "own.txt").write_text("12345")
    _age(orphan)
    data = json.loads(cli("runs", "gc", "--artifact-root", str(root), "--json").stdout)
    by_id = {e["run_id"]: e for e in data["entries"]}
    assert by_id["c" * 32]["action"] == "skipped"
    assert by_id["c" * 32]["reason"] == "a symlink: never followed"
    assert by_id["d" * 32]["action"] == "removed"
    assert (root / ("c" * 32)).is_symlink()
    assert (outside / "outputs" / "data.bin").read_bytes() == b"keep me"
    assert not orphan.exists()


def test_another_stores_directories_and_foreign_entries_stay(root: Path) -> None:
    other = root / ("e" * 32)
    (other / "logs").mkdir(parents=True)
    (other / MARKER).write_text("postgresql://ci@db:5432/other\n")
    _age(other)
    not_runs = [root / "lost+found", root / "README", root / ("f" * 32)]
    (root / "lost+found" / "outputs").mkdir(parents=True)  # not a run id
    (root / "README").write_text("shared root")
    (root / ("f" * 32)).mkdir()  # a run id, but nothing of a run directory in it
    data = json.loads(cli("runs", "gc", "--artifact-root", str(root), "--json").stdout)
    assert data["count"] == 0
    (entry,) = data["entries"]
    assert entry["reason"] == "a run of another store (postgresql://ci@db:5432/other)"
    assert other.is_dir() and all(p.exists() for p in not_runs)


def test_bad_roots_and_ages_are_refused(tmp_path: Path) -> None:
    proc = cli("runs", "gc", "--artifact-root", str(tmp_path / "absent"))
    assert proc.returncode == 2 and "does not exist" in proc.stderr
    assert not (tmp_path / "absent").exists()  # gc does not make a root
    proc = cli("runs", "gc", "--older-than", "soon")
    assert proc.returncode == 2 and "is not a duration" in proc.stderr
    assert "Traceback" not in proc.stderr
