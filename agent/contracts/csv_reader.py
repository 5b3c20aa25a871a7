"""CSV (and .txt / .tsv) contract exports: the delimiter and header row found from the first
rows, then the records in chunks.  Quote-free text is cut by ``str.split`` (``_plain_rows``), which
gives csv.reader's cells without a list per record; anything else goes through csv.reader."""
from __future__ import annotations

import csv
import io
import itertools
from pathlib import Path

from agent.contracts.identifiers import _ASCII_SPACE
from agent.contracts.layouts import HEADER_SCAN_ROWS, _Header, _match_header
from agent.contracts.records import FileSummary, RowError
from agent.contracts.source import _CHUNK, MAX_FILE_BYTES, Rows, _Columns, decode_text
from agent.core.untrusted import read_capped


# Plain CSV text (no quote character anywhere) is cut into cells by str.split, a chunk of records
# at a time: the same cells csv.reader gives, without a list per record.  Larger chunks, since
# the per-chunk work is a handful of C-level passes.
_PLAIN_CHUNK = 32768


def _csv_source(path: Path, label: str, summary: FileSummary, header_map,
                errors: list[RowError]) -> tuple[_Header, int, Rows] | str:
    text = decode_text(read_capped(path, MAX_FILE_BYTES, "the file"), summary)
    head_lines = list(itertools.islice(io.StringIO(_head(text, HEADER_SCAN_ROWS + 5), newline=""),
                                       HEADER_SCAN_ROWS + 5))
    # Try each delimiter on the first rows and keep the one under which a header is recognised:
    # more reliable than csv.Sniffer on files with a title block above the header.
    for delim in (",", ";", "\t", "|"):
        try:
            for rowno, cells in enumerate(csv.reader(head_lines, delimiter=delim), 1):
                if rowno > HEADER_SCAN_ROWS:
                    break
                header = _match_header(cells, header_map)
                if header:
                    summary.delimiter = delim
                    return header, rowno, _csv_rows(text, delim, rowno, label, errors, len(cells), _named_width(cells))
        except csv.Error:
            continue  # a broken record in the first rows: the header search goes on below it
    return "no header row recognised in the first %d rows" % HEADER_SCAN_ROWS


def _head(text: str, lines: int) -> str:
    """A prefix of ``text`` that holds its first ``lines`` lines whole, line ends included (a
    StringIO over all of a large file would first scan every line end in it)."""
    cut = 1 << 16
    while cut < len(text):
        head = text[:cut]
        if head.count("\n") + head.count("\r") > 2 * (lines + 1):  # lines + 1 line ends, "\r\n" or not
            return head
        cut <<= 2
    return text


def _plain_body(text: str, header_row: int) -> tuple[str, int, int] | None:
    """(text, start, end): the records after the header are ``text[start:end]``, one per line
    ("\n" between them; none when start > end), when the text is plain enough that splitting on
    the delimiter gives exactly csv.reader's cells: no quote character anywhere (so no quoted
    field, no multi-line cell), no NUL, no bare CR, no line longer than csv's field size limit.
    None otherwise: csv.reader reads the file (and reports its broken records)."""
    if '"' in text or "\x00" in text:
        return None
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if "\r" in text:
            return None  # a bare CR ends a record for csv.reader
    start = 0
    for _ in range(header_row):
        start = text.find("\n", start) + 1
        if not start:
            return text, 1, 0  # nothing after the header
    end = len(text) - 1 if text.endswith("\n") else len(text)  # the last line end has no record after it
    if _has_long_line(text, start, end, csv.field_size_limit()):
        return None
    return text, start, end


