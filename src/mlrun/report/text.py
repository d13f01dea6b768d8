"""Shortening names for places with little room (legends, graph nodes, titles); the
whole name stays in the table and in tooltips."""

from __future__ import annotations


def cut(text: str, most: int) -> str:
    """`text`, or its first `most - 1` characters and an ellipsis."""
    return text if len(text) <= most else text[: most - 1] + "\u2026"
