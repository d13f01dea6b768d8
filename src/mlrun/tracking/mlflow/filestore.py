"""MLflow's file-store layout, written and read without importing mlflow.

    <root>/<experiment id>/meta.yaml                      the experiment
    <root>/<experiment id>/<run id>/meta.yaml             the run (status is a number)
    <root>/<experiment id>/<run id>/params/<key>          the value
    <root>/<experiment id>/<run id>/tags/<key>            the value
    <root>/<experiment id>/<run id>/metrics/<key>         `<ms> <value> <step>` per line
    <root>/<experiment id>/<run id>/artifacts/            unless artifact_uri points away
    <root>/<experiment id>/models/<model id>/             MLflow 3 logged models

Keys may hold `/` (nested directories). Every MLflow client from 1.x to 3.x reads and
writes this layout without SQLAlchemy. A run written here carries both `run_id` (3.x)
and `run_uuid` (what 2.x and 1.x read). meta.yaml files are written by hand (JSON
strings are YAML) and read with a small reader for the flat files MLflow writes, so the
common path never imports PyYAML (30 ms); anything unusual falls back to it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from itertools import repeat
from pathlib import Path
from typing import Any

from mlrun.tracking.model import FAILED, FINISHED, KILLED, RUNNING, Metric

# RunStatus numbers in meta.yaml.
STATUS_NUMBERS = {RUNNING: 1, "SCHEDULED": 2, FINISHED: 3, FAILED: 4, KILLED: 5}
STATUS_NAMES = {number: name for name, number in STATUS_NUMBERS.items()}
SOURCE_TYPE_PROJECT = 3  # SourceType.PROJECT
# MLflow's rule for param, metric and tag names (utils/validation.py).
_KEY = re.compile(r"^[/\w.\- :]*$")
_PLAIN = r"^[A-Za-z0-9_./(+-][^\t]*$"  # a plain scalar we can take as is (compiled on use)


def file_uri(path: Path) -> str:
    """`file://` + the absolute path, percent-encoded as MLflow's path_to_local_file_uri."""
    from urllib.parse import quote

    return "file://" + quote(str(path.absolute()))


def valid_key(key: str) -> bool:
    """A name MLflow accepts and that stays inside its directory."""
    return (
        bool(key)
        and len(key) <= 250
        and _KEY.match(key) is not None
        and not key.startswith("/")
        and os.path.normpath(key) == key
        and ".." not in key.split("/")
    )


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value))  # a JSON string is a YAML double-quoted scalar


def _meta_text(fields: Mapping[str, Any]) -> str:
    return "".join(f"{key}: {_scalar(value)}\n" for key, value in sorted(fields.items()))


def write_experiment(
    root: Path, experiment_id: str, name: str, artifact_location: str, now_ms: int
) -> None:
    """Create the experiment directory and its meta.yaml unless it exists."""
    exp_dir = root / experiment_id
    try:
        os.makedirs(exp_dir)
    except FileExistsError:
        if (exp_dir / "meta.yaml").exists():
            return
    meta = exp_dir / "meta.yaml"
    meta.write_text(
        _meta_text(
            {
                "artifact_location": artifact_location,
                "creation_time": now_ms,
                "experiment_id": experiment_id,
                "last_update_time": now_ms,
                "lifecycle_stage": "active",
                "name": name,
            }
        ),
        encoding="utf-8",
    )


class RunMeta:
    """What meta.yaml of a new run says (a plain class: it is defined on every run's
    start-up path, where a NamedTuple costs a fraction of a millisecond more)."""

    def __init__(
        self,
        *,
        experiment_id: str,
        run_id: str,
        run_name: str,
        artifact_uri: str,
        start_ms: int,
        user: str,
        source_name: str,
        entry_point: str,
    ) -> None:
        self.experiment_id = experiment_id
        self.run_id = run_id
        self.run_name = run_name
        self.artifact_uri = artifact_uri
        self.start_ms = start_ms
        self.user = user
        self.source_name = source_name
        self.entry_point = entry_point


