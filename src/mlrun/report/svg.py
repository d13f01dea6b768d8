"""The workflow graph as inline SVG, laid out here: one column per layer (a node's
longest distance from a node that needs nothing), nodes in a column ordered by where
the nodes they need sit (fewer crossings), edges as curves from need to node. Every text
comes from run records, so every text is escaped."""

from __future__ import annotations

import time
from collections.abc import Mapping
from html import escape

from mlrun.report.flow import Flow, FlowNode
from mlrun.report.text import cut
from mlrun.util.texttable import duration
from mlrun.workflow import state as st
from mlrun.workflow.graph import layers

WIDTH, HEIGHT = 210, 62  # a node's box
COL_GAP, ROW_GAP, MARGIN = 60, 18, 10
NAME_CHARS = 28  # longer names are cut (the whole name is the node's tooltip)

# State -> (stroke/text colour, fill): the page's legend shows the same pairs.
COLOURS: Mapping[str, tuple[str, str]] = {
    st.FINISHED: ("#1b7a2f", "#e6f4ea"),
    st.CACHED: ("#1a5fb4", "#e7effb"),
    st.RUNNING: ("#a15c00", "#fff4e0"),
    st.LOCKED: ("#a15c00", "#fff4e0"),
    st.FAILED: ("#b3261e", "#fce8e6"),
    st.KILLED: ("#8e24aa", "#f6e8fa"),
    st.NOT_RUN: ("#616161", "#f1f1f1"),
    st.WAITING: ("#616161", "#ffffff"),
}
_OTHER = ("#616161", "#ffffff")


def positions(flow: Flow) -> dict[str, tuple[int, int]]:
    """{node: (x, y)} of each box's top-left corner."""
    depth = layers({n.name: n.needs for n in flow.nodes})
    columns: dict[int, list[FlowNode]] = {}
    for node in flow.nodes:
        columns.setdefault(depth[node.name], []).append(node)
    rows: dict[str, float] = {}
    placed: dict[str, tuple[int, int]] = {}
    for layer in sorted(columns):
        members = columns[layer]
        if layer:  # by the mean row of what they need; ties keep the engine's order
            members = sorted(
                members, key=lambda n: sum(rows[x] for x in n.needs) / max(len(n.needs), 1)
            )
        for row, node in enumerate(members):
            rows[node.name] = row
            x = MARGIN + layer * (WIDTH + COL_GAP)
            placed[node.name] = (x, MARGIN + row * (HEIGHT + ROW_GAP))
    return placed


def draw(flow: Flow, now: float | None = None) -> str:
    """The <svg> element of the flow's graph."""
    now = now or time.time()
    where = positions(flow)
    width = max((x for x, _ in where.values()), default=0) + WIDTH + MARGIN
    height = max((y for _, y in where.values()), default=0) + HEIGHT + MARGIN
    parts = [
        f'<svg class="flow" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="workflow {escape(flow.name)}">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" '
        'fill="#888"/></marker></defs>',
    ]
    for node in flow.nodes:
        x2, y2 = where[node.name]
        for need in node.needs:
            x1, y1 = where[need]
            x1, y1, y2c = x1 + WIDTH, y1 + HEIGHT // 2, y2 + HEIGHT // 2
            bend = COL_GAP // 2 + (x2 - x1) // 4
            parts.append(
                f'<path class="edge" data-from="{escape(need)}" data-to="{escape(node.name)}" '
                f'd="M{x1},{y1} C{x1 + bend},{y1} {x2 - bend},{y2c} {x2},{y2c}" fill="none" '
                'stroke="#888" stroke-width="1.4" marker-end="url(#arrow)"/>'
            )
    for node in flow.nodes:
        parts.append(_node(node, *where[node.name], now))
    parts.append("</svg>")
    return "".join(parts)


def _node(node: FlowNode, x: int, y: int, now: float) -> str:
    stroke, fill = COLOURS.get(node.status, _OTHER)
    name = cut(node.name, NAME_CHARS)
    took = node.duration(now)
    time_text = duration(took) if took is not None else ""
    if node.run is not None:
        time_text = f"{time_text}  run {node.run.run_id[:8]}".strip()
    tooltip = "\n".join(x for x in (node.name, node.status, time_text, node.note) if x)
    return (
        f'<g class="node" data-node="{escape(node.name)}" data-status="{escape(node.status)}" '
        f'transform="translate({x},{y})"><title>{escape(tooltip)}</title>'
        f'<rect width="{WIDTH}" height="{HEIGHT}" rx="7" fill="{fill}" stroke="{stroke}" '
        'stroke-width="1.6"/>'
        f'<text x="10" y="20" class="node-name">{escape(name)}</text>'
        f'<text x="10" y="38" class="node-status" fill="{stroke}">{escape(node.status)}</text>'
        f'<text x="10" y="54" class="node-time">{escape(time_text)}</text></g>'
    )
