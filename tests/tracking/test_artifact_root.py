"""The artifact root (--artifact-root / MLRUN_ARTIFACT_ROOT): where run directories go,
the one decision (tracking/artifacts.py), its default per store, and bad input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from mlrun.errors import NotAvailableError, StoreError, UsageError
from mlrun.tracking import open_store, runs_root
from mlrun.tracking.artifacts import MARKER, LocalRoot, check_root, choose, unreadable
from tests.helpers import REPO, cli, write_project

ECHO = """\
name: echo
entry_points:
  main:
    command: "python -c \\"import os; print('root=' + os.getenv('MLRUN_ARTIFACT_ROOT', '-'))\\""
"""


def _run(project: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, dict, str]:
    proc = cli("run", str(project), "--json", "-q", *args, env=env)
    data = json.loads(proc.stdout) if proc.stdout.strip() else {}
    return proc.returncode, data, proc.stderr


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "echo", ECHO)


def test_a_run_goes_under_the_artifact_root_and_the_record_says_where(
    project: Path, tmp_path: Path
) -> None:
    root = tmp_path / "shared-root"
    code, data, err = _run(project, "--artifact-root", str(root))
    assert code == 0, err
    run = open_store().get_run(data["run_id"])
    assert run.run_dir == str(root / run.run_id / "outputs")
    assert run.log_paths["combined"].startswith(str(root / run.run_id / "logs") + os.sep)
    assert (root / run.run_id / "logs").is_dir()
    # The directory names the store that owns it (mlrun runs gc leaves others' alone).
    assert (root / run.run_id / MARKER).read_text().strip() == open_store().uri
    # The command's own runs (mlrun.run() in a step) go to the same root.
    assert Path(run.log_paths["combined"]).read_text().strip() == f"root={root}"
    # Nothing went to the default place next to the store.
    assert not (runs_root(open_store()) / run.run_id).exists()


def test_the_environment_variable_and_a_relative_path(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env = {**os.environ, "MLRUN_ARTIFACT_ROOT": "rel-root"}
    code, data, err = _run(project, env=env)
    assert code == 0, err
    run = open_store().get_run(data["run_id"])
    # Recorded absolute: the path must mean the same to every reader of the store.
    assert run.run_dir == str(tmp_path / "rel-root" / run.run_id / "outputs")
    plan = json.loads(cli("run", str(project), "--dry-run", "--json", env=env, check=True).stdout)
    assert plan["artifact_root"] == str(tmp_path / "rel-root")
    # The option wins over the variable.
    code, data, err = _run(project, "--artifact-root", str(tmp_path / "opt"), env=env)
    assert code == 0, err
    assert open_store().get_run(data["run_id"]).run_dir.startswith(str(tmp_path / "opt") + os.sep)


def test_a_symlinked_root_is_recorded_as_written(project: Path, tmp_path: Path) -> None:
    real = tmp_path / "mnt-real"
    real.mkdir()
    link = tmp_path / "mnt-link"
    link.symlink_to(real)
    code, data, err = _run(project, "--artifact-root", str(link))
    assert code == 0, err
    run = open_store().get_run(data["run_id"])
    assert run.run_dir == str(link / run.run_id / "outputs")  # not resolved to mnt-real
    assert (real / run.run_id / "outputs").is_dir()


def test_the_python_api_takes_artifact_root(project: Path, tmp_path: Path) -> None:
    import mlrun

    submitted = mlrun.run(str(project), artifact_root=tmp_path / "api-root", echo=False)
    run = open_store().get_run(submitted.run_id)
    assert run.run_dir == str(tmp_path / "api-root" / submitted.run_id / "outputs")


def test_default_is_next_to_the_sqlite_store(tmp_path: Path, mlrun_home: Path) -> None:
    assert runs_root(open_store()) == mlrun_home / "runs"
    store = open_store(str(tmp_path / "elsewhere" / "mlrun.db"))
    root = choose(None, store)
    assert isinstance(root, LocalRoot) and root.path == tmp_path / "elsewhere" / "runs"
    assert root.warning is None


def test_a_store_without_a_local_file_defaults_to_the_data_dir_with_a_warning(
    mlrun_home: Path,
) -> None:
    class Remote:  # what choose() reads of a store: no local `path`, a URI
        uri = "postgresql://ci@db.example:5432/mlrun"

    root = choose(None, Remote())  # type: ignore[arg-type]
    assert isinstance(root, LocalRoot) and root.path == mlrun_home / "runs"
    assert root.warning is not None
    assert "other machines using postgresql://ci@db.example:5432/mlrun cannot read" in (
        root.warning
    )
    assert "--artifact-root" in root.warning and "MLRUN_ARTIFACT_ROOT" in root.warning


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_text("x") and p, "is a file, not a directory"),
        (lambda p: p.symlink_to(p.parent / "nowhere") or p, "is a symlink to"),
        (lambda p: p / "deeper", "does not exist, nor does its parent"),
        (lambda p: Path("/proc/sys"), "is not writable by this user"),
    ],
    ids=["file", "dangling-symlink", "missing-parent", "unwritable"],
)
def test_bad_roots_are_refused_in_one_sentence(
    project: Path, tmp_path: Path, make: object, message: str
) -> None:
    target = make(tmp_path / "root")  # type: ignore[operator]
    code, _, err = _run(project, "--artifact-root", str(target))
    assert code == 2, err
    assert message in err and "Traceback" not in err
    assert err.startswith(f"mlrun: error: --artifact-root '{target}'")
    assert open_store().search_runs() == []  # nothing recorded


def test_the_variable_is_named_when_it_is_the_bad_one(project: Path, tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("")
    env = {**os.environ, "MLRUN_ARTIFACT_ROOT": str(tmp_path / "afile")}
    code, _, err = _run(project, env=env)
    assert code == 2 and "is a file, not a directory" in err
    assert err.startswith(f"mlrun: error: MLRUN_ARTIFACT_ROOT '{tmp_path / 'afile'}'")


@pytest.mark.parametrize("uri", ["s3://bucket/mlrun", "gs://b/x", "az://c/d", "hdfs://nn/x"])
def test_object_storage_is_not_available_yet(project: Path, uri: str) -> None:
    code, _, err = _run(project, "--artifact-root", uri)
    assert code == 2
    scheme = uri.split(":")[0]
    assert f"artifact roots in object storage ({scheme}://) are not available yet" in err
    assert "hint: mount it on every machine" in err
    with pytest.raises(NotAvailableError):
        check_root(uri)


def test_file_uris_and_empty_values(tmp_path: Path) -> None:
    assert check_root(f"file://{tmp_path}/via-uri") == tmp_path / "via-uri"
    assert (tmp_path / "via-uri").is_dir()  # made: its parent exists
    with pytest.raises(UsageError, match="is empty"):
        check_root("  ")
    with pytest.raises(UsageError, match="does not name a local directory"):
        check_root("file://otherhost/x")
    with pytest.raises(UsageError, match="does not exist"):
        check_root(str(tmp_path / "absent"), create=False)
    assert not (tmp_path / "absent").exists()


def test_a_root_that_vanishes_before_the_run_fails_cleanly(tmp_path: Path) -> None:
    root = LocalRoot(tmp_path / "gone" / "root")
    (tmp_path / "gone").write_text("now a file")
    with pytest.raises(StoreError, match="cannot create the run directory"):
        root.run_dir("abc", "store")


def test_unreadable_says_why_a_run_directory_cannot_be_used(tmp_path: Path) -> None:
    (tmp_path / "ok").mkdir()
    (tmp_path / "file").write_text("")
    assert unreadable(str(tmp_path / "ok")) is None
    assert unreadable(str(tmp_path / "gone")) == f"{tmp_path / 'gone'} does not exist here"
    assert unreadable(str(tmp_path / "file")) == f"{tmp_path / 'file'} is not a directory"


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root")
def test_unreadable_as_another_user_chmod_000_and_a_closed_parent() -> None:
    # Root reads anything: ask as `nobody`, with the system Python and mlrun's source.
    python = "/usr/bin/python3"
    if not os.access(python, os.X_OK):
        pytest.skip("no system python3 for another user")
    top = Path(tempfile.mkdtemp(prefix="mlrun-unreadable-"))
    try:
        top.chmod(0o755)
        (top / "closed").mkdir(mode=0o000)
        (top / "private").mkdir(mode=0o700)
        (top / "private" / "run").mkdir()
        # mlrun's source where that user can read it: the checkout may sit below a
        # directory only root enters (a clone under `mktemp -d`, mode 0700).
        shutil.copytree(REPO / "src" / "mlrun", top / "src" / "mlrun")
        code = (
            "import sys; from mlrun.tracking.artifacts import unreadable; "
            "print(unreadable(sys.argv[1])); print(unreadable(sys.argv[2]))"
        )
        argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", python]
        proc = subprocess.run(
            [*argv, "-c", code, str(top / "closed"), str(top / "private" / "run")],
            env={"PYTHONPATH": str(top / "src"), "PATH": os.environ["PATH"]},
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.splitlines() == [
            f"{top / 'closed'} is not readable here",
            f"{top / 'private' / 'run'} is not readable here (permission denied on the way to it)",
        ]
    finally:
        shutil.rmtree(top)
