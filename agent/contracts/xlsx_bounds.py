"""One streaming pass over a worksheet's XML before calamine reads it: how far its cells reach,
how many elements it holds, and which cells hold an error value (#N/A, #REF!...).

Why: calamine (Rust) builds a sheet as one dense rectangle from A1 to its farthest cell, and a
cell far past Excel's limits (row 1,000,000,000, or XFD1048576 beside row 1) makes it abort the
whole process on the allocation: no exception, no message.  So the reach of every cell is known,
exactly, before calamine sees the sheet, and a sheet whose rectangle is too large is refused with
its sheet, row and column.  And calamine reads an error cell as empty, so a coverage end holding
#N/A would read as "no date"; the pass keeps each error cell's text and position, and the reader
puts it back, as openpyxl gave it.

How it stays fast (a 120,000-row export is 50-130 MB of XML): the bytes are never parsed cell by
cell in Python.  Per chunk (cut after a ``</row>``), C-speed ``bytes.count`` and regex scans find
the elements, the row numbers (row tags only: ~1 match per row) and only the cells that reach
*past* the rectangle known so far: a regex for "column letters greater than C or row number
greater than R" matches nothing in a well-formed sheet, and each match raises C or R.  A chunk
whose markup is irregular (cells without an ``r`` reference, attributes spelled with single quotes
or blanks around '=', namespace prefixes) is walked tag by tag instead, exactly as calamine
positions cells: a cell without a reference follows the one before it.
"""
from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field

MAX_ROWS = 1_048_576  # Excel's own limits: no export goes past them
MAX_COLUMNS = 16_384
# The rectangle calamine allocates (A1 to the farthest cell), in cells of ~32 bytes, plus the
# Python lists it is handed over in: 12 million is 120,000 rows of 100 columns.
MAX_RANGE_CELLS = 12_000_000
_READ = 256 << 10  # inflated bytes per read: a chunk stays in the CPU cache for the several scans over it
_MAX_CARRY = 16 << 20  # a row longer than this is cut at a '>' instead of its end tag

# An attribute named r / t, however spelled (quotes, blanks around '='); never r:id or a longer name.
_ATTR = rb"""(?<![\w:.-])%s\s*=\s*["']\s*"""
_ATTR_R = re.compile(_ATTR % b"r" + rb"""([^"']*)""")
_ROW_NUM = re.compile(rb'<row r="(\d+)"')  # the regular spelling: literal-led, so the scan is C-speed
_ROW_TAG = re.compile(rb"<(?:[\w.-]+:)?row[\s/>][^>]*")  # any spelling
_PREFIXED = re.compile(rb"<[\w.-]+:(c|row)[\s/>]")
_CELL_TAG = re.compile(rb"<(?:[\w.-]+:)?c\s[^>]*")  # any spelling, for the irregular case
_ERROR_CELLS = (b't="e"', b"t='e'")
_REF = re.compile(rb"([A-Za-z]{1,4})([0-9]{1,12})\s*$")
_VALUE = re.compile(rb"<(?:[\w.-]+:)?v>([^<]{0,255})<")


class SheetTooLarge(ValueError):
    """The sheet reaches past what is read; ``row``/``column`` locate the cell (1-based)."""

    def __init__(self, message: str, row: int | None = None, column: int | None = None):
        super().__init__(message)
        self.row = row
        self.column = column


@dataclass
class SheetReach:
    rows: int = 0  # the last row any cell or row tag can reach (1-based; an upper bound)
    columns: int = 0  # the last column any cell can reach: explicit references, plus the widest run of cells without one
    elements: int = 0  # start tags: an upper bound on the elements a parser builds
    errors: dict[tuple[int, int], str] = field(default_factory=dict)  # (row, column) -> "#N/A"
    far: tuple[int, int] = (0, 0)  # where the farthest row / column was found (row, column)
    last_row: int = 0  # the row read last (or a bound on it): a row without a number follows it
    referenced: int = 0  # the last column an explicit cell reference names
    rows_checked: int = 0  # no cell reference names a row past this (>= rows)
    unreferenced: int = 0  # the most cells without a reference in one row


def column_number(letters: str | bytes) -> int:
    n = 0
    for ch in letters.upper() if isinstance(letters, str) else letters.upper().decode("ascii"):
        n = n * 26 + ord(ch) - 64
    return n


