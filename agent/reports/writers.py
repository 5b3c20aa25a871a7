"""Writing the lists to files: one file per list (table, csv, json) or one workbook (xlsx)."""
from __future__ import annotations

import csv
import gc
import json
import os
from pathlib import Path
from functools import partial
from typing import Any, Callable, Iterable, Mapping, Sequence

from agent.reports.forking import Failed, JobError, describe, run_jobs
from agent.reconcile import ReconRow
from agent.reports.cells import COLUMNS
from agent.reports.memo import RowMemo
from agent.reports.tabular import atomic_write, json_array_lines
from agent.reports.lists import renew_groups, select_lists, title_of
from agent.reports.table import table_lines
from agent.reports.workbook import reconcile_sheets
from agent.reports.xlsx import write_workbook

_atomic_write = atomic_write  # the name the writers below use


def _write_joined(fh, texts: Sequence[str], sep: str) -> None:
    """``fh.write(sep.join(texts))`` a few thousand texts at a time: the deployed list's text is
    ~100 MB at 10^5 items, and one string of it (then its UTF-8 bytes, then a copy with the
    file's head) cost as much in page faults as in copying."""
    for i in range(0, len(texts), _CHUNK):
        if i:
            fh.write(sep)
        fh.write(sep.join(texts[i:i + _CHUNK]))


_CHUNK = 4096


def _csv(path: Path, name: str, rows: Sequence[ReconRow], meta: Mapping[str, Any], memo: RowMemo) -> None:
    def write(tmp: Path) -> None:
        # utf-8-sig: Excel opens a BOM-marked CSV as UTF-8 instead of the local code page.
        with tmp.open("w", newline="", encoding="utf-8-sig") as fh:
            csv.writer(fh).writerow(COLUMNS)
            # csv writes None as an empty cell and a date as str(date), its ISO form; each
            # row's line is written once per call (RowMemo.csv_line), whatever lists it is on.
            _write_joined(fh, list(map(memo.csv_line, rows)), "")
    _atomic_write(path, write)


