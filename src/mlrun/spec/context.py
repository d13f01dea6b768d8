"""What the loader carries while it walks one MLproject: the file, its key lines, and the
warnings and errors so far. Every error and warning goes through here so each one names
file, line and key path the same way. Errors are recorded (`fail`) and loading goes on,
so one pass finds them all; `raise_errors` ends the pass."""

from __future__ import annotations

from collections.abc import Hashable, Iterable

from mlrun.errors import SpecError, SpecErrors
from mlrun.spec.model import SpecWarning
from mlrun.spec.yamlio import YamlDoc


class LoadContext:
    """Where loading is: the file, its parsed document, the warnings so far."""

    def __init__(self, file: str, doc: YamlDoc, warnings: list[SpecWarning] | None = None) -> None:
        self.file = file
        self.doc = doc
        self.warnings: list[SpecWarning] = warnings if warnings is not None else []
        self.errors: list[SpecError] = []

    def line(self, *path: Hashable) -> int | None:
        return self.doc.line(*path)

    def error(self, message: str, *path: Hashable, hint: str | None = None) -> SpecError:
        return SpecError(
            message, hint, file=self.file, line=self.line(*path), key=_dotted(path) or None
        )

    def fail(self, message: str, *path: Hashable, hint: str | None = None) -> None:
        """Record an error and go on: every error of a file is found in one pass."""
        self.errors.append(self.error(message, *path, hint=hint))

    def raise_errors(self) -> None:
        """SpecErrors (the first in line order leads) when any error was recorded."""
        if self.errors:
            raise SpecErrors(self.errors, list(self.warnings))

    def warn(self, message: str, *path: Hashable) -> None:
        self.warnings.append(
            SpecWarning(message, file=self.file, line=self.line(*path), key=_dotted(path) or None)
        )

    def unknown_keys(
        self, mapping: dict[object, object], known: Iterable[str], where: str, *path: Hashable
    ) -> list[str]:
        """Warn about each key of `mapping` not in `known` (with a suggestion when it looks
        like a typo of one); return those keys."""
        known = tuple(known)
        unknown = [k for k in mapping if k not in known]
        for key in unknown:
            self.warn(
                f"unknown key {key!r} in {where}{did_you_mean(str(key), known)}; "
                "it is ignored, as MLflow does",
                *path,
                key,
            )
        return [str(k) for k in unknown]


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """' (did you mean `x`?)' for the closest candidate, or ''. Imports difflib only when
    there is something to suggest, which on a well-formed file is never."""
    import difflib

    candidates = list(candidates)
    lowered = {c.lower(): c for c in candidates}
    if word.lower() in lowered:
        return f" (did you mean `{lowered[word.lower()]}`?)"
    close = difflib.get_close_matches(word.lower(), candidates, n=1, cutoff=0.6)
    return f" (did you mean `{close[0]}`?)" if close else ""


def _dotted(path: tuple[Hashable, ...]) -> str:
    return ".".join(str(p) for p in path)
