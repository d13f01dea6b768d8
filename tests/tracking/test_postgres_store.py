"""What only the PostgreSQL store has: its URI and password handling, a server that does
not answer, psycopg missing, its versioned schema (a newer one refused, a foreign
database refused), and a real run recorded in it whose password shows nowhere.

Everything the two stores share (records, searches, liveness, concurrency) is tested once
for both (the `store_uri` fixture of tests/tracking/conftest.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from mlrun.errors import StoreError
from mlrun.tracking import open_store
from mlrun.tracking.postgres_schema import SCHEMA_VERSION
from tests import services
from tests.helpers import cli, mlrun, write_project
from tests.tracking.conftest import NewRunFactory


@pytest.fixture
def pg_uri(postgres_uri: str) -> str:
    return postgres_uri


def _password(uri: str) -> str:
    password = urlsplit(uri).password
    assert password and len(password) >= 8, "the CI database has a real password"
    return password


def _sql(uri: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute(statement)


def test_a_server_that_does_not_answer_is_one_sentence_without_the_password() -> None:
    port = services.free_port()  # nothing listens there
    uri = f"postgresql://alice:Tr0ub4dor-3@127.0.0.1:{port}/runs"
    proc = mlrun("runs", "list", "--tracking-uri", uri)
    assert proc.returncode == 125, proc.stderr
    assert "Traceback" not in proc.stderr and "Tr0ub4dor" not in proc.stderr + proc.stdout
    first = proc.stderr.splitlines()[0]
    assert f"cannot connect to the PostgreSQL run store at 127.0.0.1:{port}/runs" in first
    assert f"@127.0.0.1:{port}/runs (a password can come from ~/.pgpass" in proc.stderr


def test_without_psycopg_a_postgresql_uri_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # `import psycopg` now fails
    result = cli("runs", "list", "--tracking-uri", "postgres://bob:Corr3ct-Horse@db.example/x")
    assert result.returncode == 125
    assert result.stderr.splitlines()[0].endswith(
        "names a PostgreSQL store, and the PostgreSQL driver (psycopg 3) is not installed."
    )
    assert "pip install 'mlrun[postgres]'" in result.stderr
    assert "Corr3ct-Horse" not in result.stderr and "Traceback" not in result.stderr


def test_a_newer_schema_is_refused(pg_uri: str, new_run: NewRunFactory) -> None:
    with open_store(pg_uri) as store:
        store.create_run(new_run())
    _sql(pg_uri, f"UPDATE mlrun_schema SET version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer mlrun") as info:
        open_store(pg_uri).list_experiments()
    assert f"schema {SCHEMA_VERSION + 1}; this mlrun knows up to {SCHEMA_VERSION}" in str(
        info.value
    )
    proc = cli("runs", "list", "--tracking-uri", pg_uri)
    assert proc.returncode == 125 and "newer mlrun" in proc.stderr
    assert _password(pg_uri) not in proc.stderr


def test_a_foreign_database_is_refused_and_left_alone(pg_uri: str) -> None:
    # An MLflow tracking database has a `runs` table of its own.
    _sql(pg_uri, "CREATE TABLE runs (run_uuid text)")
    with pytest.raises(StoreError, match="not an mlrun run store") as info:
        open_store(pg_uri).list_experiments()
    assert "runs" in info.value.message and info.value.hint and "schema" in info.value.hint
    import psycopg

    with psycopg.connect(pg_uri) as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        ).fetchall()
    assert tables == [("runs",)]  # nothing created beside it


def test_the_schema_version_is_recorded(pg_uri: str) -> None:
    import psycopg

    open_store(pg_uri).list_experiments()
    with psycopg.connect(pg_uri) as conn:
        row = conn.execute("SELECT version, migrated_by FROM mlrun_schema").fetchall()
    from mlrun import __version__

    assert row == [(SCHEMA_VERSION, __version__)]


@pytest.mark.slow  # a real run (~2 s)
def test_the_password_shows_nowhere(pg_uri: str, tmp_path: Path, mlrun_home: Path) -> None:
    """A run recorded in PostgreSQL: the password is in no output, log file, record,
    ledger, or variable the command sees -- MLRUN_TRACKING_URI included."""
    password = _password(pg_uri)
    show_env = (
        "import json, os; print(json.dumps({k: v for k, v in os.environ.items()"
        " if k.startswith(('MLRUN_', 'MLFLOW_'))}))"
    )
    project = write_project(
        tmp_path / "proj",
        """\
        name: pw
        entry_points:
          main:
            command: "python env.py"
        """,
        {"env.py": show_env},
    )
    outputs = []
    ran = mlrun("run", str(project), "--env-manager", "local", "--tracking-uri", pg_uri, "--json")
    assert ran.returncode == 0, ran.stderr
    outputs += [ran.stdout, ran.stderr]
    run_id = json.loads(ran.stdout)["run_id"]
    [printed] = [line for line in ran.stderr.splitlines() if line.startswith("{")]
    seen_env = json.loads(printed)  # the command's output
    assert seen_env["MLRUN_TRACKING_URI"].startswith("postgresql://mlrun_test@127.0.0.1:")
    for args in (
        ("runs", "show", run_id, "--json"),
        ("runs", "show", run_id),
        ("runs", "list"),
        ("runs", "logs", run_id),
        ("run", str(project), "--env-manager", "local", "--dry-run"),
        ("run", str(project), "--env-manager", "local", "--dry-run", "--json"),
    ):
        proc = cli(*args, "--tracking-uri", pg_uri)
        assert proc.returncode in (0, 2), (args, proc.stderr)
        outputs += [proc.stdout, proc.stderr]
    record = json.loads(outputs[2])
    assert record["status"] == "FINISHED"
    assert all(password not in text for text in outputs)
    files = [p for root in (mlrun_home, tmp_path) for p in root.rglob("*") if p.is_file()]
    assert any(p.name.startswith("stdout") for p in files)  # the run's logs are among them
    leaked = [p for p in files if password.encode() in p.read_bytes()]
    assert leaked == []
    with open_store(pg_uri) as store:
        assert password not in json.dumps(store.get_run(run_id).to_json())


def test_a_value_postgresql_cannot_hold_is_refused_whole(
    pg_uri: str, new_run: NewRunFactory
) -> None:
    from mlrun.errors import UsageError

    with open_store(pg_uri) as store:
        run = store.create_run(new_run())
        with pytest.raises(UsageError, match=r"refused a value of the run: .*NUL"):
            store.log_params(run.run_id, {"ok": "1", "bad": "a\x00b"})
        assert store.get_run(run.run_id).params == {"alpha": "0.5"}


def test_forward_migrations_run_once_under_the_lock_and_keep_the_runs(
    pg_uri: str, new_run: NewRunFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A later mlrun's schema (simulated: a version 2 adding a column) upgrades a
    version-1 database in place, once, and the runs stay."""
    from mlrun.tracking import postgres_schema

    with open_store(pg_uri) as store:
        run = store.create_run(new_run())
    later = {**postgres_schema.MIGRATIONS, 1: ["ALTER TABLE runs ADD COLUMN artifact_root text"]}
    monkeypatch.setattr(postgres_schema, "MIGRATIONS", later)
    monkeypatch.setattr(postgres_schema, "SCHEMA_VERSION", 2)
    for _ in range(2):  # the second open finds nothing to do
        with open_store(pg_uri) as store:
            assert store.get_run(run.run_id).run_id == run.run_id
    import psycopg

    with psycopg.connect(pg_uri) as conn:
        assert conn.execute("SELECT version FROM mlrun_schema").fetchall() == [(2,)]
        conn.execute("SELECT artifact_root FROM runs")  # the column is there


