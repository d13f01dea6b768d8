"""Path globs as docker and git users write them: Go's filepath.Match (`*` and `?` never
cross a `/`, `[...]` classes, `[!...]` / `[^...]` negated, `\\` escapes) plus `**` for
any number of directories. Used by .dockerignore and by workflow steps' `code:` lists."""

from __future__ import annotations

import re


def compile_glob(pattern: str) -> re.Pattern[str]:
    """A regex for the whole of a relative path."""
    return re.compile(_translate(pattern))


def matches(regex: re.Pattern[str], rel: str) -> bool:
    """The path itself or one of its parent directories matches (a pattern naming a
    directory stands for everything under it)."""
    if regex.match(rel):
        return True
    parts = rel.split("/")
    return any(regex.match("/".join(parts[:i])) for i in range(1, len(parts)))


def _translate(pattern: str) -> str:
    out = ["^"]
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "*":
            if i + 1 < n and pattern[i + 1] == "*":
                i += 1
                if i + 1 < n and pattern[i + 1] == "/":
                    i += 1
                    out.append("(?:.*/)?")  # "**/": zero or more whole directories
                else:
                    out.append(".*")
            else:
                out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i]))
        elif ch == "[":
            end = pattern.find("]", i + 2)
            if end == -1:
                out.append(re.escape(ch))
            else:
                body = pattern[i + 1 : end]
                if body.startswith(("^", "!")):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end
        else:
            out.append(re.escape(ch))
        i += 1
    out.append("$")
    return "".join(out)
