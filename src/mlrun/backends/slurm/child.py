"""A Slurm job as the supervisor's Child: the job's output files are tailed into two
pipes (so logs, the terminal and the supervisor's loop stay those of a local run), its
end comes from the controller (watch.py), and a signal to the run cancels the job."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

from mlrun.backends.slurm import ctl
from mlrun.backends.slurm.ctl import JobInfo
from mlrun.backends.slurm.script import JobFiles
from mlrun.backends.slurm.states import Ending, ending, is_active
from mlrun.backends.slurm.watch import watcher
from mlrun.execution.child import Child

TAG_PREFIX = "mlrun.slurm."
_READ = 65536
_TAIL_FIRST, _TAIL_MAX = 0.05, 0.5  # seconds between looks at the files (backoff)
UNCONFIRMED_AFTER = 60.0  # seconds after a forced kill without word of the job's end


class SlurmChild(Child):
    def __init__(
        self,
        job_id: str,
        files: JobFiles,
        *,
        partition: str,
        limits: Mapping[str, str],
        poll_interval: float,
        on_trouble: Callable[[str], None] | None = None,
    ) -> None:
        self.job_id = job_id
        self.label = f"Slurm job {job_id}"
        self._files = files
        self._limits = limits  # {"time": "10"}: named when the job hits one
        self._info = JobInfo(job_id, "PENDING", "0:0", "", partition, "")
        self._ended = threading.Event()  # the controller says the job ended
        self._done = threading.Event()  # ... and its output is all in the pipes
        self._stop = threading.Event()  # cleanup: stop tailing now
        self._give_up: threading.Timer | None = None
        out_r, self._out_w = os.pipe()
        err_r, self._err_w = os.pipe()
        self.stdout, self.stderr = out_r, err_r
        self._watcher = watcher(on_trouble)
        self._tail = threading.Thread(
            target=self._tail_loop, name=f"mlrun-tail-{job_id}", daemon=True
        )
        self._tail.start()
        self._watcher.watch(job_id, poll_interval, self._on_info)

    # -- Child ----------------------------------------------------------------------

    def poll(self) -> int | None:
        if not self._done.is_set():
            return None
        return self.end().exit_code

    def wait(self, timeout: float | None = None) -> int | None:
        self._done.wait(timeout)
        return self.poll()

    def signal(self, signum: int) -> None:
        """Any stop request cancels the job: Slurm sends SIGTERM to everything it runs,
        and SIGKILL after the cluster's KillWait."""
        ctl.cancel(self.job_id)
        self._watcher.poke(self.job_id)

    def kill(self) -> None:
        ctl.cancel(self.job_id, kill=True)
        ctl.cancel(self.job_id)
        self._watcher.poke(self.job_id)
        # A controller that never confirms the end must not keep mlrun waiting forever.
        if self._give_up is None:
            self._give_up = threading.Timer(UNCONFIRMED_AFTER, self._unconfirmed)
            self._give_up.daemon = True
            self._give_up.start()

    def _unconfirmed(self) -> None:
        if not self._ended.is_set():
            info = self._info
            self._info = JobInfo(
                self.job_id, "UNCONFIRMED", "0:9", info.node, info.partition,
                f"no end confirmed {UNCONFIRMED_AFTER:.0f} s after scancel",
            )  # fmt: skip
            self._ended.set()

    def cleanup(self) -> None:
        # mlrun is done with the run: a job still queued or running would outlive it
        # (mlrun failing, or interrupted before the job ended), so it goes too.
        if not self._ended.is_set():
            ctl.cancel(self.job_id)
        if self._give_up is not None:
            self._give_up.cancel()
        self._watcher.forget(self.job_id)
        self._stop.set()
        for fd in (self.stdout, self.stderr):  # a tail blocked on a full pipe gets EPIPE
            _close(fd)
        self._tail.join(timeout=5)
        try:
            self._files.environ.unlink()
        except FileNotFoundError:
            pass

    def details(self) -> dict[str, str]:
        info = self._info
        found = {
            "job_id": self.job_id,
            "partition": info.partition,
            "node": info.node,
            "state": info.state,
        }
        if self._ended.is_set():
            found["exit_code"] = info.exit_code
        return {TAG_PREFIX + k: v for k, v in found.items() if v}

    def ending(self) -> tuple[str, int, str | None] | None:
        if not self._ended.is_set():
            return None
        end = self.end()
        return end.status, end.exit_code, end.reason

    def end(self) -> Ending:
        """The job's end in the run's words (its state so far, before it ended)."""
        info = self._info
        return ending(self.job_id, info.state, info.exit_code, self._limits)

    # -- the watcher's answers and the tail -------------------------------------------

    def _on_info(self, info: JobInfo) -> None:
        if not info.partition:
            info.partition = self._info.partition
        if not info.node:
            info.node = self._info.node
        self._info = info
        if not is_active(info.state):
            self._ended.set()

    def _tail_loop(self) -> None:
        offsets = {self._files.stdout: 0, self._files.stderr: 0}
        pipes = {self._files.stdout: self._out_w, self._files.stderr: self._err_w}
        pause, poked = _TAIL_FIRST, False
        try:
            while not self._stop.is_set():
                ended = self._ended.is_set()  # before reading: what follows is the rest
                moved = any([self._copy(path, offsets, pipes[path]) for path in pipes])
                if ended:
                    break
                if not poked and self._files.exit.exists():
                    poked = True
                    self._watcher.poke(self.job_id)
                pause = _TAIL_FIRST if moved else min(pause * 1.5, _TAIL_MAX)
                self._ended.wait(pause)
        except BrokenPipeError:  # the supervisor stopped reading: nothing left to feed
            pass
        finally:
            _close(self._out_w)
            _close(self._err_w)
            self._done.set()

    def _copy(self, path: Path, offsets: dict[Path, int], pipe: int) -> bool:
        """Write what `path` gained since the last look into `pipe`; True if anything."""
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:  # the job has not started yet
            return False
        moved = False
        try:
            if os.fstat(fd).st_size < offsets[path]:  # rewritten (a requeued job)
                offsets[path] = 0
            os.lseek(fd, offsets[path], os.SEEK_SET)
            while not self._stop.is_set():
                data = os.read(fd, _READ)
                if not data:
                    break
                offsets[path] += len(data)
                view = memoryview(data)
                while view:
                    view = view[os.write(pipe, view) :]
                moved = True
        finally:
            os.close(fd)
        return moved


def _close(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass
