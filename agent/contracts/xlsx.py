"""XLSX / XLSM contract exports, read by calamine (python-calamine, Rust): the first sheet with a
recognised header row in its first rows, handed on in chunks of records.

Why calamine: openpyxl builds Python objects per XML element and took 16 s for a 120,000-line
export; calamine parses the sheet in Rust and hands over plain rows.

A workbook is a zip of XML parts, so a few MiB can stand for GiB (a shared-strings table that
expands, a sheet of repeated rows) or for a DTD whose entities expand.  Before calamine reads a
part, the package is checked from its zip directory (``_check_package``: how much each part
unpacks to, which the zip reader also enforces while it inflates) and every XML part's prolog is
checked for a DTD.  Then one streaming pass per sheet (``xlsx_bounds.scan_sheet``) counts its
elements (the budget that bounds the time any reader spends), finds how far its cells reach
(calamine allocates A1 to the farthest cell at once, and aborts the process, no exception, on a
cell far past Excel's limits: such a sheet is refused with its row and column before calamine
sees it) and keeps the error cells (#N/A, #REF!), which calamine reads as empty and which are put
back so that a date cell holding one is reported as that error.  A sheet calamine finds malformed
is parsed again with expat up to the fault, so the message names the row.  The price list reader
(agent/quote/prices.py) still uses openpyxl, with this module's package checks.
"""
from __future__ import annotations

import io
import posixpath
import re
import zipfile
import xml.etree.ElementTree as ET
from pathlib import Path

from agent.contracts.layouts import HEADER_SCAN_ROWS, _Header, _match_header
from agent.contracts.records import FileSummary, RowError
from agent.contracts.source import _CHUNK, MAX_FILE_BYTES, Rows
from agent.contracts.xlsx_bounds import SheetReach, SheetTooLarge, column_letters, scan_sheet

_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

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
MAX_HEADER_COLUMNS = 1024  # the header search reads this far to the right
_PROLOG = 1 << 16  # an XML part's prolog (declaration, comments, DOCTYPE) must fit in this
_ELEMENT_START = re.compile(rb"<[A-Za-z_]")
_DTD = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.I)
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension[\s/>]")


def _mib(n: int) -> str:
    return f"{n / (1 << 20):,.1f} MiB"


def _check_package(path: Path | io.BytesIO, count_elements: bool = True) -> str | None:
    """Why this workbook must not be opened, or None.  Reads the zip directory and each XML
    part's first 64 KiB only; with ``count_elements`` (openpyxl's readers: the price list) also
    counts each sheet's elements as openpyxl will read them (the contract reader's own pass,
    ``xlsx_bounds.scan_sheet``, counts them for calamine)."""
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
                if count_elements and _is_sheet(info.filename):
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
        import python_calamine
    except ImportError:  # pragma: no cover - python-calamine is a declared dependency
        return "python-calamine is not installed: save the sheet as CSV"
    if path.stat().st_size > MAX_FILE_BYTES:
        return f"the file is {_mib(path.stat().st_size)}, more than the {_mib(MAX_FILE_BYTES)} accepted; not read"
    # Read once: the checks and calamine see the same bytes (a file changed in between cannot
    # hand calamine a sheet the bounds pass never saw).
    data = path.read_bytes()
    problem = _check_package(io.BytesIO(data), count_elements=False)
    if problem:
        return problem
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            parts = sheet_parts(z)
            reaches = _reaches(z, parts)
    except SheetTooLarge as exc:
        errors.append(RowError(label, exc.row, column_letters(exc.column) if exc.column else "", str(exc),
                               fatal=True))
        return ""  # said above, with its row and column
    except _Refused as exc:
        return str(exc)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, ValueError, KeyError,
            ET.ParseError) as exc:
        return f"not a readable .xlsx workbook ({type(exc).__name__}: {exc})"
    try:
        wb = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - zip/XML errors of every kind: a broken file is a message
        return f"not a readable .xlsx workbook ({type(exc).__name__}: {exc})"
    try:
        for name in wb.sheet_names:
            if name not in reaches:  # a chart or dialog sheet: no cells
                continue
            try:
                values = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
            except Exception as exc:  # noqa: BLE001 - bad XML in the sheet: say where, from the XML itself
                with zipfile.ZipFile(io.BytesIO(data)) as z:
                    return _malformed_at(z, parts[name], name, label, errors, exc)
            _put_errors(values, reaches[name].errors)
            for rowno, cells in enumerate(values[:HEADER_SCAN_ROWS], 1):
                header = _match_header(cells[:MAX_HEADER_COLUMNS], header_map)
                if header:
                    summary.sheet = name
                    return header, rowno, _chunks(values, rowno)
    finally:
        wb.close()
    return "no sheet has a recognised header row in its first %d rows" % HEADER_SCAN_ROWS