def write_run(
    root: Path, meta: RunMeta, params: Mapping[str, str], tags: Mapping[str, str]
) -> Path:
    """Create a RUNNING run with its params and tags; returns its directory. The files
    of params and tags come first and meta.yaml last, so a reader never finds a run
    whose params are still being written. MLflow 3 ignores a run directory without
    metrics/, params/ and artifacts/, even when artifact_uri points elsewhere."""
    run_dir = root / meta.experiment_id / meta.run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    for sub in ("params", "tags", "metrics", "artifacts"):
        os.mkdir(run_dir / sub)  # a new run: one system call each
    write_values(run_dir / "params", params)
    write_values(run_dir / "tags", tags)
    fields = {
        "artifact_uri": meta.artifact_uri,
        "end_time": None,
        "entry_point_name": meta.entry_point,
        "experiment_id": meta.experiment_id,
        "lifecycle_stage": "active",
        "run_id": meta.run_id,
        "run_uuid": meta.run_id,
        "run_name": meta.run_name,
        "source_name": meta.source_name,
        "source_type": SOURCE_TYPE_PROJECT,
        "source_version": "",
        "start_time": meta.start_ms,
        "status": STATUS_NUMBERS[RUNNING],
        "user_id": meta.user,
    }
    (run_dir / "meta.yaml").write_text(_meta_text(fields) + "tags: []\n", encoding="utf-8")
    return run_dir


def write_values(directory: Path, values: Mapping[str, str]) -> None:
    for key, value in values.items():
        path = os.path.join(directory, key)
        if "/" in key:
            os.makedirs(os.path.dirname(path), exist_ok=True)
        # os.open and os.write: these files are many and small, written on every run.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        try:
            os.write(fd, value.encode("utf-8"))
        finally:
            os.close(fd)


