"""XLSX / XLSM contract exports (openpyxl, read-only): the first sheet with a recognised header
row in its first rows, read in chunks of records.

A workbook is a zip of XML parts, so a few MiB can stand for GiB (a shared-strings table that
expands, a sheet of repeated rows) or for a DTD whose entities expand.  Before openpyxl reads a
part, the package is checked from its zip directory (``_check_package``: how much each part
unpacks to, which the zip reader also enforces while it inflates), every XML part's prolog is
checked for a DTD, and the sheets' elements are counted by a fast pass over their inflated bytes
(``_count_elements``, about 0.3 s per 100 MiB): openpyxl's time is per element (and it parses a
sheet without a <dimension> element in full when it loads), so that count bounds it.  Rows are
bounded as Excel bounds them, and the columns read stop at the header's width, so neither a
sheet dimension that claims column XFD nor a row numbered in the billions makes padding.
"""
from __future__ import annotations

import itertools
import re
import zipfile
from pathlib import Path

from agent.contracts.layouts import HEADER_SCAN_ROWS, _Header, _match_header
from agent.contracts.records import FileSummary, RowError
from agent.contracts.source import _CHUNK, Rows

# What one part may unpack to.  Worksheets are streamed; every other part (the shared-strings
# table above all) is held in memory whole, as Python strings several times its size.
MAX_SHEET_BYTES = 256 << 20
MAX_PART_BYTES = 32 << 20
MAX_PACKAGE_BYTES = 1 << 30  # every part together, as the zip directory declares them
MAX_PARTS = 10_000
# openpyxl's work on the sheets, in XML elements: a cell is two or three (<c><v>, <c><is><t>), and a
# sheet without a <dimension> element counts twice (openpyxl parses it once more to size it).
# 120,000 rows of 40 columns, as Excel writes them (shared strings), are about 9.6 million.
# openpyxl reads 180,000 to 400,000 elements a second, so this bounds a workbook to about a minute.
MAX_SHEET_ELEMENTS = 10_000_000
MAX_ROWS = 1_048_576  # Excel's own limit: no export has more
MAX_HEADER_COLUMNS = 1024  # the header search reads this far to the right
_PROLOG = 1 << 16  # an XML part's prolog (declaration, comments, DOCTYPE) must fit in this
_ELEMENT_START = re.compile(rb"<[A-Za-z_]")
_DTD = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.I)
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension[\s/>]")


def _mib(n: int) -> str:
    return f"{n / (1 << 20):,.1f} MiB"


def _check_package(path: Path) -> str | None:
    """Why this workbook must not be opened, or None.  Reads the zip directory and each XML
    part's first 64 KiB only."""
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            if len(infos) > MAX_PARTS:
                return f"the workbook holds {len(infos):,} parts, more than the {MAX_PARTS:,} accepted; not read"
            for info in infos:
                cap = MAX_SHEET_BYTES if _is_sheet(info.filename) else MAX_PART_BYTES
                if info.file_size > cap:
                    return (f"part {info.filename} unpacks to {_mib(info.file_size)}, more than the {_mib(cap)} "
                            "accepted (a shared-strings or sheet bomb, or save the sheet as CSV); not read")
            total = sum(i.file_size for i in infos)
            if total > MAX_PACKAGE_BYTES:
                return (f"the workbook unpacks to {_mib(total)}, more than the {_mib(MAX_PACKAGE_BYTES)} accepted "
                        "(a zip bomb, or save the sheet as CSV); not read")
            elements = 0
            for info in infos:
                if info.filename.endswith((".xml", ".rels", ".vml")) and info.file_size:
                    problem = _check_prolog(z, info)
                    if problem:
                        return problem
                if _is_sheet(info.filename):
                    # Before openpyxl opens the workbook: it parses a sheet with no <dimension>
                    # element in full just to size it, when it loads.
                    with z.open(info) as fh:
                        sized = _DIMENSION.search(fh.read(_PROLOG)) is not None
                    elements += _count_elements(z, info) * (1 if sized else 2)
                    if elements > MAX_SHEET_ELEMENTS:
                        return (f"the workbook's sheets need more than {MAX_SHEET_ELEMENTS:,} XML elements read "
                                f"({info.filename} reached {elements:,}), more than any export (repeated rows?; "
                                "save the sheet as CSV); not read")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, ValueError) as exc:
        return f"not a readable .xlsx workbook ({type(exc).__name__}: {exc})"
    return None


