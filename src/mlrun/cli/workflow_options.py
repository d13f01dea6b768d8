"""The `mlrun run` options that only apply to workflows: declared from the one table of
workflow options (workflow/options.py), plus `--stream`, which is the terminal's."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

import click

from mlrun.errors import UsageError
from mlrun.workflow.options import DEFAULTS, FLAGS, Options, from_mapping, given

F = TypeVar("F", bound=Callable[..., Any])

_HELP = {
    "jobs": "Workflows: run up to N independent steps at the same time.",
    "keep_going": "Workflows: after a failure, still run every step that does not depend on it.",
    "force": "Workflows: re-run every step, ignoring the step cache.",
    "force_steps": "Workflows: re-run STEP and everything downstream (repeatable).",
    "no_cache": "Workflows: neither reuse nor record cached step results.",
    "from_steps": "Workflows: run STEP and what follows it; earlier steps must be cached.",
    "only": "Workflows: run only STEP; the steps it needs must be cached.",
    "resume": "Workflows: reuse the steps that finished in the latest run of this workflow "
    "(or in RUN_ID) whatever changed; run the failed step and what follows it.",
}
_STREAM = ("--stream", "stream_output")


def _option(name: str) -> Callable[[F], F]:
    default = DEFAULTS[name]
    decls = (*FLAGS[name], name)
    if name == "resume":  # an optional value: `--resume` or `--resume RUN_ID`
        return click.option(
            *decls,
            is_flag=False,
            flag_value="",
            default=None,
            metavar="[RUN_ID]",
            callback=lambda ctx, param, value: _run_id(value),
            help=_HELP[name],
        )
    if isinstance(default, bool):
        return click.option(*decls, is_flag=True, help=_HELP[name])
    if isinstance(default, tuple):
        return click.option(*decls, multiple=True, metavar="STEP", help=_HELP[name])
    return click.option(
        *decls,
        default=default,
        show_default=True,
        type=click.IntRange(min=1),
        help=_HELP[name],
    )


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
    fn = click.option(
        *_STREAM,
        is_flag=True,
        help="Workflows: show the steps' own output (interleaved when parallel).",
    )(fn)
    for name in reversed(DEFAULTS):
        fn = _option(name)(fn)
    return fn


def given_flags(values: dict[str, Any]) -> list[str]:
    """The workflow-only options given on the command line (their flags)."""
    return given(values) + ([_STREAM[0]] if values.get(_STREAM[1]) else [])


def options_from(values: dict[str, Any]) -> Options:
    return from_mapping({k: v for k, v in values.items() if k in DEFAULTS}, "mlrun run")


def stream_output(values: dict[str, Any]) -> bool:
    return bool(values.get(_STREAM[1]))
