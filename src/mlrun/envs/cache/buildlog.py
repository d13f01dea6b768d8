"""Running the steps of an env build: output to the build log, live progress, clear failure.

Each step's output goes, line by line, into `build.log` in the env's cache directory (the
full log is kept) and its last line into the live progress line. On failure the error names
the step, its exit code, the last lines of the log and the log's path."""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from mlrun.errors import EnvBuildError
from mlrun.reporting import Progress
from mlrun.util.proc import Helper
from mlrun.util.redact import redact

TAIL_LINES = 15


class BuildLog:
    def __init__(
        self, path: Path, progress: Progress | None = None, keep_fds: Sequence[int] = ()
    ) -> None:
        self.path = path
        self.progress = progress or Progress()
        # Lock descriptors the build's subprocesses inherit: if mlrun itself is killed
        # mid-build, its orphaned children keep the build lock until they exit, so the
        # next run cannot clear the directory while they still write into it.
        self.keep_fds = tuple(keep_fds)
        self._fh = open(path, "ab")  # closed by close()

    def note(self, text: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        self._fh.write(f"== {stamp} {text}\n".encode())
        self._fh.flush()

    def run(
        self,
        argv: Sequence[str],
        *,
        what: str,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> str:
        """Run one build step to completion; its output (also returned) goes to the log."""
        self.note(f"{what}: {redact(shlex.join(argv))}")
        self.progress.update(what)
        try:
            # Its own process group, dying with mlrun (a lifeline): a build step never
            # goes on writing into the env after the mlrun that started it is gone.
            helper = Helper(
                argv,
                watch=True,
                cwd=cwd,
                env=dict(env if env is not None else os.environ),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                pass_fds=self.keep_fds,
            )
        except OSError as exc:
            self.note(f"could not start {argv[0]}: {exc}")
            raise self.failure(f"{what}: could not start {argv[0]!r} ({exc.strerror})") from None
        proc = helper.proc
        chunks: list[bytes] = []
        assert proc is not None and proc.stdout is not None
        try:
            for line in proc.stdout:
                chunks.append(line)
                self._fh.write(line)
                text = line.decode(errors="replace").strip()
                if text:
                    self.progress.update(f"{what}: {text[:100]}")
            returncode = proc.wait()
        except BaseException:
            # Ctrl-C, a signal or an error: stop the step (its whole group) and leave
            # the env without its marker.
            helper.stop()
            self.note(f"{what}: interrupted")
            raise
        finally:
            proc.stdout.close()
            self._fh.flush()
        helper.done()
        if returncode != 0:
            self.note(f"{what}: exited with {returncode}")
            raise self.failure(
                f"{what}: `{redact(shlex.join(argv[:3]))} ...` exited with {returncode}"
            )
        return b"".join(chunks).decode(errors="replace")

    def failure(self, message: str) -> EnvBuildError:
        """An EnvBuildError carrying the tail of the log and its path (in the message, so
        the run record's status reason has them too)."""
        tail = "".join("\n  | " + line for line in self.tail())
        return EnvBuildError(
            f"{message}{tail}\n  full build log: {self.path}",
            hint="fix the cause shown above; the next run rebuilds the env",
        )

    def tail(self, lines: int = TAIL_LINES) -> list[str]:
        self._fh.flush()
        try:
            text = self.path.read_text(errors="replace")
        except OSError:
            return []
        return [redact(line) for line in text.rstrip().splitlines()[-lines:]]

    def close(self) -> None:
        self._fh.close()
