"""Parallel steps, fail-fast and --keep-going, signals, and two workflow runs at once."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import cli, mlrun, wait_until, write_project
from tests.workflow.wfhelpers import env_with, read_stream_until, run_json, statuses

# Each step announces itself, then waits (bounded) for its sibling to announce itself
# too. With two at a time they meet; one at a time, the first waits in vain. The proof
# of overlap is the two run records' timestamps, not how long anything took.
MEET_PY = """\
import json, os, sys, time
me, other, where = sys.argv[1], sys.argv[2], sys.argv[3]
open(os.path.join(where, me), "w").close()
deadline = time.time() + float(sys.argv[4])
while not os.path.exists(os.path.join(where, other)) and time.time() < deadline:
    time.sleep(0.02)
met = os.path.exists(os.path.join(where, other))
with open(os.path.join(os.environ["MLRUN_RUN_DIR"], "outputs.json"), "w") as fh:
    json.dump({"met": met}, fh)
"""


def _meet_project(tmp_path: Path, wait: float) -> Path:
    where = tmp_path / "marks"
    where.mkdir()
    return write_project(
        tmp_path / "meet",
        f"""\
        entry_points:
          meet:
            parameters: {{me: string, other: string}}
            command: "python meet.py {{me}} {{other}} {where} {wait}"
        workflows:
          both:
            steps:
              left: {{entry_point: meet, parameters: {{me: left, other: right}}}}
              right: {{entry_point: meet, parameters: {{me: right, other: left}}}}
        """,
        {"meet.py": MEET_PY},
    )


def _records(result: dict) -> dict:  # type: ignore[type-arg]
    out = {}
    for step in result["steps"]:
        shown = cli("runs", "show", step["run_id"], "--json", check=True)
        out[step["name"]] = json.loads(shown.stdout)
    return out


def test_jobs_2_runs_independent_steps_at_the_same_time(tmp_path: Path) -> None:
    project = _meet_project(tmp_path, wait=60)
    result = run_json(project, "-e", "both", "-j", "2")
    runs = _records(result)
    left, right = runs["left"], runs["right"]
    assert left["outputs"]["met"] and right["outputs"]["met"]
    # Overlapping intervals: each started before the other ended.
    assert left["start_time"] < right["end_time"] and right["start_time"] < left["end_time"]
    workflow_run = json.loads(cli("runs", "show", result["run_id"], "--json").stdout)
    assert left["parent_run_id"] == right["parent_run_id"] == workflow_run["run_id"]
    assert workflow_run["entry_point"] == "both" and workflow_run["env_kind"] == "workflow"


@pytest.mark.slow  # the first step waits 0.5 s in vain, on purpose
def test_jobs_1_runs_them_one_after_the_other(tmp_path: Path) -> None:
    project = _meet_project(tmp_path, wait=0.5)
    runs = _records(run_json(project, "-e", "both"))
    first, second = sorted(runs.values(), key=lambda r: r["start_time"])
    assert first["end_time"] <= second["start_time"]
    assert not first["outputs"]["met"]


FAILING = """\
entry_points:
  ok: {command: "python -c 'print(1)'"}
  bad: {command: "python -c 'import sys; sys.exit(4)'"}
workflows:
  w:
    steps:
      broken: {entry_point: bad}
      after: {entry_point: ok, needs: [broken]}
      other: {entry_point: ok}
      other2: {entry_point: ok, needs: [other]}
"""


def test_fail_fast_exits_with_the_failed_steps_code(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", FAILING)
    result = run_json(project, "-e", "w", expect=4)
    assert result["status"] == "FAILED" and result["exit_code"] == 4
    assert statuses(result) == {
        "broken": "failed",
        "after": "not run",
        "other": "not run",
        "other2": "not run",
    }
    notes = {s["name"]: s["reason"] for s in result["steps"]}
    assert notes["after"] == "needs broken, which failed"
    assert notes["other"] == "stopped after broken failed"


def test_keep_going_runs_what_does_not_depend_on_the_failure(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", FAILING)
    result = run_json(project, "-e", "w", "--keep-going", "-j", "2", expect=4)
    assert statuses(result) == {
        "broken": "failed",
        "after": "not run",
        "other": "finished",
        "other2": "finished",
    }
    shown = json.loads(cli("runs", "show", result["run_id"], "--json").stdout)
    assert (shown["status"], shown["exit_code"]) == ("FAILED", 4)


def test_summary_and_failed_step_log_tail_are_shown(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p", FAILING.replace("sys.exit(4)", 'print(\\"boom here\\"); sys.exit(4)')
    )
    proc = mlrun("run", str(project), "-e", "w")
    assert proc.returncode == 4
    assert "broken: failed" in proc.stderr  # the line-per-change view (not a terminal)
    assert "STEP" in proc.stderr and "exit 4" in proc.stderr  # the summary table
    assert "| boom here" in proc.stderr  # the tail of the failed step's output


SLOW = """\
entry_points:
  slow: {command: "python -c 'import os, time; os.mkdir(\\"started\\"); time.sleep(60)'"}
  ok: {command: "python -c 'print(1)'"}
