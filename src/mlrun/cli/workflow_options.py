"""The `mlrun run` options that only apply to workflows (declared once, used by run)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

import click

from mlrun.errors import UsageError

F = TypeVar("F", bound=Callable[..., Any])

_OPTIONS = [
    click.option(
        "-j",
        "--jobs",
        default=1,
        show_default=True,
        type=click.IntRange(min=1),
        help="Workflows: run up to N independent steps at the same time.",
    ),
    click.option(
        "--keep-going",
        is_flag=True,
        help="Workflows: after a failure, still run every step that does not depend on it.",
    ),
    click.option(
        "--force",
        "force_all",
        is_flag=True,
        help="Workflows: re-run every step, ignoring the step cache.",
    ),
    click.option(
        "--force-step",
        "force_steps",
        multiple=True,
        metavar="STEP",
        help="Workflows: re-run STEP and everything downstream (repeatable).",
    ),
    click.option(
        "--no-cache", is_flag=True, help="Workflows: neither reuse nor record cached step results."
    ),
    click.option(
        "--from",
        "from_steps",
        multiple=True,
        metavar="STEP",
        help="Workflows: run STEP and what follows it; earlier steps must be cached.",
    ),
    click.option(
        "--only",
        "only_steps",
        multiple=True,
        metavar="STEP",
        help="Workflows: run only STEP; the steps it needs must be cached.",
    ),
    click.option(
        "--resume",
        "resume",
        is_flag=False,
        flag_value="",
        default=None,
        metavar="[RUN_ID]",
        callback=lambda ctx, param, value: _run_id(value),
        help="Workflows: reuse the steps that finished in the latest run of this workflow "
        "(or in RUN_ID) whatever changed; run the failed step and what follows it.",
    ),
    click.option(
        "--stream",
        "stream_output",
        is_flag=True,
        help="Workflows: show the steps' own output (interleaved when parallel).",
    ),
]
_DEFAULTS: dict[str, Any] = {
    "jobs": 1,
    "keep_going": False,
    "force_all": False,
    "force_steps": (),
    "no_cache": False,
    "from_steps": (),
    "only_steps": (),
    "resume": None,
    "stream_output": False,
}


def _run_id(value: str | None) -> str | None:
    """--resume's optional value must look like a run id (32 hex digits, or a prefix):
    `mlrun run --resume . -e w` would otherwise read the URI as one."""
    if value and not re.fullmatch(r"[0-9a-fA-F]{4,32}", value):
        raise UsageError(
            f"--resume {value!r}: a run id is hexadecimal (mlrun runs list shows them)",
            hint="put --resume after the URI (mlrun run URI -e WORKFLOW --resume), or write "
            "--resume=RUN_ID",
        )
    return value.lower() if value else value


def workflow_options(fn: F) -> F:
    for option in reversed(_OPTIONS):
        fn = option(fn)
    return fn


_FLAGS = {
    "jobs": "--jobs",
    "keep_going": "--keep-going",
    "force_all": "--force",
    "force_steps": "--force-step",
    "no_cache": "--no-cache",
    "from_steps": "--from",
    "only_steps": "--only",
    "resume": "--resume",
    "stream_output": "--stream",
}


def check_unused(values: dict[str, Any], entry_point: str) -> None:
    """Workflow options given for a plain entry point are a mistake worth saying."""
    used = [k for k, default in _DEFAULTS.items() if values.get(k, default) != default]
    if used:
        raise UsageError(
            f"{_FLAGS[used[0]]} only applies to workflows, and {entry_point!r} is an entry point",
            hint="declare a workflow under `workflows:` in the MLproject, or drop the option",
        )


def options_from(values: dict[str, Any]) -> Any:
    from mlrun.workflow.engine import Options

    return Options(
        jobs=values["jobs"],
        keep_going=values["keep_going"],
        force=values["force_all"],
        force_steps=tuple(values["force_steps"]),
        no_cache=values["no_cache"],
        from_steps=tuple(values["from_steps"]),
        only=tuple(values["only_steps"]),
        resume=values["resume"],
    )