class _Refused(ValueError):
    pass


def sheet_parts(z: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """Worksheet name -> its zip member, from xl/workbook.xml and its relationships (both parts were
    checked for a DTD and a size cap already)."""
    names = set(z.namelist())
    book = ET.fromstring(z.read("xl/workbook.xml"))
    rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels")) if "xl/_rels/workbook.xml.rels" in names else None
    targets = {rel.get("Id"): rel.get("Target", "") for rel in (rels if rels is not None else ())}
    parts = {}
    for sheet in book.iter(f"{{{_MAIN_NS}}}sheet"):
        target = targets.get(sheet.get(f"{{{_REL_NS}}}id"), "")
        member = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
        if member in names and member.startswith("xl/worksheets/"):
            parts[sheet.get("name", "")] = z.getinfo(member)
    return parts


def _reaches(z: zipfile.ZipFile, parts: dict[str, zipfile.ZipInfo]) -> dict[str, SheetReach]:
    reaches, elements = {}, 0
    for name, info in parts.items():
        try:
            reaches[name] = reach = scan_sheet(z, info, name, MAX_SHEET_ELEMENTS - elements)
        except SheetTooLarge:
            raise
        except ValueError as exc:
            if not exc.args or not isinstance(exc.args[0], int):
                raise
            raise _Refused(
                f"the workbook's sheets need more than {MAX_SHEET_ELEMENTS:,} XML elements read "
                f"({info.filename} reached {elements + exc.args[0]:,}), more than any export (repeated rows?; "
                "save the sheet as CSV); not read") from None
        elements += reach.elements
    return reaches


def _put_errors(values: list[list], found: dict[tuple[int, int], str]) -> None:
    """Error cells as openpyxl gave them ("#N/A"): calamine reads them as empty."""
    for (row, col), text in found.items():
        if row <= len(values) and col <= len(values[row - 1]):
            values[row - 1][col - 1] = text


def _chunks(values: list[list], header_row: int) -> Rows:
    for at in range(header_row, len(values), _CHUNK):
        yield at + 1, values[at:at + _CHUNK]


def _malformed_at(z: zipfile.ZipFile, info: zipfile.ZipInfo, sheet: str, label: str, errors: list[RowError],
                  exc: BaseException) -> str:
    """calamine's XML error names no row: parse the sheet with expat up to the fault, counting rows,
    so the message says which row is broken (slow, but only for a broken file)."""
    rows = 0
    try:
        with z.open(info) as fh:
            for _, elem in ET.iterparse(fh, events=("end",)):
                if elem.tag.rsplit("}", 1)[-1] == "row":
                    rows += 1
                    elem.clear()
    except ET.ParseError as parse_error:
        errors.append(RowError(label, rows + 1, "", _malformed(parse_error, sheet), fatal=True))
        return ""
    return _malformed(exc, sheet)


def _malformed(exc: BaseException, sheet: str = "") -> str:
    where = f"sheet '{sheet}' " if sheet else "a sheet "
    return f"{where}is malformed ({type(exc).__name__}: {str(exc)[:200]}); nothing of this file was read"
