"""Where mlrun keeps things on disk (see docs/architecture.md, "Where things live").

- data (embedded run store, run logs and outputs): $MLRUN_HOME, else the platform data dir
- cache (envs, git mirrors, image metadata): $MLRUN_HOME/cache, else the platform cache dir
"""

from __future__ import annotations

import os
from pathlib import Path

_CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by mlrun.\n"
    "# For information about cache directory tags, see https://bford.info/cachedir/\n"
)
_CACHE_README = (
    "This directory is mlrun's cache: built environments (envs/), git mirrors (git/),\n"
    "and image metadata (docker/). Everything here can be rebuilt; remove it with\n"
    "`mlrun env prune --all`, or delete the directory when no mlrun run is active.\n"
)


def mlrun_home() -> Path | None:
    value = os.environ.get("MLRUN_HOME")
    return Path(value).expanduser().absolute() if value else None


def data_dir() -> Path:
    home = mlrun_home()
    if home is not None:
        return home
    import platformdirs

    return Path(platformdirs.user_data_dir("mlrun", appauthor=False))


def cache_dir(create: bool = True) -> Path:
    home = mlrun_home()
    if home is not None:
        path = home / "cache"
    else:
        import platformdirs

        path = Path(platformdirs.user_cache_dir("mlrun", appauthor=False))
    if create and not (path / "CACHEDIR.TAG").exists():
        path.mkdir(parents=True, exist_ok=True)
        _write_if_missing(path / "CACHEDIR.TAG", _CACHEDIR_TAG)
        _write_if_missing(path / "README", _CACHE_README)
    return path


def default_tracking_uri() -> str:
    return str(data_dir() / "mlrun.db")


def _write_if_missing(path: Path, text: str) -> None:
    from mlrun.util.files import atomic_write

    atomic_write(path, text)
