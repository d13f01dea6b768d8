"""The reference syntax of workflow step parameters: `${{ expression }}`.

It cannot collide with MLproject command templates (`{param}`, rendered later by
spec.render) nor with the shell (`$VAR`, `${VAR}`): `${{` means nothing to either.

    ${{ params.NAME }}              a workflow parameter
    ${{ matrix.NAME }}              this step's matrix value
    ${{ steps.S.outputs.KEY }}      a value from S's outputs.json (strings verbatim,
                                    anything else as JSON)
    ${{ steps.S.outputs }}          S's whole outputs.json, as JSON
    ${{ steps.S.run_id }}           S's run id
    ${{ steps.S.artifacts }}        S's artifact directory ($MLRUN_RUN_DIR/artifacts)
    ${{ steps.S.matrix }}           S's matrix combinations, as a JSON list

When S has a matrix, every `steps.S...` value is a JSON list with one item per
combination, in the order of `steps.S.matrix`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

STEP_ATTRS = ("outputs", "run_id", "artifacts", "matrix")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")
_OPEN, _CLOSE = "${{", "}}"
_SYNTAX = (
    "params.NAME, matrix.NAME, steps.STEP.outputs[.KEY], steps.STEP.run_id, "
    "steps.STEP.artifacts or steps.STEP.matrix"
)


class RefError(ValueError):
    """A malformed or unresolvable reference; the caller adds file and line."""


@dataclass(frozen=True)
class Ref:
    root: str  # "params" | "matrix" | "steps"
    name: str  # parameter name, matrix key or step name
    attr: str | None = None  # steps only: one of STEP_ATTRS
    key: str | None = None  # steps.S.outputs.KEY

    @property
    def text(self) -> str:
        parts = [self.root, self.name, self.attr, self.key]
        return "${{ " + ".".join(p for p in parts if p) + " }}"


# A parsed value: literal strings and references, in order.
Template = tuple[str | Ref, ...]


def parse(value: str) -> Template:
    """Split a string into literals and references; RefError when one is malformed."""
    parts: list[str | Ref] = []
    rest = value
    while True:
        start = rest.find(_OPEN)
        if start < 0:
            if rest:
                parts.append(rest)
            return tuple(parts)
        end = rest.find(_CLOSE, start + len(_OPEN))
        if end < 0:
            raise RefError(
                f"{rest[start:]!r} opens a reference with '${{{{' but never closes it with '}}}}'"
            )
        if start:
            parts.append(rest[:start])
        parts.append(parse_expression(rest[start + len(_OPEN) : end]))
        rest = rest[end + len(_CLOSE) :]


def parse_expression(text: str) -> Ref:
    expr = text.strip()
    words = expr.split(".")
    bad = RefError(f"unknown reference '${{{{ {expr} }}}}': write one of {_SYNTAX}")
    if len(words) < 2 or not all(words[:3]):
        raise bad
    root, name = words[0], words[1]
    if not NAME.match(name):
        raise bad
    if root in ("params", "matrix"):
        if len(words) != 2:
            raise bad
        return Ref(root, name)
    if root != "steps" or len(words) < 3 or words[2] not in STEP_ATTRS:
        raise bad
    attr = words[2]
    key = ".".join(words[3:]) or None
    if key is not None and attr != "outputs":
        raise bad
    return Ref(root, name, attr, key)


def refs_of(template: Template) -> list[Ref]:
    return [p for p in template if isinstance(p, Ref)]


def has_refs(template: Template) -> bool:
    return any(isinstance(p, Ref) for p in template)


def render(template: Template, lookup: Callable[[Ref], str]) -> str:
    return "".join(p if isinstance(p, str) else lookup(p) for p in template)


def literal(template: Template) -> str:
    """The template with each reference left as written (for --dry-run and messages)."""
    return "".join(p if isinstance(p, str) else p.text for p in template)


@dataclass(frozen=True)
class Upstream:
    """What downstream steps may read from one run of a step (cached or fresh)."""

    run_id: str
    outputs: Mapping[str, Any]
    artifacts: str
    matrix: Mapping[str, str]


def step_value(ref: Ref, instances: Sequence[Upstream], is_matrix: bool) -> str:
    """The string a `steps.S...` reference stands for."""
    if ref.attr == "matrix":
        return json.dumps([dict(i.matrix) for i in instances])
    values = [_one(ref, i) for i in instances]
    if not is_matrix:
        value = values[0]
        return value if isinstance(value, str) else json.dumps(value)
    return json.dumps(values)


def _one(ref: Ref, inst: Upstream) -> Any:
    if ref.attr == "run_id":
        return inst.run_id
    if ref.attr == "artifacts":
        return inst.artifacts
    if ref.key is None:
        return dict(inst.outputs)
    if ref.key not in inst.outputs:
        known = ", ".join(sorted(inst.outputs)) or "none"
        raise RefError(
            f"{ref.text}: run {inst.run_id} of step {ref.name!r} recorded no "
            f"output {ref.key!r} (its outputs: {known})"
        )
    return inst.outputs[ref.key]
