"""Issue 11.7: when mlrun is SIGKILLed in the middle of a workflow step, the step's
command dies with it, so a second workflow run never executes the same step key while
the first execution still runs. The step also leaves a process in a session of its own,
which only the next mlrun can find: it stops it before it runs anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.execution.procs import spawn_mlrun
from tests.helpers import mlrun, pid_alive, wait_until, write_project

pytestmark = pytest.mark.slow  # real mlrun processes, signalled and killed

# Each execution first says which earlier execution's processes are still alive, then
# adds its own pids; the first one holds on, the second one ends at once.
STEP = """\
for pid in $(cat "$1" 2>/dev/null); do
  kill -0 "$pid" 2>/dev/null && grep -qv Z "/proc/$pid/stat" 2>/dev/null \\
    && echo "$pid" >> "$1.overlap"
done
if [ -e "$1.fast" ]; then echo $$ >> "$1"; exit 0; fi
setsid sleep 301 &
echo "$! $$" >> "$1"
exec sleep 300
"""


def test_a_step_never_runs_twice_at_once_after_its_mlrun_died(tmp_path: Path) -> None:
    log = tmp_path / "executions"
    project = write_project(
        tmp_path / "p",
        f"""\
        entry_points:
          train:
            command: "sh step.sh {log}"
        workflows:
          flow:
            steps:
              train: {{entry_point: train}}
        """,
        {"step.sh": STEP},
    )
    first = spawn_mlrun("run", str(project), "-e", "flow")
    wait_until(log.exists, "the step to start", 120)
    pids = [int(p) for p in log.read_text().split()]
    first.kill()  # mlrun alone
    first.communicate(timeout=60)
    Path(f"{log}.fast").touch()
    again = mlrun("run", str(project), "-e", "flow")
    assert again.returncode == 0, again.stderr
    assert len(log.read_text().split()) == 3  # the step ran again (it never finished) ...
    assert not Path(f"{log}.overlap").exists()  # ... but never beside its first execution
    assert not any(pid_alive(p) for p in pids)
