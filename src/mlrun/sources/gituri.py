"""Parsing project URIs: `https://u:TOKEN@host/org/repo.git#sub/dir`, `git@host:org/repo`,
`ssh://`, `git://`, `file://`, local paths.

The parse separates what git may be told (the URL without credentials) from the
credentials themselves, which travel to git only through its environment (gitcmd.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from mlrun.errors import UsageError

_SCHEMES = {
    "https": "https",
    "http": "http",
    "ssh": "ssh",
    "git": "git",
    "file": "file",
    "git+ssh": "ssh",
    "ssh+git": "ssh",
    "git+https": "https",
    "git+http": "http",
    "git+file": "file",
}
_URL = re.compile(r"^(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*)://")
# scp-like ssh: user@host:path (git's own rule needs no user, but without one `a:b` is far
# more often a local path with a colon than an ssh host).
_SCP = re.compile(r"^(?P<user>[^@/:\s]+)@(?P<host>[^:/\s]+):(?P<path>[^\s]*)$")
_HINT = "use https://, http://, ssh://, git://, file://, user@host:path or a local directory"


@dataclass(frozen=True)
class GitRemote:
    """A remote repository. `url` is what git is given: never carries a password."""

    url: str
    username: str | None = None  # a login name from the URL (handed to credential helpers)
    password: str | None = None  # a password or token from the URL: used, never written

    @property
    def scheme(self) -> str:
        return "ssh" if _SCP.match(self.url) else self.url.split("://", 1)[0]

    @property
    def display(self) -> str:
        """The remote as messages show it: a `file://` URL with its path as the user
        knows it (`file:///tmp/my dir/repo.git`, not `file:///tmp/my%20dir/repo.git`)."""
        if self.url.lower().startswith("file://"):
            return "file://" + unquote(urlsplit(self.url).path)
        return self.url

    @property
    def key(self) -> str:
        """What identifies the remote in the mirror cache: the URL without credentials,
        with the parts git treats case-insensitively lowered."""
        if _SCP.match(self.url):
            user, rest = self.url.split("@", 1)
            host, path = rest.split(":", 1)
            return f"{user}@{host.lower()}:{path.rstrip('/')}"
        parts = urlsplit(self.url)
        return urlunsplit(
            (
                parts.scheme.lower(),
                parts.netloc.lower(),
                parts.path.rstrip("/") or "/",
                parts.query,
                "",
            )
        )

    @property
    def cache_name(self) -> str:
        """A directory name for the mirror: readable, and unique by a hash of the key."""
        import hashlib

        digest = hashlib.sha256(self.key.encode()).hexdigest()[:16]
        readable = re.sub(r"[^A-Za-z0-9._-]+", "_", self.key.split("://", 1)[-1]).strip("_.")
        return f"{readable[-48:].lstrip('_.') or 'repo'}-{digest}"

    @property
    def host_prefix(self) -> str | None:
        """`scheme://host[:port]/` for http(s) remotes: the scope of their credentials."""
        if self.scheme not in ("http", "https"):
            return None
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}/"


def split_subdir(uri: str) -> tuple[str, str]:
    """`repo#sub/dir` -> (`repo`, `sub/dir`), with the subdirectory checked and normalised."""
    if "#" not in uri:
        return uri, ""
    base, _, sub = uri.partition("#")
    return base, normalize_subdir(sub, uri)


def normalize_subdir(sub: str, uri: str) -> str:
    parts = [p for p in sub.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or sub.startswith("/") or ".." in parts:
        raise UsageError(
            f"the subdirectory {sub!r} in {redacted(uri)!r} is not a relative path inside "
            "the repository",
            hint="write URI#path/to/project, e.g. repo.git#examples/sklearn",
        )
    return "/".join(parts)


def check_subdir(root: Path, subdir: str, where: str) -> None:
    """UsageError when `root/subdir` leads outside `root` (a committed symlink)."""
    from mlrun.util.confine import escapes, leads_outside

    real = escapes(root, root / subdir)
    if real is not None:
        raise UsageError(
            leads_outside(f"the subdirectory {subdir!r} of {where}", real),
            hint="a symlink in the project cannot make another directory the project",
        )


def is_remote(uri: str) -> bool:
    match = _URL.match(uri)
    if match:
        return match.group("scheme").lower() != "file"
    return bool(_SCP.match(uri))


def parse_remote(uri: str) -> GitRemote:
    """A remote URL (no `#subdir`) -> GitRemote. Raises UsageError (exit 2) when malformed."""
    scp = _SCP.match(uri)
    if scp and not _URL.match(uri):
        if not scp.group("path").strip("/"):
            raise UsageError(f"the git URL {redacted(uri)!r} has no repository path", hint=_HINT)
        return GitRemote(uri)  # an ssh login name is not a secret
    match = _URL.match(uri)
    if not match:
        raise UsageError(f"{redacted(uri)!r} is not a git URL", hint=_HINT)
    given = match.group("scheme").lower()
    scheme = _SCHEMES.get(given)
    if scheme is None:
        raise UsageError(f"unsupported URI scheme {given!r} in {redacted(uri)!r}", hint=_HINT)
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        raise UsageError(
            f"the git URL {redacted(uri)!r} is malformed (bad host or port)", hint=_HINT
        ) from None
    host = parts.hostname or ""
    if scheme != "file" and not host:
        raise UsageError(f"the git URL {redacted(uri)!r} has no host", hint=_HINT)
    if not parts.path.strip("/"):
        raise UsageError(f"the git URL {redacted(uri)!r} has no repository path", hint=_HINT)
    if parts.query:
        raise UsageError(
            f"the git URL {redacted(uri)!r} has a query string, which git does not use",
            hint="remove the part after '?'",
        )
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    netloc = host if ":" not in host else f"[{host}]"
    if port is not None:
        netloc += f":{port}"
    if scheme == "ssh":
        if password is not None:
            raise UsageError(
                f"the ssh URL {redacted(uri)!r} carries a password, which ssh cannot use",
                hint="use an ssh key (or ssh-agent) instead",
            )
        if username:
            netloc = f"{parts.username}@{netloc}"  # the ssh login stays in the URL
        username = None
    url = urlunsplit((scheme, netloc, parts.path, "", ""))
    return GitRemote(url, username or None, password or None)


def redacted(uri: str) -> str:
    """`uri` as it may be shown: credentials removed."""
    from mlrun.util.redact import redact_uri

    return redact_uri(uri)


def local_remote(path: Path) -> GitRemote:
    """A repository on this machine used as a remote (a bare repo, `file://`, or a working
    tree run with --version)."""
    return GitRemote(path.as_uri())


def file_url_path(uri: str) -> str:
    """The path of a `file://` URI (percent-decoded); anything else unchanged."""
    if uri.lower().startswith("file://"):
        parts = urlsplit(uri)
        if parts.netloc not in ("", "localhost"):
            raise UsageError(
                f"the file URI {redacted(uri)!r} names a host"
                + (f" ({parts.hostname})" if parts.hostname else ""),
                hint="write file:///absolute/path",
            )
        return unquote(parts.path)
    return uri
