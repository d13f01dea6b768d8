"""Issue 11.7: when mlrun itself is SIGKILLed, its command dies with it -- no other mlrun
needed --, and what had left the command's process group is stopped by the next mlrun
that starts, once it has made sure (pid and start time) that the supervisor is dead."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from mlrun.reporting import RecordingReporter
from mlrun.tracking.liveness import process_start_token, this_host
from tests.execution.procs import script_project, spawn_mlrun
from tests.helpers import mlrun, pid_alive, wait_until

# The command (pid $$), a background job in its process group, and one in a session of
# its own; their pids in a file once all three run (the escapee's own pid once it has
# left the group, so the kill of the group cannot catch it on its way out).
HOLD = """\
sleep 300 &
job=$!
setsid sh -c 'echo $$ > "$0.escapee"; exec sleep 301' "$1" &
while [ ! -s "$1.escapee" ]; do sleep 0.01; done
echo "$$ $job $(cat "$1.escapee")" > "$1.tmp" && mv "$1.tmp" "$1"
wait
"""


@pytest.mark.slow
def test_the_command_dies_with_its_mlrun_and_the_next_mlrun_stops_the_rest(
    tmp_path: Path, mlrun_home: Path
) -> None:
    pids = tmp_path / "pids"
    project = script_project(tmp_path / "p", HOLD, str(pids))
    proc = spawn_mlrun("run", str(project))
    try:
        wait_until(pids.exists, "the command to start")
        command, job, escapee = (int(p) for p in pids.read_text().split())
        proc.kill()  # mlrun alone, SIGKILL: nothing of it runs again
        proc.communicate(timeout=60)
        # No other mlrun runs: the command's process group dies with its supervisor.
        wait_until(
            lambda: not pid_alive(command) and not pid_alive(job),
            "the command to die with its mlrun",
            30,
        )
        # The escapee left the group; only the next mlrun can find it.
        assert pid_alive(escapee)
        listed = mlrun("runs", "list", "--json")
        assert listed.returncode == 0, listed.stderr
        assert not pid_alive(escapee)
        assert "stopped 1 process left running by run" in listed.stderr
        (run,) = json.loads(listed.stdout)
        assert run["status"] == "KILLED" and "died" in run["status_reason"]
        assert list((mlrun_home / "live").iterdir()) == []  # nothing left to settle
    finally:
        for pid in (int(p) for p in (pids.read_text().split() if pids.exists() else ())):
            if pid_alive(pid):
                os.kill(pid, 9)


def test_a_live_supervisor_is_left_alone_and_a_reused_pid_is_not_taken_for_it(
    tmp_path: Path,
) -> None:
    """A ledger names its supervisor by pid and start time. While that process lives, the
    run's processes are its business; a live process with the same pid but another start
    time is not the supervisor (the pid was reused): the run's processes are stopped."""
    from mlrun import recording
    from mlrun.execution.ledger import Ledger

    run_id = "f" * 32
    child = subprocess.Popen(["sleep", "300"], env={**os.environ, "MLRUN_RUN_ID": run_id})
    try:
        me = os.getpid()
        fields = {
            "pid": str(me),
            "host": this_host(),
            "store": str(tmp_path / "mlrun.db"),
            "dir": str(tmp_path),
            "backend": "local",
            "starts": "process",
        }
        ledger = Ledger.create(run_id, start=process_start_token(me) or "", **fields)
        assert ledger is not None
        reporter = RecordingReporter()
        recording.settle(reporter)  # the supervisor (this process) is alive
        assert child.poll() is None and ledger.path.exists()
        assert reporter.messages == []

        # The same pid, started at another time: another process has that pid now.
        Ledger.create(run_id, start="1", **fields)
        recording.settle(reporter)
        assert child.wait(timeout=30) == -9
        assert not ledger.path.exists()
        stopped = [kind for kind, m in reporter.messages if "stopped 1 process left" in m]
        assert stopped == ["warn"]
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
