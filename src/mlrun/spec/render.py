"""Command rendering: an argv when the template needs no shell, `bash -c` only when it does.

MLflow renders `template.format(**{k: shlex.quote(v)})`, appends ` --key value` for extra
parameters and hands the string to `bash -c`. That makes every run a shell (an extra
process between mlrun and the program, signals going to bash), and it is an injection
hole wherever the template quotes the placeholder: inside "...", a value's `$(...)`
runs (GHSA-p2gf-345f-mhmm). mlrun renders in two ways, both from the same first step,
every `{placeholder}` replaced by a private-use sentinel character:

- argv mode, when the template is one simple command with nothing for a shell to
  interpret (shellwords.split_simple): split it into words once, then put each value
  into the word that held its sentinel. Nothing is ever parsed again.
- shell mode otherwise: shellcontext finds the quoting context of each sentinel, and the
  value reaches bash through an environment variable (`MLRUN_P_1`...) referenced there
  (`"${MLRUN_P_1}"` unquoted, `${MLRUN_P_1}` inside double quotes...): bash substitutes
  it and never parses it.

Either way the program receives the words MLflow's rendering gives wherever MLflow does
not evaluate the value: the bare value for an unquoted placeholder, and MLflow's quoted
text, literally, inside double quotes (`python -c "f({x})"` with x='a b' gives
`f('a b')`). Inside single quotes MLflow would close the quotes around the value and let
the shell read it as code; mlrun passes the value itself. Shell arithmetic and variable
names take only values that are inert there (integers, identifiers); anything else is
refused. What is shown and recorded (`Command.shell`) is the equivalent command with
each value written in place, quoted for its context."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import NamedTuple

from mlrun.errors import ParameterError, SpecError
from mlrun.spec.model import Command, EntryPoint, ResolvedParameters
from mlrun.spec.shellwords import split_literal, split_simple

# Supplementary Private Use Area-A: never produced by a sensible MLproject; a template
# that contains one of these is refused (render_command) rather than misread.
_SENTINEL_BASE = 0xF0000
_SENTINEL_MAX = 0xFFFFD - _SENTINEL_BASE
_SENTINEL_RE = re.compile("[\U000f0000-\U000ffffd]")
_FIELD_SPLIT = re.compile(r"[.\[]")
_INTEGER = re.compile(r"[+-]?[0-9]+\Z")
_VARIABLE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*|[0-9]+)\Z")
ENV_PREFIX = "MLRUN_P_"


class Field(NamedTuple):
    """One placeholder occurrence (or an extra parameter's value, with text "")."""

    name: str
    text: str  # as written, e.g. "{a}" or "{a!r}"
    plain: bool  # no conversion, format spec, attribute or index


def has_shell_syntax(template: str) -> bool:
    """True when running `template` needs a shell (or when we cannot be sure it does not)."""
    try:
        skeleton, fields = sentinel_template(template)
    except ValueError:
        return True
    return not all(f.plain for f in fields) or not split_simple(skeleton)


def render_command(ep: EntryPoint, params: ResolvedParameters) -> Command:
    template = ep.command
    _check_template_text(ep)
    for name in _field_names(ep):
        if name not in params.values:
            raise ParameterError(f"entry point {ep.name!r} has no value for parameter {name!r}")
    for name, value in params.all().items():
        _check_value_text(name, value)
    skeleton, fields = sentinel_template(template)
    if all(f.plain for f in fields):
        words = split_simple(skeleton)
        if words:  # nothing to execute: let the shell report it like MLflow would
            return _argv_command(template, skeleton, words, fields, params)

    from mlrun.spec.shellplace import shell_command

    quoted = _quoted(params.values)
    texts = [_mlflow_text(ep, f, quoted) for f in fields]
    return shell_command(ep, skeleton, fields, texts, params)


def sentinel_template(template: str) -> tuple[str, list[Field]]:
    """The template with a sentinel character per placeholder, and the placeholders.
    ValueError when str.format cannot parse it."""
    parts: list[str] = []
    fields: list[Field] = []
    for literal, field_name, spec, conversion in string.Formatter().parse(template):
        parts.append(literal)
        if field_name is None:
            continue
        if len(fields) > _SENTINEL_MAX:
            raise ValueError("too many placeholders")
        text = "{" + field_name + (f"!{conversion}" if conversion else "")
        text += (f":{spec}" if spec else "") + "}"
        plain = not (spec or conversion or _FIELD_SPLIT.search(field_name))
        base = _FIELD_SPLIT.split(field_name, maxsplit=1)[0]
        parts.append(sentinel(len(fields)))
        fields.append(Field(base, text, plain))
    return "".join(parts), fields


def sentinel(index: int) -> str:
    return chr(_SENTINEL_BASE + index)


def sentinel_index(char: str) -> int | None:
    code = ord(char) - _SENTINEL_BASE
    return code if 0 <= code <= _SENTINEL_MAX else None


def template_problems(ep: EntryPoint) -> list[str]:
    """Why `ep`'s template would fail to render, parameters it never uses, and what
    happens to placeholders written in quotes or other special places."""
    used, problem = _scan_fields(ep)
    problem = _text_problem(ep.command) or problem
    if problem is not None:
        return [f"the command of entry point {ep.name!r} {problem}"]
    problems: list[str] = []
    unused = [name for name in ep.parameters if name not in used]
    if unused:
        names = ", ".join(f"{n!r}" for n in unused)
        them = "them" if len(unused) > 1 else "it"
        problems.append(
            f"entry point {ep.name!r} declares {names} but its command never uses {them}"
        )
    from mlrun.spec.shellplace import placeholder_notes

    return problems + placeholder_notes(ep)


def quoted_text(value: str) -> str:
    """What MLflow inserts for a value: shlex.quote, imported only when needed."""
    import shlex

    return shlex.quote(value)


def _quoted(values: Mapping[str, str]) -> dict[str, str]:
    return {k: quoted_text(v) for k, v in values.items()}


def _argv_command(
    template: str,
    skeleton: str,
    words: list[str],
    fields: list[Field],
    params: ResolvedParameters,
) -> Command:
    # The value itself wherever the shell would have unquoted MLflow's quoting; MLflow's
    # quoted text where the shell would have kept it (inside double quotes).
    double: set[int] = set()
    if '"' in template:
        from mlrun.spec import shellcontext

        pieces = shellcontext.parse(skeleton, sentinel_index)
        double = {s.index for s in shellcontext.slots(pieces) if s.context == shellcontext.DQ}
    values = params.values

    def fill(match: re.Match[str]) -> str:
        index = ord(match.group()) - _SENTINEL_BASE
        value = values[fields[index].name]
        return quoted_text(value) if index in double else value

    argv = [_SENTINEL_RE.sub(fill, word) for word in words]
    for key, value in params.extra.items():
        argv += [f"--{key}", value]
    return Command(argv=tuple(argv), shell=None, template=template)


def _mlflow_text(ep: EntryPoint, field: Field, quoted: Mapping[str, str]) -> str:
    """What MLflow's str.format puts where `field` is written."""
    if field.plain:
        return quoted[field.name]
    try:
        return field.text.format(**quoted)
    except (KeyError, IndexError, ValueError, AttributeError, TypeError) as exc:
        # _field_names already rejected unknown names; what is left is exotic field syntax
        # (`{a.real}`, `{a:>{b}}`) that fails on MLflow's quoted strings as well.
        raise SpecError(
            f"the command of entry point {ep.name!r} cannot be rendered ({exc!r})",
            file=str(ep.file) if ep.file else None,
            line=ep.line,
            key=f"entry_points.{ep.name}.command",
        ) from None


def literal_word(text: str) -> str | None:
    """The one word `text` stands for when the shell reads it without expanding anything
    (quotes removed), "" for blank text, None when it would expand or split."""
    words = split_literal(text)
    if words is None or len(words) > 1:
        return None
    return words[0] if words else ""


def _check_template_text(ep: EntryPoint) -> None:
    problem = _text_problem(ep.command)
    if problem is None and _SENTINEL_RE.search(ep.command):
        problem = f"contains {_SENTINEL_RE.search(ep.command)!r}, a character mlrun reserves"
    if problem is not None:
        raise SpecError(
            f"the command of entry point {ep.name!r} {problem}",
            file=str(ep.file) if ep.file else None,
            line=ep.line,
            key=f"entry_points.{ep.name}.command",
        )


def _check_value_text(name: str, value: str) -> None:
    problem = _text_problem(value)
    if problem is not None:
        raise ParameterError(f"the value of parameter {name!r} {problem}")


def _text_problem(text: str) -> str | None:
    """What makes `text` impossible to pass to a program: a NUL (argv and environment
    strings end there), or bytes that are not UTF-8 (kept as lone surrogates by Python,
    and unrepresentable in the run record)."""
    if "\0" in text:
        return "contains a NUL character, which no program can receive"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = text[exc.start].encode("utf-8", "surrogateescape")
        return f"is not valid UTF-8 text (byte {bad!r} at position {exc.start})"
    return None


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


def is_integer(text: str) -> bool:
    return bool(_INTEGER.match(text))


def is_variable_name(text: str) -> bool:
    return bool(_VARIABLE.match(text))