workflows:
  w:
    steps:
      first: {entry_point: slow}
      then: {entry_point: ok, needs: [first]}
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_running_steps_and_starts_no_more(tmp_path: Path, signum: int) -> None:
    project = write_project(tmp_path / "p", SLOW)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlrun",
            "run",
            str(project),
            "-e",
            "w",
            "--json",
            "--grace-period",
            "5",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_until((project / "started").exists, "the first step's command to start")
    proc.send_signal(signum)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum
    result = json.loads(out)
    assert result["status"] == "KILLED"
    assert statuses(result) == {"first": "killed", "then": "not run"}
    step = json.loads(cli("runs", "show", result["steps"][0]["run_id"], "--json").stdout)
    assert step["status"] == "KILLED"


LOCKED = """\
entry_points:
  once:
    command: "python once.py"
workflows:
  w:
    steps:
      shared: {{entry_point: once}}
"""

ONCE_PY = """\
import os, sys, time
marks = sys.argv[1] if len(sys.argv) > 1 else {marks!r}
with open(os.path.join(marks, "executions"), "a") as fh:
    fh.write("run\\n")
deadline = time.time() + 60
while not os.path.exists(os.path.join(marks, "release")) and time.time() < deadline:
    time.sleep(0.02)
"""


@pytest.mark.slow  # two workflow processes (~1 s)
def test_concurrent_workflow_runs_never_execute_a_key_twice(tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    project = write_project(
        tmp_path / "p", LOCKED.format(), {"once.py": ONCE_PY.format(marks=str(marks))}
    )
    args = [sys.executable, "-m", "mlrun", "run", str(project), "-e", "w", "--json"]
    first = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_until((marks / "executions").exists, "the first workflow's step to start")
    second = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env_with()
    )
    seen = read_stream_until(second, "shared: locked", timeout=60)
    assert "shared: locked" in seen  # the second waits on the first's step
    (marks / "release").touch()
    out1, _ = first.communicate(timeout=60)
    out2, _ = second.communicate(timeout=60)
    assert first.returncode == 0 and second.returncode == 0
    r1, r2 = json.loads(out1), json.loads(out2)
    assert statuses(r1) == {"shared": "finished"}
    assert statuses(r2) == {"shared": "cached"}
    assert r2["steps"][0]["reason"].startswith("computed meanwhile by run")
    assert r1["steps"][0]["run_id"] == r2["steps"][0]["run_id"]
    assert (marks / "executions").read_text() == "run\n"


DEAF_PY = """\
import os, signal, sys, time
mark = os.path.join(sys.argv[1], sys.argv[2])
def heard(signum, frame):  # say so, and go on as if nothing happened
    open(mark + ".heard", "w").close()
signal.signal(signal.SIGINT, heard)
open(mark, "w").close()  # deaf from now on
time.sleep(120)
"""


def test_a_second_signal_kills_steps_at_once(tmp_path: Path) -> None:
    """The steps shrug SIGINT off and the grace period is long: only the second Ctrl-C,
    passed on as "kill now", ends them (well before the grace period would)."""
    marks = tmp_path / "marks"
    marks.mkdir()
    project = write_project(
        tmp_path / "p",
        f"""\
        entry_points:
          deaf:
            parameters: {{name: string}}
            command: "python deaf.py {marks} {{name}}"
        workflows:
          w:
            steps:
              one: {{entry_point: deaf, parameters: {{name: one}}}}
              two: {{entry_point: deaf, parameters: {{name: two}}}}
        """,
        {"deaf.py": DEAF_PY},
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlrun",
            "run",
            str(project),
            "-e",
            "w",
            "-j",
            "2",
            "--json",
            "-q",
            "--grace-period",
            "600",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    steps = [marks / "one", marks / "two"]
    wait_until(lambda: all(p.exists() for p in steps), "both steps to start")
    proc.send_signal(signal.SIGINT)
    heard = [p.with_suffix(".heard") for p in steps]
    wait_until(lambda: all(p.exists() for p in heard), "the first Ctrl-C to reach both steps")
    assert proc.poll() is None  # the steps go on, and mlrun waits for them
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130
    result = json.loads(out)
    assert statuses(result) == {"one": "killed", "two": "killed"}
