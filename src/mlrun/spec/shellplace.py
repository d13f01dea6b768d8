"""Shell mode: each value placed for the quoting context of its placeholder.

At each placeholder (found by shellcontext) the script bash runs gets a reference to an
environment variable holding the value, and the command mlrun shows and records gets
the value itself, quoted so that bash would read it back unchanged:

| context            | the program receives            | bash runs             | shown          |
|--------------------|---------------------------------|-----------------------|----------------|
| unquoted           | the value                       | "${MLRUN_P_1}"        | shlex.quote(v) |
| "..." / heredoc    | MLflow's text (shlex.quote(v))  | ${MLRUN_P_1}          | that, escaped  |
| '...' / $'...'     | the value                       | '"${MLRUN_P_1}"'      | 'shlex.quote(v)' |
| <<'EOF' heredoc    | MLflow's text                   | the text itself       | the text       |
| arithmetic, names  | the value, if inert there       | the value itself      | the value      |
| # comment          | nothing: the placeholder as written                               |

For a placeholder with a conversion or format spec (`{a!r}`), "MLflow's text" is what
its str.format gives from the quoted value, and "the value" is that text read as one
shell word without expansion (refused when it would expand)."""

from __future__ import annotations

from mlrun.errors import ParameterError, SpecError
from mlrun.spec import shellcontext as sc
from mlrun.spec.model import EMPTY, Command, EntryPoint, ResolvedParameters
from mlrun.spec.render import (
    ENV_PREFIX,
    Field,
    is_integer,
    is_variable_name,
    literal_word,
    quoted_text,
    sentinel,
    sentinel_index,
    sentinel_template,
)

_NOTES = {
    sc.DQ: "inside double quotes: the program gets the value quoted as MLflow quotes it "
    "('a b' for a b), literally, with nothing in it expanded; write the placeholder "
    "outside the quotes to pass the bare value",
    sc.SQ: "inside single quotes: mlrun passes the value unchanged there (MLflow would "
    "end the quotes and let the shell split and expand it)",
    sc.HEREDOC: "in a here-document: it gets the value quoted as MLflow quotes it "
    "('a b' for a b), with nothing in it expanded; a value holding the delimiter line "
    "is refused",
    sc.ARITH: "in shell arithmetic: its value must be an integer (the shell would "
    "evaluate anything else as code, so mlrun refuses it)",
    sc.NAME: "where the shell takes a variable name: its value must be a name "
    "(letters, digits and _)",
    sc.COMMENT: "inside a # comment: it stays as written",
    sc.DELIMITER: "in a here-document delimiter, where no value can be placed",
}
_NOTES[sc.ANSI] = _NOTES[sc.SQ]
_NOTES[sc.DQ_WORD] = _NOTES[sc.DQ]
_NOTES[sc.HEREDOC_LITERAL] = _NOTES[sc.HEREDOC]


def shell_command(
    ep: EntryPoint,
    skeleton: str,
    fields: list[Field],
    texts: list[str],
    params: ResolvedParameters,
) -> Command:
    """The Command for `bash -c`: `texts` are MLflow's insertions for `fields`."""
    fields, texts = list(fields), list(texts)
    values = [params.values[f.name] for f in fields]
    if params.extra:
        # MLflow appends ` --key value` to the text; placed like any value.
        skeleton = _strip_trailing_blank(skeleton)
        for key, value in params.extra.items():
            skeleton += f" --{key} {sentinel(len(fields))}"
            fields.append(Field(key, "", True))
            texts.append(quoted_text(value))
            values.append(value)
    pieces = sc.parse(skeleton, sentinel_index)
    slots = sc.slots(pieces)
    assert sorted(s.index for s in slots) == list(range(len(fields))), "a placeholder was lost"
    placer = _Placer(ep, fields, texts, values)
    placed = {s.index: placer.place(s) for s in slots}
    try:
        script = sc.render(pieces, lambda s: placed[s.index][0])
        shown = sc.render(pieces, lambda s: placed[s.index][1])
    except sc.HereDocumentBreak as exc:
        names = ", ".join(sorted({repr(fields[s.index].name) for s in exc.slots}))
        raise ParameterError(
            f"the value of {names} puts the line {exc.delimiter!r} into a here-document "
            f"of entry point {ep.name!r}, which would end it there",
            hint="remove that line from the value",
        ) from None
    return Command(
        argv=None, shell=shown, template=ep.command, script=script, env=placer.env or EMPTY
    )


