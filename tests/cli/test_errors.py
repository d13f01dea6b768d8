"""Bad input: one clear sentence, a documented exit code, no traceback (unless --debug).

The CLI runs in this process (`cli`), as nothing here needs a process of its own, except
where a command really starts (`mlrun`): exit 127 and following a live run's log."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from tests.conftest import mlrun_cmd
from tests.helpers import CliResult, cli, mlrun, spawn_mlrun, wait_until, write_project


def _assert_clean_error(proc: CliResult | CompletedProcess[str], code: int, *needles: str) -> None:
    assert proc.returncode == code, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    first = proc.stderr.strip().splitlines()[0]
    assert first.startswith("mlrun: error: ")
    for needle in needles:
        assert needle in proc.stderr


def _runs() -> list[dict[str, str]]:
    runs: list[dict[str, str]] = json.loads(cli("runs", "list", "--json").stdout)
    return runs


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
    proc = cli("run", str(project))
    _assert_clean_error(proc, 2, "MLproject:3", "command")
    debug = cli("--debug", "run", str(project))
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
    _assert_clean_error(cli("validate", str(project)), 2, "MLproject:")


def test_unknown_entry_point_lists_the_ones_there(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        """\
        entry_points:
          train: {command: "true"}
        """,
    )
    _assert_clean_error(cli("run", str(project), "-e", "nope"), 2, "nope", "train")


def test_missing_project_dir(tmp_path: Path) -> None:
    _assert_clean_error(cli("run", str(tmp_path / "absent")), 2, "absent")


@pytest.mark.parametrize(
    "args",
    [
        ["-b", "databricks"],
        ["--backend-config", '{"zone": "a"}'],  # the local backend has no settings
    ],
)
def test_mlflow_options_not_implemented_yet_fail_clearly(tmp_path: Path, args: list[str]) -> None:
    project = write_project(tmp_path / "p", 'entry_points:\n  main: {command: "true"}\n')
    words = "not available yet" if args[0] == "-b" else "mean nothing to the local backend"
    _assert_clean_error(cli("run", str(project), *args), 2, words)
    assert _runs() == []


def test_bad_param_syntax_and_repeats(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", 'entry_points:\n  main: {command: "true"}\n')
    _assert_clean_error(cli("run", str(project), "-P", "novalue"), 2, "NAME=VALUE")
    _assert_clean_error(cli("run", str(project), "-P", "a=1", "-P", "a=2"), 2, "twice")
    _assert_clean_error(cli("run", str(project), "-P", "a;rm=1"), 2, "a;rm")


def test_missing_program_is_127_and_recorded(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        """\
        entry_points:
          main: {command: "no-such-program-xyz --flag"}
        """,
    )
    _assert_clean_error(mlrun("run", "-q", str(project)), 127, "no-such-program-xyz")
    assert [(r["status"], r["exit_code"]) for r in _runs()] == [("FAILED", 127)]


def test_unknown_run_id(tmp_path: Path) -> None:
    _assert_clean_error(cli("runs", "show", "deadbeef"), 2, "deadbeef")


def test_other_tracking_uri_is_used(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", 'entry_points:\n  main: {command: "true"}\n')
    db = tmp_path / "elsewhere" / "runs.db"
    assert mlrun("run", str(project), "--tracking-uri", str(db)).returncode == 0
    assert db.is_file()
    assert len(json.loads(cli("runs", "list", "--json", "--tracking-uri", str(db)).stdout)) == 1
    assert _runs() == []
    _assert_clean_error(
        cli("runs", "list", "--tracking-uri", "mysql://u:pw@h/db"), 2, "not available yet"
    )


COUNT_PY = """\
import pathlib, sys, time
release = pathlib.Path(sys.argv[1])
for i in range(4):
    print(i, flush=True)
    deadline = time.time() + 60
    while i == 1 and not release.exists() and time.time() < deadline:
        time.sleep(0.01)
"""


def test_logs_follow_streams_until_the_run_ends(tmp_path: Path) -> None:
    """`runs logs -f` shows lines while the run is still going (the command waits for us
    after its second line) and ends when the run does."""
    release = tmp_path / "release"
    project = write_project(
        tmp_path / "p",
        f"""\
        entry_points:
          main: {{command: "python -u count.py {release}"}}
        """,
        {"count.py": COUNT_PY},
    )
    run = spawn_mlrun("run", str(project), "--json")
    wait_until(_runs, "the run record")
    follow = subprocess.Popen(
        [*mlrun_cmd(), "runs", "logs", _runs()[0]["run_id"], "-f"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert follow.stdout is not None
    assert [follow.stdout.readline(), follow.stdout.readline()] == ["0\n", "1\n"]
    release.touch()  # the run goes on only now
    out, err = follow.communicate(timeout=60)
    run.communicate(timeout=60)
    assert follow.returncode == 0, err
    assert out.split() == ["2", "3"]
