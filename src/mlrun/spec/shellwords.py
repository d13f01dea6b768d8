"""POSIX shell word splitting, and the test for "does this need a shell at all?".

`shlex` is close but not bash: it keeps `\\` before `$` inside double quotes and turns an
unquoted backslash-newline into a "\\n" word instead of a line continuation, which is how
multi-line MLproject commands are written. So we scan ourselves, with the rules of the
POSIX "Token Recognition" section restricted to simple commands:

- outside quotes: blank/tab/newline separate words; `\\x` is a literal x; `\\<newline>`
  disappears (continuation); a `#` starting a word starts a comment;
- '...' is literal; "..." is literal except `\\` before $ ` " \\ <newline>, and $ / `.

In strict mode (`split_simple`) anything a shell would *interpret* rather than pass through
makes the scan give up (returns None): operators, expansions, globs, tildes, braces,
comments, assignments, a second command on the next line, and builtins/keywords that only
exist inside a shell. Erring towards "needs a shell" is always safe: the shell path renders
exactly what MLflow would.
"""

from __future__ import annotations

import re

_BLANKS = " \t"
_DQ_ESCAPABLE = '$`"\\'
# Outside quotes these are operators, expansions, globs or grouping in bash.
_SHELL_CHARS = frozenset("|&;<>()$`*?[]{}~!")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\+?=")
# First words that only mean something inside a shell (builtins without a program of the
# same name, and reserved words). `echo`, `printf`, `test`, `true`... also exist as
# programs with the same behaviour for simple arguments, so they stay argv.
_SHELL_ONLY_WORDS = frozenset(
    """
    . : [[ ]] ! { } alias bg bind break builtin caller case cd command compgen complete
    compopt continue coproc declare dirs disown do done elif else enable esac eval exec
    exit export fc fg fi for function getopts hash help history if in jobs let local
    logout mapfile popd pushd read readarray readonly return select set shift shopt
    source suspend then time times trap type typeset ulimit umask unalias unset until
    wait while
    """.split()
)


def split_words(text: str) -> list[str]:
    """The words of `text` as a POSIX shell would split a simple command.

    Tolerant: operators are kept as ordinary characters and unterminated quotes run to the
    end. Used to show and compare shell-mode commands word by word."""
    words = _scan(text, strict=False)
    assert words is not None
    return words


def split_simple(text: str) -> list[str] | None:
    """The words of `text` if it is one simple command with nothing for a shell to
    interpret; None when running it needs a shell."""
    words = _scan(text, strict=True)
    if not words:
        return words
    if words[0] in _SHELL_ONLY_WORDS:
        return None
    return words


def split_literal(text: str) -> list[str] | None:
    """The words of `text` read as shell words with nothing expanded (quotes removed),
    or None when a shell would interpret something in it."""
    return _scan(text, strict=True, command=False)


def _scan(text: str, strict: bool, command: bool = True) -> list[str] | None:
    words: list[str] = []
    word: list[str] = []
    in_word = False  # distinguishes an empty quoted word ("") from no word
    word_start = 0
    line_ended = False  # an unquoted newline ended a line that had words on it
    i, n = 0, len(text)

    def finish() -> bool:
        nonlocal in_word
        if in_word:
            # A leading NAME=value is an environment assignment, not a program name.
            if strict and command and not words and _ASSIGNMENT.match(text, word_start):
                return False
            words.append("".join(word))
            word.clear()
            in_word = False
        return True

    while i < n:
        c = text[i]
        if c in _BLANKS or c == "\n":
            if not finish():
                return None
            if c == "\n" and words:
                line_ended = True
            i += 1
            continue
        if c == "\\" and i + 1 < n and text[i + 1] == "\n":
            i += 2  # continuation: the two characters vanish, the word goes on
            continue
        if strict and line_ended:
            return None  # a second command on its own line
        if not in_word:
            word_start = i
            if c == "#":
                if strict:
                    return None
                while i < n and text[i] != "\n":
                    i += 1
                continue
        if c == "\\":
            if i + 1 == n:
                if strict:
                    return None
                word.append(c)
            else:
                word.append(text[i + 1])
            in_word = True
            i += 2
        elif c == "'":
            end = text.find("'", i + 1)
            if end < 0:
                if strict:
                    return None
                end = n
            word.append(text[i + 1 : end])
            in_word = True
            i = end + 1
        elif c == '"':
            in_word = True
            i += 1
            while True:
                if i >= n:
                    if strict:
                        return None
                    break
                d = text[i]
                if d == '"':
                    i += 1
                    break
                if d == "\\" and i + 1 < n and text[i + 1] in _DQ_ESCAPABLE + "\n":
                    if text[i + 1] != "\n":
                        word.append(text[i + 1])
                    i += 2
                    continue
                if strict and d in "$`":
                    return None
                word.append(d)
                i += 1
        else:
            if strict and c in _SHELL_CHARS:
                return None
            word.append(c)
            in_word = True
            i += 1
    if not finish():
        return None
    return words
