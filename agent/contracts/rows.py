"""Rows -> ``ContractLine`` records: a file's columns filled chunk by chunk (``_Chunked``), each
distinct value converted once, then the dates once each column is known whole (``_build_lines``).
A bad cell in a required field (serial, coverage end) is reported and its row skipped; a bad cell
in any other field is reported as a warning and only that field is left empty: one `TBD` in an
optional column must never drop a covered line (and put a covered chassis on the add list)."""
from __future__ import annotations

import itertools
import operator
from datetime import date
from operator import itemgetter
from typing import Any, Sequence

from agent.contracts.dates import (
    _PLACEHOLDERS, DATE_FORMATS, DateProblem, _DateColumn, _hashable, _slash_evidence,
)
from agent.contracts.identifiers import _QUOTED_FORMULA, _all_alnum, _needs_strip
from agent.contracts.layouts import DATE_FIELDS, _Header, _is_software, parse_covered, parse_rank
from agent.contracts.records import ContractLine, FileSummary, RowError
from agent.contracts.source import Rows, _Columns
from agent.core.identity import SERIAL_SHAPE, canonical_serial, cell_text, split_pid


class _RowProblem(Exception):
    def __init__(self, column: str, message: str):
        super().__init__(message)
        self.column = column
        self.message = message


def _unformula(text: str, column: str) -> str | _RowProblem:
    m = _QUOTED_FORMULA.match(text)
    if m:
        return m[1].strip()
    return _RowProblem(column, f"holds a formula ({text[:40]}), not a value: export values, not formulas")


