"""Command rendering: an argv when the template needs no shell, `bash -c` only when it does.

MLflow renders `template.format(**{k: shlex.quote(v)})`, appends ` --key value` for extra
parameters and hands the string to `bash -c`. That is safe but makes every run a shell
(an extra process between mlrun and the program, signals going to bash) and it word-splits
placeholders written inside quotes. When the template is one simple command we instead:

1. replace every `{placeholder}` by a private-use sentinel character,
2. split the template into words once, with POSIX rules (quotes, `\\`-continuations),
3. put each value back, verbatim, inside the word that held its sentinel.

A value can therefore never be re-split or interpreted, whatever it contains, and for
values shlex.quote leaves alone the words are exactly MLflow's. Templates with anything a
shell would interpret (see shellwords) are rendered the MLflow way, values quoted.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping

from mlrun.errors import ParameterError, SpecError
from mlrun.spec.model import Command, EntryPoint, ResolvedParameters
from mlrun.spec.shellwords import ends_in_comment, split_simple

# Supplementary Private Use Area-A: never produced by a sensible MLproject, and a template
# that does contain one of these simply takes the shell path.
_SENTINEL_BASE = 0xF0000
_SENTINEL_MAX = 0xFFFFD - _SENTINEL_BASE
_SENTINEL_RE = re.compile("[\U000f0000-\U000ffffd]")
_FIELD_SPLIT = re.compile(r"[.\[]")


def has_shell_syntax(template: str) -> bool:
    """True when running `template` needs a shell (or when we cannot be sure it does not)."""
    return _argv_plan(template) is None


def render_command(ep: EntryPoint, params: ResolvedParameters) -> Command:
    template = ep.command
    names = _field_names(ep)
    for name in names:
        if name not in params.values:
            raise ParameterError(f"entry point {ep.name!r} has no value for parameter {name!r}")
    plan = _argv_plan(template)
    if plan is not None:
        skeleton_words, fields = plan
        argv = [_fill(word, fields, params.values) for word in skeleton_words]
        for key, value in params.extra.items():
            argv += [f"--{key}", value]
        return Command(argv=tuple(argv), shell=None, template=template)

    import shlex

    quoted = {k: shlex.quote(v) for k, v in params.values.items()}
    try:
        text = template.format(**quoted)
    except (KeyError, IndexError, ValueError, AttributeError, TypeError) as exc:
        # _field_names already rejected unknown names; what is left is exotic field syntax
        # (`{a.real}`, `{a:>{b}}`) that fails on MLflow's quoted strings as well.
        raise SpecError(
            f"the command of entry point {ep.name!r} cannot be rendered ({exc!r})",
            file=str(ep.file) if ep.file else None,
            line=ep.line,
            key=f"entry_points.{ep.name}.command",
        ) from None
    if params.extra:
        text = _strip_trailing_blank(text)
        if ends_in_comment(text):
            # MLflow appends them anyway and the shell ignores them: say so instead.
            raise ParameterError(
                f"extra parameters ({', '.join(params.extra)}) cannot be passed to entry "
                f"point {ep.name!r}: its command ends with a # comment"
            )
        text += "".join(f" --{key} {shlex.quote(value)}" for key, value in params.extra.items())
    return Command(argv=None, shell=text, template=template)


def template_problems(ep: EntryPoint) -> list[str]:
    """Why `ep`'s template would fail to render, plus parameters it never uses."""
    used, problem = _scan_fields(ep)
    if problem is not None:
        return [f"the command of entry point {ep.name!r} {problem}"]
    unused = [name for name in ep.parameters if name not in used]
    if not unused:
        return []
    names = ", ".join(f"{n!r}" for n in unused)
    them = "them" if len(unused) > 1 else "it"
    return [f"entry point {ep.name!r} declares {names} but its command never uses {them}"]


def _field_names(ep: EntryPoint) -> list[str]:
    names, problem = _scan_fields(ep)
    if problem is not None:
        raise SpecError(
            f"the command of entry point {ep.name!r} {problem}",
            "write {{ and }} for literal braces in a command",
            file=str(ep.file) if ep.file else None,
            line=ep.line,
            key=f"entry_points.{ep.name}.command",
        )
    return names


def _scan_fields(ep: EntryPoint) -> tuple[list[str], str | None]:
    """The parameter names the template refers to, and what str.format (and so MLflow)
    would fail on: unknown names, positional `{}` fields, unbalanced braces."""
    names: list[str] = []
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(ep.command) if f is not None]
    except ValueError as exc:
        return names, f"is not a valid template ({exc})"
    for field_name in fields:
        # `{a.b}` / `{a[0]}` look up `a`, then an attribute / an index, as in str.format.
        base = _FIELD_SPLIT.split(field_name, maxsplit=1)[0]
        if base == "" or base.isdigit():
            return names, f"has a positional placeholder {{{field_name}}}; name a parameter"
        if base not in ep.parameters:
            declared = ", ".join(ep.parameters) or "none"
            return names, (
                f"uses placeholder {{{field_name}}} but declares no parameter {base!r} "
                f"(declared: {declared})"
            )
        names.append(base)
    return names, None


def _argv_plan(template: str) -> tuple[list[str], list[str]] | None:
    """(words with sentinels, field name per sentinel), or None if a shell is needed."""
    if _SENTINEL_RE.search(template):
        return None
    parts: list[str] = []
    fields: list[str] = []
    try:
        for literal, field_name, spec, conversion in string.Formatter().parse(template):
            parts.append(literal)
            if field_name is None:
                continue
            # Conversions, format specs and attribute access apply to MLflow's *quoted*
            # value; only the shell path reproduces that faithfully.
            if spec or conversion or _FIELD_SPLIT.search(field_name):
                return None
            if len(fields) > _SENTINEL_MAX:
                return None
            parts.append(chr(_SENTINEL_BASE + len(fields)))
            fields.append(field_name)
    except ValueError:
        return None
    words = split_simple("".join(parts))
    if not words:
        return None  # nothing to execute: let the shell report it like MLflow would
    return words, fields


def _fill(word: str, fields: list[str], values: Mapping[str, str]) -> str:
    return _SENTINEL_RE.sub(lambda m: values[fields[ord(m.group()) - _SENTINEL_BASE]], word)


def _strip_trailing_blank(text: str) -> str:
    """Drop trailing blanks and newlines (a `|` block ends in one) so that appended extras
    stay on the command's line instead of running as a separate command, as they do in
    MLflow. A trailing continuation backslash left behind is dropped too."""
    stripped = text.rstrip(" \t\n")
    if stripped != text:
        trailing = len(stripped) - len(stripped.rstrip("\\"))
        if trailing % 2 == 1:
            stripped = stripped[:-1]
    return stripped