def _has_long_line(text: str, start: int, end: int, limit: int) -> bool:
    """Is a line of ``text[start:end]`` longer than ``limit``?  Such a line holds one of the
    positions ``start + k * step`` (step <= limit), so the lines through those are measured."""
    if end - start <= limit:
        return False
    if limit < 4096:
        return max(map(len, text[start:end].split("\n"))) > limit
    for pos in range(start, end, limit // 2):
        lo = text.rfind("\n", start, pos) + 1 or start
        hi = text.find("\n", pos, end)
        if (end if hi < 0 else hi) - lo > limit:
            return True
    return False


# A cell that runs over more lines than this is no contract field (an address, a note): a quote
# opened it and never closed where the writer meant.
MAX_CELL_LINES = 50


class _Shape:
    """What the reader learns about the records' shape: records with fewer cells than the
    header names (the file is cut, or its quoting broken: refused, never padded), and a quote
    that opens a field running over lines that are themselves records (refused, naming where
    it starts)."""

    def __init__(self, label: str, named: int, delim: str, errors: list[RowError]):
        self.label, self.named, self.delim, self.errors = label, named, delim, errors
        self.short = 0
        self.first_short: tuple[int, int] | None = None  # (row, cells)

    def check_short(self, first: int, records: list[list[str]]) -> None:
        named = self.named
        for j, cells in enumerate(records):
            if len(cells) < named and any(cells):  # blank records are skipped, not short
                self.short += 1
                if self.first_short is None:
                    self.first_short = (first + j, len(cells))

    def runaway(self, row: int, cells: list[str], start: int, end: int) -> bool:
        """A record read from lines ``start``..``end``: is it a field swallowing records?"""
        spanned = end - start + 1
        least = max(1, self.named - 1)  # delimiters on a swallowed record's line
        for cell in cells:
            if "\n" not in cell and "\r" not in cell:
                continue
            shaped = sum(1 for ln in cell.splitlines()[1:] if ln.count(self.delim) >= least)
            if shaped or spanned > MAX_CELL_LINES:
                what = f"; {shaped} of them shaped like records" if shaped else ""
                self.errors.append(RowError(self.label, row, "", (
                    f"a quote (\") opens a field at line {start} that runs to line {end} ({spanned} lines{what}): "
                    "a stray quote swallows the records after it; fix the quoting, nothing of this file was read"),
                    fatal=True))
                return True
        return False

    def finish(self) -> None:
        if self.first_short is not None:
            row, cells = self.first_short
            self.errors.append(RowError(self.label, row, "", (
                f"{cells} cell(s) where the header names {self.named} columns"
                + (f" (and {self.short - 1} more row(s) like it)" if self.short > 1 else "")
                + ": the file is cut short or its quoting is broken; nothing of this file was read"), fatal=True))


def _named_width(cells: list[str]) -> int:
    """Columns the header names: up to its last non-blank cell (a trailing delimiter adds none)."""
    named = len(cells)
    while named and not cells[named - 1].strip():
        named -= 1
    return named


def _csv_rows(text: str, delim: str, header_row: int, label: str, errors: list[RowError],
              width: int = 0, named: int = 0) -> Rows:
    shape = _Shape(label, named or width, delim, errors)
    plain = _plain_body(text, header_row) if width else None
    if plain is not None:
        del text
        yield from _plain_rows(*plain, delim, header_row, width, shape)
        shape.finish()
        return
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    n = 0  # records read so far: the spreadsheet row number of the last one
    line = 0  # the physical line the last record ended on
    chunk: list[list[str]] = []
    while True:
        try:
            for cells in reader:
                n += 1
                start, line = line + 1, reader.line_num
                if n > header_row:
                    if line > start and shape.runaway(n, cells, start, line):
                        return
                    chunk.append(cells)
                    if len(chunk) == _CHUNK:
                        shape.check_short(n - _CHUNK + 1, chunk)
                        yield n - _CHUNK + 1, chunk
                        chunk = []
            if chunk:
                shape.check_short(n - len(chunk) + 1, chunk)
                yield n - len(chunk) + 1, chunk
            shape.finish()
            return
        except csv.Error as exc:  # one broken record, not a broken file: keep reading after it
            if chunk:
                shape.check_short(n - len(chunk) + 1, chunk)
                yield n - len(chunk) + 1, chunk
                chunk = []
            n += 1
            if "field larger than field limit" in str(exc) and reader.line_num > line + 1:
                # csv's 128 KiB cell limit hit by a field that runs over lines: a quote that never
                # closed where it should.  The lines it ran over are lost whatever comes next.
                errors.append(RowError(label, n, "", (
                    f"a quote (\") opens a field at line {line + 1} that runs past line {reader.line_num} and "
                    f"{csv.field_size_limit() // 1024} KiB: a stray quote swallows the records after it; fix the "
                    "quoting, nothing of this file was read"), fatal=True))
                return
            errors.append(RowError(label, n, "", f"malformed CSV record: {exc}"))
            line = reader.line_num


_BLANKS = tuple(_ASCII_SPACE.replace("\n", ""))  # what a cell may need trimming for


def _no_formula(chunk: str, delim: str) -> bool:
    """Does no cell of a chunk of records begin with '='?  ("C9300-48P=": a spare's PID ends with
    one.)  Gives up, saying no, after a few hundred '='."""
    pos = chunk.find("=")
    for _ in range(256):
        if pos < 0:
            return True
        if pos == 0 or chunk[pos - 1] in (delim, "\n"):
            return False
        pos = chunk.find("=", pos + 1)
    return False


def _plain_rows(text: str, start: int, end: int, delim: str, header_row: int, width: int, shape: _Shape) -> Rows:
    """Quote-free records (``text[start:end]``, see ``_plain_body``) -> chunks of columns, one
    str.split per chunk of about ``_PLAIN_CHUNK`` records.  A "\n" is glued in front of every
    record but the first; every record has exactly ``width`` cells when there are ``width``
    cells per record in all and each "\n" sits in a column-0 cell, which the column-0 cells
    joined and split back on "\n" (their clean values) tell at once.  A chunk with a short or
    long record is split record by record instead, as csv.reader would give it."""
    glue = delim + "\n"
    first = header_row + 1  # row number of the chunk's first record
    sample = text[start:start + (1 << 16)]  # characters per chunk, from the line length at the top
    span = max(1, len(sample) * _PLAIN_CHUNK // (sample.count("\n") + 1))
    while start <= end:
        stop = text.find("\n", min(start + span, end), end)
        if stop < 0:
            stop = end
        chunk = text[start:stop]
        glued = chunk.replace("\n", glue)
        records = (len(glued) - len(chunk)) // len(delim) + 1  # a glue per line end
        cells = glued.split(delim)
        del glued
        if len(cells) == records * width:
            firsts = "".join(cells[::width]).split("\n")
            if len(firsts) == records:
                clean = chunk.isascii() and not any(c in chunk for c in _BLANKS) and _no_formula(chunk, delim)
                yield first, _Columns.from_cells(cells, width, firsts, clean)
                first += records
                start = stop + 1
                continue
        del cells
        records_cells = list(map(str.split, chunk.split("\n"), itertools.repeat(delim)))
        shape.check_short(first, records_cells)
        yield first, records_cells
        first += records
        start = stop + 1