def set_status(run_dir: Path, status: str, end_ms: int) -> None:
    """Set a run's final status and end time in its meta.yaml, keeping the rest as the
    client left it (top-level `status:` and `end_time:` lines only: no YAML library on
    every run's path)."""
    meta = run_dir / "meta.yaml"
    try:
        text = meta.read_text(encoding="utf-8")
    except OSError:
        return
    lines = [line for line in text.splitlines() if not line.startswith(("status:", "end_time:"))]
    lines += [f"end_time: {end_ms}", f"status: {STATUS_NUMBERS[status]}"]
    if not any(line.startswith("run_uuid:") for line in lines):
        # MLflow 3 rewrites meta.yaml without it, and 2.x clients cannot read the run then.
        lines.append(f"run_uuid: {run_dir.name}")
    tmp = meta.with_name("meta.yaml.tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, meta)


# -- reading -----------------------------------------------------------------------


def read_values(
    directory: Path, skip: Mapping[str, str] | None = None, prefix: str = ""
) -> dict[str, str]:
    """{key: value} of a params/ or tags/ directory (nested keys joined with `/`); keys
    in `skip` are not read."""
    values: dict[str, str] = {}
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return values
    for entry in entries:
        key = prefix + entry.name
        if entry.is_dir(follow_symlinks=False):
            values.update(read_values(Path(entry.path), skip, key + "/"))
        elif skip and key in skip:
            continue
        elif entry.is_file(follow_symlinks=False):
            try:
                with open(entry.path, encoding="utf-8", errors="replace") as handle:
                    values[key] = handle.read()
            except OSError:
                continue
    return values


def metric_files(directory: Path, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(key, path) of every metric file under `directory`."""
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            yield from metric_files(Path(entry.path), f"{prefix}{entry.name}/")
        elif entry.is_file(follow_symlinks=False):
            yield prefix + entry.name, entry.path


def read_metrics(directory: Path, warnings: list[str]) -> list[Metric]:
    """Every value of every metric, in the order logged. Lines are `<timestamp ms>
    <value> <step>` (MLflow 0.x wrote no step; newer clients may append fields, which
    are ignored); a line logged twice counts once, as in MLflow's SQL store. A run may
    log hundreds of thousands of values: a file of plain three-field lines (the usual
    case) is converted column by column in C; anything else line by line."""
    metrics: list[Metric] = []
    for key, path in metric_files(directory):
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                text = handle.read()
        except OSError as exc:
            warnings.append(f"{path}: not read ({exc.strerror})")
            continue
        lines = text.splitlines()
        tokens = text.split()
        if len(tokens) == 3 * len(lines) and len(set(lines)) == len(lines):
            try:
                metrics += map(
                    Metric._make,
                    zip(
                        repeat(key),
                        map(float, tokens[1::3]),
                        map(int, tokens[2::3]),
                        map(_seconds, tokens[0::3]),
                    ),
                )
                continue
            except ValueError:
                pass  # a bad line: the slow path says which
        metrics += _read_lines(key, path, lines, warnings)
    return metrics


def _seconds(stamp: str) -> float:
    return int(stamp) / 1000.0


def _read_lines(key: str, path: str, lines: list[str], warnings: list[str]) -> list[Metric]:
    metrics: list[Metric] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, 1):
        if line in seen:
            continue
        seen.add(line)
        fields = line.split()
        try:
            step = int(fields[2]) if len(fields) > 2 else 0
            metrics.append(Metric(key, float(fields[1]), step, int(fields[0]) / 1000.0))
        except (ValueError, IndexError):
            if fields:
                warnings.append(f"{path}:{number}: metric value ignored ({line[:80]!r})")
    return metrics


def read_meta(path: Path) -> dict[str, Any]:
    """A meta.yaml as a dict; {} when it is missing or unreadable."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return {}
    flat = _flat_yaml(text)
    if flat is not None:
        return flat
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def _flat_yaml(text: str) -> dict[str, Any] | None:
    """The `key: scalar` files MLflow writes, without PyYAML; None for anything else."""
    data: dict[str, Any] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        key, sep, raw = line.partition(": ")
        if not sep:
            if line.endswith(":") and not line.startswith((" ", "-")):
                data[line[:-1]] = None
                continue
            return None
        if key.startswith((" ", "-", "#")):
            return None
        value = _flat_scalar(raw.strip())
        if value is _UNKNOWN:
            return None
        data[key] = value
    return data


_UNKNOWN = object()
_INT = r"^-?\d+$"


def _flat_scalar(raw: str) -> Any:
    if raw in ("null", "~", ""):
        return None
    if raw in ("true", "false"):
        return raw == "true"
    if raw in ("[]", "{}"):
        return [] if raw == "[]" else {}
    if re.match(_INT, raw):
        return int(raw)
    if len(raw) >= 2 and raw[0] == raw[-1] == "'":
        return raw[1:-1].replace("''", "'")
    if len(raw) >= 2 and raw[0] == raw[-1] == '"' and "\\" not in raw:
        return raw[1:-1]
    if raw[0] == '"':
        try:
            return json.loads(raw)
        except ValueError:
            return _UNKNOWN
    if re.match(_PLAIN, raw) and not raw.endswith(":") and ": " not in raw and " #" not in raw:
        return raw
    return _UNKNOWN


def find_experiment(root: Path, name: str) -> str | None:
    """The id of the active experiment called `name` in the store at `root`."""
    for exp in _experiments(root):
        meta = read_meta(Path(exp.path) / "meta.yaml")
        if meta.get("name") == name and meta.get("lifecycle_stage", "active") == "active":
            return exp.name
    return None


def new_experiment_id() -> str:
    """A fresh id as MLflow's file store makes them: a random 63-bit number."""
    import uuid

    return str(uuid.uuid4().int & ((1 << 63) - 1))


def _experiments(root: Path) -> list[os.DirEntry[str]]:
    """Experiment directories: not `.trash` (deleted ones), not `models` (the registry)."""
    try:
        return [
            e
            for e in os.scandir(root)
            if e.is_dir() and not e.name.startswith(".") and e.name != "models"
        ]
    except OSError:
        return []


def list_runs(root: Path) -> list[tuple[str, str, Path]]:
    """(experiment id, run id, directory) of every run of every experiment."""
    runs: list[tuple[str, str, Path]] = []
    for exp in _experiments(root):
        for entry in os.scandir(exp.path):
            if entry.is_dir() and entry.name != "models" and not entry.name.startswith("."):
                if os.path.exists(os.path.join(entry.path, "meta.yaml")):
                    runs.append((exp.name, entry.name, Path(entry.path)))
    return runs


def list_logged_models(root: Path, experiments: set[str] | None = None) -> list[Path]:
    """The directories of MLflow 3 logged models (`<experiment>/models/<model id>`), in
    every experiment or in those named."""
    found: list[Path] = []
    for exp in _experiments(root):
        if experiments is not None and exp.name not in experiments:
            continue
        models = os.path.join(exp.path, "models")
        if os.path.isdir(models):
            found += [Path(m.path) for m in os.scandir(models) if m.is_dir()]
    return found


def local_path(uri: str) -> Path | None:
    """The local path of a `file:` URI or a plain path; None for remote URIs."""
    from urllib.parse import unquote, urlsplit

    if uri.startswith("file:"):
        parts = urlsplit(uri)
        if parts.netloc not in ("", "localhost"):
            return None
        return Path(unquote(parts.path))
    if "://" in uri:
        return None
    return Path(uri)
