"""Store selection from a tracking URI, and files that are not an mlrun store."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from mlrun.errors import NotAvailableError, StoreError, UsageError
from mlrun.tracking import open_store, runs_root, tracking_uri
from mlrun.tracking.sqlite_store import SqliteStore
from tests.tracking.conftest import NewRunFactory


def _path(uri: str | None) -> Path:
    store = open_store(uri)
    assert isinstance(store, SqliteStore)
    return store.path


def test_default_is_the_data_dir(mlrun_home: Path) -> None:
    assert _path(None) == mlrun_home / "mlrun.db"
    assert tracking_uri() == str(mlrun_home / "mlrun.db")


def test_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLRUN_TRACKING_URI", str(tmp_path / "env.db"))
    assert _path(None) == tmp_path / "env.db"
    assert _path(str(tmp_path / "arg.db")) == tmp_path / "arg.db"  # the argument wins


def test_uri_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    absolute = tmp_path / "abs" / "a.db"
    assert _path(str(absolute)) == absolute
    assert _path("rel/r.db") == tmp_path / "rel" / "r.db"
    assert (tmp_path / "rel").is_dir()  # parent directories are created
    assert _path(f"sqlite:///{absolute}") == absolute  # sqlite:////abs
    assert _path("sqlite:///mlflow-style.db") == tmp_path / "mlflow-style.db"
    assert _path(absolute.as_uri()) == absolute  # file:///abs
    assert _path("file:rel/f.db") == tmp_path / "rel" / "f.db"
    assert _path("file://localhost" + str(absolute)) == absolute
    assert _path("file:///with%20space/x.db") == Path("/with space/x.db")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert _path("~/home.db") == tmp_path / "home.db"


@pytest.mark.parametrize(
    ("uri", "kind"),
    [
        ("mysql://user:pw@db/mlflow", "mysql"),
        ("mysql+pymysql://db/mlflow", "mysql"),
        ("http://localhost:5000", "http"),
        ("https://mlflow.example.com", "https"),
        ("databricks", "databricks"),
        ("databricks://profile", "databricks"),
    ],
)
def test_other_stores_are_not_available(uri: str, kind: str) -> None:
    with pytest.raises(NotAvailableError) as info:
        open_store(uri)
    assert info.value.message == f"tracking store '{kind}' is not available yet."
    assert info.value.hint is not None and "SQLite file path" in info.value.hint
    assert "pw" not in info.value.message


@pytest.mark.parametrize(
    "uri",
    [
        "postgresql://alice:s3cret@db.example:5433/runs",
        "postgres://alice:s3cret@db.example:5433/runs",
        "postgresql+psycopg://alice:s3cret@db.example:5433/runs",
        "POSTGRESQL+psycopg2://alice:s3cret@db.example:5433/runs",
        "postgresql://alice@db.example:5433/runs?password=s3cret",
    ],
)
def test_postgresql_uris_open_the_postgres_store_without_their_password(uri: str) -> None:
    from mlrun.tracking.postgres_store import PostgresStore

    store = open_store(uri)  # lazy: nothing connects yet
    assert isinstance(store, PostgresStore)
    assert store.uri == "postgresql://alice@db.example:5433/runs"
    assert "s3cret" not in repr(store) and "s3cret" not in store.server


def test_bad_uris(tmp_path: Path) -> None:
    for uri in ("sqlite://", "sqlite:///:memory:", "sqlite://host/x.db", "file://host/x.db", " "):
        with pytest.raises(UsageError):
            open_store(uri)
    with pytest.raises(NotAvailableError, match="directory"):
        open_store(str(tmp_path))  # an MLflow ./mlruns directory, say


def test_runs_root(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "data" / "mlrun.db"))
    assert runs_root(store) == tmp_path / "data" / "runs"


def test_import_is_cheap() -> None:
    import subprocess
    import sys

    code = "import sys, mlrun.tracking; print('sqlite3' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_corrupt_file_is_a_store_error(tmp_path: Path, new_run: NewRunFactory) -> None:
    # An SQLite header on garbage: a damaged store, not a mistaken path.
    path = tmp_path / "mlrun.db"
    path.write_bytes(b"SQLite format 3\0" + b"this is not a database, just some text\n" * 200)
    store = open_store(str(path))  # lazy: nothing read yet
    with pytest.raises(StoreError) as info:
        store.create_run(new_run())
    assert info.value.message == (
        f"{path} is not a usable mlrun run store (not a SQLite database, or corrupt)."
    )
    with pytest.raises(StoreError):
        store.search_runs()


def test_foreign_sqlite_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "mlflow.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE runs (run_uuid TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="not an mlrun run store") as info:
        open_store(f"sqlite:///{path}").list_experiments()
    assert str(path) in info.value.message


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "mlrun.db"
    with SqliteStore(path) as store:
        store.list_experiments()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StoreError, match="newer mlrun"):
        SqliteStore(path).list_experiments()


def test_store_is_in_wal_mode_and_reopens(tmp_path: Path, new_run: NewRunFactory) -> None:
    path = tmp_path / "mlrun.db"
    with SqliteStore(path) as store:
        run = store.create_run(new_run())
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    with SqliteStore(path) as store:
        assert store.get_run(run.run_id).run_id == run.run_id


def test_store_below_a_file_is_bad_input(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(UsageError, match="is not a directory") as info:
        open_store(str(blocker / "sub" / "mlrun.db"))
    assert info.value.exit_code == 2
    assert f"but {blocker} is not a directory" in info.value.message


def test_text_file_is_not_taken_for_a_store(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("this is not a database, just some text\n")
    with pytest.raises(UsageError, match="which is not an SQLite database"):
        open_store(str(path))
    assert sorted(os.listdir(tmp_path)) == ["notes.txt"]


def test_missing_directory_is_a_store_error(tmp_path: Path) -> None:
    # SqliteStore itself does not create directories (open_store does).
    with pytest.raises(StoreError, match="cannot open the run store"):
        SqliteStore(tmp_path / "nope" / "mlrun.db").list_experiments()


@pytest.mark.slow  # three writer processes
def test_reopening_a_store_this_process_uses_keeps_its_locks(
    tmp_path: Path, new_run: NewRunFactory
) -> None:
    """Opening the store again in a process that already has it open (the Python API,
    the in-process CLI) must not read the file through a descriptor of its own: closing
    that descriptor drops SQLite's POSIX locks, another process then checkpoints and
    deletes the WAL under the open connection, and the next read finds a malformed file."""
    import subprocess
    import sys

    path = tmp_path / "mlrun.db"
    first = open_store(str(path))
    first.create_run(new_run(run_id="a" * 32))
    assert first.get_run("a" * 32) is not None  # a connection stays open in this process
    open_store(str(path))  # looks at the file again (the header check)
    writer = (
        "import sys; from mlrun.tracking import open_store; "
        "from tests.tracking.conftest import make_new_run; "
        "s = open_store(sys.argv[1]); s.create_run(make_new_run(run_id='b' * 32)); "
        "s.close()"
    )
    expected = {"a" * 32}
    for letter in "bcd":
        code = writer.replace("'b' * 32", f"{letter!r} * 32")
        subprocess.run([sys.executable, "-c", code, str(path)], check=True, cwd=Path.cwd())
        expected.add(letter * 32)
        assert {run.run_id for run in first.search_runs()} == expected
        open_store(str(path))
