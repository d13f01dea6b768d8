"""Parsing option values shared by several commands (-P k=v, -A docker args)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import click

from mlrun.errors import UsageError


def seconds(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Option callback: a finite number of seconds >= 0 (`nan`, `inf`, `-1` are refused)."""
    if value is not None and (not math.isfinite(value) or value < 0):
        raise click.BadParameter(f"{value} is not a finite number of seconds >= 0")
    return value


def parse_params(values: Iterable[str], flag: str = "-P") -> dict[str, str]:
    """`-P alpha=0.5 -P name=x` -> {"alpha": "0.5", "name": "x"}; values kept verbatim."""
    params: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(
                f"{flag} {item!r} is not of the form NAME=VALUE",
                hint=f"write {flag} alpha=0.5 (the value may be empty: {flag} x=)",
            )
        if name in params:
            raise UsageError(f"parameter {name!r} is given twice ({flag} {name}=...)")
        params[name] = value
    return params


def parse_docker_args(values: Iterable[str]) -> dict[str, str | None]:
    """`-A gpus=all -A privileged` -> {"gpus": "all", "privileged": None} (as MLflow)."""
    args: dict[str, str | None] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not name:
            raise UsageError(f"-A {item!r} is not of the form NAME[=VALUE]")
        args[name] = value if sep else None
    return args
