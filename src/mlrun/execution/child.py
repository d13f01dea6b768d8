"""What the supervisor watches: a started command with two output pipes.

`LocalChild` is a process (group) on this machine. Other launchers (a docker container,
a remote job) implement the same small interface and feed their output into pipes, so
the supervisor, log capture and signal handling are shared by every kind of run."""

from __future__ import annotations

import abc
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mlrun.errors import CommandNotFoundError, LaunchError
from mlrun.execution import reaping
from mlrun.util.lifeline import Lifeline


class Child(abc.ABC):
    """A running command. `stdout`/`stderr` are readable file descriptors."""

    stdout: int
    stderr: int
    label: str  # "pid 1234", "container mlrun-ab12..."

    @abc.abstractmethod
    def poll(self) -> int | None:
        """The return code once ended (negative: killed by that signal), else None."""

    @abc.abstractmethod
    def wait(self, timeout: float | None = None) -> int | None:
        """Block until ended or timeout; the return code or None."""

    @abc.abstractmethod
    def signal(self, signum: int) -> None:
        """Deliver `signum` to everything the command started."""

    @abc.abstractmethod
    def kill(self) -> None:
        """Forcefully stop everything the command started."""

    def cleanup(self) -> None:
        """After the command ended: remove whatever it left behind."""

    def details(self) -> dict[str, str]:
        """Where the command runs, for the run's record (a cluster job's id, partition
        and node), as tags; the runner records them whenever they change."""
        return {}

    def ending(self) -> tuple[str, int, str | None] | None:
        """(status, exit code, reason) when the return code alone does not say how the
        command ended (a cluster job that hit its time limit); None otherwise."""
        return None

    def own_pids(self) -> tuple[int, ...]:
        """Child processes of mlrun that this Child waits for itself (a subreaper must
        never collect their exit status)."""
        return ()

    def recorded(self) -> dict[str, Any]:
        """What cleanup() found worth adding to the run record's env (a container: the
        files the run left in its working directory)."""
        return {}


class LocalChild(Child):
    """A local process started in its own session (hence its own process group).

    Its own session means the terminal's Ctrl-C reaches only mlrun, which forwards it
    once to the whole group, and a step that reads stdin is not stopped by job control.
    A lifeline (util/lifeline.py) kills the group if mlrun dies before the command."""

    def __init__(self, argv: Sequence[str], cwd: Path, env: Mapping[str, str]) -> None:
        try:
            self._proc = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=dict(env),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                close_fds=True,
            )
        except FileNotFoundError as exc:
            missing = exc.filename if exc.filename else argv[0]
            if not cwd.is_dir():
                raise LaunchError(f"working directory {cwd} does not exist") from None
            raise CommandNotFoundError(
                f"command {missing!r} was not found",
                hint="check the entry point's command and that its program is on PATH "
                "in the chosen environment",
            ) from None
        except PermissionError:
            raise LaunchError(
                f"command {argv[0]!r} could not be executed (permission denied)",
                hint="make the file executable or call it through its interpreter",
            ) from None
        except OSError as exc:
            raise LaunchError(
                f"command {argv[0]!r} could not be executed: {exc.strerror}"
            ) from None
        assert self._proc.stdout is not None and self._proc.stderr is not None
        self.stdout = self._proc.stdout.fileno()
        self.stderr = self._proc.stderr.fileno()
        self.pid = self._proc.pid
        self.label = f"pid {self.pid}"
        self._lifeline = Lifeline(self.pid)

    def poll(self) -> int | None:
        return self._proc.poll()

    def wait(self, timeout: float | None = None) -> int | None:
        try:
            return self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def signal(self, signum: int) -> None:
        self._signal_group(signum)

    def kill(self) -> None:
        self._signal_group(signal.SIGKILL)

    def cleanup(self) -> None:
        # The leader has exited; anything still in its group (background jobs, helpers
        # that ignored SIGTERM) would outlive the run as an orphan. Remove it.
        self._signal_group(signal.SIGKILL)
        # A subreaper collects the watcher with the rest of the run (its sweep).
        self._lifeline.release(wait=not reaping.is_subreaper())
        for stream in (self._proc.stdout, self._proc.stderr):
            if stream is not None:
                stream.close()

    def own_pids(self) -> tuple[int, ...]:
        watcher = self._lifeline.pid
        return (self.pid,) if watcher is None else (self.pid, watcher)

    def _signal_group(self, signum: int) -> None:
        try:
            os.killpg(self.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass
