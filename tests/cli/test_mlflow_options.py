"""MLflow's remaining `mlflow run` options (issue 12 item 3): --experiment-id, --run-id
and --storage-dir (--docker-auth against the real auth registry is in
tests/dockerenv/test_docker_auth.py). Bad input is one sentence and exit 2."""

from __future__ import annotations

import functools
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlrun.tracking import open_store
from tests.helpers import cli, mlrun, write_project

_PRINTER = """\
entry_points:
  main:
    parameters: {data: path}
    command: "python show.py {data}"
"""
_SHOW = """\
import sys
path = sys.argv[1]
print("PATH=" + path)
print("TEXT=" + open(path).read())
"""


def _project(root: Path) -> Path:
    return write_project(root, 'entry_points:\n  main: {command: "true"}\n')


def _summary(proc: Any) -> dict[str, Any]:
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


# -- --experiment-id ------------------------------------------------------------------


def test_experiment_id_runs_under_that_experiment(tmp_path: Path) -> None:
    project = _project(tmp_path / "p")
    first = _summary(cli("run", str(project), "--experiment-name", "tuning", "--json"))
    record = open_store().get_run(first["run_id"])
    assert record.experiment == "tuning" and record.experiment_id.isdigit()
    shown = json.loads(cli("runs", "show", first["run_id"], "--json").stdout)
    assert shown["experiment_id"] == record.experiment_id  # where users find the id

    second = _summary(cli("run", str(project), "--experiment-id", record.experiment_id, "--json"))
    again = open_store().get_run(second["run_id"])
    assert (again.experiment, again.experiment_id) == ("tuning", record.experiment_id)


def test_unknown_experiment_id_and_both_options_are_bad_input(tmp_path: Path) -> None:
    project = _project(tmp_path / "p")
    for args, words in (
        (["--experiment-id", "42"], "no experiment has the id '42'"),
        (["--experiment-id", "x';--"], "no experiment has the id"),
        (["--experiment-id", "1", "--experiment-name", "a"], "give one"),
    ):
        proc = cli("run", str(project), *args)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.startswith("mlrun: error: ") and words in proc.stderr
        assert "Traceback" not in proc.stderr
    assert open_store().search_runs() == []


# -- --run-id -------------------------------------------------------------------------


def test_run_id_names_the_record_and_is_never_reused(tmp_path: Path) -> None:
    project = _project(tmp_path / "p")
    chosen = "0123456789abcdef0123456789abcdef"
    result = _summary(cli("run", str(project), "--run-id", chosen, "--json"))
    assert result["run_id"] == chosen
    assert open_store().get_run(chosen).status == "FINISHED"

    again = cli("run", str(project), "--run-id", chosen)
    assert again.returncode == 2
    assert "already holds that run (FINISHED)" in again.stderr
    # A prefix of an existing id is another id: it may be used.
    assert (
        _summary(cli("run", str(project), "--run-id", chosen[:12], "--json"))["run_id"]
        == (chosen[:12])
    )


@pytest.mark.parametrize("bad", ["../escape", "a/b", "", "x" * 65, "-rf", "a b"])
def test_run_id_that_is_not_an_id_is_bad_input(tmp_path: Path, bad: str) -> None:
    proc = cli("run", str(_project(tmp_path / "p")), "--run-id", bad)
    assert proc.returncode == 2
    assert "is not a run id" in proc.stderr
    assert open_store().search_runs() == []


def test_run_id_is_refused_for_a_workflow(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        """\
        entry_points:
          a: {command: "true"}
        workflows:
          all:
            steps:
              one: {entry_point: a}
        """,
    )
    proc = cli("run", str(project), "-e", "all", "--run-id", "abc")
    assert proc.returncode == 2 and "is a workflow" in proc.stderr


