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
from agent.contracts.source import _CHUNK, Rows, _Columns, decode_text


# Plain CSV text (no quote character anywhere) is cut into cells by str.split, a chunk of records
# at a time: the same cells csv.reader gives, without a list per record.  Larger chunks, since
# the per-chunk work is a handful of C-level passes.
_PLAIN_CHUNK = 32768


def _csv_source(path: Path, label: str, summary: FileSummary, header_map,
                errors: list[RowError]) -> tuple[_Header, int, Rows] | str:
    text = decode_text(path.read_bytes(), summary)
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
                    return header, rowno, _csv_rows(text, delim, rowno, label, errors, len(cells))
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


def _csv_rows(text: str, delim: str, header_row: int, label: str, errors: list[RowError],
              width: int = 0) -> Rows:
    plain = _plain_body(text, header_row) if width else None
    if plain is not None:
        del text
        yield from _plain_rows(*plain, delim, header_row, width)
        return
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    n = 0  # records read so far: the spreadsheet row number of the last one
    chunk: list[list[str]] = []
    while True:
        try:
            for cells in reader:
                n += 1
                if n > header_row:
                    chunk.append(cells)
                    if len(chunk) == _CHUNK:
                        yield n - _CHUNK + 1, chunk
                        chunk = []
            if chunk:
                yield n - len(chunk) + 1, chunk
            return
        except csv.Error as exc:  # one broken record, not a broken file: keep reading after it
            if chunk:
                yield n - len(chunk) + 1, chunk
                chunk = []
            n += 1
            errors.append(RowError(label, n, "", f"malformed CSV record: {exc}"))


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


def _plain_rows(text: str, start: int, end: int, delim: str, header_row: int, width: int) -> Rows:
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
        yield first, list(map(str.split, chunk.split("\n"), itertools.repeat(delim)))
        first += records
        start = stop + 1
