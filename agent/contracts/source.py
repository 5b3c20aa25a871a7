"""What every file reader hands on: chunks of consecutive records (``Rows``), either lists of
cells or ``_Columns`` read a column at a time, and the text decoding the text formats share
(``decode_text``).  The readers are ``csv``, ``xlsx`` and ``json`` beside this module."""
from __future__ import annotations

from operator import itemgetter
from typing import Any, Iterable, Sequence

from agent.contracts.records import FileSummary


# Rows are converted a column at a time, in chunks: each distinct value (a date, a PID, a status)
# is converted once and the per-row work is list building, which is what lets a 120,000-line
# export load in well under a second.  Chunks bound the memory held as raw cells.
_CHUNK = 8192
# A contract or EoX export file (CSV, JSON) is read whole: 120,000 lines take about 30 MiB.  Far
# beyond any export, a file is refused before it is read.
MAX_FILE_BYTES = 512 << 20


class _Columns:
    """One chunk of consecutive records, read a column at a time: ``cols[i]`` is a new list of
    column i's cells, padded to the header width; ``cols.row(j)`` is record j's cells (for the
    blank-row check, the only per-record look).  ``clean``: every cell is known to be ASCII
    text without whitespace or '=' (nothing to trim, no formula)."""

    __slots__ = ("n", "_column", "_row", "clean")

    def __init__(self, n: int, column, row, clean: bool = False):
        self.n = n
        self._column = column
        self._row = row
        self.clean = clean

    def __getitem__(self, idx: int) -> list[Any]:
        return self._column(idx)

    def row(self, j: int) -> Sequence[Any]:
        return self._row(j)

    @classmethod
    def from_rows(cls, rows: list[list[Any]], width: int, pad: Any) -> "_Columns":
        for j, r in enumerate(rows):
            if len(r) < width:
                rows[j] = list(r) + [pad] * (width - len(r))
        return cls(len(rows), lambda idx: list(map(itemgetter(idx), rows)), rows.__getitem__)

    @classmethod
    def from_cells(cls, cells: list[str], width: int, first_column: list[str], clean: bool) -> "_Columns":
        """``cells``: records of exactly ``width`` cells each, laid end to end, except that
        column 0's values are ``first_column``'s."""
        return cls(len(first_column), lambda idx: cells[idx::width] if idx else first_column[:],
                   lambda j: [first_column[j], *cells[j * width + 1:(j + 1) * width]], clean)

    def select(self, keep: list[int]) -> "_Columns":
        return _Columns(len(keep), lambda idx: list(map(self._column(idx).__getitem__, keep)),
                        lambda j: self._row(keep[j]), self.clean)


# A source yields chunks of consecutive records as (row number of the first, chunk), blank
# records included, so that row numbers are the ones a person sees in Excel (a quoted multi-line
# cell is still one row).  A chunk is a list of records (lists of cells) or ``_Columns``.
Rows = Iterable[tuple[int, "list[list[Any]] | _Columns"]]


def decode_text(data: bytes, summary: FileSummary) -> str:
    try:
        text = data.decode("utf-8-sig")
        summary.encoding = "utf-8"
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")  # Excel's "CSV" on Windows
        summary.encoding = "cp1252"
        summary.notes.append("not UTF-8: read as Windows-1252")
    return text.lstrip("\ufeff")
