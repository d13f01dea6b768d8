"""Issue 11.8: a full disk never kills the command. mlrun's home (store, logs, ledgers)
is a small tmpfs that the run fills: the command goes on, its output still reaches the
terminal, mlrun warns once, and exits with the command's own code; the run is recorded
with that code once space comes back (the next mlrun does it).

Mounting a tmpfs needs root, as CI runs the tests; elsewhere these skip with a reason."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_service
from tests.execution.procs import records
from tests.helpers import mlrun, write_project

pytestmark = pytest.mark.slow  # real mlrun processes filling a disk


@pytest.fixture
def small_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "small-home"
    home.mkdir()
    mounted = False
    if os.geteuid() == 0 and shutil.which("mount"):
        proc = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=4m", f"mlrun-test-{uuid.uuid4().hex[:8]}", home],
            capture_output=True,
            check=False,
        )
        mounted = proc.returncode == 0
    require_service(mounted, "mounting a small tmpfs needs root (CI runs the tests as root)")
    monkeypatch.setenv("MLRUN_HOME", str(home))
    yield home
    subprocess.run(["umount", "-l", str(home)], check=False)


def _run(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlrun", "run", str(project)],
        capture_output=True,
        text=True,
        check=False,
    )


# Prints about 6 MB (more than the 4 MB tmpfs holds) and exits with 3.
LOUD = """\
import sys
for i in range(60000):
    print(f"line {i:05d} " + "x" * 90)
sys.exit(3)
"""


def test_a_full_disk_never_kills_the_command(tmp_path: Path, small_home: Path) -> None:
    project = write_project(
        tmp_path / "p",
        """\
        entry_points:
          main: {command: "python loud.py"}
        """,
        {"loud.py": LOUD},
    )
    proc = _run(project)
    assert proc.returncode == 3, proc.stderr  # the command's own code, not 125
    lines = proc.stdout.splitlines()
    assert len(lines) == 60000 and lines[-1].startswith("line 59999 ")  # all of it
    assert proc.stderr.count("the run's log could not be written") == 1, proc.stderr
    assert "No space left on device" in proc.stderr
    # The store is full too: the outcome waits in the run's ledger.
    ((run_id, stored),) = records(small_home).items()
    assert stored[0] == "RUNNING"
    assert "the next mlrun records it" in proc.stderr
    # Space comes back; the next mlrun records the run as the command ended.
    for log in (small_home / "runs" / run_id / "logs").iterdir():
        log.unlink()
    shown = mlrun("runs", "show", run_id, "--json")
    assert shown.returncode == 0, shown.stderr
    record = json.loads(shown.stdout)
    assert (record["status"], record["exit_code"]) == ("FAILED", 3)
    assert "command exited with 3" in record["status_reason"]
    assert not (small_home / "live" / run_id).exists()


# Logs a metric, then fills the disk with a file of its own and succeeds.
FILLER = """\
import os
run_dir = os.environ["MLRUN_RUN_DIR"]
with open(os.path.join(run_dir, "metrics.jsonl"), "w") as fh:
    fh.write('{"key": "acc", "value": 0.9, "step": 1}\\n')
try:
    with open(os.path.join(run_dir, "filler"), "wb") as fh:
        while True:
            fh.write(b"0" * 65536)
except OSError:
    pass
print("filled")
"""


def test_a_store_full_at_the_end_keeps_the_exit_code_and_records_later(
    tmp_path: Path, small_home: Path
) -> None:
    project = write_project(
        tmp_path / "p",
        """\
        entry_points:
          main: {command: "python filler.py"}
        """,
        {"filler.py": FILLER},
    )
    proc = _run(project)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "filled\n"
    ((run_id, stored),) = records(small_home).items()
    assert stored[0] == "RUNNING"
    (small_home / "runs" / run_id / "outputs" / "filler").unlink()
    listed = mlrun("runs", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    (record,) = json.loads(listed.stdout)
    assert (record["status"], record["exit_code"]) == ("FINISHED", 0)
    shown = json.loads(mlrun("runs", "show", run_id, "--json", check=True).stdout)
    assert [m["value"] for m in shown["metrics"] if m["key"] == "acc"] == [0.9]
