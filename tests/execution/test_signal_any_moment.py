"""Issue 11.5: SIGINT, SIGTERM or SIGHUP sent to `mlrun run` at any moment leaves
nothing behind: every process of the run gone, the run KILLED when a record exists, and
exit 128+N.

A counting test, not one lucky timing: a seeded generator picks, for each run, the
signal and the moment -- for one run in five a random delay after mlrun starts (so some
land before the command exists), for the others a random delay after the run's record
appears (before the command, as it starts, or as it runs) or the moment the command has
started its background processes (one of them in a session of its own). Every run is
checked and the outcome of each is counted: each of the 51 runs signalled once their
record existed must be KILLED with 128+N, and no process of any run may survive."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.execution.procs import kill_survivors, records, spawn_mlrun, survivors
from tests.helpers import wait_until, write_project

RUNS = 64  # a fifth signalled at a random delay, the rest once the record exists
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

# The command: a background job, an escapee in its own session (`setsid`), then a
# foreground wait. Each process carries the run's token in its command line.
WORK = """\
token=$1
sleep 3000.$token &
setsid sleep 3001.$token &
echo "$$" > "$2.tmp" && mv "$2.tmp" "$2"
exec sleep 3002.$token
"""


@pytest.mark.slow
def test_a_signal_at_any_moment_leaves_nothing_behind(tmp_path: Path, mlrun_home: Path) -> None:
    project = write_project(
        tmp_path / "p",
        """\
        entry_points:
          main:
            parameters: {token: string, started: string}
            command: "sh work.sh {token} {started}"
        """,
        {"work.sh": WORK},
    )
    rng = random.Random(20261201)
    counts: Counter[str] = Counter()
    failures: list[str] = []
    # How long a run takes to reach its command, to spread the random delays over it.
    window = _time_to_start(project, tmp_path, mlrun_home)
    for i in range(RUNS):
        token = f"{os.getpid():07d}{i:03d}"  # one width: no token holds another
        started = tmp_path / f"started-{i}"
        signum = rng.choice(SIGNALS)
        when = "delay" if i % 5 == 0 else rng.choice(("record", "started"))
        before = set(records(mlrun_home))
        proc = spawn_mlrun(
            "run", str(project), "-P", f"token={token}", "-P", f"started={started}",
            "--grace-period", "3",
        )  # fmt: skip
        if when == "delay":
            time.sleep(rng.uniform(0, window * 1.3))
        elif when == "record":
            wait_until(lambda known=before: set(records(mlrun_home)) - known, "the record")
            time.sleep(rng.uniform(0, window / 4))  # up to the command and into it
        else:
            wait_until(started.exists, "the command to start")
        command_started = started.exists()
        err, new = _signal(proc, signum, token, mlrun_home, before, failures)
        where = f"run {i} ({signal.Signals(signum).name} at {when}, exit {proc.returncode})"
        if proc.returncode == 128 + signum:
            if not new:
                counts["128+N, no record yet"] += 1
            elif list(new.values()) == [("KILLED", 128 + signum, _reason(signum))]:
                counts["128+N, KILLED" + (" after the command started" * command_started)] += 1
            else:
                failures.append(f"{where}: recorded {new}")
        elif _interpreter_starting(proc.returncode, err, signum) and not new:
            counts["died starting Python, nothing made"] += 1
        else:
            failures.append(f"{where}: recorded {new}; stderr {err.decode()[-500:]}")
    print(dict(counts))
    assert not failures, "\n".join(failures)
    assert sum(counts.values()) == RUNS
    # The moments did spread over the window: before the record, between the record and
    # the command, and while the command ran.
    assert counts["128+N, KILLED after the command started"] >= RUNS // 4
    assert counts["128+N, KILLED"] + counts["128+N, no record yet"] >= 3
    # Every run signalled once its record existed (51 of them) was counted KILLED.
    assert counts["128+N, KILLED"] + counts["128+N, KILLED after the command started"] >= 50


def _signal(
    proc: subprocess.Popen[bytes],
    signum: int,
    token: str,
    home: Path,
    before: set[str],
    failures: list[str],
) -> tuple[bytes, dict[str, tuple[str, int | None, str | None]]]:
    """Send the signal, wait for mlrun; (its stderr, the records it made). Processes of
    the run still alive then are failures (and are killed)."""
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    left = survivors(token)
    kill_survivors(token)
    if left:
        failures.append(f"{signal.Signals(signum).name}, exit {proc.returncode}: left {left}")
    return err, {k: v for k, v in records(home).items() if k not in before}


def _interpreter_starting(returncode: int | None, err: bytes, signum: int) -> bool:
    """The signal came while the interpreter itself was starting, before mlrun's first
    line could install its handlers: the default action ended it (a shell shows that as
    128+N), or for SIGINT Python's own KeyboardInterrupt (exit 1, with a traceback of
    the interpreter's start-up imports). Nothing had been made yet either way."""
    if returncode == -signum:
        return True
    return signum == signal.SIGINT and returncode == 1 and b"KeyboardInterrupt" in err


def _reason(signum: int) -> str:
    return f"stopped by {signal.Signals(signum).name} sent to mlrun"