class _Chunked:
    """Column lists for a whole file, filled chunk by chunk, plus the problems found per row."""

    TEXT_FIELDS = ("contract_number", "instance_id", "parent_instance_id", "site_id")
    PLAIN_FIELDS = ("service_level", "site_name")
    # Values that repeat from line to line (one contract covers many serials, one site holds
    # many): each distinct value is kept as one str object.  Reconciliation copies these into
    # every row, and with a few shared objects those reference updates stay in the CPU cache
    # instead of touching 10^5 scattered strings; freeing gets cheaper too.  Measured at 10^5
    # lines, in paired runs: reconcile 0.98 -> 0.75 s, freeing 0.16 -> 0.10 s, load unchanged.
    POOLED_FIELDS = frozenset({"contract_number", "site_id", "service_level", "site_name", "status"})

    def __init__(self, header: _Header, strings: bool):
        self.header = header
        self.strings = strings  # every cell is a str (CSV): skip per-cell type checks
        self.names = header.names
        self.col = {fld: found[0] for fld, found in header.columns.items() if found}
        if self.col.get("base_pid") == self.col.get("pid"):
            self.col.pop("base_pid", None)
        self.out: dict[str, list] = {f: [] for f in ("rowno", "serial", "pid", "base_pid", "refurbished",
                                                      "status", "covered", "parent_serial", "major",
                                                      *self.TEXT_FIELDS, *self.PLAIN_FIELDS, *DATE_FIELDS)}
        self.problems: dict[int, tuple[str, str]] = {}  # position -> (column, message), first one wins
        # Cells of optional fields that could not be read: (position, column, message, field).  The
        # line is kept with that field empty; each is a warning naming the cell.
        self.flags: list[tuple[int, str, str, str]] = []
        # The fields a line cannot stand without: a bad cell there drops the line.
        self.required = {i for i in (self.col.get("serial"), self.col.get("coverage_end")) if i is not None}
        self.field_of = {idx: fld for fld, found in header.columns.items() for idx in found}
        self.software: set[int] = set()
        self.blank = 0
        self._covered: dict[str, bool | None] = {}
        self._pools: dict[str, dict[str, str]] = {}

    def _problem(self, pos: int, column_index: int, message: str) -> None:
        """A bad cell: drops its line when the column is a required field's, else is flagged
        (the caller leaves the value empty)."""
        if column_index in self.required:
            self.problems.setdefault(pos, (self.names[column_index], message))
        else:
            self.flags.append((pos, self.names[column_index], message, self.field_of.get(column_index, "")))

    def _texts(self, cols: _Columns, idx: int, base: int, formulas: bool = True) -> list[str]:
        """One column as trimmed text.  Padding and formula-looking cells are rare, so a search
        over the joined column (C speed) decides whether the per-cell work is needed at all.
        (Pooling repeated values is ``_pooled``'s job, for the columns where it pays.)"""
        values = cols[idx]  # a new list: fixed in place below
        if cols.clean:
            return values
        try:  # a column of text only (CSV always; XLSX mostly): trimmed only where needed
            joined = "\x00".join(values)
        except TypeError:  # numbers, dates, blanks as None: each cell as the user sees it
            values = list(map(cell_text, values))
            joined = "\x00".join(values)
        else:
            if _needs_strip(joined):
                values = list(map(str.strip, values))
                joined = "\x00".join(values)
        if formulas and "=" in joined and (joined[:1] == "=" or "\x00=" in joined):
            for j, v in enumerate(values):
                if v[:1] == "=":
                    fixed = _unformula(v, self.names[idx])
                    if isinstance(fixed, _RowProblem):
                        self._problem(base + j, idx, fixed.message)
                        fixed = ""
                    values[j] = fixed
        return values

    def add(self, first: int, chunk: list[list[Any]] | _Columns) -> None:
        cols = chunk if isinstance(chunk, _Columns) else _Columns.from_rows(
            chunk, len(self.names), "" if self.strings else None)
        n = cols.n
        rownos: Sequence[int] = range(first, first + n)
        col, out = self.col, self.out
        i_serial = col["serial"]
        base = len(out["rowno"])
        serial_cells = self._texts(cols, i_serial, base)  # only required-field problems so far: no flags
        # Blank lines (and rows of empty cells) are not data: drop them before anything else.
        if not all(serial_cells):
            keep = [j for j, v in enumerate(serial_cells) if v or any(cell_text(c) for c in cols.row(j))]
            if len(keep) < n:
                self.blank += n - len(keep)
                # Problems found so far in this chunk are keyed by position: re-key them.
                moved = {base + j: self.problems.pop(base + old) for j, old in enumerate(keep)
                         if base + old in self.problems}
                for pos in [p for p in self.problems if p >= base]:
                    del self.problems[pos]
                self.problems.update(moved)
                cols = cols.select(keep)
                rownos = [rownos[j] for j in keep]
                serial_cells = [serial_cells[j] for j in keep]
                n = len(keep)
        out["rowno"].extend(rownos)

        # Checks over the joined column; the per-cell passes run only when one says so.
        serials = serial_cells
        joined = "\x00".join(serials)
        if not joined.isascii() or joined.upper() != joined:  # else upper() changes nothing
            serials = list(map(str.upper, serials))
            joined = "\x00".join(serials)
        if ":" in joined:
            serials = list(map(canonical_serial, serials))
            joined = "\x00".join(serials)
        if not _all_alnum(joined, n):
            for j, (cell, serial) in enumerate(zip(serial_cells, serials)):
                if not serial.isalnum() and not SERIAL_SHAPE.match(serial):
                    self._problem(base + j, i_serial, "serial number is blank" if not serial
                                  else f"'{cell[:40]}' is not a serial number")
        out["serial"].extend(serials)

        i_ptype = col.get("product_type")
        if i_ptype is not None:
            for j, t in enumerate(self._texts(cols, i_ptype, base, formulas=False)):
                if t and _is_software(t):
                    self.software.add(base + j)

        i_pid, i_base = col.get("pid"), col.get("base_pid")
        if i_pid is not None:
            texts = self._texts(cols, i_pid, base)
            split = {t: split_pid("" if t.upper() in _PLACEHOLDERS else t) for t in set(texts)}
            bad = {t for t, (pid, _, _) in split.items() if pid[:1] in ("+", "@", "-")}
            if bad:
                for j, t in enumerate(texts):
                    if t in bad:
                        self._problem(base + j, i_pid, f"'{split[t][0][:40]}' is not a product ID")
                if i_pid not in self.required:
                    split.update(dict.fromkeys(bad, ("", "", False)))  # flagged: the PID left empty
            triples = list(map(split.__getitem__, texts))
            out["pid"].extend(map(itemgetter(0), triples))
            bases = list(map(itemgetter(1), triples))
            out["refurbished"].extend(map(itemgetter(2), triples))
        else:
            out["pid"].extend([""] * n)
            bases = [""] * n
            out["refurbished"].extend([False] * n)
        if i_base is not None:
            # The file's own base PID column (sn2info base_pid_list) beats deriving one.
            given = [split_pid(t)[1] for t in self._texts(cols, i_base, base)]
            bases = [g or b for g, b in zip(given, bases)]
        out["base_pid"].extend(bases)

        self._add_status(cols, base, n)
        i_pser = col.get("parent_serial")
        if i_pser is not None:
            parents = list(map(canonical_serial, self._texts(cols, i_pser, base)))
            # sn2info repeats the item's own serial as parent for parent/standalone items.
            out["parent_serial"].extend("" if p == s else p for p, s in zip(parents, serials))
        else:
            out["parent_serial"].extend([""] * n)
        i_major = col.get("major")
        out["major"].extend(self._ranks(cols, i_major, base) if i_major is not None else [None] * n)
        for fld in self.TEXT_FIELDS:
            idx = col.get(fld)
            out[fld].extend(self._pooled(fld, self._texts(cols, idx, base)) if idx is not None
                            else [""] * n)
        for fld in self.PLAIN_FIELDS:
            idx = col.get(fld)
            out[fld].extend(self._pooled(fld, self._texts(cols, idx, base, formulas=False)) if idx is not None
                            else [""] * n)
        for fld in DATE_FIELDS:
            idx = col.get(fld)
            out[fld].extend(cols[idx] if idx is not None else [None] * n)

    def _ranks(self, cols: _Columns, idx: int, base: int) -> list[bool | None]:
        """The major/minor column: each distinct cell read once; a cell that says neither
        (``RANKS``) is flagged and left empty, its line kept."""
        texts = self._texts(cols, idx, base, formulas=False)
        ranks = {t: parse_rank(t) for t in set(texts)}
        if any(type(r) is str for r in ranks.values()):
            for j, t in enumerate(texts):
                if type(ranks[t]) is str:
                    self._problem(base + j, idx, f"'{t[:40]}' says neither major nor minor "
                                                 "(MAJOR/MINOR, P/C/S, PARENT/CHILD/STANDALONE)")
            ranks = {t: None if type(r) is str else r for t, r in ranks.items()}
        return list(map(ranks.__getitem__, texts))

    def _pooled(self, fld: str, values: list[str]) -> list[str]:
        if fld not in self.POOLED_FIELDS:
            return values
        pool = self._pools.setdefault(fld, {})
        return list(map(pool.setdefault, values, values))

    def _add_status(self, cols: _Columns, base: int, n: int) -> None:
        statuses: list[str] = [""] * n
        # Columns are tried best first per row: fill from the worst so that the best overwrites.
        for k, idx in enumerate(reversed(self.header.columns.get("covered", []))):
            texts = self._texts(cols, idx, base, formulas=False)
            statuses = texts if k == 0 or all(texts) else [t or old for t, old in zip(texts, statuses)]
        cache = self._covered
        for text in set(statuses) - cache.keys():
            cache[text] = parse_covered(text)
        if self.header.uncovered:  # the not-covered export (``Layout.uncovered``)
            self.out["status"].extend(t or "NOT COVERED" for t in statuses)
            self.out["covered"].extend([False] * n)
        else:
            self.out["status"].extend(self._pooled("status", statuses))
            self.out["covered"].extend(map(cache.__getitem__, statuses))