def column_letters(n: int) -> str:
    letters = ""
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _greater(text: str, alphabet: str) -> str:
    """A regex for strings over ``alphabet`` (in order) that read as greater than ``text``: longer,
    or as long and larger at the first place they differ (no leading zeros or 'A's assumed:
    a padded reference only matches too often, which is safe)."""
    one = f"[{alphabet[0]}-{alphabet[-1]}]"
    alts = [f"{one}{{{len(text) + 1},}}"]
    for i, ch in enumerate(text):
        at = alphabet.index(ch)
        if at + 1 < len(alphabet):
            rest = len(text) - i - 1
            alts.append(re.escape(text[:i]) + f"[{alphabet[at + 1]}-{alphabet[-1]}]" + (f"{one}{{{rest}}}" if rest else ""))
    return "(?:" + "|".join(alts) + ")"


_DIGITS, _LETTERS = "0123456789", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _past(columns: int, rows: int, regular: bool) -> re.Pattern:
    """Cell references beyond column ``columns`` or row ``rows`` (regexes are cached by re).
    ``regular``: every cell's reference is spelled `` r="``, so the scan can lead with that literal
    (a row's number has no letters: it never matches)."""
    col = _greater(column_letters(columns), _LETTERS) if columns else "[A-Z]+"
    row = _greater(str(rows), _DIGITS) if rows else "[0-9]+"
    ref = f"""(?:({col})([0-9]+)|([A-Z]+)({row}))\\s*["']""".encode()
    return re.compile((b' r="' if regular else _CELL_TAG.pattern + _ATTR % b"r") + ref, re.I)


def scan_sheet(z: zipfile.ZipFile, info: zipfile.ZipInfo, sheet: str, element_budget: int) -> SheetReach:
    """The reach, element count and error cells of one worksheet part; raises SheetTooLarge when
    it goes past Excel's rows or columns, or its rectangle past MAX_RANGE_CELLS, and ValueError
    when its elements pass ``element_budget``."""
    reach = SheetReach()
    carry = b""
    with z.open(info) as fh:
        while True:
            chunk = fh.read(_READ)
            buf = carry + chunk
            if not buf:
                break
            if chunk:
                cut = buf.rfind(b"</row>") + 6
                if cut < 6:
                    cut = buf.rfind(b">") + 1 if len(buf) > _MAX_CARRY else 0
                buf, carry = buf[:cut], buf[cut:]
                if not buf:
                    continue
            else:
                carry = b""
            reach.elements += buf.count(b"<") - buf.count(b"</")
            if reach.elements > element_budget:
                raise ValueError(reach.elements)
            _scan_chunk(buf, reach, sheet)
            if not chunk:
                break
    return reach


def _scan_chunk(buf: bytes, reach: SheetReach, sheet: str) -> None:
    row_before = reach.last_row
    # Regular markup, as Excel and every library write it: each cell tag and each row tag carries
    # one ` r="` (a few C-speed counts tell).  Anything else (cells without a reference, quotes
    # or blanks around '=', prefixes, rich text, the parts around sheetData) is read tag by tag.
    rows = buf.count(b"<row")
    cells = buf.count(b"<c")
    numbered = _ROW_NUM.findall(buf)
    regular = buf.count(b' r="') == rows + cells and len(numbered) == rows
    unnumbered = 0
    if not regular:
        tags = _ROW_TAG.findall(buf)
        numbered = [m[1] for m in map(_ATTR_R.search, tags) if m and m[1].isdigit()]
        unnumbered = len(tags) - len(numbered)
    # Rows: the numbered ones, and those without a number, each one past the row before it:
    # bounded by the highest number plus how many there are.
    top = max(map(int, numbered)) if numbered else 0
    if unnumbered:
        _raise_rows(reach, max(top, reach.rows, row_before) + unnumbered, 0, sheet)
        reach.last_row = reach.rows
    elif numbered:
        _raise_rows(reach, top, 0, sheet)
        reach.last_row = int(numbered[-1])
    # Cells with a reference: only those past the rectangle known so far match, each moves it out.
    pos = 0
    while True:
        # The row threshold is rounded up (at most 1/8 over) so that a few dozen regexes serve a
        # whole sheet; the rectangle then counts to the threshold, which no cell was found past.
        reach.rows_checked = max(reach.rows_checked, _rounded(reach.rows))
        m = _past(reach.referenced, reach.rows_checked, regular).search(buf, pos)
        if m is None:
            break
        if m[1]:
            reach.referenced = column_number(m[1])
            _raise_columns(reach, reach.referenced, int(m[2]), sheet)
            _raise_columns(reach, reach.referenced + reach.unreferenced, int(m[2]), sheet)
        else:
            _raise_rows(reach, int(m[4]), column_number(m[3]), sheet)
        pos = m.start() + 1
    # Cells without a reference (or spelled otherwise) follow the cell before them: at most the
    # widest run of them past the last referenced column.
    if not regular:
        widest = max(_cells(part) for part in buf.split(b"</row>"))
        if widest > reach.unreferenced:
            reach.unreferenced = widest
            _raise_columns(reach, reach.referenced + widest, reach.rows, sheet)
    for needle in _ERROR_CELLS if not regular else _ERROR_CELLS[:1]:  # rare: each is located on its own
        at = buf.find(needle)
        while at >= 0:
            _error_at(buf, at, row_before, reach)
            at = buf.find(needle, at + 1)
    _check_area(reach, sheet)