def _json(path: Path, name: str, rows: Sequence[ReconRow], meta: Mapping[str, Any], memo: RowMemo) -> None:
    # One object: the list's header fields, then "rows" (and for renew "groups") one per line,
    # as json_array_lines writes them (each row encoded once per call: RowMemo).
    head = json.dumps({"list": name, "title": title_of(name), **meta, "count": len(rows)}, ensure_ascii=False)
    texts = list(map(memo.json, rows))
    tail = ""
    if name == "renew":
        groups = ({"contract_number": c, "coverage_end": e.isoformat() if e else None, "count": len(g),
                   "serials": [r.serial for r in g]} for c, e, g in memo.per_list("renew_groups", rows, renew_groups))
        tail = ',\n"groups": ' + json_array_lines(groups, ensure_ascii=False)

    def write(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8") as fh:
            fh.write(head[:-1] + ',\n"rows": ' + ("[\n" if texts else "[]"))
            if texts:
                _write_joined(fh, texts, ",\n")
                fh.write("\n]")
            fh.write(tail + "}\n")
    _atomic_write(path, write)


def _table(path: Path, name: str, rows: Sequence[ReconRow], meta: Mapping[str, Any], memo: RowMemo) -> None:
    lines = table_lines(rows, group_by_contract=(name == "renew"), group_by_parent=(name == "add"), memo=memo,
                        groups=memo.per_list("renew_groups", rows, renew_groups) if name == "renew" else None)

    def write(tmp: Path) -> None:  # the title, a blank line, then render_table's text
        with tmp.open("w", encoding="utf-8") as fh:
            fh.write(f"{title_of(name)}\n\n")
            _write_joined(fh, lines, "\n")
            fh.write("\n")
    _atomic_write(path, write)


def _xlsx(path: Path, lists: Mapping[str, Sequence[ReconRow]], meta: Mapping[str, Any],
          rows: Sequence[ReconRow] | None = None, memo: RowMemo | None = None) -> None:
    sheets = reconcile_sheets(lists, meta, rows, cells=memo.cells if memo else None)  # summary, lists, about
    # A row on several lists is one cells list (memo.cells): the writer formats it once.
    _atomic_write(path, lambda tmp: write_workbook(tmp, sheets, shared_rows=memo is not None))


# The format registry: adding a format is a writer (in its own module when it is more than a few
# lines, as xlsx.py and table.py are) and one entry here.  A per-list format writes one file per
# list, ``<list>.<suffix>``; a workbook format writes one file holding every list.  Each writer
# gets ``memo`` (RowMemo), the per-row work shared by the formats and lists one process writes.
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
    fork = parallel or (parallel is None and len(rows) >= _PARALLEL_ROWS)
    groups = _format_groups([fmt for fmt in FORMATS if fmt in formats], (os.cpu_count() or 1) if fork else 1)
    memos = [RowMemo() for _ in groups]  # one per process: formats written together share it
    jobs: list[list[Callable[[], None]]] = [[] for _ in groups]
    at = {fmt: g for g, group in enumerate(groups) for fmt in group}
    for name, list_rows in chosen.items():
        for fmt, (suffix, write) in PER_LIST_FORMATS.items():
            if fmt in at:
                g = _process_of(fmt, name, at, groups)
                written.append(out / f"{name}.{suffix}")
                jobs[g].append(partial(write, written[-1], name, list_rows, meta, memo=memos[g]))
    for fmt, (file_name, write) in WORKBOOK_FORMATS.items():
        if fmt in at:
            written.append(out / file_name)
            jobs[at[fmt]].append(partial(write, written[-1], chosen, meta, rows, memo=memos[at[fmt]]))
    # In forked children when the rows are many (each writes its own files: nothing to send
    # back), the formats split so that those sharing per-row work (CSV and XLSX: the flat cells;
    # JSON and text: evidence) run in one child.
    try:
        run_jobs([partial(_run_all, steps) for steps in jobs], workers=len(groups))
    except JobError as exc:
        raise ReportWriteError(f"cannot write reports in {out}: {exc}") from None
    return written


class ReportWriteError(OSError):
    pass


_PARALLEL_ROWS = 20_000  # below this, forking costs more than it saves
# Formats that share per-row work, in the order their groups are filled.
_AFFINITY = ("xlsx", "csv", "json", "table")


def _format_groups(formats: Sequence[str], processes: int) -> list[list[str]]:
    """``formats`` in at most ``processes`` groups: neighbours in _AFFINITY together."""
    ordered = sorted(formats, key=lambda f: _AFFINITY.index(f) if f in _AFFINITY else len(_AFFINITY))
    n = max(1, min(processes, len(ordered)))
    size = -(-len(ordered) // n)
    return [ordered[i:i + size] for i in range(0, len(ordered), size)] or [[]]


# The lists whose CSV files are written beside JSON and text, not beside the workbook, when the
# formats split so (two processes: XLSX and CSV in one, JSON and text in the other).  Measured at
# 100k items x 120k lines (CPU of each process): XLSX + CSV 6.4 s against JSON + text 4.0 s;
# these two lists hold nearly every row of the CSV files, and the other process works out their
# flat cells again (their evidence text it has already) for about 1.5 s: 5.4 s against 5.5 s.
_CSV_BESIDE_JSON = ("deployed", "renew")


def _process_of(fmt: str, name: str, at: Mapping[str, int], groups: Sequence[Sequence[str]]) -> int:
    """Which process writes ``name`` in ``fmt``: its format's, but for _CSV_BESIDE_JSON."""
    if (fmt == "csv" and name in _CSV_BESIDE_JSON and "json" in at and at["json"] != at["csv"]
            and "xlsx" in groups[at["csv"]]):
        return at["json"]
    return at[fmt]


def _run_all(steps: Sequence[Callable[[], None]]) -> None:
    # A file that cannot be written does not stop the others of its format.  The cyclic collector
    # is paused meanwhile: the writers build millions of short-lived strings, lists and dicts and
    # no cycles, and its passes over them freed nothing (10-15 % of the writers' CPU at 10^5 rows).
    problems = []
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for step in steps:
            try:
                step()
            except OSError as exc:
                problems.append(describe(exc))
    finally:
        if was_enabled:
            gc.enable()
    if problems:
        raise Failed("; ".join(problems))
