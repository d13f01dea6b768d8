"""Where each placeholder of a shell-mode command sits, as bash will read the text.

render.py replaces every `{placeholder}` of a template by a sentinel character and asks
this module for the quoting context of each sentinel. It then writes, at each spot, the
reference to an environment variable that fits the context (`"${MLRUN_P_1}"` unquoted,
`${MLRUN_P_1}` inside double quotes...), so that bash substitutes the value and never
parses it: whatever it contains, a value is not expanded, split, globbed or run.

A small tokenizer of bash's quoting states, not a full parser. The contexts:

    WORD             unquoted; also inside $(...), <(...), `...` bodies, ${x:-...} words
    DQ               inside "..." and $"..."
    DQ_WORD          in the word of a ${x:-word} (or pattern) inside double quotes
    SQ, ANSI         inside '...' and $'...'
    HEREDOC          the body of a here-document with an unquoted delimiter
    HEREDOC_LITERAL  the body of one with a quoted delimiter (<<'EOF'): nothing expands
    ARITH            $((...)), ((...)), $[...], subscripts, ${x:offset:length}, the
                     arguments of `let`, the operands of [[ -eq ]] and friends: bash
                     evaluates these as arithmetic, which can run commands
    NAME             where bash takes a variable name (${!x}, [[ -v x ]], test -v,
                     printf -v, unset, the names in declare/local/export/readonly)
    COMMENT          after a # that starts a word
    DELIMITER        inside a here-document delimiter

Where this tokenizer and bash disagree (exotic syntax), the value still only ever
reaches bash as the result of a parameter expansion, which bash never parses again; a
disagreement can change the words the program receives, not run anything. The contexts
ARITH and NAME are the exception by nature and get only values checked to be inert
(integers, identifiers)."""

from __future__ import annotations

import re
from collections.abc import Callable

WORD = "word"
DQ = "double-quoted"
DQ_WORD = "double-quoted ${...} word"
SQ = "single-quoted"
ANSI = "ansi-c-quoted"
HEREDOC = "here-document"
HEREDOC_LITERAL = "quoted here-document"
ARITH = "arithmetic"
NAME = "variable name"
COMMENT = "comment"
DELIMITER = "here-document delimiter"

_METACHARS = frozenset(" \t\n;&|()<>")
_NAME_AT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SUBSCRIPTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\[")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=")
_SPECIAL_PARAMS = frozenset("@*#?-$!0123456789")
# Words after which the next word still starts a command.
_PREFIX_WORDS = frozenset(
    {"if", "then", "else", "elif", "do", "while", "until", "!", "time", "{", "}"}
)
_ARITH_TESTS = frozenset({"-eq", "-ne", "-lt", "-le", "-gt", "-ge"})
_DECLARATIONS = frozenset({"declare", "typeset", "local", "readonly", "export"})
_PARAMETER_OP = re.compile(r":[-=+?]|##|%%|//|/#|/%|\^\^|,,|[-=+?#%/^,@]")


class Slot:
    """One placeholder occurrence: its sentinel number and where it sits."""

    __slots__ = ("context", "dollar", "escaped", "index")

    def __init__(self, index: int, context: str, escaped: bool = False) -> None:
        self.index = index
        self.context = context
        self.escaped = escaped  # a backslash stood right before it
        self.dollar = False  # a `$` stood right before it (`${a}` in a template)

    def __repr__(self) -> str:
        flags = "\\" if self.escaped else ""
        flags += "$" if self.dollar else ""
        return f"Slot({self.index}, {self.context!r}{', ' + flags if flags else ''})"


class Backticks:
    """A `...` body: rendered on its own, then escaped again for the backticks."""

    __slots__ = ("in_dq", "pieces")

    def __init__(self, pieces: list[Piece], in_dq: bool) -> None:
        self.pieces = pieces
        self.in_dq = in_dq


class HereBody:
    """A here-document body: its rendered text must not contain its delimiter line."""

    __slots__ = ("delimiter", "pieces", "strip_tabs")

    def __init__(self, pieces: list[Piece], delimiter: str, strip_tabs: bool) -> None:
        self.pieces = pieces
        self.delimiter = delimiter
        self.strip_tabs = strip_tabs


