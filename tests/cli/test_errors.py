"""Bad input: one clear sentence, a documented exit code, no traceback (unless --debug)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.helpers import mlrun, spawn_mlrun, write_project


def _assert_clean_error(proc, code: int, *needles: str) -> None:  # type: ignore[no-untyped-def]
    assert proc.returncode == code, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    first = proc.stderr.strip().splitlines()[0]
    assert first.startswith("mlrun: error: ")
    for needle in needles:
        assert needle in proc.stderr


def test_invalid_mlproject_names_file_line_and_key(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        """\
        name: broken
        entry_points:
          main:
            parameters:
              alpha: float
        """,
    )
    proc = mlrun("run", str(project))
    _assert_clean_error(proc, 2, "MLproject:3", "command")
    debug = mlrun("--debug", "run", str(project))
    assert debug.returncode == 2 and "Traceback" in debug.stderr
    # ... and after the subcommand, where users type it (issue 18).
    after = mlrun("run", str(project), "--debug")
    assert after.returncode == 2 and "Traceback" in after.stderr
    assert "No such option" not in after.stderr
    # A -P value that happens to read --debug is a value, not the flag.
    value = mlrun("run", str(project), "-P", "x=--debug")
    assert value.returncode == 2 and "Traceback" not in value.stderr


def test_yaml_syntax_error_has_a_line(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", "entry_points:\n  main: [unclosed\n")
    _assert_clean_error(mlrun("validate", str(project)), 2, "MLproject:")


def test_unknown_entry_point_lists_the_ones_there(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        """\
        entry_points:
          train: {command: "true"}
        """,
    )
    _assert_clean_error(mlrun("run", str(project), "-e", "nope"), 2, "nope", "train")


def test_missing_project_dir(tmp_path: Path) -> None:
    _assert_clean_error(mlrun("run", str(tmp_path / "absent")), 2, "absent")


@pytest.mark.parametrize(
    "args",
    [
        ["-b", "kubernetes"],
        ["--backend-config", '{"zone": "a"}'],  # the local backend has no settings yet
        ["--experiment-id", "1"],
        ["--storage-dir", "/tmp"],
    ],
)
def test_mlflow_options_not_implemented_yet_fail_clearly(tmp_path: Path, args: list[str]) -> None:
    project = write_project(tmp_path / "p", 'entry_points:\n  main: {command: "true"}\n')
    _assert_clean_error(mlrun("run", str(project), *args), 2, "not available yet")
    assert json.loads(mlrun("runs", "list", "--json").stdout) == []


def test_bad_param_syntax_and_repeats(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", 'entry_points:\n  main: {command: "true"}\n')
    _assert_clean_error(mlrun("run", str(project), "-P", "novalue"), 2, "NAME=VALUE")
    _assert_clean_error(mlrun("run", str(project), "-P", "a=1", "-P", "a=2"), 2, "twice")
    _assert_clean_error(mlrun("run", str(project), "-P", "a;rm=1"), 2, "a;rm")


def test_missing_program_is_127_and_recorded(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        """\
        entry_points:
          main: {command: "no-such-program-xyz --flag"}
        """,
    )
    _assert_clean_error(mlrun("run", "-q", str(project)), 127, "no-such-program-xyz")
    runs = json.loads(mlrun("runs", "list", "--json").stdout)
    assert [(r["status"], r["exit_code"]) for r in runs] == [("FAILED", 127)]


def test_unknown_run_id(tmp_path: Path) -> None:
    _assert_clean_error(mlrun("runs", "show", "deadbeef"), 2, "deadbeef")


def test_other_tracking_uri_is_used(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", 'entry_points:\n  main: {command: "true"}\n')
    db = tmp_path / "elsewhere" / "runs.db"
    assert mlrun("run", str(project), "--tracking-uri", str(db)).returncode == 0
    assert db.is_file()
    assert len(json.loads(mlrun("runs", "list", "--json", "--tracking-uri", str(db)).stdout)) == 1
    assert json.loads(mlrun("runs", "list", "--json").stdout) == []
    _assert_clean_error(
        mlrun("runs", "list", "--tracking-uri", "postgresql://u:pw@h/db"), 2, "not available yet"
    )


def test_logs_follow_streams_until_the_run_ends(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        """\
        entry_points:
          main:
            command: "python -u -c 'import time\\nfor i in range(4): print(i); time.sleep(0.3)'"
        """,
    )
    proc = spawn_mlrun("run", str(project), "--json")
    run_id = None
    deadline = time.monotonic() + 30
    while run_id is None and time.monotonic() < deadline:
        runs = json.loads(mlrun("runs", "list", "--json").stdout)
        run_id = runs[0]["run_id"] if runs else None
        time.sleep(0.05)
    assert run_id is not None
    followed = mlrun("runs", "logs", run_id, "-f")
    proc.communicate(timeout=30)
    assert followed.stdout.split() == ["0", "1", "2", "3"]
