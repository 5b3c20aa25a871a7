"""The reconcile workbook: a summary sheet first, one sheet per list, the run's "about" sheet.

What goes where is decided here; how it is written (widths, fills, print setup) is xlsx.py's job.
The summary is one table (so its header can be frozen, filtered and repeated on printed pages):
a row for all items, then one per site and one per contract, a column per status, then a column
per list that is not one status (reinstate, cannot-attach, coverage-gap) and one counting rows
with an EoX milestone inside the window; under it, the legend of the status colours (which the
list sheets use on their status cells) and of those columns.
"""
from __future__ import annotations

import re
from collections import Counter
from datetime import date
from typing import Any, Callable, Iterable, Mapping, Sequence

from agent.reconcile import STATUSES, ReconRow
from agent.reconcile.rows import FLAG_ATTACH_SOON, FLAG_LDOS_SOON, FLAG_RENEWAL_SOON, FLAG_SALE_SOON
from agent.reports.cells import COLUMNS, row_cells
from agent.reports.lists import LISTS
from agent.reports.tabular import neutralise
from agent.reports.xlsx import Sheet, Styled, auto_widths

# Light fills that keep black text readable on screen and in grey print.  A status not here
# (one added later) is still counted and listed, only without a colour.
STATUS_FILLS: dict[str, str] = {
    "covered": "C6EFCE",  # green
    "expiring": "FFEB9C",  # amber
    "lapsed": "F8CBAD",  # orange
    "uncovered": "FFC7CE",  # red
    "not-seen": "D9D9D9",  # grey
    "unverified": "E4DFEC",  # lilac
    "rma-swap": "BDD7EE",  # blue
    "end-of-support": "C9A0A0",  # dark rose
}
STATUS_MEANING: dict[str, str] = {
    "covered": "seen, on a contract that runs past the renewal window",
    "expiring": "seen, on a contract that ends inside the renewal window",
    "lapsed": "seen, its contract line has ended",
    "uncovered": "seen, on no contract",
    "not-seen": "on a contract, not in the latest clean collection",
    "unverified": "on a contract, not seen, and its scope was not collected cleanly",
    "rma-swap": "a replacement serial: the contract moves to it",
    "end-of-support": "past Last Date of Support or End of Service Contract Renewal",
}
_SOON = frozenset((FLAG_SALE_SOON, FLAG_RENEWAL_SOON, FLAG_ATTACH_SOON, FLAG_LDOS_SOON))
# The summary's columns after the statuses: (heading, which rows count, meaning).
LIST_COUNTS: tuple[tuple[str, Any, str], ...] = tuple(
    (lst.name, lst.wants, lst.title) for lst in LISTS if lst.name in ("reinstate", "cannot-attach", "coverage-gap")
) + (("milestone-soon", lambda r: not _SOON.isdisjoint(r.flags),
      "an EoX milestone (end of sale, last renewal, last attach, LDoS) falls inside the window"),)
_NO_CONTRACT = "(no contract)"
_NO_SITE = "(no site)"
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def reconcile_sheets(lists: Mapping[str, Sequence[ReconRow]], meta: Mapping[str, Any],
                     rows: Iterable[ReconRow] | None = None,
                     cells: Callable[[ReconRow], list[Any]] | None = None) -> list[Sheet]:
    """The workbook's sheets.  ``rows``: every reconciled row (the summary counts each item once);
    without it, the rows of the lists given, each row once.  ``cells``: a row's flat cells
    (default ``row_cells``; RowMemo.cells gives one list per row for every sheet it is on)."""
    if rows is None:
        seen: dict[int, ReconRow] = {}
        for list_rows in lists.values():
            for r in list_rows:
                seen.setdefault(id(r), r)
        rows = seen.values()
    status_at = COLUMNS.index("status")
    sheets = [summary_sheet(list(rows))]
    sheets += [Sheet(name, COLUMNS, map(cells or row_cells, list_rows), len(list_rows),
                     fill_column=status_at, fills=STATUS_FILLS) for name, list_rows in lists.items()]
    if meta:
        about = [[neutralise(str(k)), _about_value(v)] for k, v in meta.items()]
        sheets.append(Sheet("about", None, about, len(about), width=2))
    return sheets


def summary_sheet(rows: Sequence[ReconRow]) -> Sheet:
    statuses = list(STATUSES) + sorted({r.status for r in rows} - set(STATUSES))
    header = ["by", "name", "items", *(Styled(s, bold=True, fill=STATUS_FILLS.get(s)) for s in statuses),
              *(Styled(name, bold=True) for name, _, _ in LIST_COUNTS)]
    table = [_count_row("all", "all items", rows, statuses, bold=True)]
    for by, key, missing in (("site", "site", _NO_SITE), ("contract", "contract_number", _NO_CONTRACT)):
        groups: dict[str, list[ReconRow]] = {}
        for r in rows:
            groups.setdefault(getattr(r, key) or missing, []).append(r)
        table += [_count_row(by, name, groups[name], statuses) for name in sorted(groups)]
    legend = [[], [Styled("status", bold=True), Styled("meaning", bold=True)]]
    legend += [[Styled(s, fill=STATUS_FILLS.get(s)), STATUS_MEANING.get(s, "")] for s in statuses]
    legend += [[Styled(name, bold=True), meaning] for name, _, meaning in LIST_COUNTS]
    body = table + legend
    # The widths fit the table; a legend's meaning runs on over the empty cells to its right
    # instead of widening the "name" column for every row.
    widths = auto_widths(header, table + [[s] for s in statuses] + [[n] for n, _, _ in LIST_COUNTS], len(header))
    return Sheet("summary", header, body, len(body), widths=widths, filter_rows=len(table))


def _count_row(by: str, name: str, rows: Sequence[ReconRow], statuses: Sequence[str], bold: bool = False) -> list:
    counts = Counter(r.status for r in rows)
    lists = [sum(map(wants, rows)) for _, wants, _ in LIST_COUNTS]
    # A zero is left blank: the eye finds the statuses an item group has.
    cells: list[Any] = [by, neutralise(name), len(rows), *(counts.get(s) or None for s in statuses),
                        *(n or None for n in lists)]
    return [c if c is None else Styled(c, bold=True) for c in cells] if bold else cells


def _about_value(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return neutralise("; ".join(map(str, value)))
    if isinstance(value, (int, float, date)) and not isinstance(value, bool):
        return value
    text = str(value)
    if _ISO_DATE.fullmatch(text):  # an as-of date: a date cell, not text that looks like one
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    return neutralise(text)