Piece = str | Slot | Backticks | HereBody


class HereDocumentBreak(ValueError):
    """A value would put the delimiter line into a here-document (ending it early)."""

    def __init__(self, delimiter: str, slots: list[Slot]) -> None:
        super().__init__(delimiter)
        self.delimiter = delimiter
        self.slots = slots


def parse(text: str, sentinel: Callable[[str], int | None]) -> list[Piece]:
    """The pieces of `text`: literal strings and a Slot per sentinel character
    (`sentinel(char)` gives its number, or None for an ordinary character)."""
    return _Scanner(text, sentinel).command_list(stop=None)


def slots(pieces: list[Piece]) -> list[Slot]:
    found: list[Slot] = []
    for piece in pieces:
        if isinstance(piece, Slot):
            found.append(piece)
        elif isinstance(piece, (Backticks, HereBody)):
            found += slots(piece.pieces)
    return found


def render(pieces: list[Piece], fill: Callable[[Slot], str]) -> str:
    """The text with each slot replaced by `fill(slot)`. HereDocumentBreak when a filled
    here-document body contains its own delimiter line."""
    parts: list[str] = []
    for piece in pieces:
        if isinstance(piece, str):
            parts.append(piece)
        elif isinstance(piece, Slot):
            parts.append(fill(piece))
        elif isinstance(piece, Backticks):
            body = render(piece.pieces, fill)
            parts.append(_escape_for_backticks(body, piece.in_dq))
        else:
            body = render(piece.pieces, fill)
            for line in body.split("\n")[:-1] if body.endswith("\n") else body.split("\n"):
                if (line.lstrip("\t") if piece.strip_tabs else line) == piece.delimiter:
                    raise HereDocumentBreak(piece.delimiter, slots(piece.pieces))
            parts.append(body)
    return "".join(parts)


def _escape_for_backticks(body: str, in_dq: bool) -> str:
    special = '\\`$"' if in_dq else "\\`$"
    return "".join("\\" + c if c in special else c for c in body)


