"""`mlrun run` end to end with real processes and the embedded store. What only reads
the store or stops before anything runs (bad input, --dry-run) runs the CLI in this
process (`cli`); runs, exit codes, signals and start-up are real processes (`mlrun`)."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from tests.helpers import REPO, cli, mlrun, pid_alive, spawn_mlrun, wait_until, write_project

PRINT_ARGS = "import json, sys; print(json.dumps(sys.argv[1:]))"


def _args_project(tmp_path: Path, command: str) -> Path:
    return write_project(
        tmp_path / "proj",
        f"""\
        name: args
        entry_points:
          main:
            parameters:
              a: string
              b: {{type: string, default: x}}
            command: "{command}"
        """,
        {"show.py": PRINT_ARGS},
    )


@pytest.mark.slow  # trains the example model (~1 s)
def test_example_project_runs_and_is_recorded(tmp_path: Path) -> None:
    proc = mlrun("run", str(REPO / "example_projects/elasticnet"), "-P", "alpha=0.3", "--json")
    assert proc.returncode == 0, proc.stderr
    assert "test RMSE" in proc.stderr  # under --json the command's output goes to stderr
    result = json.loads(proc.stdout)
    assert result["status"] == "FINISHED"
    shown = json.loads(cli("runs", "show", result["run_id"], "--json", check=True).stdout)
    assert shown["params"]["alpha"] == "0.3"
    assert shown["params"]["l1_ratio"] == "0.1"
    assert Path(shown["params"]["data"]).is_absolute()
    assert shown["exit_code"] == 0 and shown["status"] == "FINISHED"
    assert shown["command_mode"] == "argv"
    assert shown["command"][:2] == ["python", "train.py"]
    assert shown["env_kind"] == "local"
    assert {m["key"] for m in shown["metrics"]} >= {"train_rmse", "test_rmse"}
    assert "test_rmse" in shown["outputs"]
    assert [a["path"] for a in shown["artifacts"]] == ["model.json"]
    for key in ("host", "user", "mlrun_version", "start_time", "end_time", "source_uri"):
        assert shown[key], key
    assert "test RMSE" in Path(shown["log_paths"]["stdout"]).read_text()
    logs = cli("runs", "logs", result["run_id"][:8], check=True)
    assert "test RMSE" in logs.stdout
    listing = cli("runs", "list", check=True).stdout
    assert result["run_id"][:12] in listing and "FINISHED" in listing


def test_exit_code_is_passed_through_and_run_failed(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        """\
        entry_points:
          main:
            command: "python -c 'import sys; sys.exit(3)'"
        """,
    )
    proc = mlrun("run", str(project), "--json")
    assert proc.returncode == 3
    result = json.loads(proc.stdout)
    shown = json.loads(cli("runs", "show", result["run_id"], "--json").stdout)
    assert (shown["status"], shown["exit_code"]) == ("FAILED", 3)


HOSTILE = [
    "two words",
    "it's",
    'say "hi"',
    "$(touch {marker})",
    "a;b",
    "`id`",
    "line1\nline2",
    "-rf",
    "ünïcödé ✓",
    "",
    "{brace}",
    "$HOME",
    "*",
    "\\back",
]


@pytest.mark.slow  # 14 runs each (~3 s)
@pytest.mark.parametrize("mode", ["argv", "shell"])
def test_hostile_values_arrive_verbatim(tmp_path: Path, mode: str) -> None:
    marker = tmp_path / "pwned"
    values = [v.replace("{marker}", str(marker)) for v in HOSTILE]
    template = "python show.py {a} {b}" + (" | cat" if mode == "shell" else "")
    project = _args_project(tmp_path, template)
    for value in values:
        proc = mlrun("run", str(project), "-P", f"a={value}", "-P", f"b={value}", "-q")
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout) == [value, value], (mode, value)
    assert not marker.exists()
    dry = json.loads(cli("run", str(project), "-P", "a=1", "--dry-run", "--json").stdout)
    assert dry["command_mode"] == mode


def test_undeclared_params_are_appended(tmp_path: Path) -> None:
    project = _args_project(tmp_path, "python show.py {a}")
    proc = mlrun("run", str(project), "-P", "a=1", "-P", "extra=two words", "-q")
    assert json.loads(proc.stdout) == ["1", "--extra", "two words"]


def test_bad_param_value_is_exit_2_with_one_clear_line(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        """\
        entry_points:
          main:
            parameters: {alpha: float}
            command: "python -c pass {alpha}"
        """,
    )
    proc = cli("run", str(project), "-P", "alpha=abc")
    assert proc.returncode == 2
    assert "alpha" in proc.stderr and "abc" in proc.stderr and "float" in proc.stderr
    assert "Traceback" not in proc.stderr
    missing = cli("run", str(project))
    assert missing.returncode == 2 and "alpha" in missing.stderr
    assert cli("runs", "list", "--json").stdout.strip() == "[]"  # nothing ran


def test_script_entry_points(tmp_path: Path) -> None:
    project = tmp_path / "noproj"
    project.mkdir()
    (project / "show.py").write_text(PRINT_ARGS)
    (project / "run.sh").write_text('printf "%s|" "$@"\n')
    py = mlrun("run", str(project), "-e", "show.py", "-P", "x=1 2", "-q")
    assert json.loads(py.stdout) == ["--x", "1 2"]
    sh = mlrun("run", str(project), "-e", "run.sh", "-P", "y=a b", "-q")
    assert sh.stdout == "--y|a b|"


def test_dry_run_json_shape_runs_nothing(tmp_path: Path) -> None:
    project = _args_project(tmp_path, "python show.py {a} {b}")
    proc = cli("run", str(project), "-P", "a=it's", "--dry-run", "--json")
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert plan["entry_point"] == "main"
    assert plan["parameters"] == {"a": "it's", "b": "x"}
    assert plan["argv"] == ["python", "show.py", "it's", "x"]
    assert plan["cwd"] == str(project)
    assert plan["env_manager"] == "local"
    assert cli("runs", "list", "--json").stdout.strip() == "[]"


def test_run_environment_variables(tmp_path: Path) -> None:
    code = (
        "import os, json; print(json.dumps({k: os.environ.get(k) for k in "
        "['MLRUN_RUN_ID', 'MLRUN_RUN_DIR', 'MLRUN_TRACKING_URI']}) ); "
        "print(os.getcwd())"
    )
    project = write_project(
        tmp_path / "p",
        """\
        entry_points:
          main:
            command: "python env.py"
        """,
        {"env.py": code},
    )
    proc = mlrun("run", str(project), "--json", "-q")
    lines = proc.stderr.splitlines()  # under --json the command's stdout goes to stderr
    seen = json.loads(lines[0])
    assert lines[1] == str(project)
    result = json.loads(proc.stdout)
    assert seen["MLRUN_RUN_ID"] == result["run_id"]
    assert Path(seen["MLRUN_RUN_DIR"]).is_dir()
    assert seen["MLRUN_TRACKING_URI"] == result["tracking_uri"]


@pytest.mark.parametrize(
    ("signum", "code"),
    [
        (signal.SIGTERM, 143),
        pytest.param(signal.SIGINT, 130, marks=pytest.mark.slow),  # ~2.5 s
    ],
)
def test_signal_kills_the_whole_group_and_run_is_killed(
    tmp_path: Path, signum: int, code: int
) -> None:
    pids = tmp_path / "pids"
    project = write_project(
        tmp_path / "p",
        f"""\
        entry_points:
          main:
            command: "bash -c 'sleep 300 & echo $! > {pids}.tmp; echo $$ >> {pids}.tmp; \\
                      mv {pids}.tmp {pids}; wait'"
        """,
    )
    proc = spawn_mlrun("run", str(project), "--grace-period", "5", "--json")
    wait_until(pids.exists, f"{pids} to appear")
    child_pids = [int(p) for p in pids.read_text().split()]
    assert all(pid_alive(p) for p in child_pids)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err
    wait_until(lambda: not any(pid_alive(p) for p in child_pids), "the command's processes to end")
    run_id = json.loads(out)["run_id"]
    shown = json.loads(cli("runs", "show", run_id, "--json").stdout)
    assert shown["status"] == "KILLED"
    assert shown["exit_code"] == code


def test_sigkilled_mlrun_shows_as_killed_not_running(tmp_path: Path) -> None:
    started = tmp_path / "started"
    project = write_project(
        tmp_path / "p",
        f"""\
        entry_points:
          main:
            command: "bash -c 'touch {started}; sleep 30'"
        """,
    )
    proc = spawn_mlrun("run", str(project))
    wait_until(started.exists, f"{started} to appear")
    proc.kill()
    proc.communicate()
    runs = json.loads(cli("runs", "list", "--json", check=True).stdout)
    assert len(runs) == 1
    assert runs[0]["status"] == "KILLED"
    assert "died" in runs[0]["status_reason"]
    assert "KILLED (mlrun died)" in cli("runs", "list").stdout


def test_cli_start_does_not_import_heavy_modules(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from mlrun.cli.main import run_cli\n"
        "rc = run_cli(sys.argv[1:])\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('docker', 'git', 'virtualenv', 'uv', 'requests', 'fsspec', 'aiohttp', "
        "'kubernetes', 'urllib3', 'psycopg', 'plotly', 'narwhals'))\n"
        "print('HEAVY', heavy, rc, file=sys.stderr)\n"
    )
    example = str(REPO / "example_projects/elasticnet")
    # plotly (mlrun report's charts) loads only when a report is made.
    for args in (
        ["--help"],
        ["runs", "list"],
        ["report", "--help"],
        ["run", example, "-q", "-P", "iterations=1"],
    ):
        proc = subprocess.run(
            [sys.executable, "-c", code, *args],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            check=False,
        )
        assert "HEAVY [] 0" in proc.stderr, proc.stderr
