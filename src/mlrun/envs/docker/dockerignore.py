""".dockerignore rules, as the docker CLI applies them to a build context.

Reading: one pattern per line, `#` comments and blank lines skipped, a leading `!` makes
an exception, surrounding slashes and `.`/`..` segments are cleaned away. Matching: Go's
filepath.Match (`*` and `?` never cross a `/`, `[...]` classes) plus `**` for any number
of directories; a pattern also excludes everything under a directory it matches; the
last pattern that matches a path decides. Case-sensitive, as on Linux.

On top of the project's own rules, `NEVER_SENT` is applied last and cannot be overridden
by an exception: version-control data and files that usually hold credentials never
leave the machine in a build context (see README, "Docker environments")."""

from __future__ import annotations

import functools
import os
import posixpath
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from mlrun.util.globs import compile_glob, matches

NEVER_SENT: tuple[str, ...] = (
    "**/.git",
    "**/.hg",
    "**/.svn",
    "**/.env",
    "**/.envrc",
    "**/.ssh",
    "**/id_rsa",
    "**/id_dsa",
    "**/id_ecdsa",
    "**/id_ed25519",
    "**/*.pem",
    "**/*.key",
    "**/*.p12",
    "**/*.pfx",
    "**/.netrc",
    "**/.pypirc",
    "**/.npmrc",
    "**/.docker/config.json",
)


@dataclass(frozen=True)
class Pattern:
    text: str  # cleaned, without the leading "!"
    exception: bool
    regex: re.Pattern[str]

    def matches(self, rel: str) -> bool:
        """The path itself or one of its parent directories matches."""
        return matches(self.regex, rel)


def read_patterns(text: str) -> list[str]:
    """The patterns of a .dockerignore file, in order."""
    patterns = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            patterns.append(line)
    return patterns


@functools.lru_cache(maxsize=512)  # the never-sent list is compiled on every docker run
def compile_pattern(raw: str) -> Pattern | None:
    exception = raw.startswith("!")
    text = raw[1:].strip() if exception else raw
    text = posixpath.normpath("/" + text).lstrip("/")  # drops ./, .., leading and trailing /
    if not text or text == ".":
        return None  # "." is ignored for historical reasons (docker's reference)
    return Pattern(text, exception, compile_glob(text))


class Matcher:
    """Decides which paths of a context are excluded."""

    def __init__(self, patterns: Iterable[str], never: Iterable[str] = NEVER_SENT) -> None:
        self.patterns = [p for p in map(compile_pattern, patterns) if p is not None]
        self.never = [p for p in map(compile_pattern, never) if p is not None]
        self._never = _NeverSent(self.never)
        self.has_exceptions = any(p.exception for p in self.patterns)

    def excluded(self, rel: str) -> bool:
        if self._never.matches(rel):
            return True
        decided = False
        for pattern in self.patterns:
            if pattern.matches(rel):
                decided = not pattern.exception
        return decided

    def never_sent(self, rel: str) -> bool:
        return self._never.matches(rel)


class _NeverSent:
    """The never-sent patterns, checked fast: every path of a project is tested on every
    docker run. A `**/TAIL` pattern matches a path, or a parent, exactly when some run
    of consecutive components matches TAIL, so the tails of one length are tried as one
    alternation on the components instead of once per pattern and per parent."""

    def __init__(self, patterns: list[Pattern]) -> None:
        tails: dict[int, list[str]] = {}
        self.others: list[Pattern] = []
        for pattern in patterns:
            tail = pattern.text[3:] if pattern.text.startswith("**/") else ""
            if tail and "**" not in tail:
                tails.setdefault(tail.count("/") + 1, []).append(tail)
            else:
                self.others.append(pattern)
        self.by_length = {
            length: re.compile("|".join(f"(?:{compile_glob(t).pattern})" for t in found))
            for length, found in tails.items()
        }

    def matches(self, rel: str) -> bool:
        parts = rel.split("/")
        for length, regex in self.by_length.items():
            for start in range(len(parts) - length + 1):
                if regex.match("/".join(parts[start : start + length])):
                    return True
        return any(p.matches(rel) for p in self.others)


def load_matcher(context: Path) -> Matcher:
    ignore = context / ".dockerignore"
    text = ignore.read_text(errors="replace") if ignore.is_file() else ""
    return Matcher(read_patterns(text))


def walk(context: Path, matcher: Matcher) -> Iterator[str]:
    """Relative paths (files, symlinks, directories) of `context` that are not excluded,
    in a stable order. Excluded directories are not entered unless an exception pattern
    might re-include something inside them; never-sent directories are never entered."""

    def _walk(directory: str) -> Iterator[str]:
        try:
            entries = sorted(os.scandir(os.path.join(context, directory)), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            rel = f"{directory}/{entry.name}" if directory else entry.name
            is_dir = entry.is_dir(follow_symlinks=False)
            if matcher.excluded(rel):
                if is_dir and matcher.has_exceptions and not matcher.never_sent(rel):
                    yield from _walk(rel)
                continue
            yield rel
            if is_dir:
                yield from _walk(rel)

    return _walk("")