def placeholder_notes(ep: EntryPoint) -> list[str]:
    """For `mlrun validate`: what happens to each placeholder written somewhere other
    than a plain unquoted word."""
    try:
        skeleton, fields = sentinel_template(ep.command)
    except ValueError:
        return []
    if not fields:
        return []
    notes: list[str] = []
    seen: set[tuple[str, str]] = set()
    for slot in sc.slots(sc.parse(skeleton, sentinel_index)):
        text = fields[slot.index].text
        if slot.context == sc.WORD or (text, slot.context) in seen:
            continue
        seen.add((text, slot.context))
        notes.append(f"the command of entry point {ep.name!r} has {text} {_NOTES[slot.context]}")
    return notes


class _Placer:
    def __init__(
        self, ep: EntryPoint, fields: list[Field], texts: list[str], values: list[str]
    ) -> None:
        self.ep = ep
        self.fields = fields
        self.texts = texts
        self.values = values
        self.env: dict[str, str] = {}
        self._names: dict[str, str] = {}

    def var(self, content: str) -> str:
        name = self._names.get(content)
        if name is None:
            name = f"{ENV_PREFIX}{len(self._names) + 1}"
            self._names[content] = name
            self.env[name] = content
        return name

    def place(self, slot: sc.Slot) -> tuple[str, str]:
        """(what bash runs, what is shown) at `slot`."""
        index = slot.index
        field, text, value = self.fields[index], self.texts[index], self.values[index]
        context = slot.context
        lead = "\\$" if slot.dollar else ""  # `${a}`: a literal $ before the value
        if context == sc.WORD:
            raw = value if field.plain else literal_word(text)
            if raw is None:
                raise self._refused(field, text, "the shell would expand that text")
            return f'{lead}"${{{self.var(raw)}}}"', lead + quoted_text(raw)
        if context in (sc.DQ, sc.DQ_WORD, sc.HEREDOC):
            if slot.escaped:
                lead = "\\\\"  # the backslash before it stays a literal backslash
            special = "$`\\" if context == sc.HEREDOC else '$`"\\'
            shown = "".join("\\" + c if c in special else c for c in text)
            if context == sc.DQ_WORD:
                # bash pairs single quotes even there; nested double quotes keep them.
                shown = f'"{shown}"'
            return f"{lead}${{{self.var(text)}}}", lead + shown
        if context in (sc.SQ, sc.ANSI):
            raw = value if field.plain else text
            reopen = "'" if context == sc.SQ else "$'"
            return f'\'"${{{self.var(raw)}}}"{reopen}', f"'{quoted_text(raw)}{reopen}"
        if context == sc.HEREDOC_LITERAL:
            return text, text
        if context in (sc.ARITH, sc.NAME):
            ok = is_integer(text) if context == sc.ARITH else is_variable_name(text)
            if not ok:
                want = "an integer" if context == sc.ARITH else "a variable name"
                shown = value if field.plain else text
                raise self._refused(field, shown, f"it is used as shell {context}, and not {want}")
            lead = "$" if slot.dollar else ("\\" if slot.escaped else "")
            return lead + text, lead + text
        if context == sc.COMMENT:
            if not field.text:
                raise ParameterError(
                    f"extra parameters ({', '.join(self._extras())}) cannot be passed to "
                    f"entry point {self.ep.name!r}: its command ends with a # comment"
                )
            return field.text, field.text
        raise SpecError(
            f"the command of entry point {self.ep.name!r} has {field.text} in a "
            "here-document delimiter, where no value can be placed",
            file=str(self.ep.file) if self.ep.file else None,
            line=self.ep.line,
            key=f"entry_points.{self.ep.name}.command",
        )

    def _extras(self) -> list[str]:
        return [f.name for f in self.fields if not f.text]

    def _refused(self, field: Field, text: str, why: str) -> ParameterError:
        what = "parameter" if field.text else "extra parameter"
        shown = text if len(text) <= 80 else text[:77] + "..."
        return ParameterError(
            f"the value of {what} {field.name!r} cannot be placed in the command of entry "
            f"point {self.ep.name!r} ({shown!r}): {why}",
            hint="mlrun never lets the shell evaluate a parameter value",
        )


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
