"""The process entry point of the `mlrun` command (console script and `python -m mlrun`).

First, before anything is imported: SIGINT, SIGTERM and SIGHUP become mlrun's own
(util/signals.py), so a signal at any moment from here to the exit ends in exit 128+N
with everything the process started gone. (Before this line runs -- the interpreter
starting -- a signal ends the process the default way, with nothing to clean up.)

Start-up allocates some 300,000 objects while importing click, the stdlib and mlrun, and
creates no garbage cycles worth collecting; Python's cyclic GC would still scan them
hundreds of times (about 5 ms of every run). So the GC is off until start-up is over:
`startup_done()` (called by a command before its long phase: supervising a run, a
workflow) freezes what start-up made, so later collections skip it, and turns the GC
back on. Only the command-line process does this; importing mlrun changes nothing.

`owns_process()` tells commands that this process is mlrun's alone (not a library
caller's, nor a test calling `run_cli` in-process): only then may `mlrun run` make it a
child subreaper (execution/reaping.py), which changes how the process's orphans behave."""

from __future__ import annotations

import gc
import sys

from mlrun.util import signals

_deferred = False
_owner = False


def main() -> None:
    global _deferred, _owner
    signals.install()
    _owner = True
    if gc.isenabled():
        gc.disable()
        _deferred = True
    try:
        from mlrun.cli.main import run_cli

        code = run_cli()
    except KeyboardInterrupt as exc:  # while importing, before run_cli could catch it
        code = getattr(exc, "exit_code", 130)
    signals.seal()  # exiting: the code is decided
    if "mlrun.execution.reaping" in sys.modules:  # only a command that supervised
        from mlrun.execution import reaping

        reaping.sweep()
    sys.exit(code)


def owns_process() -> bool:
    return _owner


def startup_done() -> None:
    global _deferred
    if _deferred:
        _deferred = False
        gc.freeze()
        gc.enable()
