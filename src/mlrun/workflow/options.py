"""How a workflow runs: the options, their defaults and their command-line flags,
declared once. `mlrun run -e WORKFLOW` builds its flags from this table (cli/
workflow_options.py) and `mlrun.run(workflow_options=...)` takes the same names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from mlrun.errors import UsageError


class Options(NamedTuple):
    jobs: int = 1  # steps run at the same time
    keep_going: bool = False  # after a failure, run what does not depend on it
    force: bool = False  # re-run every step (results still go to the cache)
    force_steps: tuple[str, ...] = ()  # re-run these and everything downstream
    no_cache: bool = False  # neither read nor write the step cache
    from_steps: tuple[str, ...] = ()  # run these and downstream; upstream from the cache
    only: tuple[str, ...] = ()  # run only these; what they need from the cache


# The command-line flags of each option (the last one is the name messages use).
FLAGS: dict[str, tuple[str, ...]] = {
    "jobs": ("-j", "--jobs"),
    "keep_going": ("--keep-going",),
    "force": ("--force",),
    "force_steps": ("--force-step",),
    "no_cache": ("--no-cache",),
    "from_steps": ("--from",),
    "only": ("--only",),
}
DEFAULTS: dict[str, Any] = Options._field_defaults


def flag(name: str) -> str:
    return FLAGS[name][-1]


def given(values: Mapping[str, Any]) -> list[str]:
    """The flags of the options in `values` that differ from their defaults."""
    return [flag(k) for k, default in DEFAULTS.items() if _same(values.get(k, default)) != default]


def from_mapping(values: Mapping[str, Any] | None, what: str) -> Options:
    """Options from names and values (`mlrun.run(workflow_options=...)`, the CLI's
    parsed flags); UsageError naming an unknown name or a bad value."""
    values = dict(values or {})
    unknown = sorted(set(values) - set(DEFAULTS))
    if unknown:
        raise UsageError(
            f"{what}: there is no workflow option {unknown[0]!r}",
            hint=f"names: {', '.join(DEFAULTS)}",
        )
    jobs = values.get("jobs", 1)
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise UsageError(f"{what}: jobs must be a whole number of at least 1, not {jobs!r}")
    return Options(**{k: _same(v) for k, v in values.items()})


def _same(value: Any) -> Any:
    # Steps come as lists, tuples (click's) or one name; the defaults are tuples.
    if isinstance(value, str):
        return (value,)
    return tuple(value) if isinstance(value, list) else value
