"""Per-row report text worked out once per row, not once per list and format.

A row is on several lists (every seen row is on "deployed" and most also on "renew", "add" or
"reinstate": 10^5 rows make ~2.2 x 10^5 list rows), and CSV and XLSX share its flat cells, JSON
and the .txt lists its evidence text.  Measured at 100k items x 120k lines, flattening, encoding
and evidence text were most of the report writers' time, each done again for every list.

A memo lives for one ``write_reconcile_reports`` call.  Rows are keyed by ``id`` (hashing a
37-field row costs more than the work saved), so the memo holds every row it has an entry for:
no other row can take that id while the memo lives.  The values are
exactly what the uncached functions return: the files are the same bytes.
"""
from __future__ import annotations

import csv
import io
from typing import Any, Callable

from agent.reconcile import ReconRow
from agent.reports.cells import evidence_text, row_cells, row_json


class RowMemo:
    def __init__(self) -> None:
        # Every row with an entry is kept alive here (appended on its first miss), so no other
        # row can take its id while the memo lives.
        self._alive: list[ReconRow] = []
        self._cells: dict[int, list[Any]] = {}
        self._json: dict[int, str] = {}
        self._evidence: dict[int, str] = {}
        self._csv: dict[int, str] = {}
        self._csv_buf = io.StringIO()
        self._csv_writer = csv.writer(self._csv_buf)
        self.extra: dict[Any, dict[int, Any]] = {}  # other writers' per-row values (table cells)

    def cells(self, row: ReconRow) -> list[Any]:
        """``row_cells(row)``, one shared list per row: callers must not change it."""
        got = self._cells.get(id(row))
        if got is None:
            self._alive.append(row)
            got = self._cells[id(row)] = row_cells(row, self.evidence(row))
        return got

    def json(self, row: ReconRow) -> str:
        """``row_record(row)`` encoded as the JSON reports write it (``ensure_ascii=False``), by
        ``row_json``: the same text without the dict."""
        got = self._json.get(id(row))
        if got is None:
            self._alive.append(row)
            got = self._json[id(row)] = row_json(row, self.evidence(row))
        return got

    def evidence(self, row: ReconRow) -> str:
        """``evidence_text(row)``."""
        got = self._evidence.get(id(row))
        if got is None:
            self._alive.append(row)
            got = self._evidence[id(row)] = evidence_text(row)
        return got

    def csv_line(self, row: ReconRow) -> str:
        """The row's line as ``csv.writer`` writes its flat cells (default dialect)."""
        got = self._csv.get(id(row))
        if got is None:
            buf = self._csv_buf
            buf.seek(0)
            buf.truncate()
            self._csv_writer.writerow(self.cells(row))
            self._alive.append(row)
            got = self._csv[id(row)] = buf.getvalue()
        return got

    def per_list(self, kind: Any, rows: Any, make: Callable[[Any], Any]) -> Any:
        """``make(rows)`` once per list object and ``kind`` (the renew list's contract groups,
        which the JSON and the text writer both need)."""
        table = self.extra.setdefault(("list", kind), {})
        got = table.get(id(rows))
        if got is None or got[0] is not rows:
            got = table[id(rows)] = (rows, make(rows))  # the list kept alive: its id stays its own
        return got[1]

    def per_row(self, kind: Any, row: ReconRow, make: Callable[[ReconRow], Any]) -> Any:
        """``make(row)`` once per row and ``kind`` (a writer's own key)."""
        table = self.extra.get(kind)
        if table is None:
            table = self.extra[kind] = {}
        got = table.get(id(row))
        if got is None:
            self._alive.append(row)
            got = table[id(row)] = make(row)
        return got
