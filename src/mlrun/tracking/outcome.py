"""What a run came to, in a form two runs can be compared by (`mlrun reproduce --check`):
its exit code, its outputs.json, its metrics and the sha256 of its artifacts (mlrun's
own files about the run, under `mlrun/`, left out: they describe the run, not its
results)."""

from __future__ import annotations

import math
import posixpath
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrun.util.sha import sha256

if TYPE_CHECKING:
    from mlrun.tracking.model import Run


def outcome_of(run: Run) -> dict[str, Any]:
    return {
        "status": run.status,
        "exit_code": run.exit_code,
        "outputs": dict(run.outputs),
        "metrics": [{"key": m.key, "value": m.value, "step": m.step} for m in run.metrics],
        "artifacts": {
            a.path: _artifact_digest(run, a.path, a.sha256)
            for a in run.artifacts
            if not a.path.startswith("mlrun/")
        },
    }


# The lines of an MLflow model's MLmodel file that name the run and the moment that
# logged it: every run writes other ones, whatever the model.
_RUN_SPECIFIC = re.compile(
    rb"^(run_id|utc_time_created|model_uuid|model_id|artifact_path):.*\n?", re.M
)


def _artifact_digest(run: Run, path: str, recorded: str | None) -> str | None:
    """The recorded sha256 of an artifact; for an MLflow `MLmodel` file, the sha256 of
    its content without the lines naming the run and its time (`mlmodel:` prefixed), so
    that the same model logged by two runs compares equal."""
    if recorded is None or posixpath.basename(path) != "MLmodel":
        return recorded
    try:
        data = (Path(run.run_dir) / "artifacts" / path).read_bytes()
    except OSError:
        return recorded  # the run's files are gone: its bytes are all there is
    if sha256(data).hexdigest() != recorded:
        return recorded  # changed since the run recorded it
    return "mlmodel:" + sha256(_RUN_SPECIFIC.sub(b"", data)).hexdigest()


def differences(
    original: dict[str, Any], new: dict[str, Any], *, rtol: float, atol: float = 0.0
) -> list[str]:
    """Every way `new` differs from `original`, one sentence each (empty: reproduced).
    Numbers (metrics, numbers in outputs.json) are equal within `rtol` (relative) or
    `atol` (absolute); everything else must be equal exactly."""
    found: list[str] = []
    if original.get("exit_code") != new.get("exit_code"):
        found.append(f"exit code: {original.get('exit_code')} -> {new.get('exit_code')}")
    _json(
        "outputs.json", original.get("outputs") or {}, new.get("outputs") or {}, rtol, atol, found
    )
    found += _metrics(original.get("metrics") or [], new.get("metrics") or [], rtol, atol)
    found += _artifacts(original.get("artifacts") or {}, new.get("artifacts") or {})
    return found


def _close(a: Any, b: Any, rtol: float, atol: float) -> bool:
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool):
        if isinstance(b, bool):
            return False
        if math.isnan(a) and math.isnan(b):
            return True
        return math.isclose(a, b, rel_tol=rtol, abs_tol=atol)
    return bool(a == b)


def _json(where: str, a: Any, b: Any, rtol: float, atol: float, found: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            if key not in b:
                found.append(f"{where} {key}: only in the original run ({_short(a[key])})")
            elif key not in a:
                found.append(f"{where} {key}: only in the new run ({_short(b[key])})")
            else:
                _json(
                    f"{where} {key}" if where.endswith(".json") else f"{where}.{key}",
                    a[key],
                    b[key],
                    rtol,
                    atol,
                    found,
                )
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            _json(f"{where}[{index}]", x, y, rtol, atol, found)
    elif not _close(a, b, rtol, atol):
        found.append(f"{where}: {_short(a)} -> {_short(b)}")


def _metrics(
    a: list[dict[str, Any]], b: list[dict[str, Any]], rtol: float, atol: float
) -> list[str]:
    def by_key(metrics: list[dict[str, Any]]) -> dict[str, list[tuple[int, float]]]:
        grouped: dict[str, list[tuple[int, float]]] = {}
        for m in metrics:
            grouped.setdefault(str(m["key"]), []).append((int(m.get("step", 0)), float(m["value"])))
        return grouped

    old, new = by_key(a), by_key(b)
    found = []
    for key in sorted(set(old) | set(new)):
        if key not in new:
            found.append(f"metric {key}: only in the original run")
            continue
        if key not in old:
            found.append(f"metric {key}: only in the new run")
            continue
        if len(old[key]) != len(new[key]):
            found.append(f"metric {key}: {len(old[key])} values -> {len(new[key])} values")
            continue
        for (step, x), (step2, y) in zip(old[key], new[key], strict=True):
            if step != step2 or not _close(x, y, rtol, atol):
                found.append(f"metric {key} (step {step}): {x!r} -> {y!r}")
                break
    return found


def _artifacts(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    found = []
    for path in sorted(set(a) | set(b)):
        if path not in b:
            found.append(f"artifact {path}: only in the original run")
        elif path not in a:
            found.append(f"artifact {path}: only in the new run")
        elif a[path] is None or b[path] is None:
            continue  # too large to hash (runs record no digest above 64 MiB)
        elif a[path] != b[path]:
            old, new = (d.removeprefix("mlmodel:")[:12] for d in (a[path], b[path]))
            found.append(f"artifact {path}: sha256 {old} -> {new}")
    return found


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
