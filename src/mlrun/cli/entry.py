"""The process entry point of the `mlrun` command (console script and `python -m mlrun`).

Start-up allocates some 300,000 objects while importing click, the stdlib and mlrun, and
creates no garbage cycles worth collecting; Python's cyclic GC would still scan them
hundreds of times (about 5 ms of every run). So the GC is off until start-up is over:
`startup_done()` (called by a command before its long phase: supervising a run, a
workflow) freezes what start-up made, so later collections skip it, and turns the GC
back on. Only the command-line process does this; importing mlrun changes nothing."""

from __future__ import annotations

import gc
import sys

_deferred = False


def main() -> None:
    global _deferred
    if gc.isenabled():
        gc.disable()
        _deferred = True
    from mlrun.cli.main import run_cli

    sys.exit(run_cli())


def startup_done() -> None:
    global _deferred
    if _deferred:
        _deferred = False
        gc.freeze()
        gc.enable()