class _Scanner:
    def __init__(self, text: str, sentinel: Callable[[str], int | None]) -> None:
        self.text = text
        self.n = len(text)
        self.i = 0
        self.sentinel = sentinel
        # Per command word being scanned (saved and restored around nested commands):
        self.force: str | None = None  # a context every slot of this word gets
        self.word_slots: list[Slot] = []
        self.word_start = 0
        # "plain" or "integer" (-i) when the word is an argument of declare/local/export...
        self.declaration: str | None = None

    # --- slots ---------------------------------------------------------------------

    def slot(self, out: list[Piece], index: int, context: str, escaped: bool = False) -> Slot:
        if self.force is not None and context not in (COMMENT, DELIMITER):
            context = self.force
        elif self.declaration is not None and context not in (COMMENT, DELIMITER):
            if "=" not in self.text[self.word_start : self.i]:
                context = NAME  # `declare {a}=1`: the value would name the variable
            elif self.declaration == "integer":
                context = ARITH  # `declare -i x={a}`: assigned by arithmetic
        made = Slot(index, context, escaped)
        self.word_slots.append(made)
        out.append(made)
        return made

    def at_sentinel(self, k: int) -> int | None:
        return self.sentinel(self.text[k]) if k < self.n else None

    def backslash(self, out: list[Piece], context: str, escapable: str | None = None) -> None:
        """At a backslash: before a placeholder, mark it escaped; else keep the pair (or,
        where only `escapable` characters are escaped, a lone backslash before others)."""
        nxt = self.at_sentinel(self.i + 1)
        if nxt is not None:
            self.i += 1
            self.slot(out, nxt, context, escaped=True)
            self.i += 1
        elif escapable is None or self.text[self.i + 1 : self.i + 2] in tuple(escapable):
            out.append(self.text[self.i : self.i + 2])
            self.i += 2
        else:
            out.append("\\")
            self.i += 1

    def expansion(
        self, out: list[Piece], context: str, in_dq: bool, escapable: str | None = None
    ) -> bool:
        """What every expanding context shares, at self.i: a placeholder, a backslash,
        `$`, a backtick. False when the character is none of these."""
        c = self.text[self.i]
        index = self.sentinel(c)
        if index is not None:
            self.slot(out, index, context)
            self.i += 1
        elif c == "\\":
            self.backslash(out, context, escapable)
        elif c == "$":
            self.dollar(out, context)
        elif c == "`":
            self.backticks(out, in_dq=in_dq, context=context)
        else:
            return False
        return True

    def adopt(self, pieces: list[Piece], context: str | None = None) -> list[Piece]:
        """Slots of a nested command (`$(...)`, backticks) belong to the enclosing word
        too: a value echoed into arithmetic is arithmetic."""
        nested = slots(pieces)
        self.word_slots += nested
        force = ARITH if context == ARITH else self.force
        if force is not None:
            for s in nested:
                if s.context not in (COMMENT, DELIMITER):
                    s.context = force
        return pieces

    # --- commands ------------------------------------------------------------------

    def command_list(self, stop: str | None) -> list[Piece]:
        """Commands until `stop` (")" for $(...) and <(...), None for the end)."""
        saved = (self.force, self.word_slots, self.word_start, self.declaration)
        out: list[Piece] = []
        text, n = self.text, self.n
        words: list[str] = []  # the words of the current simple command so far
        in_word = False
        depth = 0  # ( subshells ) inside this list
        case_depth = 0
        dbracket = False
        next_context: str | None = None  # forced onto the next word (after -eq, -v...)
        previous_slots: list[Slot] = []
        heredocs: list[tuple[str, bool, bool]] = []  # (delimiter, quoted, strip tabs)
        self.force, self.word_slots, self.declaration = None, [], None

        def command_word() -> str | None:
            """The command name of the current simple command, if it has one yet."""
            for w in words:
                if w not in _PREFIX_WORDS and not _ASSIGNMENT.match(w):
                    return w
            return None

        def at_command_start() -> bool:
            return command_word() is None

        def end_word() -> None:
            nonlocal in_word, dbracket, next_context, previous_slots, case_depth
            if not in_word:
                return
            in_word = False
            word = text[self.word_start : self.i]
            first = command_word()
            if next_context is not None:
                for s in self.word_slots:
                    if s.context not in (COMMENT, DELIMITER):
                        s.context = next_context
                next_context = None
            if first is None and word not in _PREFIX_WORDS and not _ASSIGNMENT.match(word):
                if word == "[[":
                    dbracket = True
                elif word == "case":
                    case_depth += 1
                elif word == "esac" and case_depth:
                    case_depth -= 1
            if dbracket:
                if word == "]]":
                    dbracket = False
                elif word in _ARITH_TESTS:
                    for s in previous_slots:
                        s.context = ARITH
                    next_context = ARITH
                elif word in ("-v", "-R"):
                    next_context = NAME
            elif first in ("test", "[") and word == "-v":
                next_context = NAME
            elif first == "printf" and word == "-v":
                next_context = NAME
            words.append(word)
            previous_slots = self.word_slots
            self.word_slots = []
            self.force, self.declaration = None, None

        def start_word() -> None:
            nonlocal in_word
            if in_word:
                return
            in_word = True
            self.word_start = self.i
            first = command_word()
            if first == "let":
                self.force = ARITH
            elif first == "unset":
                self.force = NAME
            elif first in _DECLARATIONS:
                integer = any(w.startswith("-") and "i" in w[1:] for w in words[1:])
                self.declaration = "integer" if integer else "plain"
            elif first is None and _SUBSCRIPTED.match(text, self.i):
                # `arr[{i}]=x`: the subscript of an indexed array is arithmetic
                end = _SUBSCRIPTED.match(text, self.i)
                assert end is not None
                out.append(text[self.i : end.end()])
                self.i = end.end()
                self.arith(out, "]")
                if self.i < n:
                    out.append("]")
                    self.i += 1

        def end_command() -> None:
            nonlocal dbracket, next_context
            end_word()
            words.clear()
            dbracket, next_context = False, None

        while self.i < n:
            c = text[self.i]
            if stop is not None and c == stop and depth == 0 and not case_depth:
                break
            index = self.sentinel(c)
            if index is not None:
                start_word()
                self.slot(out, index, WORD)
                self.i += 1
                continue
            if c in " \t":
                end_word()
                out.append(c)
                self.i += 1
                continue
            if c == "\n":
                end_command()
                out.append(c)
                self.i += 1
                if heredocs:
                    for delimiter, quoted, strip in heredocs:
                        self.here_body(out, delimiter, quoted, strip)
                    heredocs.clear()
                continue
            if c == "#" and not in_word:
                end = text.find("\n", self.i)
                end = n if end < 0 else end
                self.literal(out, end, COMMENT)
                continue
            if c == "\\":
                start_word()
                self.backslash(out, WORD)
                continue
            if c == "'":
                start_word()
                self.single(out)
                continue
            if c == '"':
                start_word()
                out.append(c)
                self.i += 1
                self.double(out, DQ, closing='"')
                continue
            if c == "$":
                start_word()
                self.dollar(out, WORD)
                continue
            if c == "`":
                start_word()
                self.backticks(out, in_dq=False)
                continue
            if c in "<>" and text.startswith("(", self.i + 1):
                start_word()  # process substitution: a command list of its own
                out.append(text[self.i : self.i + 2])
                self.i += 2
                out += self.adopt(self.command_list(stop=")"))
                if self.i < n:
                    out.append(")")
                    self.i += 1
                continue
            if c == "<" and text.startswith("<<", self.i) and not text.startswith("<<<", self.i):
                end_word()
                heredocs.append(self.here_operator(out))
                continue
            if c == "(":
                first = command_word()
                if text.startswith("((", self.i) and (first is None or first == "for"):
                    end_word()
                    out.append("((")
                    self.i += 2
                    self.arith(out, "))")
                    if self.i < n:
                        out.append(text[self.i : self.i + 2])
                        self.i += 2
                    continue
                end_command()
                depth += 1
                out.append(c)
                self.i += 1
                continue
            if c == ")":
                end_command()
                if case_depth and depth == 0:
                    pass  # the end of a case pattern
                elif depth:
                    depth -= 1
                out.append(c)
                self.i += 1
                continue
            if c in "<>&" and text.startswith((">&", "<&", "&>"), self.i):
                end_word()  # a redirection (2>&1, &>file), not a command separator
                out.append(text[self.i : self.i + 2])
                self.i += 2
                continue
            if c in ";&|":
                end_command()
                out.append(c)
                self.i += 1
                continue
            if c in "<>":
                end_word()
                out.append(c)
                self.i += 1
                continue
            start_word()
            out.append(c)
            self.i += 1
        end_word()
        for delimiter, quoted, strip in heredocs:  # no newline after the operator
            self.here_body(out, delimiter, quoted, strip)
        self.force, self.word_slots, self.word_start, self.declaration = saved
        return out

    # --- quoting -------------------------------------------------------------------

    def literal(self, out: list[Piece], end: int, context: str) -> None:
        """Text up to `end` where nothing is special; sentinels get `context`."""
        start = self.i
        while self.i < end:
            index = self.sentinel(self.text[self.i])
            if index is not None:
                out.append(self.text[start : self.i])
                self.slot(out, index, context)
                start = self.i + 1
            self.i += 1
        out.append(self.text[start:end])

    def single(self, out: list[Piece]) -> None:
        end = self.text.find("'", self.i + 1)
        end = self.n if end < 0 else end
        out.append("'")
        self.i += 1
        self.literal(out, end, SQ)
        if end < self.n:
            out.append("'")
            self.i = end + 1

    def ansi(self, out: list[Piece]) -> None:
        """After `$'`: backslash escapes, up to an unescaped quote."""
        text = self.text
        while self.i < self.n:
            c = text[self.i]
            if c == "'":
                out.append(c)
                self.i += 1
                return
            if c == "\\":
                self.backslash(out, ANSI)
                continue
            index = self.sentinel(c)
            if index is not None:
                self.slot(out, index, ANSI)
            else:
                out.append(c)
            self.i += 1

    def double(self, out: list[Piece], context: str, closing: str | None) -> None:
        """Inside double quotes (closing '"'), or a here-document body (closing None)."""
        escapable = '$`"\\\n' if closing else "$`\\\n"
        while self.i < self.n:
            c = self.text[self.i]
            if closing is not None and c == closing:
                out.append(c)
                self.i += 1
                return
            if not self.expansion(out, context, closing is not None, escapable):
                out.append(c)
                self.i += 1

    def backticks(self, out: list[Piece], in_dq: bool, context: str | None = None) -> None:
        text = self.text
        k = self.i + 1
        while k < self.n and text[k] != "`":
            k += 2 if text[k] == "\\" else 1
        k = min(k, self.n)
        raw = text[self.i + 1 : k]
        # What bash does first inside backticks: `\$`, `` \` ``, `\\` (and `\"` inside
        # double quotes) lose their backslash; the result is then parsed as commands.
        special = '$`\\"' if in_dq else "$`\\"
        body: list[str] = []
        j = 0
        while j < len(raw):
            if raw[j] == "\\" and j + 1 < len(raw) and raw[j + 1] in special:
                body.append(raw[j + 1])
                j += 2
            else:
                body.append(raw[j])
                j += 1
        inner = _Scanner("".join(body), self.sentinel)
        out.append("`")
        pieces = self.adopt(inner.command_list(stop=None), context)
        out.append(Backticks(pieces, in_dq))
        if k < self.n:
            out.append("`")
        self.i = k + 1

    # --- expansions ----------------------------------------------------------------

    def dollar(self, out: list[Piece], context: str) -> None:
        """At a `$` in `context` (WORD, DQ, HEREDOC or ARITH)."""
        text, i = self.text, self.i
        nxt = self.at_sentinel(i + 1)
        if nxt is not None:
            self.i = i + 1
            self.slot(out, nxt, context).dollar = True
            self.i += 1
            return
        follower = text[i + 1] if i + 1 < self.n else ""
        if follower == "(":
            if text.startswith("((", i + 1):
                out.append("$((")
                self.i = i + 3
                self.arith(out, "))")
                if self.i < self.n:
                    out.append(text[self.i : self.i + 2])
                    self.i += 2
                return
            out.append("$(")
            self.i = i + 2
            out += self.adopt(self.command_list(stop=")"), context)
            if self.i < self.n:
                out.append(")")
                self.i += 1
            return
        if follower == "[":
            out.append("$[")
            self.i = i + 2
            self.arith(out, "]")
            if self.i < self.n:
                out.append("]")
                self.i += 1
            return
        if follower == "{":
            self.parameter(out, context)
            return
        if follower == "'" and context == WORD:
            out.append("$'")
            self.i = i + 2
            self.ansi(out)
            return
        if follower == '"' and context == WORD:
            out.append('$"')
            self.i = i + 2
            self.double(out, DQ, closing='"')
            return
        out.append("$")
        self.i = i + 1

    def arith(self, out: list[Piece], closing: str) -> None:
        """Arithmetic up to `closing` ("))", "]" or "}") at depth 0 (not consumed)."""
        text = self.text
        depth = 0
        while self.i < self.n:
            c = text[self.i]
            if depth == 0 and text.startswith(closing, self.i):
                return
            if self.expansion(out, ARITH, in_dq=False):
                continue
            if c == '"':
                out.append(c)
                self.i += 1
                self.double(out, ARITH, closing='"')
                continue
            if c in "([{":
                depth += 1
            elif c in ")]}" and depth:
                depth -= 1
            out.append(c)
            self.i += 1

    def parameter(self, out: list[Piece], context: str) -> None:
        """At `${`: name, subscript, operator, word, up to the matching `}`."""
        text = self.text
        out.append("${")
        self.i += 2
        if self.i < self.n and text[self.i] in "#!" and not text.startswith("}", self.i + 1):
            out.append(text[self.i])
            self.i += 1
        index = self.at_sentinel(self.i)
        if index is not None:
            self.slot(out, index, NAME)
            self.i += 1
        else:
            name = _NAME_AT.match(text, self.i)
            if name:
                out.append(name.group())
                self.i = name.end()
            elif self.i < self.n and text[self.i] in _SPECIAL_PARAMS:
                out.append(text[self.i])
                self.i += 1
        if text.startswith("[", self.i):
            out.append("[")
            self.i += 1
            self.arith(out, "]")
            if self.i < self.n:
                out.append("]")
                self.i += 1
        if self.i >= self.n:
            return
        if text[self.i] == ":" and not text.startswith(
            (":-", ":=", ":+", ":?"), self.i
        ):  # ${x:offset:length}
            out.append(":")
            self.i += 1
            self.arith(out, "}")
        else:
            op = _PARAMETER_OP.match(text, self.i)
            if op:
                out.append(op.group())
                self.i = op.end()
            self.parameter_word(out, context)
        if self.i < self.n:
            out.append("}")
            self.i += 1

    def parameter_word(self, out: list[Piece], outer: str) -> None:
        """The word of ${x:-word} (and patterns), up to the matching `}`."""
        text = self.text
        context = outer if outer in (WORD, ARITH, HEREDOC) else DQ_WORD
        depth = 0
        while self.i < self.n:
            c = text[self.i]
            if c == "}" and depth == 0:
                return
            if self.expansion(out, context, in_dq=context == DQ_WORD):
                continue
            if c == "'" and context == WORD:
                self.single(out)
                continue
            if c == '"':
                out.append(c)
                self.i += 1
                self.double(out, DQ if context != ARITH else ARITH, closing='"')
                continue
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
            out.append(c)
            self.i += 1

    # --- here-documents ------------------------------------------------------------

    def here_operator(self, out: list[Piece]) -> tuple[str, bool, bool]:
        """At `<<`: the operator and its delimiter word; the body comes after the line."""
        text = self.text
        start = self.i
        self.i += 2
        strip = text.startswith("-", self.i)
        if strip:
            self.i += 1
        while self.i < self.n and text[self.i] in " \t":
            self.i += 1
        out.append(text[start : self.i])
        delimiter: list[str] = []
        quoted = False
        quote: str | None = None
        while self.i < self.n:
            c = text[self.i]
            if quote is None and c in _METACHARS:
                break
            index = self.sentinel(c)
            if index is not None:
                self.slot(out, index, DELIMITER)
                self.i += 1
                continue
            if quote is None and c in "'\"":
                quote, quoted = c, True
            elif c == quote:
                quote = None
            elif quote is None and c == "\\" and self.i + 1 < self.n:
                quoted = True
                if self.at_sentinel(self.i + 1) is not None:
                    out.append(c)
                    self.i += 1
                    continue
                delimiter.append(text[self.i + 1])
                out.append(text[self.i : self.i + 2])
                self.i += 2
                continue
            else:
                delimiter.append(c)
            out.append(c)
            self.i += 1
        return "".join(delimiter), quoted, strip

    def here_body(self, out: list[Piece], delimiter: str, quoted: bool, strip: bool) -> None:
        text = self.text
        start = self.i
        end = self.n  # of the body
        resume = self.n  # after the delimiter line
        k = start
        while k < self.n:
            line_end = text.find("\n", k)
            line_end = self.n if line_end < 0 else line_end
            line = text[k:line_end]
            if (line.lstrip("\t") if strip else line) == delimiter:
                end, resume = k, min(line_end + 1, self.n)
                break
            k = line_end + 1
        inner = _Scanner(text[:end], self.sentinel)
        inner.i = start
        pieces: list[Piece] = []
        if quoted:
            inner.literal(pieces, end, HEREDOC_LITERAL)
        else:
            inner.double(pieces, HEREDOC, closing=None)
        out.append(HereBody(pieces, delimiter, strip))
        out.append(text[end:resume])
        self.i = resume
