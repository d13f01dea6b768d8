"""Reading what a step left in $MLRUN_RUN_DIR (see mlrun/steplog.py for the format).

Anything malformed becomes a warning naming the file and line; it never fails the run
or loses the rest of what the step recorded. That includes files too large to keep
(MAX_FILE_BYTES) and JSON nested deeper than MAX_DEPTH, which the store, `runs show` and
`${{ steps.S.outputs }}` references could not serialise again."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from mlrun.tracking.model import Artifact, Metric
from mlrun.util.sha import file_sha256

MAX_FILE_BYTES = 64 << 20  # params.json, tags.json, outputs.json
MAX_DEPTH = 100  # levels of nested JSON arrays and objects


class StepOutputs:
    """What a step recorded (a plain class: defined on every run's start-up path)."""

    def __init__(self) -> None:
        self.params: dict[str, str] = {}
        self.tags: dict[str, str] = {}
        self.outputs: dict[str, Any] = {}
        self.metrics: list[Metric] = []
        self.artifacts: list[Artifact] = []
        self.warnings: list[str] = []


def collect(run_dir: Path, hash_limit: int = 64 * 1024 * 1024) -> StepOutputs:
    result = StepOutputs()
    if not run_dir.is_dir():
        return result
    result.params = {k: str(v) for k, v in _read_object(run_dir / "params.json", result).items()}
    result.tags = {k: str(v) for k, v in _read_object(run_dir / "tags.json", result).items()}
    result.outputs = _read_object(run_dir / "outputs.json", result)
    result.metrics = _read_metrics(run_dir / "metrics.jsonl", result)
    result.artifacts = list_artifacts(run_dir / "artifacts", hash_limit)
    return result


def _read_object(path: Path, result: StepOutputs) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            result.warnings.append(f"{path}: ignored, larger than {MAX_FILE_BYTES >> 20} MiB")
            return {}
        value = json.loads(data.decode("utf-8"))
    except (ValueError, OSError) as exc:
        result.warnings.append(f"{path}: ignored, not valid JSON ({exc})")
        return {}
    except RecursionError:
        value = None  # deeper than Python's parser goes: reported below
    if value is None or too_deep(value, MAX_DEPTH):
        result.warnings.append(f"{path}: ignored, nested deeper than {MAX_DEPTH} levels")
        return {}
    if not isinstance(value, dict):
        result.warnings.append(f"{path}: ignored, expected a JSON object")
        return {}
    return value


def _read_metrics(path: Path, result: StepOutputs) -> list[Metric]:
    if not path.exists():
        return []
    metrics = []
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                value = float(record["value"])  # "nan"/"inf" strings parse too
                key = str(record["key"])
                step = int(record.get("step", 0))
                stamp = float(record.get("timestamp", 0.0))
            except (ValueError, KeyError, TypeError, RecursionError) as exc:
                result.warnings.append(f"{path}:{number}: metric ignored ({exc!r})")
                continue
            if math.isnan(stamp):
                stamp = 0.0
            metrics.append(Metric(key, value, step, stamp))
    return metrics


def too_deep(value: Any, limit: int) -> bool:
    """Whether JSON data nests arrays/objects more than `limit` levels (no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def list_artifacts(root: Path, hash_limit: int = 64 * 1024 * 1024) -> list[Artifact]:
    """Every file under `root`, with its size and (up to `hash_limit` bytes) sha256."""
    if not root.is_dir():
        return []
    artifacts = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        size = path.stat().st_size
        digest = file_sha256(path) if size <= hash_limit else None
        artifacts.append(Artifact(path.relative_to(root).as_posix(), size, digest))
    return artifacts
