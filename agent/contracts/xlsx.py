"""XLSX / XLSM contract exports (openpyxl, read-only): the first sheet with a recognised header
row in its first rows, read in chunks of records."""
from __future__ import annotations

import itertools
from pathlib import Path

from agent.contracts.layouts import HEADER_SCAN_ROWS, _Header, _match_header
from agent.contracts.records import FileSummary, RowError
from agent.contracts.source import _CHUNK, Rows


def _xlsx_source(path: Path, label: str, summary: FileSummary, header_map,
                 errors: list[RowError]) -> tuple[_Header, int, Rows] | str:
    try:
        import openpyxl
    except ImportError:  # pragma: no cover - openpyxl is a declared dependency
        return "openpyxl is not installed: save the sheet as CSV"
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile/XML errors of every kind: a broken file is a message
        return f"not a readable .xlsx workbook ({type(exc).__name__}: {exc})"
    for ws in wb.worksheets:
        it = ws.iter_rows(values_only=True)
        for rowno, cells in enumerate(it, 1):
            if rowno > HEADER_SCAN_ROWS:
                break
            header = _match_header(list(cells), header_map)
            if header:
                summary.sheet = ws.title
                return header, rowno, _xlsx_rows(wb, it, rowno + 1)
    wb.close()
    return "no sheet has a recognised header row in its first %d rows" % HEADER_SCAN_ROWS


def _xlsx_rows(wb, it, first: int) -> Rows:
    try:
        while True:
            chunk = [list(cells) for cells in itertools.islice(it, _CHUNK)]
            if not chunk:
                return
            yield first, chunk
            first += len(chunk)
    finally:
        wb.close()
