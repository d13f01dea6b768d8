"""The run statuses are defined once (tracking/status.py); the schema's first version
spells them out as history, and must agree."""

from __future__ import annotations

import re

from mlrun.tracking import sqlite_schema
from mlrun.tracking.model import STATUSES


def test_the_schema_allows_exactly_the_statuses_of_the_model() -> None:
    text = "\n".join(sqlite_schema._V1)
    match = re.search(r"CHECK \(status IN \(([^)]*)\)\)", text)
    assert match is not None
    allowed = tuple(v.strip().strip("'") for v in match.group(1).split(","))
    assert allowed == STATUSES