# -- --storage-dir --------------------------------------------------------------------


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[str]:
    """A local web server for a directory holding data.csv (the remote URI's target)."""
    served = tmp_path / "served"
    served.mkdir()
    (served / "data.csv").write_text("a,b\n1,2\n")
    handler = functools.partial(_QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.slow  # a process, fsspec and aiohttp imported: about 2 s
def test_storage_dir_downloads_a_remote_path_parameter(tmp_path: Path, http_server: str) -> None:
    project = write_project(tmp_path / "p", _PRINTER, {"show.py": _SHOW})
    storage = tmp_path / "storage"
    proc = mlrun(
        "run", str(project), "-P", f"data={http_server}/data.csv", "--storage-dir", str(storage)
    )
    assert proc.returncode == 0, proc.stderr
    [copy] = storage.glob("mlrun-*/data/data.csv")
    assert copy.read_text() == "a,b\n1,2\n"
    assert f"PATH={copy}" in proc.stdout
    assert "TEXT=a,b" in proc.stdout
    [run] = open_store().search_runs()
    assert run.params["data"] == str(copy)  # what the program got


def test_without_storage_dir_the_uri_is_passed_on(tmp_path: Path, http_server: str) -> None:
    project = write_project(
        tmp_path / "p",
        'entry_points:\n  main:\n    parameters: {data: path}\n    command: "echo {data}"\n',
    )
    plan = json.loads(
        cli("run", str(project), "-P", f"data={http_server}/data.csv", "--dry-run", "--json").stdout
    )
    assert plan["argv"] == ["echo", f"{http_server}/data.csv"]
    assert "downloads" not in plan


def test_storage_dir_dry_run_downloads_nothing(tmp_path: Path, http_server: str) -> None:
    project = write_project(tmp_path / "p", _PRINTER, {"show.py": _SHOW})
    storage = tmp_path / "storage"
    uri = f"{http_server}/data.csv"
    proc = cli(
        "run", str(project), "-P", f"data={uri}", "--storage-dir", str(storage), "--dry-run",
        "--json",
    )  # fmt: skip
    plan = json.loads(proc.stdout)
    assert plan["downloads"] == {"data": uri}
    assert plan["storage_dir"] == str(storage)
    assert not storage.exists()


def test_storage_dir_leaves_file_uris_local(tmp_path: Path) -> None:
    """A file:// URI names a local file (MLflow's rule): passed as its path, not copied."""
    project = write_project(tmp_path / "p", _PRINTER, {"show.py": _SHOW})
    local = tmp_path / "my data.csv"
    local.write_text("local\n")
    storage = tmp_path / "storage"
    proc = mlrun("run", str(project), "-P", f"data={local.as_uri()}", "--storage-dir", str(storage))
    assert proc.returncode == 0, proc.stderr
    assert f"PATH={local}" in proc.stdout
    assert not list(storage.rglob("*.csv"))


@pytest.mark.slow  # fsspec and aiohttp imported
def test_storage_dir_download_failures(tmp_path: Path, http_server: str) -> None:
    project = write_project(tmp_path / "p", _PRINTER, {"show.py": _SHOW})
    storage = tmp_path / "storage"
    missing = cli(
        "run", str(project), "-P", f"data={http_server}/absent.csv", "--storage-dir", str(storage)
    )
    assert missing.returncode == 125
    assert "nothing to download at" in missing.stderr and "Traceback" not in missing.stderr
    unknown = cli(
        "run", str(project), "-P", "data=nosuchproto://x/y", "--storage-dir", str(storage)
    )
    assert unknown.returncode == 2
    assert "cannot download nosuchproto://x/y" in unknown.stderr
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    not_dir = cli(
        "run", str(project), "-P", f"data={http_server}/data.csv", "--storage-dir", str(blocked)
    )
    assert not_dir.returncode == 2 and "cannot create a directory there" in not_dir.stderr
    assert open_store().search_runs() == []  # all before the run started


@pytest.mark.slow  # starts the real mlflow CLI (several seconds)
def test_every_option_of_mlflow_run_is_an_option_of_mlrun_run() -> None:
    import re
    import subprocess

    from tests import services
    from tests.conftest import require_service

    mlflow = services.mlflow_executable()
    require_service(mlflow is not None, services.NO_MLFLOW)
    assert mlflow is not None
    theirs = subprocess.run(
        [mlflow, "run", "--help"], capture_output=True, text=True, check=True, timeout=300
    ).stdout
    ours = cli("run", "--help").stdout
    wanted = set(re.findall(r"^  (?:-\w, )?(--[a-z][a-z-]+)", theirs, re.M)) - {"--help"}
    assert {"--experiment-id", "--run-id", "--storage-dir", "--backend-config"} <= wanted
    assert len(wanted) == 13  # the help's option lines, parsed
    missing = sorted(o for o in wanted if not re.search(rf"^\s+(?:-\w, )?{o}\b", ours, re.M))
    assert missing == []