@pytest.mark.slow  # 5,000 runs copied in (~1 s)
def test_a_default_page_is_a_few_index_reads(pg_uri: str) -> None:
    """`runs list` over many runs: the RUNNING runs (liveness) through an index, the page
    through runs_by_start -- never a scan of every run."""
    import psycopg

    from mlrun.tracking import sql_rows

    open_store(pg_uri).list_experiments()  # the schema
    with psycopg.connect(pg_uri, autocommit=True) as conn:
        conn.execute("INSERT INTO experiments (name, created_time) VALUES ('e', 0)")
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY runs (run_id, experiment_id, status, start_time, source_uri, source_type,"
                " source_json, entry_point, command_json, command_mode, env_kind, env_json,"
                ' run_dir, log_paths_json, host, "user", pid, mlrun_version) FROM STDIN'
            ) as copy,
        ):
            for i in range(5000):
                status = "RUNNING" if i % 1000 == 0 else "FINISHED"
                row = (f"{i:032x}", 1, status, float(i), "/p", "local", "{}", "main", "[]")
                copy.write_row((*row, "argv", "local", "{}", "/r", "{}", "h", "u", 1, "0"))
        conn.execute("ANALYZE")

        def plan(sql: str, *args: object) -> str:
            rows = conn.execute("EXPLAIN " + sql.replace("?", "%s"), args).fetchall()
            return "\n".join(row[0] for row in rows)

        page = plan(f"{sql_rows._SELECT} ORDER BY r.start_time DESC, r.seq DESC LIMIT 20")
        assert "runs_by_start" in page and "Seq Scan on runs" not in page, page
        running = plan(
            "SELECT r.run_id FROM runs r LEFT JOIN tags t ON t.run_id = r.run_id AND t.key = ?"
            " WHERE r.status = 'RUNNING'",
            "mlrun.backend",
        )
        assert "Seq Scan on runs" not in running, running


def test_liveness_goes_by_the_database_clock_not_the_machines(
    pg_uri: str, new_run: NewRunFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Machines sharing the database may disagree on the time: a run recorded and kept
    alive by a machine whose clock is an hour behind is RUNNING for everyone else, and a
    machine whose clock is an hour ahead does not declare a live run dead."""
    import time as real_time

    from mlrun.tracking import sql_store

    class Skewed:
        def __init__(self, by: float) -> None:
            self.by = by

        def time(self) -> float:
            return real_time.time() + self.by

        def __getattr__(self, name: str) -> object:
            return getattr(real_time, name)

    monkeypatch.setattr(sql_store, "time", Skewed(-3600))
    with open_store(pg_uri) as behind:
        run = behind.create_run(new_run(host="laptop-with-a-slow-clock", pid=4321))
        behind.heartbeat(run.run_id)
    monkeypatch.setattr(sql_store, "time", Skewed(+3600))
    with open_store(pg_uri) as ahead:
        assert ahead.get_run(run.run_id).status == "RUNNING"
        assert [r.status for r in ahead.search_runs()] == ["RUNNING"]
    monkeypatch.setattr(sql_store, "time", real_time)
    with open_store(pg_uri) as store:
        store.stale_after = 0.0  # and the database's clock still says when it is stale
        assert store.get_run(run.run_id).status == "KILLED"
