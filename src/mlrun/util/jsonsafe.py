"""JSON that every parser reads.

Python's json module writes NaN and infinities as the bare words NaN, Infinity and
-Infinity, which JSON does not have: `jq`, JavaScript's JSON.parse and most other
parsers refuse the whole document. mlrun's JSON output spells them as the strings
"NaN", "Infinity" and "-Infinity" instead (a metric can well be NaN)."""

from __future__ import annotations

import math
from typing import Any


def finite(value: Any) -> Any:
    """`value`, with a non-finite float turned into its string."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


def strict(data: Any) -> Any:
    """`data` with every non-finite float inside dicts, lists and tuples turned into its
    string, ready for json.dumps(..., allow_nan=False)."""
    if isinstance(data, float):
        return finite(data)
    if isinstance(data, dict):
        return {key: strict(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [strict(value) for value in data]
    return data
