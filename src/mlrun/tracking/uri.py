"""Tracking URI -> the SQLite file of the embedded store.

Accepted: a plain path (relative to the current directory, `~` expanded), `file:` URIs
(`file:///abs/mlrun.db`, `file:rel/mlrun.db`) and SQLAlchemy-style `sqlite:` URIs as
MLflow writes them: `sqlite:///rel/mlrun.db` is relative, `sqlite:////abs/mlrun.db`
absolute (so f"sqlite:///{absolute_path}" does what it looks like). Every other kind of
store is refused with NotAvailableError until mlrun implements it.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from mlrun.errors import NotAvailableError, UsageError

_HINT = "Use a SQLite file path, e.g. ./mlrun.db or sqlite:////absolute/path/mlrun.db."
# A scheme has two characters or more: "C:" is a Windows drive, not a scheme.
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]+):")
# MLflow's scheme-less names for remote stores.
_BARE_NAMES = {"databricks", "databricks-uc", "uc"}


def store_path(uri: str) -> Path:
    """The absolute path of the SQLite file `uri` names."""
    text = uri.strip()
    if not text:
        raise UsageError("the tracking URI is empty.", hint=_HINT)
    if text in _BARE_NAMES:
        raise _not_available(text)
    match = _SCHEME.match(text)
    scheme = match.group(1).lower() if match else ""
    if scheme == "sqlite":
        path = _sqlite_path(text)
    elif scheme == "file":
        path = _file_path(text)
    elif scheme:
        raise _not_available(scheme.split("+")[0])  # postgresql+psycopg2 -> postgresql
    else:
        path = Path(text)
    path = path.expanduser().absolute()
    if path.is_dir():
        # MLflow's FileStore is a directory (./mlruns); ours is a single file.
        raise NotAvailableError(
            f"the tracking URI {uri!r} is a directory, and MLflow's directory store is "
            "not available yet.",
            hint=f"Use a SQLite file path, e.g. {path / 'mlrun.db'}.",
        )
    return path


def _sqlite_path(text: str) -> Path:
    prefix = "sqlite:///"
    rest = text[len(prefix) :] if text.lower().startswith(prefix) else ""
    if not rest or rest == ":memory:":
        raise UsageError(f"the tracking URI {text!r} does not name a database file.", hint=_HINT)
    return Path(rest)


def _file_path(text: str) -> Path:
    parts = urlsplit(text)
    if parts.netloc not in ("", "localhost") or not parts.path:
        raise UsageError(f"the tracking URI {text!r} does not name a local file.", hint=_HINT)
    # POSIX paths only: url2pathname would import urllib.request (80 ms) for the same.
    return Path(unquote(parts.path))


def _not_available(kind: str) -> NotAvailableError:
    return NotAvailableError(f"tracking store {kind!r} is not available yet.", hint=_HINT)
