"""The options `mlrun runs compare` and `mlrun report` share, declared once: which runs
(ids or prefixes, `--experiment`, `--workflow`, `--status`, `--limit`) and how the
comparison table reads (`--agg`, `--all`, `--sort [-]METRIC`, `--desc`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

import click

from mlrun.tracking.status import STATUSES

F = TypeVar("F", bound=Callable[..., Any])

_SELECTION = [
    click.argument("run_ids", nargs=-1, metavar="[RUN_ID]..."),
    click.option(
        "--experiment", default=None, metavar="NAME", help="The newest runs of this experiment."
    ),
    click.option(
        "--workflow", default=None, metavar="RUN_ID", help="The steps of this workflow run."
    ),
    click.option(
        "--status",
        default=None,
        type=click.Choice(STATUSES, case_sensitive=False),
        help="Only --experiment/--workflow runs with this status.",
    ),
    click.option(
        "--limit",
        default=None,
        type=click.IntRange(1, 2**63 - 1),
        help="At most this many runs of --experiment [default: 20] or steps of --workflow "
        "[default: all].",
    ),
]
_TABLE = [
    click.option(
        "--agg",
        "aggs",
        multiple=True,
        metavar="[METRIC=]last|min|max",
        help="A metric's value: its latest (default), or the min/max of its history; "
        "for every metric, or METRIC=... for one. Repeatable.",
    ),
    click.option(
        "--all",
        "show_all",
        is_flag=True,
        help="Also the columns where every run has the same value.",
    ),
    click.option(
        "--sort",
        "sort_by",
        default=None,
        metavar="[-]METRIC",
        help="Order by a metric, ascending (a leading '-': descending); runs without it last.",
    ),
    click.option("--desc", is_flag=True, help="With --sort: descending."),
]


def selection_options(f: F) -> F:
    """RUN_ID..., --experiment, --workflow, --status, --limit."""
    for option in reversed(_SELECTION):
        f = option(f)
    return f


def table_options(f: F) -> F:
    """--agg, --all, --sort, --desc."""
    for option in reversed(_TABLE):
        f = option(f)
    return f


class TableRequest(NamedTuple):
    agg: dict[str, str]  # as build_comparison takes it ("*": every metric)
    show_all: bool
    sort_by: str | None
    descending: bool

    @property
    def best_by(self) -> str | None:
        """The metric the store should choose a page of runs by: --sort's, when the table
        shows its latest value (the best runs by it); by its min or max, the newest runs
        are taken and sorted afterwards."""
        from mlrun.comparing.table import EVERY_METRIC, LAST

        if self.sort_by is None:
            return None
        return (
            self.sort_by
            if self.agg.get(self.sort_by, self.agg.get(EVERY_METRIC, LAST)) == LAST
            else None
        )


def table_request(
    aggs: tuple[str, ...], show_all: bool, sort_by: str | None, desc: bool
) -> TableRequest:
    """The table options checked (bad input fails before the store is read): a
    leading '-' on --sort means descending; --desc needs --sort."""
    from mlrun.comparing.table import parse_agg
    from mlrun.errors import UsageError

    agg = parse_agg(aggs)
    descending = desc
    if sort_by is not None and sort_by.startswith("-"):
        sort_by, descending = sort_by[1:], True
    if desc and sort_by is None:
        raise UsageError("--desc orders by a metric: name it with --sort METRIC.")
    return TableRequest(agg, show_all, sort_by, descending)
