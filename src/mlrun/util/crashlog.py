"""Crash logs: the traceback of an internal error (a bug), kept in the data directory.

Written for the command-line process (cli/main.py) and for a workflow step whose
planning or recording failed inside mlrun (workflow/engine.py), where the workflow goes
on and the step is only marked failed. Tokens in URLs never reach the file."""

from __future__ import annotations

import os
import sys
import time
import traceback
from pathlib import Path


def write_crash_log(exc: BaseException, context: str = "") -> Path | None:
    """Write `exc`'s traceback to a new crash-*.log file; its path, or None when the
    data directory cannot be written (the caller still reports the error)."""
    from mlrun import __version__
    from mlrun.util.paths import data_dir
    from mlrun.util.redact import redact

    text = redact("".join(traceback.format_exception(exc)))
    header = f"mlrun {__version__}\nargv: {redact(str(sys.argv))}\n"
    if context:
        header += f"{redact(context)}\n"
    try:
        folder = data_dir()
        folder.mkdir(parents=True, exist_ok=True)
        stem = f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
        for n in range(1000):  # several steps of one workflow may fail in the same second
            log = folder / (f"{stem}.log" if n == 0 else f"{stem}-{n}.log")
            try:
                with open(log, "x", encoding="utf-8") as fh:
                    fh.write(f"{header}\n{text}")
                return log
            except FileExistsError:
                continue
    except OSError:
        pass
    return None
