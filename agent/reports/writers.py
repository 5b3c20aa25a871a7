"""Writing the lists to files: one file per list (table, csv, json) or one workbook (xlsx)."""
from __future__ import annotations

import csv
import json
from pathlib import Path
from functools import partial
from typing import Any, Callable, Iterable, Mapping, Sequence

from agent.reports.forking import Failed, JobError, describe, run_jobs
from agent.reconcile import ReconRow
from agent.reports.cells import COLUMNS, row_cells, row_record
from agent.reports.tabular import atomic_write, json_array_lines
from agent.reports.lists import renew_groups, select_lists, title_of
from agent.reports.table import render_table
from agent.reports.workbook import reconcile_sheets
from agent.reports.xlsx import write_workbook

_atomic_write = atomic_write  # the name the writers below use


def _csv(path: Path, name: str, rows: Sequence[ReconRow], meta: Mapping[str, Any]) -> None:
    def write(tmp: Path) -> None:
        # utf-8-sig: Excel opens a BOM-marked CSV as UTF-8 instead of the local code page.
        with tmp.open("w", newline="", encoding="utf-8-sig") as fh:
            out = csv.writer(fh)
            out.writerow(COLUMNS)
            # csv writes None as an empty cell and a date as str(date), its ISO form.
            out.writerows(map(row_cells, rows))
    _atomic_write(path, write)


def _json(path: Path, name: str, rows: Sequence[ReconRow], meta: Mapping[str, Any]) -> None:
    # One object: the list's header fields, then "rows" (and for renew "groups") one per line.
    head = json.dumps({"list": name, "title": title_of(name), **meta, "count": len(rows)}, ensure_ascii=False)
    text = head[:-1] + ',\n"rows": ' + json_array_lines(map(row_record, rows), ensure_ascii=False)
    if name == "renew":
        groups = ({"contract_number": c, "coverage_end": e.isoformat() if e else None, "count": len(g),
                   "serials": [r.serial for r in g]} for c, e, g in renew_groups(rows))
        text += ',\n"groups": ' + json_array_lines(groups, ensure_ascii=False)
    _atomic_write(path, lambda tmp: tmp.write_text(text + "}\n", encoding="utf-8"))


def _table(path: Path, name: str, rows: Sequence[ReconRow], meta: Mapping[str, Any]) -> None:
    text = f"{title_of(name)}\n\n" + render_table(rows, group_by_contract=(name == "renew"),
                                                  group_by_parent=(name == "add"))
    _atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _xlsx(path: Path, lists: Mapping[str, Sequence[ReconRow]], meta: Mapping[str, Any],
          rows: Sequence[ReconRow] | None = None) -> None:
    sheets = reconcile_sheets(lists, meta, rows)  # summary first, one sheet per list, about
    _atomic_write(path, lambda tmp: write_workbook(tmp, sheets))


# The format registry: adding a format is a writer (in its own module when it is more than a few
# lines, as xlsx.py and table.py are) and one entry here.  A per-list format writes one file per
# list, ``<list>.<suffix>``; a workbook format writes one file holding every list.
PER_LIST_FORMATS: dict[str, tuple[str, Callable[..., None]]] = {
    "table": ("txt", _table),
    "csv": ("csv", _csv),
    "json": ("json", _json),
}
WORKBOOK_FORMATS: dict[str, tuple[str, Callable[..., None]]] = {
    "xlsx": ("reconcile.xlsx", _xlsx),
}
FORMATS = (*PER_LIST_FORMATS, *WORKBOOK_FORMATS)


def write_reconcile_reports(rows: Iterable[ReconRow], out_dir: str | Path,
                            formats: Sequence[str] = ("table", "csv", "json", "xlsx"),
                            lists: Sequence[str] | None = None,
                            meta: Mapping[str, Any] | None = None, parallel: bool | None = None) -> list[Path]:
    """Write every list in every format under ``out_dir``; returns the paths written.
    ``parallel``: one forked process per format (default: when there are many rows and forking
    is safe here); ReportWriteError says which files could not be written and why.

    table/csv/json: ``<list>.<txt|csv|json>`` per list; xlsx: ``reconcile.xlsx``, one sheet per list.
    ``meta`` (as-of date, window, input files...) goes into the JSON documents and an "about" sheet.
    """
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise ValueError(f"unknown report format(s) {', '.join(sorted(unknown))}; known: {', '.join(FORMATS)}")
    meta = dict(meta or {})
    rows = list(rows)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportWriteError(f"cannot write reports in {out}: {describe(exc)}") from None
    chosen = select_lists(rows, lists)
    written: list[Path] = []
    jobs: dict[str, list[Callable[[], None]]] = {fmt: [] for fmt in FORMATS if fmt in formats}
    for name, list_rows in chosen.items():
        for fmt, (suffix, write) in PER_LIST_FORMATS.items():
            if fmt in jobs:
                written.append(out / f"{name}.{suffix}")
                jobs[fmt].append(partial(write, written[-1], name, list_rows, meta))
    for fmt, (file_name, write) in WORKBOOK_FORMATS.items():
        if fmt in jobs:
            written.append(out / file_name)
            jobs[fmt].append(partial(write, written[-1], chosen, meta, rows))
    # One job per format, in forked children when the rows are many (each format reads all rows
    # and writes its own files: nothing to send back, so two cores write in about half the time).
    by_format = [partial(_run_all, steps) for steps in jobs.values()]
    try:
        run_jobs(by_format, workers=None if parallel or (parallel is None and len(rows) >= _PARALLEL_ROWS) else 1)
    except JobError as exc:
        raise ReportWriteError(f"cannot write reports in {out}: {exc}") from None
    return written


class ReportWriteError(OSError):
    pass


_PARALLEL_ROWS = 20_000  # below this, forking costs more than it saves


def _run_all(steps: Sequence[Callable[[], None]]) -> None:
    # A file that cannot be written does not stop the others of its format.
    problems = []
    for step in steps:
        try:
            step()
        except OSError as exc:
            problems.append(describe(exc))
    if problems:
        raise Failed("; ".join(problems))
