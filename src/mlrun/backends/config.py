"""A backend config as users give it, MLflow's convention: a path to a JSON file (its
name ends in `.json`) or a JSON string on the command line; a mapping from Python. It
is always a JSON object; what its keys mean is the chosen backend's business."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlrun.errors import UsageError

MAX_BYTES = 1 << 20  # a backend config is a few settings, never megabytes
_JSON_KINDS = {list: "an array", str: "a string", int: "a number", float: "a number"}
_JSON_KINDS.update({bool: "true/false", type(None): "null"})


def parse_config(
    value: str | Mapping[str, Any] | None, flag: str = "--backend-config"
) -> dict[str, Any]:
    """The config as a dict; UsageError (exit 2) naming the file or the flag when it is
    not a JSON object."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    if os.path.splitext(value)[1].lower() == ".json":
        return _as_object(_read(Path(value).expanduser(), flag), f"{flag} file {value}")
    return _as_object(value, flag)


def _read(path: Path, flag: str) -> str:
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise UsageError(
            f"{flag} file {path} does not exist",
            hint='give a path to a JSON file, or the JSON itself: -c \'{"key": "value"}\'',
        ) from None
    except OSError as exc:
        raise UsageError(f"{flag} file {path} could not be read: {exc.strerror}") from None
    if len(data) > MAX_BYTES:
        raise UsageError(f"{flag} file {path} is larger than {MAX_BYTES // 1024} KiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{flag} file {path} is not UTF-8 text") from None


def _as_object(text: str, where: str) -> dict[str, Any]:
    import json  # not on a local run's start-up path (about 2 ms)

    if len(text) > MAX_BYTES:
        raise UsageError(f"{where} is larger than {MAX_BYTES // 1024} KiB")
    try:
        data = json.loads(text)
    except RecursionError:
        raise UsageError(f"{where} is nested too deeply to be a config") from None
    except ValueError as exc:
        raise UsageError(
            f"{where} is not valid JSON ({exc})",
            hint='give a path to a .json file, or a JSON object: -c \'{"key": "value"}\'',
        ) from None
    if not isinstance(data, dict):
        raise UsageError(
            f"{where} must be a JSON object, not {_JSON_KINDS.get(type(data), 'that')}",
            hint='write the settings as {"key": value, ...}',
        )
    return data


# -- checking a backend's settings: each backend names itself (`label`: "Slurm") and its
# -- keys; the sentences are the same for every backend.


def refuse_unknown(label: str, config: Mapping[str, Any], known: tuple[str, ...]) -> None:
    """UsageError naming the first key the backend does not know (and the closest one)."""
    unknown = [key for key in config if key not in known]
    if unknown:
        import difflib

        close = difflib.get_close_matches(unknown[0], known, n=1)
        raise UsageError(
            f"the {label} backend has no setting {unknown[0]!r}"
            + (f" (did you mean {close[0]!r}?)" if close else ""),
            hint=f"known settings: {', '.join(known)}",
        )


def bad_setting(label: str, key: str, value: Any, looks: str) -> UsageError:
    """`<label> setting 'key' must be <looks>, not <value>` (the value cut at 80 chars)."""
    import json

    try:
        shown = json.dumps(value)
    except (TypeError, ValueError):
        shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return UsageError(f"{label} setting {key!r} must be {looks}, not {shown}")


def lines_setting(label: str, key: str, value: Any) -> list[str]:
    """A string or a list of strings (none with a NUL) -> a list; None -> []."""
    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise bad_setting(label, key, value, "a string or a list of strings")
    for item in items:
        if "\0" in item:
            raise UsageError(f"{label} setting {key!r} holds a NUL character")
    return list(items)


def path_setting(label: str, key: str, value: Any, looks: str) -> Path | None:
    """A non-empty path, made absolute (~ expanded); None when not given."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or "\0" in value:
        raise bad_setting(label, key, value, looks)
    return Path(value).expanduser().absolute()


def seconds_setting(
    label: str, key: str, value: Any, default: float, low: float, high: float
) -> float:
    """A number of seconds in [low, high]; `default` when not given."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise bad_setting(label, key, value, f"a number of seconds between {low:g} and {high:g}")
    return float(value)


def flag_setting(label: str, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise bad_setting(label, key, value, "true or false")
    return value
