"""Looking over the env cache: `mlrun env list` and `mlrun env prune`.

Prune takes an env's use lock exclusively (without waiting) before deleting it, so an env
that any run is using, or that is being built, is always left alone."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlrun.envs.cache.store import EnvCache
from mlrun.errors import UsageError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


@dataclass
class EnvInfo:
    key: str
    kind: str  # uv | virtualenv | conda | ? (incomplete)
    state: str  # ready | incomplete | broken
    path: str
    size: int
    created: float | None
    last_used: float | None
    in_use: bool
    projects: list[str] = field(default_factory=list)
    python: str | None = None
    packages: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def parse_age(text: str) -> float:
    """'30d' -> seconds. Units: s, m, h, d, w."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", text)
    if not match:
        raise UsageError(
            f"--older-than {text!r} is not a duration",
            hint="write a number and a unit: 12h, 30d, 2w",
        )
    return float(match.group(1)) * _UNITS[match.group(2) or "d"]


def list_envs(cache: EnvCache | None = None) -> list[EnvInfo]:
    cache = cache or EnvCache()
    return [_info(cache, key) for key in _keys(cache)]


def prune(
    *,
    older_than: float | None,
    everything: bool,
    dry_run: bool = False,
    cache: EnvCache | None = None,
    now: float | None = None,
) -> list[dict[str, Any]]:
    """Remove envs not in use that are incomplete, broken, or unused for `older_than`
    seconds (all of them with `everything`). Returns one entry per env looked at."""
    cache = cache or EnvCache()
    now = time.time() if now is None else now
    results = []
    for key in _keys(cache):
        info = _info(cache, key, probe_use=False)
        stale = info.last_used is None or (
            older_than is not None and now - info.last_used > older_than
        )
        if not (everything or info.state != "ready" or stale):
            results.append(
                {"key": key, "action": "kept", "reason": "recently used", "size": info.size}
            )
            continue
        results.append({"key": key, "size": info.size, **_remove(cache, key, dry_run)})
    _sweep(cache)
    return results


def _remove(cache: EnvCache, key: str, dry_run: bool) -> dict[str, str]:
    use, build = cache.use_lock(key), cache.build_lock(key)
    if not use.exclusive(blocking=False):
        return {"action": "kept", "reason": "in use"}
    try:
        if not build.exclusive(blocking=False):
            return {"action": "kept", "reason": "being built"}
        try:
            if dry_run:
                return {"action": "would remove", "reason": ""}
            if cache.directory(key).exists():
                cache.remove_dir(cache.directory(key))
            build.unlink()
            use.unlink()
            return {"action": "removed", "reason": ""}
        finally:
            build.release()
    finally:
        use.release()


def _sweep(cache: EnvCache) -> None:
    """Leftovers: half-deleted directories and lock files of envs that are gone."""
    import shutil

    trash = cache.root / ".trash"
    if trash.is_dir():
        for entry in os.listdir(trash):
            shutil.rmtree(trash / entry, ignore_errors=True)


def _keys(cache: EnvCache) -> list[str]:
    try:
        names = os.listdir(cache.root)
    except FileNotFoundError:
        return []
    return sorted(n for n in names if not n.startswith(".") and (cache.root / n).is_dir())


def _info(cache: EnvCache, key: str, probe_use: bool = True) -> EnvInfo:
    directory = cache.directory(key)
    marker = cache.marker(key)
    state = "incomplete"
    if marker is not None:
        state = "ready" if _healthy(cache.prefix(key), marker) else "broken"
    projects, used = _users(directory / "used-by")
    created = marker.get("created") if marker else None
    last_used = max([t for t in (used, created) if t is not None], default=None)
    in_use = False
    if probe_use:
        lock = cache.use_lock(key)
        in_use = not lock.exclusive(blocking=False)
        lock.release()
    python = (marker or {}).get("python")
    return EnvInfo(
        key=key,
        kind=str((marker or {}).get("kind", "?")),
        state=state,
        path=str(directory),
        size=_size(directory),
        created=created,
        last_used=last_used,
        in_use=in_use,
        projects=projects,
        python=python.get("version") if isinstance(python, dict) else None,
        packages=len((marker or {}).get("packages") or []),
    )


def _healthy(prefix: Path, marker: Mapping[str, Any]) -> bool:
    from mlrun.envs import MANAGERS, get_manager

    kind = marker.get("kind")
    if kind not in MANAGERS:
        return False
    manager: Any = get_manager(str(kind))
    return bool(manager.healthy(prefix, marker))


def _users(folder: Path) -> tuple[list[str], float | None]:
    projects, latest = [], None
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return [], None
    for entry in entries:
        try:
            projects.append(Path(entry.path).read_text())
            mtime = entry.stat().st_mtime
        except OSError:
            continue
        latest = mtime if latest is None else max(latest, mtime)
    return sorted(projects), latest


def _size(root: Path) -> int:
    """Bytes on disk, each hard-linked file counted once (uv and rattler hard-link from
    their caches)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for folder, _dirs, files in os.walk(root):
        for name in files:
            try:
                stat = os.lstat(os.path.join(folder, name))
            except OSError:
                continue
            if (stat.st_dev, stat.st_ino) not in seen:
                seen.add((stat.st_dev, stat.st_ino))
                total += stat.st_blocks * 512
    return total
