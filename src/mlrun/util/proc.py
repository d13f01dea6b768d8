"""The one helper for running short subprocesses (git, docker CLI probes, uv, pip...).

Long-running, supervised user commands go through mlrun.execution instead. Errors show
the command, exit code and the tail of its output, with secrets redacted."""

from __future__ import annotations

import os
import re
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from mlrun.util.redact import redact


class ProcResult(NamedTuple):
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def describe(self, tail: int = 20) -> str:
        """The command, its exit code and the last lines of its output, redacted."""
        out = self.stdout + ("\n" if self.stdout and self.stderr else "") + self.stderr
        lines = out.rstrip().splitlines()[-tail:]
        head = f"`{redact(' '.join(self.argv))}` exited with {self.returncode}"
        return redact("\n".join([head, *("  " + line for line in lines)]))


class ProcError(Exception):
    def __init__(self, result: ProcResult) -> None:
        super().__init__(result.describe())
        self.result = result


def run(
    argv: Sequence[str],
    *,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    extra_env: Mapping[str, str] | None = None,
    check: bool = True,
    timeout: float | None = None,
    input: str | None = None,
    on_stderr: Callable[[str], None] | None = None,
) -> ProcResult:
    """Run `argv` to completion, capturing output as text.

    `extra_env` is merged over `env` (or os.environ): use it to pass secrets, which must
    never appear in argv. `on_stderr` gets each stderr line (split on CR too, so
    `git fetch --progress` counters arrive live) while the command runs."""
    full_env = dict(os.environ if env is None else env)
    if extra_env:
        full_env.update(extra_env)
    if on_stderr is not None:
        result = _run_streaming(argv, cwd, full_env, on_stderr)
        if check and not result.ok:
            raise ProcError(result)
        return result
    try:
        completed = subprocess.run(
            list(argv),
            cwd=cwd,
            env=full_env,
            capture_output=True,
            check=False,
            # Not the locale's codec: git prints file names and diffs in any bytes, and
            # surrogateescape gives them back exactly (`.encode("utf-8", "surrogateescape")`).
            encoding="utf-8",
            errors="surrogateescape",
            timeout=timeout,
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
        )
    except FileNotFoundError as exc:
        result = ProcResult(tuple(argv), 127, "", f"{argv[0]}: command not found ({exc})")
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        err = exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        result = ProcResult(tuple(argv), 124, out, err + f"\n(timed out after {timeout}s)")
    else:
        result = ProcResult(
            tuple(argv), completed.returncode, completed.stdout or "", completed.stderr or ""
        )
    if check and not result.ok:
        raise ProcError(result)
    return result


_LINE_END = re.compile(r"[\r\n]")


def _run_streaming(
    argv: Sequence[str],
    cwd: str | Path | None,
    env: Mapping[str, str],
    on_stderr: Callable[[str], None],
) -> ProcResult:
    try:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    except FileNotFoundError as exc:
        return ProcResult(tuple(argv), 127, "", f"{argv[0]}: command not found ({exc})")
    out_chunks: list[bytes] = []
    assert proc.stdout is not None and proc.stderr is not None
    stdout_pipe = proc.stdout
    reader = threading.Thread(target=lambda: out_chunks.append(stdout_pipe.read()), daemon=True)
    reader.start()
    err = bytearray()
    pending = ""
    try:
        while chunk := os.read(proc.stderr.fileno(), 8192):
            err += chunk
            pending += chunk.decode(errors="replace")  # progress text only
            *lines, pending = _LINE_END.split(pending)
            for line in lines:
                if line.strip():
                    on_stderr(line)
        proc.wait()
    except BaseException:  # Ctrl-C, SIGTERM unwinding: never leave the child behind
        proc.kill()
        proc.wait()
        raise
    finally:
        reader.join()
        proc.stdout.close()
        proc.stderr.close()
    stdout = b"".join(out_chunks).decode("utf-8", "surrogateescape")
    return ProcResult(
        tuple(argv), proc.returncode, stdout, bytes(err).decode("utf-8", "surrogateescape")
    )
