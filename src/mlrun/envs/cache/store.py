"""The env cache: the one owner of `<cache>/envs/`.

Layout (one directory per key, locks beside them so deleting an env never deletes a lock
someone waits on):

    envs/<key>/env/              the environment itself (a venv or a conda prefix)
    envs/<key>/mlrun-env.json    the completion marker, written last and atomically
    envs/<key>/build.log         the full log of the build
    envs/<key>/failed.json       why the last build failed (waiting runs report it)
    envs/<key>/used-by/<hash>    one file per project using the env; mtime = last use
    envs/.locks/<key>.use        shared by every run using the env; exclusive for prune
    envs/.locks/<key>.build      exclusive while building

An env is usable only when its marker is valid and its health check passes; anything
else is removed and rebuilt. Acquiring follows "look, lock, look again"."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrun.errors import EnvBuildError
from mlrun.reporting import Reporter
from mlrun.util.files import atomic_write
from mlrun.util.locks import FileLock

if TYPE_CHECKING:
    from mlrun.envs.cache.buildlog import BuildLog

FORMAT = 1
MARKER = "mlrun-env.json"
Healthy = Callable[[Path, Mapping[str, Any]], bool]


def make_key(parts: Mapping[str, Any]) -> str:
    """A content key: the hash of the canonical JSON of everything the env depends on."""
    canonical = json.dumps({"format": FORMAT, **parts}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:24]


@dataclass
class BuildContext:
    key: str
    directory: Path
    prefix: Path  # where the env must be created (venvs are not relocatable)
    log: BuildLog


class Lease:
    """A ready env, protected from pruning until `release()`."""

    def __init__(
        self, key: str, prefix: Path, marker: Mapping[str, Any], built: bool, lock: FileLock
    ) -> None:
        self.key, self.prefix, self.marker, self.built = key, prefix, marker, built
        self._lock = lock

    def release(self) -> None:
        self._lock.release()


class EnvCache:
    def __init__(self, root: Path | None = None) -> None:
        if root is None:
            from mlrun.util.paths import cache_dir

            root = cache_dir() / "envs"
        self.root = root

    def directory(self, key: str) -> Path:
        return self.root / key

    def prefix(self, key: str) -> Path:
        return self.root / key / "env"

    def use_lock(self, key: str) -> FileLock:
        return FileLock(self.root / ".locks" / f"{key}.use")

    def build_lock(self, key: str) -> FileLock:
        return FileLock(self.root / ".locks" / f"{key}.build")

    def marker(self, key: str) -> dict[str, Any] | None:
        """The completion marker, if present and written for this key and location."""
        try:
            data = json.loads((self.directory(key) / MARKER).read_text())
        except (OSError, ValueError):
            return None
        if (
            not isinstance(data, dict)
            or data.get("format") != FORMAT
            or data.get("key") != key
            or data.get("prefix") != str(self.prefix(key))
        ):
            return None
        return data

    def ready(self, key: str, healthy: Healthy) -> bool:
        """Cheap look without locking (for plan() and --dry-run)."""
        marker = self.marker(key)
        return marker is not None and healthy(self.prefix(key), marker)

    def acquire(
        self,
        key: str,
        build: Callable[[BuildContext], dict[str, Any]],
        healthy: Healthy,
        reporter: Reporter,
        label: str,
        *,
        rebuild: bool = False,
        user: Path | None = None,
    ) -> Lease:
        """A ready env for `key`: from the cache, or built now. The returned lease holds
        the shared use lock. `user` (a project directory) is remembered for `env list`."""
        for _ in range(5):
            use = self.use_lock(key)
            if rebuild:
                if not use.exclusive(blocking=False):
                    raise EnvBuildError(
                        f"cannot rebuild {label}: another run is using it",
                        hint="wait for that run to finish, or run without --rebuild-env",
                    )
            else:
                use.shared()
            try:
                marker = None if rebuild else self._usable(key, healthy)
                built = False
                if marker is None:
                    marker, built = self._build(key, build, healthy, reporter, label, rebuild)
                if rebuild:
                    use.downgrade()  # not atomic: look again below
                    rebuild = False
                    if self._usable(key, healthy) is None:
                        use.release()
                        continue
            except BaseException:
                use.release()
                raise
            if user is not None:
                self._note_use(key, user)
            return Lease(key, self.prefix(key), marker, built, use)
        raise EnvBuildError(
            f"{label} kept disappearing while being prepared",
            hint="is `mlrun env prune --all` running in a loop?",
        )

    def _usable(self, key: str, healthy: Healthy) -> dict[str, Any] | None:
        marker = self.marker(key)
        if marker is not None and healthy(self.prefix(key), marker):
            return marker
        return None

    def _build(
        self,
        key: str,
        build: Callable[[BuildContext], dict[str, Any]],
        healthy: Healthy,
        reporter: Reporter,
        label: str,
        force: bool,
    ) -> tuple[dict[str, Any], bool]:
        lock = self.build_lock(key)
        waited_since: float | None = None
        if not lock.exclusive(blocking=False):
            waited_since = time.time()
            with reporter.progress(f"waiting for another mlrun building {label}"):
                lock.exclusive()
        try:
            if not force:  # look again: the build we waited for may have made it
                marker = self._usable(key, healthy)
                if marker is not None:
                    return marker, False
                if waited_since is not None:
                    self._raise_recent_failure(key, waited_since, label)
            return self._build_locked(key, build, reporter, label, lock), True
        finally:
            lock.release()

    def _build_locked(
        self,
        key: str,
        build: Callable[[BuildContext], dict[str, Any]],
        reporter: Reporter,
        label: str,
        lock: FileLock,
    ) -> dict[str, Any]:
        from mlrun.envs.cache.buildlog import BuildLog  # only when building (start-up time)

        directory = self.directory(key)
        if directory.exists():
            reporter.debug(f"removing the incomplete or stale {label} at {directory}")
            self.remove_dir(directory)
        directory.mkdir(parents=True)
        started = time.time()
        assert lock.fd is not None
        with reporter.progress(f"building {label}") as progress:
            log = BuildLog(directory / "build.log", progress, keep_fds=(lock.fd,))
            try:
                log.note(f"building {label} in {self.prefix(key)}")
                info = build(BuildContext(key, directory, self.prefix(key), log))
                log.note(f"done in {time.time() - started:.1f}s")
            except EnvBuildError as exc:
                _write_json(
                    directory / "failed.json",
                    {"time": time.time(), "message": exc.message, "hint": exc.hint},
                )
                raise
            finally:
                log.close()
        marker = {
            "format": FORMAT,
            "key": key,
            "prefix": str(self.prefix(key)),
            "created": time.time(),
            "build_seconds": round(time.time() - started, 3),
            "build_log": str(directory / "build.log"),
            **info,
        }
        _write_json(directory / MARKER, marker)  # last: the env is complete from here on
        return marker

    def _raise_recent_failure(self, key: str, since: float, label: str) -> None:
        try:
            failure = json.loads((self.directory(key) / "failed.json").read_text())
        except (OSError, ValueError):
            return
        if isinstance(failure, dict) and failure.get("time", 0) >= since:
            raise EnvBuildError(
                f"another mlrun just failed to build {label}: {failure.get('message')}",
                hint=failure.get("hint"),
            )

    def _note_use(self, key: str, user: Path) -> None:
        name = hashlib.sha256(str(user).encode()).hexdigest()[:16]
        path = self.directory(key) / "used-by" / name
        try:
            os.utime(path)
        except FileNotFoundError:
            path.parent.mkdir(exist_ok=True)
            path.write_text(str(user))
        except OSError:
            pass  # bookkeeping only; never fail a run for it

    def remove_dir(self, directory: Path) -> None:
        """Rename first so a half-deleted env is never mistaken for one, then delete."""
        import shutil

        trash = self.root / ".trash" / f"{directory.name}-{os.getpid()}-{time.time_ns()}"
        trash.parent.mkdir(parents=True, exist_ok=True)
        os.replace(directory, trash)
        shutil.rmtree(trash, ignore_errors=True)


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    atomic_write(path, json.dumps(data, indent=1, sort_keys=True), durable=True)
