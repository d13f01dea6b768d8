"""In-process CLI runs for the hardening tests: exit code, stdout and stderr."""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import NamedTuple

import pytest


class Result(NamedTuple):
    code: int
    out: str
    err: str


Cli = Callable[..., Result]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    """cli("run", ...) runs `mlrun ...` in this process (cli/main.py run_cli), restoring
    the signal handlers it installs."""
    from mlrun.cli.main import run_cli

    def run(*args: str) -> Result:
        saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP)}
        capsys.readouterr()
        try:
            code = run_cli(list(args))
        finally:
            for signum, handler in saved.items():
                signal.signal(signum, handler)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run
