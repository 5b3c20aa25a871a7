"""Rows out: aligned text for a terminal, CSV and JSON for tools, with spreadsheet-safe cells."""
from __future__ import annotations

import csv
import io
import json
import os
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from operator import itemgetter
from pathlib import Path
from typing import Any

# A cell starting with one of these is run as a formula by Excel/LibreOffice (CSV injection).
# Serials, host names and reasons come from devices and partner files: none of them is trusted.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def atomic_write(path: Path, write: Callable[[Path], Any]) -> None:
    """``write(tmp)`` a file beside ``path``, then rename it over ``path``: a half-written report
    that looks complete is worse than none.  The temporary name is unique to this process and
    call (pid and random bits, hidden), so two runs writing into one directory each rename a
    whole file of their own: the last one wins, neither is corrupted (a fixed '.tmp' name let
    both write into one file)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(6)}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # no half-written leftovers beside the reports
        raise


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
    cells = [terminal_cells([_cell(r.get(c)) for c in columns]) for r in rows]
    widths = column_widths(columns, cells)
    lines = [aligned_line(columns, widths), aligned_line(["-" * w for w in widths], widths)]
    lines += [aligned_line(row, widths) for row in cells]
    return "\n".join(lines) + "\n"


def column_widths(header: Sequence[str], cells: Sequence[Sequence[str]]) -> list[int]:
    """Each column as wide as its heading and its widest cell."""
    return [max([len(h)] + list(map(len, map(itemgetter(i), cells)))) for i, h in enumerate(header)]


def aligned_line(values: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(v.ljust(w) for v, w in zip(values, widths)).rstrip()


# Device-supplied text reaches the terminal: control characters (ANSI escapes) are shown, not obeyed.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def terminal_cells(values: Sequence[Any], caps: Sequence[int] | None = None) -> list[str]:
    """A row's values as terminal text: control characters shown as "?", each value cut to its
    cap when caps are given.  One search over the row, not one substitution per cell."""
    texts = ["" if v is None else v if type(v) is str else str(v) for v in values]
    if _CONTROL.search("".join(texts)):
        texts = [_CONTROL.sub("?", t) for t in texts]
    if caps is None:
        return texts
    return [t if len(t) <= cap else t[: max(cap - 1, 0)] + "…" for t, cap in zip(texts, caps)]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return "; ".join(str(v) for v in value)
    return str(value)