def _time_to_start(project: Path, tmp_path: Path, home: Path) -> float:
    started = tmp_path / "started-warmup"
    token = f"{os.getpid():07d}999"  # this test's own: no other process carries it
    begin = time.monotonic()
    proc = spawn_mlrun("run", str(project), "-P", f"token={token}", "-P", f"started={started}")
    wait_until(started.exists, "the warm-up command to start")
    elapsed = time.monotonic() - begin
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    kill_survivors(token)
    return elapsed


ENDING = """\
import json, os, sys
run_dir = os.environ["MLRUN_RUN_DIR"]
with open(os.path.join(run_dir, "metrics.jsonl"), "w") as fh:
    for step in range(5000):  # recording these keeps mlrun writing for a while
        fh.write(json.dumps({"key": "loss", "value": 1.0 / (step + 1), "step": step}) + "\\n")
open(sys.argv[1], "w").close()
"""


@pytest.mark.slow
def test_a_signal_while_the_outcome_is_recorded_still_agrees_with_the_exit_code(
    tmp_path: Path, mlrun_home: Path
) -> None:
    """The command ends by itself; the signal comes as mlrun records how it ended.
    Until mlrun seals the outcome, the signal makes the run KILLED with 128+N; after
    that it is ignored. Either way the record and the exit code agree."""
    project = write_project(
        tmp_path / "p",
        """\
        entry_points:
          main:
            parameters: {ended: string}
            command: "python ending.py {ended}"
        """,
        {"ending.py": ENDING},
    )
    rng = random.Random(11_8)
    counts: Counter[str] = Counter()
    failures: list[str] = []
    # Runs until the signal has landed in the window at least 3 times (a test that counts,
    # not one lucky timing): about 1 run in 6 lands there, fewer on a busy machine.
    for i in range(80):
        if counts["KILLED after the command ended"] >= 3:
            break
        ended = tmp_path / f"ended-{i}"
        signum = rng.choice(SIGNALS)
        before = set(records(mlrun_home))
        proc = spawn_mlrun("run", str(project), "-P", f"ended={ended}")
        wait_until(ended.exists, "the command to end")
        time.sleep(rng.uniform(0, 0.3))
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
        (run,) = [v for k, v in records(mlrun_home).items() if k not in before]
        status, code, reason = run
        where = f"run {i} ({signal.Signals(signum).name}): exit {proc.returncode}, {run}"
        if proc.returncode == 128 + signum and status == "KILLED" and code == 128 + signum:
            late = reason is not None and "after the command ended" in reason
            counts["KILLED" + " after the command ended" * late] += 1
        elif proc.returncode == 0 and (status, code) == ("FINISHED", 0):
            counts["signal after the outcome was sealed: ignored"] += 1
        else:
            failures.append(f"{where}; stderr {err.decode()[-300:]}")
    print(dict(counts))
    assert not failures, "\n".join(failures)
    assert counts["KILLED after the command ended"] >= 3


WORKFLOW = """\
entry_points:
  main:
    parameters: {token: string, started: string}
    command: "sh work.sh {token} {started}"
workflows:
  w:
    parameters: {token: string, dir: string}
    steps:
      a:
        entry_point: main
        parameters: {token: "${{ params.token }}", started: "${{ params.dir }}/a"}
      b:
        entry_point: main
        parameters: {token: "${{ params.token }}", started: "${{ params.dir }}/b"}
"""


@pytest.mark.slow
def test_a_signal_at_any_moment_of_a_workflow_leaves_nothing_behind(
    tmp_path: Path, mlrun_home: Path
) -> None:
    """The same for a workflow of two steps running at once (each a run of its own in a
    worker thread): nothing left, the workflow and every step that started KILLED."""
    project = write_project(tmp_path / "p", WORKFLOW, {"work.sh": WORK})
    rng = random.Random(5)
    counts: Counter[str] = Counter()
    failures: list[str] = []
    for i in range(20):
        token = f"{os.getpid():07d}{i:03d}"  # one width: no token holds another
        marks = tmp_path / f"marks-{i}"
        marks.mkdir()
        signum = rng.choice(SIGNALS)
        when = rng.choice(("delay", "started"))
        before = set(records(mlrun_home))
        proc = spawn_mlrun(
            "run", str(project), "-e", "w", "-j", "2", "-P", f"token={token}",
            "-P", f"dir={marks}", "--grace-period", "3",
        )  # fmt: skip
        if when == "delay":
            time.sleep(rng.uniform(0, 1.5))
        else:
            wait_until(lambda m=marks: any(m.iterdir()), "a step to start")
        err, new = _signal(proc, signum, token, mlrun_home, before, failures)
        where = f"run {i} ({signal.Signals(signum).name} at {when}, exit {proc.returncode})"
        if _interpreter_starting(proc.returncode, err, signum) and not new:
            counts["died starting Python"] += 1
        elif proc.returncode != 128 + signum:
            failures.append(f"{where}: stderr {err.decode()[-400:]}")
        elif any(status != "KILLED" or code != 128 + signum for status, code, _ in new.values()):
            failures.append(f"{where}: recorded {new}")
        else:
            counts[f"128+N, {len(new)} records KILLED"] += 1
    print(dict(counts))
    assert not failures, "\n".join(failures)
