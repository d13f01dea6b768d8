"""Removing credentials from URLs and text before anything is stored, logged or printed."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

# scheme://user:password@host  or  scheme://token@host, also malformed: an `@` or a `/`
# inside the password (`u:p@ss@h`, `u:ab/cd@h`), no host at all (`file://u:T@/path`).
# With a `:` the userinfo runs to the last `@` of the URL (up to a blank or a quote).
_URL_USERINFO = re.compile(
    r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)"
    r"(?P<userinfo>[^/@\s'\":]*:[^\s'\"]*|[^/@\s'\"]+)@"
)
# scp-like `user:password@host:path`, in text known to be one URI (redact_uri)
_SCP_USERINFO = re.compile(r"^[^/@\s:]+:[^\s]*@")

_registered: set[str] = set()


def register_secret(value: str) -> None:
    """Remember a secret value so every later `redact()` masks it (process-wide)."""
    if value and len(value) >= 4:
        _registered.add(value)


def strip_credentials(url: str) -> str:
    """The URL without user, password or token: `https://u:t@h/r` -> `https://h/r`.

    scp-like ssh URLs (`git@host:org/repo`) keep their user: it is not a secret."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    if parts.scheme in ("ssh", "git+ssh") and parts.password is None and parts.username:
        host = f"{parts.username}@{host}"  # an ssh login name is not a credential
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def redact(text: str) -> str:
    """Mask credentials embedded in URLs and any registered secret values."""

    def _mask(match: re.Match[str]) -> str:
        scheme = match.group("scheme")
        if scheme.startswith("ssh") and ":" not in match.group("userinfo"):
            return match.group(0)
        return f"{scheme}***@"

    text = _URL_USERINFO.sub(_mask, text)
    for secret in _registered:
        text = text.replace(secret, "***")
    return text


def redact_uri(uri: str) -> str:
    """`redact` for a string given as one URI, where `user:token@host:path` (scp-like,
    malformed with a password) is masked too."""
    if "://" not in uri:
        uri = _SCP_USERINFO.sub("***@", uri)
    return redact(uri)