def _is_sheet(name: str) -> bool:
    return name.startswith(("xl/worksheets/", "xl/chartsheets/", "xl/dialogsheets/"))


def _check_prolog(z: zipfile.ZipFile, info: zipfile.ZipInfo) -> str | None:
    with z.open(info) as fh:
        head = fh.read(_PROLOG)
    start = _ELEMENT_START.search(head)
    if start is None:
        return f"part {info.filename} has no XML element in its first 64 KiB: not a workbook part; not read"
    if _DTD.search(head, 0, start.start()):
        return (f"part {info.filename} declares a DTD (<!DOCTYPE>/<!ENTITY>), which no workbook needs "
                "(entities can expand without bound); not read")
    return None


def _count_elements(z: zipfile.ZipFile, member: zipfile.ZipInfo) -> int:
    """Start tags in one part (every '<' that does not open an end tag), counted over its
    inflated bytes without parsing: an upper bound on the elements a parser will build."""
    count = 0
    carry = b""
    with z.open(member) as fh:
        while chunk := fh.read(1 << 20):
            buf = carry + chunk
            # "</" split over two chunks: the carried '<' is counted again with its chunk.
            count += buf.count(b"<") - buf.count(b"</") - carry.count(b"<")
            carry = buf[-1:]
    return count


def _xlsx_source(path: Path, label: str, summary: FileSummary, header_map,
                 errors: list[RowError]) -> tuple[_Header, int, Rows] | str:
    try:
        import openpyxl
    except ImportError:  # pragma: no cover - openpyxl is a declared dependency
        return "openpyxl is not installed: save the sheet as CSV"
    problem = _check_package(path)
    if problem:
        return problem
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile/XML errors of every kind: a broken file is a message
        return f"not a readable .xlsx workbook ({type(exc).__name__}: {exc})"
    try:
        for ws in wb.worksheets:
            # The sheet's own dimension is not trusted: one claiming A1:XFD1048576 would pad
            # every row to 16,384 cells.
            ws.reset_dimensions()
            it = ws.iter_rows(values_only=True)
            for rowno, cells in enumerate(it, 1):
                if rowno > HEADER_SCAN_ROWS:
                    break
                header = _match_header(list(cells[:MAX_HEADER_COLUMNS]), header_map)
                if header:
                    summary.sheet = ws.title
                    width = min(len(cells), MAX_HEADER_COLUMNS)
                    rows = ws.iter_rows(min_row=rowno + 1, max_col=width, values_only=True)
                    return header, rowno, _xlsx_rows(wb, rows, rowno + 1, label, ws.title, errors)
    except Exception as exc:  # noqa: BLE001 - a malformed sheet (bad XML, bad cell) is a message
        wb.close()
        return _malformed(exc)
    wb.close()
    return "no sheet has a recognised header row in its first %d rows" % HEADER_SCAN_ROWS


def _malformed(exc: BaseException, sheet: str = "") -> str:
    where = f"sheet '{sheet}' " if sheet else "a sheet "
    return f"{where}is malformed ({type(exc).__name__}: {str(exc)[:200]}); nothing of this file was read"


def _xlsx_rows(wb, it, first: int, label: str, sheet: str, errors: list[RowError]) -> Rows:
    try:
        while True:
            chunk: list[list] = []
            try:
                chunk.extend(map(list, itertools.islice(it, _CHUNK)))
            except Exception as exc:  # noqa: BLE001 - bad XML further down the sheet
                # extend() kept the rows read before the break: the bad one is the next.
                errors.append(RowError(label, first + len(chunk), "", _malformed(exc, sheet), fatal=True))
                return
            if not chunk:
                return
            if first + len(chunk) - 1 > MAX_ROWS:
                errors.append(RowError(label, MAX_ROWS + 1, "", (
                    f"sheet '{sheet}' goes past row {MAX_ROWS:,}, Excel's last (a row numbered beyond it, or "
                    "repeated rows); nothing of this file was read"), fatal=True))
                return
            yield first, chunk
            first += len(chunk)
    finally:
        wb.close()
