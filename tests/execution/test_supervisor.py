"""The supervisor with real processes: exit codes, logs, cancellation, grace, orphans."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from mlrun.execution.child import LocalChild
from mlrun.execution.logs import LogSink
from mlrun.execution.supervisor import Cancel, supervise
from tests.helpers import pid_alive as _alive
from tests.helpers import wait_until


def _py(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def _run(argv: list[str], tmp_path: Path, **kwargs: object):  # type: ignore[no-untyped-def]
    child = LocalChild(argv, tmp_path, dict(os.environ, PYTHONUNBUFFERED="1"))
    sink = LogSink(tmp_path / "logs", echo=False)
    try:
        return supervise(child, sink, forward_signals=False, **kwargs), child  # type: ignore[arg-type]
    finally:
        sink.close()


SAY_PY = """\
import pathlib, sys, time
log = pathlib.Path(sys.argv[1])
def say(text, stream):  # and wait until the supervisor has it in the combined log
    print(text, file=stream, flush=True)
    deadline = time.time() + 60
    while text not in (log.read_text() if log.exists() else "") and time.time() < deadline:
        time.sleep(0.01)
say("out1", sys.stdout)
say("err1", sys.stderr)
say("out2", sys.stdout)
sys.exit(3)
"""


def test_exit_code_and_logs_are_captured(tmp_path: Path) -> None:
    # Order across two pipes is only defined by arrival: each line waits for the last.
    outcome, _ = _run([*_py(SAY_PY), str(tmp_path / "logs/output.log")], tmp_path)
    assert (outcome.status, outcome.exit_code, outcome.child_returncode) == ("FAILED", 3, 3)
    assert (tmp_path / "logs/stdout.log").read_text() == "out1\nout2\n"
    assert (tmp_path / "logs/stderr.log").read_text() == "err1\n"
    combined = (tmp_path / "logs/output.log").read_text()
    assert combined.index("out1") < combined.index("err1") < combined.index("out2")


def test_success_is_finished(tmp_path: Path) -> None:
    outcome, _ = _run(["true"], tmp_path)
    assert (outcome.status, outcome.exit_code, outcome.reason) == ("FINISHED", 0, None)


def test_binary_and_large_output_survive(tmp_path: Path) -> None:
    code = "import sys; sys.stdout.buffer.write(bytes(range(256)) * 4096)"
    outcome, _ = _run(_py(code), tmp_path)
    assert outcome.exit_code == 0
    assert (tmp_path / "logs/stdout.log").read_bytes() == bytes(range(256)) * 4096


def test_crash_signal_is_failed_with_128_plus_n(tmp_path: Path) -> None:
    outcome, _ = _run(_py("import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"), tmp_path)
    assert outcome.status == "FAILED"
    assert outcome.exit_code == 128 + signal.SIGSEGV


def _cancel_when_exists(path: Path, cancel: Cancel) -> None:
    """Cancel only once the command is known to have started what it should."""
    wait_until(path.exists, f"{path} to appear")
    cancel.request()


def test_cancel_stops_the_whole_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild.pid"
    script = f"sleep 300 & echo $! > {pidfile}.tmp; mv {pidfile}.tmp {pidfile}; wait"
    cancel = Cancel()
    threading.Thread(target=_cancel_when_exists, args=(pidfile, cancel), daemon=True).start()
    outcome, _ = _run(["bash", "-c", script], tmp_path, cancel=cancel, grace=5.0)
    assert outcome.status == "KILLED"
    assert outcome.exit_code == 128 + signal.SIGTERM
    grandchild = int(pidfile.read_text())
    # Signalled with the group; it may still be on its way out when supervise returns.
    wait_until(lambda: not _alive(grandchild), f"the grandchild {grandchild} to end")


@pytest.mark.slow  # waits out a 1 s grace period
def test_child_ignoring_sigterm_is_killed_after_grace(tmp_path: Path) -> None:
    code = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        f"open({str(tmp_path / 'ready')!r}, 'w').close(); time.sleep(300)"
    )
    cancel = Cancel()
    threading.Thread(
        target=_cancel_when_exists, args=(tmp_path / "ready", cancel), daemon=True
    ).start()
    started = time.monotonic()
    outcome, child = _run(_py(code), tmp_path, cancel=cancel, grace=1.0)
    assert time.monotonic() - started < 60  # generous; the point is that it returned at all
    assert outcome.status == "KILLED"
    assert outcome.exit_code == 143
    assert outcome.child_returncode == -signal.SIGKILL
    assert not _alive(child.pid)  # type: ignore[attr-defined]


def test_background_leftover_is_removed_after_normal_exit(tmp_path: Path) -> None:
    """A step that leaves a background job behind must not leave an orphan."""
    pidfile = tmp_path / "bg.pid"
    script = f"(sleep 300 >/dev/null 2>&1 &  echo $! > {pidfile}); echo done"
    outcome, _ = _run(["bash", "-c", script], tmp_path)
    assert outcome.status == "FINISHED"
    pid = int(pidfile.read_text())
    wait_until(lambda: not _alive(pid), f"the leftover background job {pid} to go")


@pytest.mark.slow  # waits out the 2 s pipe drain
def test_grandchild_holding_pipes_does_not_hang_the_run(tmp_path: Path) -> None:
    script = "sleep 300 & echo started"
    outcome, _ = _run(["bash", "-c", script], tmp_path)
    assert outcome.status == "FINISHED"
    assert "started" in (tmp_path / "logs/stdout.log").read_text()


def test_missing_command_is_127(tmp_path: Path) -> None:
    from mlrun.errors import CommandNotFoundError

    with pytest.raises(CommandNotFoundError) as info:
        LocalChild(["definitely-not-a-command-xyz"], tmp_path, dict(os.environ))
    assert info.value.exit_code == 127
    assert "definitely-not-a-command-xyz" in str(info.value)


def test_not_executable_is_126(tmp_path: Path) -> None:
    from mlrun.errors import LaunchError

    script = tmp_path / "s.sh"
    script.write_text("echo hi\n")
    script.chmod(0o644)
    with pytest.raises(LaunchError) as info:
        LocalChild([str(script)], tmp_path, dict(os.environ))
    assert info.value.exit_code == 126
