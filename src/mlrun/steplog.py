"""Step helpers: record metrics, params, tags, outputs and artifacts from inside a step.

Dependency-free on purpose: this one file may be copied into a project (or a container
image) that does not have mlrun installed. It only writes files into $MLRUN_RUN_DIR,
which mlrun reads when the step ends:

    metrics.jsonl   one JSON object per line: {"key", "value", "step", "timestamp"}
    params.json     {name: string value}
    tags.json       {name: string value}
    outputs.json    {name: any JSON value}   (what workflows pass to later steps)
    artifacts/      files and directories kept with the run

Outside an mlrun run (no $MLRUN_RUN_DIR) the calls do nothing but warn once on stderr.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import time
from typing import Any

_warned = False


def run_dir() -> str | None:
    """The step's output directory, or None when not running under mlrun."""
    path = os.environ.get("MLRUN_RUN_DIR")
    if not path:
        global _warned
        if not _warned:
            _warned = True
            print(
                "mlrun: MLRUN_RUN_DIR is not set (not running under mlrun); "
                "metrics, params, tags and outputs are not recorded",
                file=sys.stderr,
            )
        return None
    os.makedirs(path, exist_ok=True)
    return path


def log_metric(key: str, value: float, step: int = 0, timestamp: float | None = None) -> None:
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        value_out: Any = str(value)  # JSON has no NaN/inf; mlrun parses these strings back
    else:
        value_out = value
    record = {
        "key": str(key),
        "value": value_out,
        "step": int(step),
        "timestamp": time.time() if timestamp is None else float(timestamp),
    }
    _append_line("metrics.jsonl", json.dumps(record))


def log_metrics(metrics: dict[str, float], step: int = 0) -> None:
    for key, value in metrics.items():
        log_metric(key, value, step)


def log_param(key: str, value: Any) -> None:
    _merge("params.json", {str(key): str(value)})


def log_params(params: dict[str, Any]) -> None:
    _merge("params.json", {str(k): str(v) for k, v in params.items()})


def set_tag(key: str, value: Any) -> None:
    _merge("tags.json", {str(key): str(value)})


def set_tags(tags: dict[str, Any]) -> None:
    _merge("tags.json", {str(k): str(v) for k, v in tags.items()})


def log_output(key: str, value: Any) -> None:
    """A named result for downstream workflow steps (any JSON-serialisable value)."""
    json.dumps(value)  # fail here, in the step, not later in mlrun
    _merge("outputs.json", {str(key): value})


def log_outputs(outputs: dict[str, Any]) -> None:
    json.dumps(outputs)
    _merge("outputs.json", {str(k): v for k, v in outputs.items()})


def log_artifact(local_path: str, artifact_path: str | None = None) -> str | None:
    """Copy a file or directory under artifacts/[artifact_path/]; returns the new path."""
    base = run_dir()
    if base is None:
        return None
    dest_dir = os.path.join(base, "artifacts", artifact_path or "")
    os.makedirs(dest_dir, exist_ok=True)
    dest = os.path.join(dest_dir, os.path.basename(os.path.normpath(local_path)))
    if os.path.isdir(local_path):
        shutil.copytree(local_path, dest, dirs_exist_ok=True)
    else:
        shutil.copy2(local_path, dest)
    return dest


def _append_line(name: str, line: str) -> None:
    base = run_dir()
    if base is None:
        return
    # One write() of one line with O_APPEND: lines from concurrent writers do not mix.
    fd = os.open(os.path.join(base, name), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def _merge(name: str, values: dict[str, Any]) -> None:
    base = run_dir()
    if base is None:
        return
    path = os.path.join(base, name)
    lock_fd = os.open(path + ".lock", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        try:
            import fcntl

            fcntl.flock(lock_fd, fcntl.LOCK_EX)
        except ImportError:  # not POSIX: best effort
            pass
        current: dict[str, Any] = {}
        if os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                try:
                    loaded = json.load(handle)
                    current = loaded if isinstance(loaded, dict) else {}
                except ValueError:
                    current = {}
        current.update(values)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(current, handle, indent=1, sort_keys=True)
        os.replace(tmp, path)  # readers never see a half-written file
    finally:
        os.close(lock_fd)
