"""The one helper for running short subprocesses (git, docker CLI probes, uv, pip...).

Long-running, supervised user commands go through mlrun.execution instead. Errors show
the command, exit code and the tail of its output, with secrets redacted."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from mlrun.util.redact import redact


@dataclass(frozen=True)
class ProcResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def describe(self, tail: int = 20) -> str:
        """The command, its exit code and the last lines of its output, redacted."""
        out = (self.stdout + ("\n" if self.stdout and self.stderr else "") + self.stderr)
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
) -> ProcResult:
    """Run `argv` to completion, capturing output as text.

    `extra_env` is merged over `env` (or os.environ): use it to pass secrets, which must
    never appear in argv."""
    full_env = dict(os.environ if env is None else env)
    if extra_env:
        full_env.update(extra_env)
    try:
        completed = subprocess.run(
            list(argv),
            cwd=cwd,
            env=full_env,
            capture_output=True,
            check=False,
            text=True,
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
