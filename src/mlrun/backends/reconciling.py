"""Finishing a run whose mlrun process died while the backend's command ran on (a batch
job, a pod): what every backend's `reconcile` does once it has learnt how the command
ended from its own records (see base.py). The backend supplies the ending and where the
command's whole output lies; this module does the rest the same way for all of them:

- one reader does it, once: a try-once lock and a marker file in a directory of the
  backend's for the run (`runs/<run id>/<backend>/`);
- the output the dead mlrun had not yet copied is appended to the run's logs;
- the step's outputs and metrics ($MLRUN_RUN_DIR) are recorded, then the backend's tags;
- the run is finished with the backend's status, exit code and reason, plus
  `(reconciled from <backend>: <how mlrun was found dead>)`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from mlrun.tracking.base import RunStore
from mlrun.tracking.model import KILLED, Run

LOCK, DONE = "reconcile.lock", "reconciled"


def finish(
    store: RunStore,
    run: Run,
    directory: Path,
    ending: tuple[str, int, str] | None,
    *,
    label: str,
    command: str,
    why: str,
    output: Mapping[str, Path] | None = None,
    tags: Mapping[str, str] | None = None,
) -> None:
    """Finish `run` from the backend's word. `label` names the backend ("Slurm"),
    `command` the run's command in its words ("job 123"), `why` how mlrun was found
    dead. `ending` (status, exit code, reason) is None when the backend no longer knows
    the command: the run is KILLED, as any run whose end nobody saw. `output`: stream
    ("stdout", "stderr") -> the file holding all the command wrote to it. Does nothing
    if another reader is at it or was first."""
    from mlrun.util.locks import FileLock

    # The run's directory may be gone (or its record point anywhere): never create it.
    lock: FileLock | None = FileLock(directory / LOCK) if directory.is_dir() else None
    try:
        if lock is not None and not lock.exclusive(blocking=False):
            return  # another reader is at it
    except OSError:  # unreadable now: finish it all the same
        lock = None
    try:
        if (directory / DONE).exists():
            return
        dead = why.replace(" died", " stopped")  # "died" reads as mlrun's KILLED in lists
        if ending is None:
            store.finish_run(
                run.run_id, KILLED, None, f"{dead}, and {label} no longer knows {command}"
            )
        else:
            _append_rest(run, output or {})
            from mlrun.recording import record_outputs
            from mlrun.reporting import Reporter

            record_outputs(store, run.run_id, Path(run.run_dir), Reporter())  # silent
            if tags:
                store.set_tags(run.run_id, dict(tags))
            status, exit_code, reason = ending
            store.finish_run(
                run.run_id, status, exit_code, f"{reason} (reconciled from {label}: {dead})"
            )
        try:
            (directory / DONE).touch()
        except OSError:
            pass
    finally:
        if lock is not None:
            lock.release()


def _append_rest(run: Run, output: Mapping[str, Path]) -> None:
    """Append to the run's logs what the command wrote after its mlrun stopped copying:
    the run's log of a stream holds exactly the first N bytes of that stream's file."""
    from mlrun.execution.logs import LogSink

    logs = run.log_paths
    if not output or "stdout" not in logs:
        return
    sink = LogSink(Path(logs["stdout"]).parent, echo=False)
    try:
        for stream, source in output.items():
            try:
                copied = os.path.getsize(logs[stream])
            except (OSError, KeyError):
                copied = 0
            try:
                with open(source, "rb") as fh:
                    fh.seek(copied)
                    while chunk := fh.read(1 << 20):
                        sink.write(stream, chunk)
            except OSError:
                continue
    finally:
        sink.close()