def _build_lines(path_label: str, header: _Header, rows: Rows, summary: FileSummary,
                 errors: list[RowError], date_format: str | None, strings: bool = False) -> list[ContractLine]:
    """Rows -> lines: every field but the dates chunk by chunk, then the dates once each
    column's distinct values are all known (DD/MM vs MM/DD is a column-wide decision)."""
    acc = _Chunked(header, strings=strings)
    for first, chunk in rows:
        acc.add(first, chunk)
    out = acc.out
    total = len(out["rowno"])
    summary.rows_read = total
    if acc.blank:
        summary.skipped["blank rows"] += acc.blank

    dates: dict[str, list] = {}
    refused = False
    forced = DATE_FORMATS.get(date_format or "")
    distinct_by_field: dict[str, set] = {}
    whole: set[str] = set()  # fields whose distinct set is the whole column (every cell hashable)
    for fld in DATE_FIELDS:
        if acc.col.get(fld) is not None:
            try:
                distinct_by_field[fld] = set(out[fld])
                whole.add(fld)
            except TypeError:
                distinct_by_field[fld] = {v for v in out[fld] if _hashable(v)}
    # What the file as a whole proves about NN/NN/YYYY, for columns that prove nothing alone.
    proofs = [_slash_evidence(v) for v in distinct_by_field.values()]
    day_first, month_first = any(p[0] for p in proofs), any(p[1] for p in proofs)
    file_order = "dm" if day_first and not month_first else "md" if month_first and not day_first else None
    for fld in DATE_FIELDS:
        idx = acc.col.get(fld)
        dates[fld] = [None] * total
        if idx is None:
            continue
        raw = out[fld]
        distinct = distinct_by_field[fld]
        parser = _DateColumn(distinct, forced, file_order)
        if parser.error:
            # A column of coverage dates that cannot be read refuses the file; any other date
            # column (LDoS, end of renewal) is left empty and its lines kept, with a warning: a
            # column of "TBD" must not drop the coverage it sits beside (issue 14, 2b).
            coverage = fld in ("coverage_start", "coverage_end")
            errors.append(RowError(path_label, None, header.names[idx],
                                   parser.error if coverage else f"{parser.error}; column left empty, lines kept",
                                   kept=not coverage))
            refused |= coverage
            continue
        if fld in whole:  # each distinct value parsed once: a problem is among them or nowhere
            values = parser.convert(raw, distinct)
            problem = any(type(v) is DateProblem for v in parser.cache.values())
        else:
            values = parser.convert(raw)
            problem = any(type(v) is DateProblem for v in values)
        if problem:
            for j, v in enumerate(values):
                if type(v) is DateProblem:
                    if idx in acc.required:
                        acc.problems.setdefault(j, (header.names[idx], str(v)))
                    else:
                        acc.flags.append((j, header.names[idx], str(v), fld))
                    values[j] = None
        dates[fld] = values
    if refused:
        # Coverage periods are the whole point: guessed ones would mis-state every row.
        summary.skipped["rows in a file whose coverage dates were refused"] += total
        return []
    i_end = acc.col.get("coverage_end")
    starts, ends = dates["coverage_start"], dates["coverage_end"]
    if i_end is not None and acc.col.get("coverage_start") is not None and _ends_before_start(starts, ends):
        for j, (start, end) in enumerate(zip(starts, ends)):
            if start and end and end < start:
                acc.problems.setdefault(j, (header.names[i_end], f"coverage ends ({end}) before it starts ({start})"))

    lines = list(map(
        ContractLine, out["serial"], out["pid"], out["base_pid"], out["contract_number"], out["service_level"],
        dates["coverage_start"], dates["coverage_end"], out["status"], out["covered"], out["instance_id"],
        out["parent_instance_id"], out["parent_serial"], out["site_id"], out["site_name"], dates["ldos"],
        dates["end_of_renewal"], out["refurbished"], itertools.repeat(path_label), out["rowno"], out["major"]))
    software = acc.software - acc.problems.keys()
    if acc.flags:
        kept = [f for f in acc.flags if f[0] not in acc.problems and f[0] not in software]
        for j, column, message, fld in kept:
            errors.append(RowError(path_label, out["rowno"][j], column,
                                   f"{message}; line kept, {fld or 'this field'} left empty", kept=True))
        if kept:
            summary.notes.append(f"{len(kept)} bad cell(s) in optional columns left empty, lines kept")
    if acc.problems or software:
        for j, (column, message) in sorted(acc.problems.items()):
            errors.append(RowError(path_label, out["rowno"][j], column, message))
        if acc.problems:
            summary.skipped["rows with errors"] += len(acc.problems)
        if software:
            summary.skipped["software / PAK rows"] += len(software)
        drop = acc.problems.keys() | software
        lines = [ln for j, ln in enumerate(lines) if j not in drop]
    summary.lines = len(lines)
    return lines


def _ends_before_start(starts: list[date | None], ends: list[date | None]) -> bool:
    """Does any row end before it starts?  One C-level pass (a missing date never does)."""
    if None in set(starts):
        starts = list(map({None: date.min}.get, starts, starts))
    if None in set(ends):
        ends = list(map({None: date.max}.get, ends, ends))
    return any(map(operator.lt, ends, starts))
