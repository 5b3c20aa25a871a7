"""The lists (``agent.reports.lists``: LISTS / select_lists) as HTML tables, their columns taken
from ``agent.reports.cells`` (COLUMNS / row_record) generically: a list or column another stage
adds shows up here without a change.

A chosen few columns are visible on screen (``VISIBLE``, those that exist); every other column
with a value is in the row's detail line, opened on demand and always printed, so a printout
carries every column without a table wider than the page.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from agent.reconcile import ReconRow
from agent.reports.cells import COLUMNS, row_record
from agent.reports.html.env import cell, column_classes
from agent.reports.lists import LISTS, select_lists

# Shown as columns on screen, in this order (only those in COLUMNS); the rest on demand.
VISIBLE = ("status", "flags", "serial", "base_pid", "hostname", "site", "name", "contract_number", "coverage_end",
           "ldos", "reasons", "capture_id")
# Cells that are links to the evidence section (when the thing is embedded there).
LINKED = {"capture_id": "capture", "scan_id": "scan"}
NUMERIC = frozenset({"scan_id", "capture_id", "contract_row", "evidence_age_days", "gap_days"})
# Short identifiers kept on one line on screen (a serial cut in two misleads); printed, they wrap too.
NOWRAP = frozenset({"status", "serial", "base_pid", "pid", "hostname", "site", "contract_number", "coverage_start",
                    "coverage_end", "ldos", "capture_id", "scan_id"})


def flat_record(row: ReconRow) -> dict[str, Any]:
    """``row_record`` with its nested evidence lifted to the top level, keyed as COLUMNS."""
    record = row_record(row)
    for key, value in list(record.items()):
        if isinstance(value, dict):  # the evidence object: its fields are columns of their own
            del record[key]
            for k, v in value.items():
                record.setdefault(k, v)
            if f"{key}_text" in record:  # and its one-line form, where the record has one, is its column
                record[key] = record[f"{key}_text"]
    major = record.get("major")
    record["major"] = "major" if major is True else "minor" if major is False else ""
    return record


@dataclass
class Cell:
    column: str
    text: str
    items: tuple[str, ...] = ()  # a list value (reasons, flags): one line or badge each
    href: str = ""  # a link into the evidence section
    cls: str = ""  # the cell's CSS classes (numbers right-aligned, identifiers kept on one line)


@dataclass
class Line:
    status: str
    site: str
    cells: list[Cell]
    more: list[Cell]  # the columns not shown, with a value
    contract: str = ""  # link to the contract line, when embedded


@dataclass
class ListView:
    name: str
    title: str
    columns: tuple[str, ...]
    hidden: tuple[str, ...]
    lines: list[Line] = field(default_factory=list)


_CLASS = column_classes(COLUMNS, NUMERIC, NOWRAP)  # once per column: the template runs per cell


def _cell(column: str, value: Any, targets: Mapping[str, set]) -> Cell:
    if isinstance(value, (list, tuple)):
        items = tuple(cell(v) for v in value if v not in (None, ""))
        return Cell(column, "; ".join(items), items, cls=_CLASS.get(column, ""))
    text = cell(value)
    kind = LINKED.get(column)
    href = f"#{kind}-{value}" if kind and value is not None and value in targets.get(kind, ()) else ""
    return Cell(column, text, href=href, cls=_CLASS.get(column, ""))


def list_views(rows: Sequence[ReconRow], targets: Mapping[str, set] | None = None,
               line_ids: Mapping[tuple[str, int], int] | None = None,
               names: Iterable[str] | None = None) -> list[ListView]:
    """Every list (``LISTS`` order) with its rows.  ``targets`` names the captures and scans
    embedded in the page (links only to those); ``line_ids`` maps a contract line's (file, row)
    to its anchor."""
    targets = targets or {}
    line_ids = line_ids or {}
    visible = tuple(c for c in VISIBLE if c in COLUMNS)
    hidden = tuple(c for c in COLUMNS if c not in visible)
    chosen = select_lists(rows, list(names) if names is not None else None)
    records: dict[int, Line] = {}  # a row on several lists is built once
    views = []
    for lst in LISTS:
        if lst.name not in chosen:
            continue
        view = ListView(lst.name, lst.title, visible, hidden)
        for r in chosen[lst.name]:
            line = records.get(id(r))
            if line is None:
                rec = flat_record(r)
                cells = [_cell(c, rec.get(c), targets) for c in visible]
                more = [c for c in (_cell(c, rec.get(c), targets) for c in hidden) if c.text]
                anchor = line_ids.get((r.contract_file, r.contract_row)) if r.contract_file else None
                line = records[id(r)] = Line(r.status, r.site, cells, more,
                                             f"#line-{anchor}" if anchor is not None else "")
            view.lines.append(line)
        views.append(view)
    return views
