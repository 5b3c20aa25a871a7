"""Rows out: aligned text for a terminal, CSV and JSON for tools, with spreadsheet-safe cells."""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

# A cell starting with one of these is run as a formula by Excel/LibreOffice (CSV injection).
# Serials, host names and reasons come from devices and partner files: none of them is trusted.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def to_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([neutralise(_cell(row.get(c))) for c in columns])
    return buf.getvalue()


def to_json(rows: Sequence[dict[str, Any]]) -> str:
    return json_array_lines(rows, default=str) + "\n"


def json_array_lines(records: Iterable[Any], default: Callable[[Any], Any] | None = None,
                     ensure_ascii: bool = True) -> str:
    """A JSON array with one element per line: as easy to diff and grep as an indented dump, and
    written by json's C encoder (``indent`` switches json to its pure-Python encoder, which takes
    over ten times as long at 10^5 rows)."""
    encode = json.JSONEncoder(ensure_ascii=ensure_ascii, default=default).encode
    body = ",\n".join(map(encode, records))
    return "[\n" + body + "\n]" if body else "[]"


def to_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in cells]
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return "; ".join(str(v) for v in value)
    return str(value)
