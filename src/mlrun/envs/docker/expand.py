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

from mlrun.errors import UsageError

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BRACED = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)(.*))?\}\Z", re.DOTALL)
FORMS = "$NAME, ${NAME}, ${NAME-default} and ${NAME:-default}"


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
) -> str:
    """`text` with its variables replaced; `unset(name)` gives (or refuses) the value of
    a variable that is not set."""
    out: list[str] = []
    i, end = 0, len(text)
    while i < end:
        char = text[i]
        if char == "\\" and text.startswith("$", i + 1):
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
            out.append(_braced(text[i + 1 : close + 1], variables, where, unset, text))
            i = close + 1
        elif (match := _NAME.match(text, i + 1)) is not None:
            name = match.group()
            out.append(variables[name] if name in variables else unset(name))
            i = match.end()
        else:  # `$` alone, or a special parameter: kept as written
            out.append(char)
            i += 1
    return "".join(out)


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
        return expand(default, variables, where, unset)
    return value
