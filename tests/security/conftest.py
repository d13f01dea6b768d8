"""In-process CLI runs for the hardening tests: exit code, stdout and stderr."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.helpers import write_project


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


def workflow_project(root: Path, steps: dict[str, str], name: str = "flow") -> Path:
    """A project with one entry point `main` (echo hi) and one workflow of `steps`
    ({step: its YAML flow mapping body, e.g. "entry_point: main, deps: [data]"})."""
    lines = "".join(f"      {step}: {{{body}}}\n" for step, body in steps.items())
    text = f'entry_points: {{main: {{command: "echo hi"}}}}\nworkflows:\n  {name}:\n    steps:\n'
    return write_project(root, text + lines)
