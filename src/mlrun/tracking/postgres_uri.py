"""PostgreSQL tracking URIs: which spellings name the PostgreSQL store, and the two forms
of one URI mlrun keeps apart -- the connection string (with the password, given only to
libpq) and the URI shown everywhere else (messages, records, the run's environment),
which never carries a password.

Accepted: libpq's own `postgresql://` and `postgres://`, and the SQLAlchemy spellings
MLflow users write, `postgresql+<driver>://` (psycopg, psycopg2, pg8000...): the driver
part is dropped, mlrun always talks through psycopg 3. Everything after the scheme is
libpq's URI syntax, query parameters included (`?sslmode=require`,
`?options=-csearch_path%3Dteam` for a schema of its own). A password may be given in the
URI, but ~/.pgpass or PGPASSWORD keep it out of shell history and process listings; the
shown URI then still reaches the store from a child process.
"""

from __future__ import annotations

import re
from typing import NamedTuple
from urllib.parse import parse_qsl, quote, unquote, urlencode

_SCHEME = re.compile(r"^(postgresql|postgres)(\+[A-Za-z0-9_]+)?://", re.IGNORECASE)
CONNECT_TIMEOUT = 10  # seconds, unless the URI says otherwise: a silent host must not hang


class Target(NamedTuple):
    conninfo: str  # for libpq: may hold the password
    shown: str  # postgresql://user@host:port/db?params-but-password
    secrets: tuple[str, ...]  # the passwords it holds, for mlrun.util.redact
    server: str  # host:port/db, for messages


def is_postgres(uri: str) -> bool:
    return _SCHEME.match(uri.strip()) is not None


def parse(uri: str) -> Target:
    text = uri.strip()
    match = _SCHEME.match(text)
    if match is None:
        raise ValueError(f"not a PostgreSQL URI: {uri!r}")
    rest = text[match.end() :]
    before_query, sep, query = rest.partition("?")
    # The user info runs to the last "@" before the query: a password may hold "@" or "/".
    userinfo, at, location = before_query.rpartition("@")
    user, _, password = userinfo.partition(":")
    params = parse_qsl(query, keep_blank_values=True) if sep else []
    secrets = [unquote(password), password] + [v for k, v in params if k == "password"]
    kept = [(k, v) for k, v in params if k != "password"]
    host_port, _, dbname = location.partition("/")
    server = f"{host_port or 'localhost'}/{unquote(dbname) or unquote(user) or '(default)'}"
    shown = "postgresql://" + (f"{user}@" if at and user else "") + location
    if kept:
        shown += "?" + urlencode(kept, quote_via=quote, safe="")
    conninfo = "postgresql://" + rest
    if not any(k == "connect_timeout" for k, _ in params):
        conninfo += ("&" if sep and query else "" if sep else "?") + (
            f"connect_timeout={CONNECT_TIMEOUT}"
        )
    return Target(conninfo, shown, tuple(s for s in secrets if s), server)