def _error_at(buf: bytes, at: int, row_before: int, reach: SheetReach) -> None:
    start = buf.rfind(b"<", 0, at)
    tag_end = buf.find(b">", at)
    ref = _ATTR_R.search(buf, start, tag_end)
    cell = _REF.match(ref[1]) if ref else None
    if cell:
        row, col = int(cell[2]), column_number(cell[1])
    else:
        row_at = buf.rfind(b"<row", 0, start)
        number = _ROW_NUM.match(buf, row_at) if row_at >= 0 else None
        row = int(number[1]) if number else row_before + 1 + buf.count(b"<row", 0, max(row_at, 0))
        col = _cells(buf[max(row_at, 0):start]) + 1
    _error(reach, buf, tag_end, row, col)


def _rounded(n: int) -> int:
    step = 1 << max(n.bit_length() - 3, 0)
    return -(-n // step) * step


def _cells(xml: bytes) -> int:
    """Cell tags in ``xml``, however spelled (an upper bound: <col>, <color> count too)."""
    return xml.count(b"<c") - xml.count(b"<col") + (len(_PREFIXED.findall(xml)) if b":c" in xml else 0)


def _error(reach: SheetReach, buf: bytes, after: int, row: int, col: int) -> None:
    v = _VALUE.search(buf, after, after + 512)
    reach.errors[(row, col)] = v[1].decode("utf-8", "replace").strip() if v else "#ERROR"


def _raise_rows(reach: SheetReach, row: int, col: int, sheet: str) -> None:
    if row > reach.rows:
        if row > MAX_ROWS:
            raise SheetTooLarge(f"sheet '{sheet}' goes past row {MAX_ROWS:,}, Excel's last (a row numbered "
                                f"{row:,}{f' in column {column_letters(col)}' if col else ''}, or repeated rows); "
                                "nothing of this file was read", row, col or None)
        reach.rows = row
        reach.far = (row, reach.far[1])


def _raise_columns(reach: SheetReach, col: int, row: int, sheet: str) -> None:
    if col > reach.columns:
        if col > MAX_COLUMNS:
            raise SheetTooLarge(f"sheet '{sheet}' has a cell in column {col:,} (row {row:,}), past column "
                                f"{MAX_COLUMNS:,} (XFD), Excel's last; nothing of this file was read", row, col)
        reach.columns = col
        reach.far = (reach.far[0], col)
    _raise_rows(reach, row, col, sheet)


def _check_area(reach: SheetReach, sheet: str) -> None:
    if max(reach.rows, reach.rows_checked) * reach.columns > MAX_RANGE_CELLS:
        raise SheetTooLarge(
            f"sheet '{sheet}' spans {reach.rows:,} rows x {reach.columns:,} columns (to row {reach.far[0]:,}, "
            f"column {column_letters(reach.far[1])}): more than the {MAX_RANGE_CELLS:,} cells read (a cell far "
            "outside the data?); nothing of this file was read", reach.far[0], reach.far[1])
