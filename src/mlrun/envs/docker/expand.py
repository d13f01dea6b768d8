"""`$VAR` and `${VAR}` in docker_env values, expanded as MLflow's shell expands them, by
substitution alone: no shell runs, nothing is evaluated, no value is split or globbed.

MLflow joins `docker run -v VOLUME -e NAME=VALUE ... IMAGE COMMAND` into one line that
`bash -c` runs from the project directory, so bash expands every `$` in it. The
variables are therefore mlrun's environment plus what bash sets itself when it starts:
`PWD` (the directory it runs in: the project), and `UID`, `EUID` and `HOSTNAME` when
the environment lacks them (bash keeps inherited values of those three, and sets no
`HOME` when it is unset). The other variables bash sets are left out on purpose: `PPID`,
`SHLVL`, `$$`, `RANDOM`, `SECONDS` describe that throw-away shell, and `HOSTTYPE`,
`OSTYPE`, `MACHTYPE` are bash's build-time strings, which mlrun could only guess.

What is expanded, and what is not:
- `$NAME`, `${NAME}`; `${NAME-WORD}` and `${NAME:-WORD}` (WORD when NAME is unset, or
  unset or empty, with WORD itself expanded), as bash does.
- A `~` where bash expands it in MLflow's words: at the start of a volume; at the start
  of an environment value and after each `:` in it (bash treats `-e NAME=VALUE` as an
  assignment), and at the start of a `${NAME-WORD}` default there. `~` and `~/...` are
  `$HOME` (the user's home directory when HOME is unset), `~+` is `$PWD`, `~USER` that
  user's home directory; any other `~` is kept.
- `\\$` is a literal `$`, as in bash. Every other byte arrives as written: spaces,
  quotes, backslashes, `$(...)`, backticks, globs (bash would split, unquote, run or
  glob them: MLflow breaks such values).
- A `$` that does not start a name (`$`, `$1`, `$$`, `$?`, `$(`) is kept literally.
- Any other `${...}` form (`${#A}`, `${A%x}`, `${A:+x}`...) is an error (exit 2): mlrun
  will not give a value different from bash's silently.
- An unset NAME is the caller's decision (`unset`): environment values become empty, as
  in bash, with a warning; a volume refuses it (an empty path mounts the wrong place)."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Literal

from mlrun.errors import UsageError

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BRACED = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)(.*))?\}\Z", re.DOTALL)
_USER = re.compile(r"[A-Za-z0-9._][A-Za-z0-9._-]*\Z")
FORMS = "$NAME, ${NAME}, ${NAME-default} and ${NAME:-default}"
# Where a `~` is expanded: nowhere, at the start (a volume), or at the start and after
# each `:` (an environment value: bash expands `NAME=VALUE` words as assignments).
Tildes = Literal["none", "start", "assignment"]


def shell_variables(project_dir: Path, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables MLflow's `bash -c` would see, started in `project_dir`."""
    variables = dict(os.environ if environ is None else environ)
    if hasattr(os, "getuid"):
        variables.setdefault("UID", str(os.getuid()))
        variables.setdefault("EUID", str(os.geteuid()))
    variables.setdefault("HOSTNAME", socket.gethostname())
    variables["PWD"] = str(project_dir)
    return variables


def expand(
    text: str,
    variables: Mapping[str, str],
    where: str,
    unset: Callable[[str], str],
    tildes: Tildes = "none",
) -> str:
    """`text` with its variables (and, where `tildes` says, its `~`) replaced;
    `unset(name)` gives (or refuses) the value of a variable that is not set."""
    out: list[str] = []
    i, end = 0, len(text)
    while i < end:
        char = text[i]
        if char == "~" and _tilde_position(text, i, tildes):
            home, i = _tilde(text, i, variables)
            out.append(home)
        elif char == "\\" and text.startswith("$", i + 1):
            out.append("$")
            i += 2
        elif char != "$":
            out.append(char)
            i += 1
        elif text.startswith("{", i + 1):
            close = _closing_brace(text, i + 2)
            if close < 0:
                raise UsageError(
                    f"{where} has a `${{` without its closing `}}` in {text!r}",
                    hint=r"close it, or write \$ for a literal $",
                )
            body = text[i + 1 : close + 1]
            out.append(_braced(body, variables, where, unset, text, tildes != "none"))
            i = close + 1
        elif (match := _NAME.match(text, i + 1)) is not None:
            name = match.group()
            out.append(variables[name] if name in variables else unset(name))
            i = match.end()
        else:  # `$` alone, or a special parameter: kept as written
            out.append(char)
            i += 1
    return "".join(out)


def _tilde_position(text: str, i: int, tildes: Tildes) -> bool:
    if tildes == "none":
        return False
    return i == 0 or (tildes == "assignment" and text[i - 1] == ":")


def _tilde(text: str, i: int, variables: Mapping[str, str]) -> tuple[str, int]:
    """(what the tilde-prefix at `i` stands for, where it ends): as bash, the prefix runs
    to the next `/` or `:`; a `~` bash cannot expand is kept."""
    end = i + 1
    while end < len(text) and text[end] not in "/:":
        end += 1
    prefix = text[i + 1 : end]
    if prefix == "":
        home = variables.get("HOME")
        return (home if home is not None else _home_of(None) or "~"), end
    if prefix == "+":
        return variables.get("PWD", "~+"), end
    if _USER.match(prefix):
        home = _home_of(prefix)
        if home is not None:
            return home, end
    return "~", i + 1  # kept; what follows is expanded as usual


def _home_of(user: str | None) -> str | None:
    try:
        import pwd
    except ImportError:  # not a POSIX system
        return None
    try:
        entry = pwd.getpwnam(user) if user is not None else pwd.getpwuid(os.getuid())
    except KeyError:
        return None
    return entry.pw_dir


def _closing_brace(text: str, start: int) -> int:
    """Where the `}` matching a `${` ends (nested `${...}` in a default count)."""
    depth = 1
    i = start
    while i < len(text):
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _braced(
    body: str,
    variables: Mapping[str, str],
    where: str,
    unset: Callable[[str], str],
    text: str,
    tildes: bool,
) -> str:
    match = _BRACED.match(body)
    if match is None:
        raise UsageError(
            f"{where} uses ${body} in {text!r}, which mlrun does not expand",
            hint=f"mlrun expands {FORMS}; " + r"write \$ for a literal $",
        )
    name, operator, default = match.groups()
    value = variables.get(name)
    if operator is None:
        return value if value is not None else unset(name)
    if value is None or (operator == ":-" and value == ""):
        # bash expands a `~` that starts the default word (not one after a `:` there)
        return expand(default, variables, where, unset, "start" if tildes else "none")
    return value
