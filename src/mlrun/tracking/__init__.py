"""Run records: the store interface (base), the records (model), and store selection.

Importing this package is cheap: the SQLite store (and sqlite3) load on first
`open_store`, so a step that only imports mlrun pays nothing for them; the PostgreSQL
store (and psycopg) only when a postgresql:// URI is opened.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlrun.tracking.base import RunStore

__all__ = ["RunStore", "open_store", "runs_root", "tracking_uri"]


def __getattr__(name: str) -> Any:
    # Loaded on use: `mlrun --help` imports tracking.status without the store's classes.
    if name == "RunStore":
        from mlrun.tracking.base import RunStore

        return RunStore
    raise AttributeError(f"module 'mlrun.tracking' has no attribute {name!r}")


def tracking_uri(uri: str | None = None) -> str:
    """The URI in effect: the argument, else $MLRUN_TRACKING_URI, else the default file."""
    if uri:
        return uri
    from_env = os.environ.get("MLRUN_TRACKING_URI")
    if from_env:
        return from_env
    from mlrun.util.paths import default_tracking_uri

    return default_tracking_uri()


def open_store(uri: str | None = None) -> RunStore:
    """The store `uri` names (see tracking_uri for the default): a SQLite file, or a
    PostgreSQL database (postgresql://, postgres://, postgresql+<driver>://); other
    stores raise NotAvailableError. The connection opens on first use."""
    from mlrun.errors import StoreError

    given = tracking_uri(uri)
    if given.lstrip()[:8].lower() == "postgres":  # only then load what parses such URIs
        from mlrun.tracking.postgres_uri import is_postgres

        if is_postgres(given):
            from mlrun.tracking.postgres_store import PostgresStore

            return PostgresStore(given)
    from mlrun.tracking.sqlite_store import SqliteStore
    from mlrun.tracking.uri import check_store_file, store_path

    path = store_path(given)
    check_store_file(path, given)  # before anything is created beside it
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"cannot create the directory {path.parent} for the run store: {exc.strerror}."
        ) from exc
    return SqliteStore(path)


def runs_root(store: RunStore, given: str | None = None) -> Path:
    """Where run directories live: `<runs_root>/<run_id>/` holds a run's logs and files.

    The artifact root (tracking/artifacts.py decides it): `given` (--artifact-root), else
    $MLRUN_ARTIFACT_ROOT, else next to the embedded store's file, else the data dir."""
    from mlrun.tracking.artifacts import LocalRoot, choose

    root = choose(given, store)
    assert isinstance(root, LocalRoot)  # the only kind there is (object storage: not yet)
    return root.path
