"""How a workflow runs: the options, their defaults and their command-line flags,
declared once. `mlrun run -e WORKFLOW` builds its flags from this table (cli/
workflow_options.py) and `mlrun.run(workflow_options=...)` takes the same names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlrun.errors import UsageError

# Each option's default; the names are what mlrun.run(workflow_options=...) takes.
DEFAULTS: dict[str, Any] = {
    "jobs": 1,  # steps run at the same time
    "keep_going": False,  # after a failure, run what does not depend on it
    "force": False,  # re-run every step (results still go to the cache)
    "force_steps": (),  # re-run these and everything downstream
    "no_cache": False,  # neither read nor write the step cache
    "from_steps": (),  # run these and downstream; upstream from the cache
    "only": (),  # run only these; what they need from the cache
    "resume": None,  # True or "": the latest run of the workflow; "ID": that run (resume.py)
}
# The command-line flags of each option (the last one is the name messages use).
FLAGS: dict[str, tuple[str, ...]] = {
    "jobs": ("-j", "--jobs"),
    "keep_going": ("--keep-going",),
    "force": ("--force",),
    "force_steps": ("--force-step",),
    "no_cache": ("--no-cache",),
    "from_steps": ("--from",),
    "only": ("--only",),
    "resume": ("--resume",),
}


class Options:
    """The options of one workflow run. A plain class, not a NamedTuple or dataclass:
    the CLI imports this module on every run's start-up path."""

    jobs: int
    keep_going: bool
    force: bool
    force_steps: tuple[str, ...]
    no_cache: bool
    from_steps: tuple[str, ...]
    only: tuple[str, ...]
    resume: str | bool | None

    def __init__(self, **values: Any) -> None:
        for name, default in DEFAULTS.items():
            setattr(self, name, values.pop(name, default))
        if values:
            raise TypeError(f"no workflow option {next(iter(values))!r}")

    def __repr__(self) -> str:
        return f"Options({', '.join(f'{k}={v!r}' for k, v in vars(self).items())})"


def flag(name: str) -> str:
    return FLAGS[name][-1]


def given(values: Mapping[str, Any]) -> list[str]:
    """The flags of the options in `values` that differ from their defaults."""
    return [
        flag(k)
        for k, default in DEFAULTS.items()
        if _same(values.get(k, default), default) != default
    ]


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
    return Options(**{k: _same(v, DEFAULTS[k]) for k, v in values.items()})


def _same(value: Any, default: Any) -> Any:
    # Steps come as lists, tuples (click's) or one name; their defaults are tuples.
    if not isinstance(default, tuple):
        return value
    if isinstance(value, str):
        return (value,)
    return tuple(value) if isinstance(value, list) else value
