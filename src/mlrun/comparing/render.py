"""A Comparison as text (the terminal table), JSON and CSV.

Text: values are cut to CELL_WIDTH characters and control characters shown escaped, so
a huge or hostile parameter value cannot break the table or the terminal (JSON and CSV
carry every value whole). When the table is wider than the terminal and the transposed
one (a row per column, a column per run) is narrower, the transposed one is shown.

JSON (`to_json`): {"columns": [{"kind", "key", "agg", "label"}], "runs": [{"run_id",
"run_name", "status", "duration", "experiment", "start_time", "params": {key: value},
"metrics": {key: value}}], "same": [columns left out]}: every run has those info keys
and every shown column's key (null when the run has no such value); NaN and
infinities, which JSON cannot spell, are the strings "NaN", "Infinity", "-Infinity".

CSV (`to_csv`): RFC 4180 (the csv module, CRLF), a header of column labels, full run
ids, durations in seconds, empty cells for missing values. A text cell that a
spreadsheet would read as a formula (starting with = + - @, a tab or a carriage
return, and not a number) is prefixed with a single quote.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from mlrun.comparing.table import INFO, METRIC, PARAM, Cell, Column, Comparison
from mlrun.util.jsonsafe import finite
from mlrun.util.texttable import duration
from mlrun.util.texttable import table as table_text

CELL_WIDTH = 40
_HEADERS = {"run_id": "RUN ID", "run_name": "NAME", "status": "STATUS", "duration": "DURATION"}
_GROUPS = {PARAM: "params:", METRIC: "metrics:"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def text_table(table: Comparison, width: int | None = None, transpose: bool | None = None) -> str:
    """The table for a terminal `width` columns wide (None: any width). transpose: True
    forces the transposed table, False forbids it, None decides by width."""
    if transpose is None:
        plain = _text(table, transposed=False)
        if width is None or _widest(plain) <= width:
            return plain
        turned = _text(table, transposed=True)
        return turned if _widest(turned) < _widest(plain) else plain
    return _text(table, transposed=transpose)


def cell_text(column: Column, value: Cell) -> str:
    """A cell as the text table shows it."""
    if value is None:
        return "-"
    if column.kind == INFO and column.key == "run_id":
        return str(value)[:12]
    if column.kind == INFO and column.key == "duration":
        return duration(float(value))
    if isinstance(value, float):
        return f"{value:.6g}"
    return _cut(_printable(str(value)))


def _text(table: Comparison, transposed: bool) -> str:
    cells = [
        [cell_text(c, v) for c, v in zip(table.columns, row, strict=True)] for row in table.rows
    ]
    if transposed:
        headers = ["", *(row[0] for row in cells)]
        lines = [
            [_column_name(c, transposed=True), *(row[j] for row in cells)]
            for j, c in enumerate(table.columns)
            if j > 0  # the run ids are the header
        ]
        return table_text(headers, lines)
    groups, previous = [], INFO
    for c in table.columns:
        groups.append(_GROUPS[c.kind] if c.kind != previous else "")
        previous = c.kind
    names = [_column_name(c, transposed=False) for c in table.columns]
    if all(not g for g in groups):  # only info columns: one header line
        return table_text(names, cells)
    return table_text(groups, [names, *cells])


def _column_name(column: Column, transposed: bool) -> str:
    if column.kind == INFO:
        return _HEADERS[column.key].lower() if transposed else _HEADERS[column.key]
    key = _cut(_printable(column.key))
    if transposed:
        key = f"{column.kind}s.{key}"
    return key if column.agg in (None, "last") else f"{column.agg}({key})"


def _widest(text: str) -> int:
    return max((len(line) for line in text.splitlines()), default=0)


def _printable(text: str) -> str:
    """Control characters (newlines, escape sequences) as Python escapes."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def _cut(text: str) -> str:
    return text if len(text) <= CELL_WIDTH else text[: CELL_WIDTH - 3] + "..."


# -- JSON -----------------------------------------------------------------------------


def to_json(table: Comparison) -> dict[str, Any]:
    runs = []
    for run, row in zip(table.runs, table.rows, strict=True):
        # Every info key, also those the table leaves out (no run has a name).
        record: dict[str, Any] = {
            "run_id": run.run_id,
            "run_name": run.run_name,
            "status": run.status,
            "duration": None,
            "experiment": run.experiment,
            "start_time": run.start_time,
        }
        params: dict[str, Any] = {}
        metrics: dict[str, Any] = {}
        for column, value in zip(table.columns, row, strict=True):
            where = {INFO: record, PARAM: params, METRIC: metrics}[column.kind]
            where[column.key] = finite(value)
        runs.append({**record, "params": params, "metrics": metrics})
    return {
        "columns": [_json_column(c) for c in table.columns],
        "runs": runs,
        "same": [_json_column(c) for c in table.same],
    }


def _json_column(column: Column) -> dict[str, Any]:
    return {"kind": column.kind, "key": column.key, "agg": column.agg, "label": column.label}


# -- CSV ------------------------------------------------------------------------------


def to_csv(table: Comparison) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_csv_text(c.label) for c in table.columns])
    for row in table.rows:
        writer.writerow([_csv_cell(value) for value in row])
    return out.getvalue()


def _csv_cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)  # the shortest text that reads back as the same float
    return _csv_text(value)


def _csv_text(text: str) -> str:
    if text.startswith(_FORMULA_START) and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
