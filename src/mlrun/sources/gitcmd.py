"""Running git: one environment recipe, credentials passed only through the environment,
and fetch failures turned into one clear sentence.

A token from the URL reaches git as an `http.<scheme://host/>.extraHeader` set through
GIT_CONFIG_COUNT/KEY/VALUE variables: it is never in argv (visible to every user in
`ps`), never in a config file, and scoped to the host it came with, so a submodule or a
redirect to another host never receives it. A login name without a password is handed
to the user's credential helpers the same way (`credential.<url>.username`)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mlrun.errors import FetchError, PrepareError
from mlrun.util.proc import ProcResult, run
from mlrun.util.redact import register_secret

if TYPE_CHECKING:
    from mlrun.sources.gituri import GitRemote

# Variables that would point our git at another repository than the one we name.
_REPO_VARS = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
    "GIT_QUARANTINE_PATH",
)


def auth_env(remote: GitRemote | None, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """GIT_CONFIG_* entries carrying the remote's credentials, appended to any the user
    already set (GIT_CONFIG_COUNT is a list, not ours alone)."""
    if remote is None or remote.host_prefix is None:
        return {}
    entries: list[tuple[str, str]] = []
    if remote.password is not None:
        import base64

        register_secret(remote.password)
        userpass = f"{remote.username or ''}:{remote.password}".encode()
        token = base64.b64encode(userpass).decode()
        register_secret(token)
        entries.append((f"http.{remote.host_prefix}.extraHeader", f"Authorization: Basic {token}"))
    elif remote.username:
        register_secret(remote.username)  # may well be a token written as a user name
        entries.append((f"credential.{remote.host_prefix}.username", remote.username))
    if not entries:
        return {}
    try:
        start = int((os.environ if base is None else base).get("GIT_CONFIG_COUNT", "0"))
    except ValueError:
        start = 0
    extra = {"GIT_CONFIG_COUNT": str(start + len(entries))}
    for i, (key, value) in enumerate(entries, start):
        extra[f"GIT_CONFIG_KEY_{i}"] = key
        extra[f"GIT_CONFIG_VALUE_{i}"] = value
    return extra


def git_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _REPO_VARS}
    # Fail instead of waiting for a password nobody will type (CI, a progress line on the
    # terminal); credential helpers and ssh keys still work. C locale: we read git's words.
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["LC_ALL"] = "C"
    env.pop("LANGUAGE", None)
    if extra:
        env.update(extra)
    return env


def git(
    args: Sequence[str],
    *,
    git_dir: Path | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    input: str | None = None,
    on_stderr: Callable[[str], None] | None = None,
    watch: bool = True,
) -> ProcResult:
    """`git [--git-dir D] args...` through the one subprocess helper. A failure with
    `check` is a PrepareError naming the git command and its last words. `watch` (off
    only for read-only queries): git dies with mlrun, so an orphaned fetch or checkout
    never writes into a mirror or checkout the next run is using."""
    argv = ["git"]
    if git_dir is not None:
        argv.append(f"--git-dir={git_dir}")
    argv.extend(args)
    result = run(
        argv,
        cwd=cwd,
        env=git_env(env),
        check=False,
        input=input,
        on_stderr=on_stderr,
        watch=watch,
    )
    if result.returncode == 127 and "command not found" in result.stderr:
        raise GitMissingError(
            "git is not installed (mlrun needs it for git projects)",
            hint="install git, e.g. `apt-get install git`",
        )
    if check and not result.ok:
        from mlrun.util.redact import redact

        last = (result.stderr.strip().splitlines() or [f"exit code {result.returncode}"])[-1]
        raise PrepareError(
            f"`git {_subcommand(args)}` failed: {redact(last)}",
            hint="check the repository, and the free space of the cache",
        )
    return result


def read_only(args: Sequence[str], cwd: Path) -> str | None:
    """The output of a read-only git command in `cwd` (optional locks off: it must not
    rewrite the user's index), or None when git is missing or cannot answer there; the
    caller then treats the directory as plain files."""
    try:
        result = git(["--no-optional-locks", *args], cwd=cwd, check=False, watch=False)
    except GitMissingError:
        return None
    return result.stdout if result.ok else None


def _subcommand(args: Sequence[str]) -> str:
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg == "-c":
            skip = True
        elif not arg.startswith("-"):
            return arg
    return "git"


class GitMissingError(PrepareError):
    """git itself is not on PATH."""


# (words in git's stderr, the sentence, the hint). First match wins.
_FAILURES = (
    (
        (
            "could not resolve host",
            "could not resolve hostname",
            "unable to look up",
            "name or service not known",
            "temporary failure in name resolution",
        ),
        "cannot {action} {url}: unknown host {host}",
        "check the host name and your network",
    ),
    # before authentication: git daemon says "access denied or repository not exported"
    (
        (
            "repository not found",
            "does not appear to be a git repository",
            "' not found",
            "returned error: 404",
            "not a git repository",
            "not exported",
            "no such repository",
            "no such file or directory",
            "does not exist",
        ),
        "cannot {action} {url}: there is no repository at this URL",
        "check the URL",
    ),
    (
        (
            "authentication failed",
            "could not read username",
            "could not read password",
            "returned error: 401",
            "returned error: 403",
            "permission denied (publickey",
            "access denied",
            "invalid username or password",
            "terminal prompts disabled",
        ),
        "cannot {action} {url}: authentication failed",
        "give a token in the URL (https://user:TOKEN@host/...), configure a git credential "
        "helper, or load your ssh key",
    ),
    (
        (
            "connection refused",
            "failed to connect",
            "couldn't connect",
            "connection timed out",
            "operation timed out",
            "network is unreachable",
            "no route to host",
            "connection reset",
            "unable to connect",
        ),
        "cannot {action} {url}: could not connect to {host}",
        "check that the server is up",
    ),
)


def fetch_error(result: ProcResult, remote: GitRemote, action: str = "fetch") -> FetchError:
    """A failed git network command -> one sentence naming the URL (without credentials).
    `action` is the verb as the sentence needs it: "fetch", "clone"."""
    text = result.stderr.lower()
    host = _host(remote.url)
    for words, sentence, hint in _FAILURES:
        if any(w in text for w in words):
            message = sentence.format(action=action, url=remote.display, host=host)
            return FetchError(message, hint=hint)
    lines = [ln.strip() for ln in result.stderr.splitlines() if ln.strip()]
    detail = lines[-1] if lines else f"git exited with {result.returncode}"
    from mlrun.util.redact import redact

    return FetchError(
        f"cannot {action} {remote.display}: {redact(detail)}",
        hint="run with --debug for git's full output",
    )


def _host(url: str) -> str:
    if "://" in url:
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        return parts.hostname or "localhost"
    return url.split("@", 1)[-1].split(":", 1)[0]
