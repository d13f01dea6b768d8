"""Issue 11.6: nothing escapes the run. A command's background processes that leave its
process group -- `setsid`, a daemon's double fork, even one that also drops the
environment -- are stopped when the run ends, as the README says. The CLI process is a
child subreaper for that; `mlrun.run()` in a library caller's process is not, and finds
a run's processes by MLRUN_RUN_ID instead."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.execution.procs import (
    kill_survivors,
    records,
    script_project,
    spawn_mlrun,
    survivors,
)
from tests.helpers import mlrun, wait_until

pytestmark = pytest.mark.slow  # real mlrun processes, signalled and killed

# Three ways out of the process group, then the command itself ends at once.
ESCAPE = """\
token=$1
setsid sleep 3001.$token &
(setsid sh -c "sleep 3002.$token & exit" &)
env -i /usr/bin/setsid /bin/sleep 3003.$token &
sleep 0.2
"""


def test_processes_that_leave_the_session_are_stopped_when_the_run_ends(
    tmp_path: Path, mlrun_home: Path
) -> None:
    token = f"{os.getpid():07d}001"
    try:
        proc = mlrun("run", str(script_project(tmp_path / "p", ESCAPE)), "-P", f"arg={token}")
        assert proc.returncode == 0, proc.stderr
        assert survivors(token) == []
    finally:
        kill_survivors(token)
    ((status, code, _),) = records(mlrun_home).values()
    assert (status, code) == ("FINISHED", 0)


API = """\
import ctypes, os, sys
import mlrun
run = mlrun.run(sys.argv[1], parameters={"arg": sys.argv[2]})
reaper = ctypes.c_int(-1)
ctypes.CDLL(None).prctl(37, ctypes.byref(reaper), 0, 0, 0)  # PR_GET_CHILD_SUBREAPER
print(run.get_status(), reaper.value)
"""


def test_the_python_api_stops_what_carries_the_run_id_and_leaves_the_caller_alone(
    tmp_path: Path,
) -> None:
    """From Python the caller's process stays as it was (not a subreaper); what left
    the run's session with its environment is found by MLRUN_RUN_ID and stopped. One
    that also dropped its environment cannot be told from the caller's own processes:
    only the CLI catches that one (README)."""
    token = f"{os.getpid():07d}002"
    try:
        proc = subprocess.run(
            [sys.executable, "-c", API, str(script_project(tmp_path / "p", ESCAPE)), token],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.split() == ["FINISHED", "0"]  # the caller is not a subreaper
        left = [cmd for _, cmd in survivors(token)]
        assert left == [f"/bin/sleep 3003.{token} "]  # only the env -i one
    finally:
        kill_survivors(token)


ORPHANS = """\
i=0
while [ $i -lt 200 ]; do (true &); i=$((i+1)); done
touch "$1"
sleep 300
"""


def test_orphans_the_cli_adopts_are_collected_while_the_run_goes_on(tmp_path: Path) -> None:
    """As subreaper, mlrun adopts every orphan of the run; the ones that exit must not
    pile up as zombies until the run ends."""
    done = tmp_path / "done"
    project = script_project(tmp_path / "p", ORPHANS, str(done))
    proc = spawn_mlrun("run", str(project))
    try:
        wait_until(done.exists, "the orphans to be made")
        wait_until(lambda: _zombie_children(proc.pid) < 5, "mlrun to collect its orphans", 10)
    finally:
        proc.terminate()
        proc.communicate(timeout=60)


def _zombie_children(pid: int) -> int:
    count = 0
    for name in os.listdir("/proc"):
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
        except (OSError, NotADirectoryError):
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if fields[0] == "Z" and int(fields[1]) == pid:
            count += 1
    return count


HELPERS = """\
import sys, threading
from mlrun.execution import reaping
from mlrun.util.proc import run

assert reaping.become_subreaper()
stop = threading.Event()


def helpers():  # another thread's short commands (a Slurm job's squeue polls)
    try:
        for _ in range(100):
            print(run(["sh", "-c", "exit 3"], check=False).returncode)
    finally:
        stop.set()


thread = threading.Thread(target=helpers)
thread.start()
while not stop.is_set():  # the supervisor's loop, as tight as it can be
    reaping.reap_orphans(())
thread.join()
"""


def test_collecting_orphans_never_takes_a_helpers_exit_status(tmp_path: Path) -> None:
    """While a run goes on, the subreaper collects exited orphans; a helper another
    thread runs meanwhile (a Slurm job's squeue) is its owner's to collect, or its
    failure would read as exit 0."""
    proc = subprocess.run(
        [sys.executable, "-c", HELPERS], check=False, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    codes = proc.stdout.split()
    assert len(codes) == 100
    assert set(codes) == {"3"}
