"""Tracking URI -> the SQLite file of the embedded store.

Accepted: a plain path (relative to the current directory, `~` expanded), `file:` URIs
(`file:///abs/mlrun.db`, `file:rel/mlrun.db`) and SQLAlchemy-style `sqlite:` URIs as
MLflow writes them: `sqlite:///rel/mlrun.db` is relative, `sqlite:////abs/mlrun.db`
absolute (so f"sqlite:///{absolute_path}" does what it looks like). PostgreSQL URIs are
postgres_uri's (open_store sends them there first); every other kind of store is
refused with NotAvailableError until mlrun implements it.

A path that exists must be a usable store file (`check_store_file`): a regular file,
empty or starting with SQLite's header. Anything else (/etc/passwd, /dev/null, a fifo, a
socket) is refused before SQLite or mlrun creates anything beside it (-wal, -shm,
-journal, runs/). URIs in messages are shown without credentials.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from urllib.parse import unquote, urlsplit

from mlrun.errors import NotAvailableError, UsageError

_HINT = (
    "Use a SQLite file path, e.g. ./mlrun.db or sqlite:////absolute/path/mlrun.db,"
    " or a PostgreSQL database, postgresql://user@host:5432/db."
)
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
        raise _not_available(scheme.split("+")[0])  # mysql+pymysql -> mysql
    else:
        path = Path(text)
    path = path.expanduser().absolute()
    if path.is_dir():
        # MLflow's FileStore is a directory (./mlruns); ours is a single file.
        raise NotAvailableError(
            f"the tracking URI {_shown(uri)!r} is a directory, and MLflow's directory store "
            "is not available yet.",
            hint=f"Use a SQLite file path, e.g. {path / 'mlrun.db'}.",
        )
    return path


SQLITE_HEADER = b"SQLite format 3\0"
# (st_dev, st_ino) of every store file this process has opened with SQLite. Reading such
# a file's header again here would be harmless to look at but not to close: closing any
# descriptor of a file drops every POSIX lock this process holds on it, SQLite's
# included, and another process may then checkpoint and delete the WAL under our open
# connection ("database disk image is malformed"). A file SQLite opened is a store.
OPENED_BY_SQLITE: set[tuple[int, int]] = set()
_KINDS = (
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISSOCK, "a socket"),
)


def check_store_file(path: Path, uri: str) -> None:
    """UsageError unless `path` can hold the run store: absent (a new store, in a
    directory that exists or can be made), or a regular file that is empty or a SQLite
    database. Nothing is created or opened for writing here."""
    where = f"the tracking URI {_shown(uri)!r}"
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        _check_parent(path, where)
        return
    except OSError as exc:
        raise UsageError(f"{where}: cannot look at {path}: {exc.strerror}.", hint=_HINT) from None
    kind = next((name for test, name in _KINDS if test(st.st_mode)), None)
    if kind is None and not stat.S_ISREG(st.st_mode):
        kind = "not a regular file"
    if kind is not None:
        raise UsageError(f"{where} names {path}, which is {kind}, not a store file.", hint=_HINT)
    if st.st_size == 0 or (st.st_dev, st.st_ino) in OPENED_BY_SQLITE:
        return  # SQLite makes an empty file a new database; see OPENED_BY_SQLITE
    try:
        with open(path, "rb") as fh:
            header = fh.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise UsageError(f"{where}: cannot read {path}: {exc.strerror}.", hint=_HINT) from None
    if header != SQLITE_HEADER:
        raise UsageError(
            f"{where} names {path}, which is not an SQLite database (an mlrun run store).",
            hint="Point it at an mlrun.db file, or at a path that does not exist yet.",
        )


def _check_parent(path: Path, where: str) -> None:
    """The nearest existing ancestor must be a directory (it is created below it)."""
    for parent in path.parents:
        if os.path.isdir(parent):
            return
        if os.path.lexists(parent):
            raise UsageError(f"{where} names {path}, but {parent} is not a directory.", hint=_HINT)


def _shown(uri: str) -> str:
    from mlrun.util.redact import redact

    return redact(uri)


def _sqlite_path(text: str) -> Path:
    prefix = "sqlite:///"
    rest = text[len(prefix) :] if text.lower().startswith(prefix) else ""
    if not rest or rest == ":memory:":
        raise UsageError(
            f"the tracking URI {_shown(text)!r} does not name a database file.", hint=_HINT
        )
    return Path(rest)


def _file_path(text: str) -> Path:
    parts = urlsplit(text)
    if parts.netloc not in ("", "localhost") or not parts.path:
        raise UsageError(
            f"the tracking URI {_shown(text)!r} does not name a local file.", hint=_HINT
        )
    # POSIX paths only: url2pathname would import urllib.request (80 ms) for the same.
    return Path(unquote(parts.path))


def _not_available(kind: str) -> NotAvailableError:
    return NotAvailableError(f"tracking store {kind!r} is not available yet.", hint=_HINT)
