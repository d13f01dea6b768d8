"""A bundle's manifest, `mlrun-bundle.json` (its first member): read and checked whole
before anything else of the bundle is used, because the bundle is input from elsewhere.

    {"format": 1,
     "members": {"project/train.py": {"type": "file", "size": 812, "sha256": "...",
                                      "mode": 420},
                 "project/data/latest": {"type": "symlink", "target": "v2", "mode": 511}},
     "provenance": {...}, "lock": {...} | null, "image": {...} | null,
     "run": {"run_id", "entry_point", "parameters", "env", "exit_code", "outputs",
             "metrics", "artifacts", ...} | null, ...}

A manifest that is not this shape is refused with one sentence naming the key at fault
(BundleError, exit 2), so no later step meets a value of the wrong type."""

from __future__ import annotations

import json
import posixpath
import re
import tarfile
from pathlib import Path
from typing import Any, TypeGuard

from mlrun.errors import BundleError

MANIFEST = "mlrun-bundle.json"
FORMAT = 1
PROJECT = "project"
WHEELS = "wheels"
IMAGE = "image.tar"
MAX_MANIFEST = 256 << 20
_SHA256 = re.compile(r"[0-9a-f]{64}")
_HINT = "make bundles with `mlrun package`, and get this one again from where it was made"


def normal_name(name: str) -> str | None:
    """A member name as a clean relative path; None when it is absolute or has `..`."""
    if not name or "\0" in name or name.startswith("/") or "\\" in name:
        return None
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return posixpath.join(*parts)


def read_manifest(path: Path) -> dict[str, Any]:
    """The checked manifest of the bundle at `path`, without extracting anything else."""
    try:
        with tarfile.open(path, "r|gz") as archive:
            return manifest_of(archive, archive.next(), path)
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise not_a_bundle(path, exc) from None


def not_a_bundle(path: Path, exc: BaseException) -> BundleError:
    return BundleError(
        f"{path} is not a bundle mlrun can read ({exc})",
        hint="make one with `mlrun package`",
    )


def manifest_of(
    archive: tarfile.TarFile, first: tarfile.TarInfo | None, path: Path
) -> dict[str, Any]:
    """The manifest in `first`, the archive's first member, checked."""
    if first is None or first.name != MANIFEST or not first.isreg():
        raise BundleError(
            f"{path} is not a bundle: its first member is not {MANIFEST}",
            hint="make one with `mlrun package`",
        )
    if first.size > MAX_MANIFEST:
        raise BundleError(
            f"{path}: its manifest is {first.size} bytes, more than the "
            f"{MAX_MANIFEST >> 20} MiB a manifest may have",
            hint=_HINT,
        )
    handle = archive.extractfile(first)
    assert handle is not None
    try:
        manifest = json.loads(handle.read().decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise BundleError(f"{path}: its manifest is not valid JSON ({exc})", hint=_HINT) from None
    if (
        not isinstance(manifest, dict)
        or manifest.get("format") != FORMAT
        or not isinstance(manifest.get("members"), dict)
    ):
        raise BundleError(
            f"{path}: its manifest is not one this mlrun reads (format {FORMAT} with members)",
            hint="package the project again with this version of mlrun",
        )
    _check(manifest, path)
    return manifest


def unsafe(path: Path, name: str, why: str) -> BundleError:
    return BundleError(
        f"the bundle {path} is unsafe: its member {name!r} {why}; nothing of it was used",
        hint="only run bundles made by `mlrun package`",
    )


def _bad(path: Path, key: str, why: str) -> BundleError:
    return BundleError(f"{path}: its manifest is malformed: {key} {why}", hint=_HINT)


def _check(manifest: dict[str, Any], path: Path) -> None:
    for name, entry in manifest["members"].items():
        _check_member(path, name, entry)
    for key in ("provenance", "lock", "image", "run", "project"):
        if manifest.get(key) is not None and not isinstance(manifest[key], dict):
            raise _bad(path, repr(key), "is not an object")
    image = manifest.get("image") or {}
    if "id" in image and not isinstance(image["id"], str):
        raise _bad(path, "image.id", "is not a string")
    if manifest.get("run") is not None:
        _check_run(path, manifest["run"])


def _check_member(path: Path, name: str, entry: Any) -> None:
    key = f"members[{name!r}]"
    top, _, rest = name.partition("/")
    if normal_name(name) is None:
        raise unsafe(path, name, "leads outside the bundle's directory (absolute or `..`)")
    if not ((top in (PROJECT, WHEELS) and rest) or name == IMAGE):
        raise unsafe(path, name, "is outside project/, wheels/ and image.tar")
    if normal_name(name) != name:
        raise _bad(path, key, "is not a clean path (`//` or `./` in it)")
    if not isinstance(entry, dict):
        raise _bad(path, key, "is not an object")
    kind = entry.get("type")
    if kind == "symlink":
        if not isinstance(entry.get("target"), str) or not entry["target"]:
            raise _bad(path, f"{key}.target", "is not a path")
        return
    if kind != "file":
        raise _bad(path, f"{key}.type", f"is {kind!r}, not 'file' or 'symlink'")
    size, mode = entry.get("size"), entry.get("mode", 0o644)
    if not _integer(size) or size < 0:
        raise _bad(path, f"{key}.size", f"is {size!r}, not a number of bytes")
    if not isinstance(entry.get("sha256"), str) or not _SHA256.fullmatch(entry["sha256"]):
        raise _bad(path, f"{key}.sha256", "is not a sha256 in hex")
    if not _integer(mode) or not 0 <= mode <= 0o7777:
        raise _bad(path, f"{key}.mode", f"is {mode!r}, not a file mode")
    if mode & 0o7000:
        raise unsafe(path, name, "has the setuid, setgid or sticky bit")


def _integer(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


# The run a bundle was packaged from: (key, the types it may have, required).
_RUN_KEYS: tuple[tuple[str, tuple[type, ...], bool], ...] = (
    ("run_id", (str,), True),
    ("entry_point", (str,), True),
    ("experiment", (str,), False),
    ("run_name", (str,), False),
    ("project_dir", (str,), False),
    ("env_kind", (str,), False),
    ("status", (str,), False),
    ("exit_code", (int,), False),
    ("parameters", (dict,), False),
    ("env", (dict,), False),
    ("outputs", (dict,), False),
    ("metrics", (list,), False),
    ("artifacts", (dict,), False),
)


def _check_run(path: Path, run: dict[str, Any]) -> None:
    for key, types, required in _RUN_KEYS:
        value = run.get(key)
        if value is None and not required:
            continue
        if not isinstance(value, types) or isinstance(value, bool):
            raise _bad(path, f"run.{key}", f"is {_short(value)}, not a {types[0].__name__}")
    for name, value in (run.get("parameters") or {}).items():
        if not isinstance(value, (str, int, float)):
            raise _bad(path, f"run.parameters[{name!r}]", f"is {_short(value)}, not a value")
    for index, metric in enumerate(run.get("metrics") or []):
        if not (
            isinstance(metric, dict)
            and isinstance(metric.get("key"), str)
            and isinstance(metric.get("value"), (int, float))
            and _integer(metric.get("step", 0))
        ):
            raise _bad(path, f"run.metrics[{index}]", "is not {key, value, step}")
    for name, digest in (run.get("artifacts") or {}).items():
        if digest is not None and not isinstance(digest, str):
            raise _bad(path, f"run.artifacts[{name!r}]", "is not a sha256")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
