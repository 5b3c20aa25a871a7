"""A streaming writer for the small part of SpreadsheetML the reports need.

Why not openpyxl (kept for reading in tests) or XlsxWriter: at 10^5 rows x 25 columns, the
seven report sheets are about 5.5 million cells.  openpyxl's write-only mode builds a cell object
and an XML element per value and took 66 s; XlsxWriter took 30 s.  This writer formats each row
as one string and streams it into the zip member: a few seconds.  The subset is fixed and small:
inline strings, numbers, booleans, dates with a date format, a bold header row frozen in place,
an autofilter over the data, one sheet per list.

Text is written as the value itself: characters XML 1.0 cannot carry (control characters) use
SpreadsheetML's ``_xHHHH_`` escape, which Excel and openpyxl decode back, and a literal
``_xHHHH_`` in the data is escaped so that it is not decoded.  A CR is written as ``&#13;`` so
that XML parsing does not turn it into a line feed.
"""
from __future__ import annotations

import re
import zipfile
from functools import partial
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterable, Sequence
from xml.sax.saxutils import quoteattr

_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_EPOCH = date(1899, 12, 30)  # Excel's day 0 in the 1900 date system (past its 1900 leap-year bug)

# Style indexes into cellXfs below.
_BOLD, _DATE, _DATETIME = 1, 2, 3

# Characters that need more than the plain text: markup, CR, XML-illegal controls, lone
# surrogates, and text that would read as an _xHHHH_ escape.
_SPECIAL = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]|_x[0-9A-Fa-f]{4}_")


def _escape_match(m: re.Match) -> str:
    text = m.group()
    if text == "&":
        return "&amp;"
    if text == "<":
        return "&lt;"
    if text == ">":
        return "&gt;"
    if text == "\r":
        return "&#13;"
    if len(text) > 1:  # a literal _xHHHH_: escape its underscore
        return "_x005F_" + text[1:]
    return f"_x{ord(text):04X}_"


def escape_text(text: str) -> str:
    return _SPECIAL.sub(_escape_match, text)


def column_letter(n: int) -> str:
    """1 -> A, 26 -> Z, 27 -> AA."""
    letters = ""
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


@dataclass
class Sheet:
    name: str  # at most 31 characters, none of []:*?/\\
    header: Sequence[str] | None  # bold, frozen, filtered; None for a plain sheet
    rows: Iterable[Sequence[Any]]
    count: int  # how many rows ``rows`` gives: the sheet's extent is written before its data
    width: int = 0  # columns; default: the header's

    def extent(self) -> str:
        width = max(self.width or len(self.header or ()), 1)
        return f"A1:{column_letter(width)}{max(self.count + (self.header is not None), 1)}"

    @property
    def filtered(self) -> bool:
        return self.header is not None and self.count > 0


def _text_cell(ref: str, value: str, style: str = "") -> str:
    text = value if not _SPECIAL.search(value) else escape_text(value)
    return f'<c r="{ref}" t="inlineStr"{style}><is><t xml:space="preserve">{text}</t></is></c>'


def _cell(ref: str, value: Any) -> str:
    kind = type(value)
    if kind is str:
        return _text_cell(ref, value)
    if kind is bool:
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if kind is int or kind is float:
        return f'<c r="{ref}"><v>{value!r}</v></c>'
    if kind is datetime:
        serial = (value - datetime(1899, 12, 30, tzinfo=value.tzinfo)).total_seconds() / 86400
        return f'<c r="{ref}" s="{_DATETIME}"><v>{serial!r}</v></c>'
    if kind is date:
        return f'<c r="{ref}" s="{_DATE}"><v>{(value - _EPOCH).days}</v></c>'
    return _cell(ref, str(value))


def _write_sheet(sheet: Sheet, out) -> None:
    width = max(sheet.width or len(sheet.header or ()), 1)
    letters = [column_letter(i) for i in range(1, width + 1)]
    frozen = ('<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
              '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>' if sheet.header is not None else "")
    out.write(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_MAIN_NS}" '
              f'xmlns:r="{_REL_NS}"><dimension ref="{sheet.extent()}"/><sheetViews><sheetView workbookViewId="0">'
              f'{frozen}</sheetView></sheetViews><sheetData>'.encode())
    n = 0
    if sheet.header is not None:
        n = 1
        out.write(('<row r="1">' + "".join(_text_cell(f"{letters[j]}1", h, f' s="{_BOLD}"')
                                           for j, h in enumerate(sheet.header)) + "</row>").encode())
    body = []
    for values in sheet.rows:
        n += 1
        if len(values) > len(letters):
            letters += [column_letter(i) for i in range(len(letters) + 1, len(values) + 1)]
        # Text cells are the common case: _text_cell written out, without a call per cell.
        cells = [f'<c r="{letters[j]}{n}" t="inlineStr"><is><t xml:space="preserve">'
                 f'{v if not _SPECIAL.search(v) else escape_text(v)}</t></is></c>'
                 if type(v) is str else _cell(f"{letters[j]}{n}", v)
                 for j, v in enumerate(values) if v is not None and v != ""]
        body.append(f'<row r="{n}">{"".join(cells)}</row>')
        if len(body) == 1000:
            out.write("".join(body).encode("utf-8", "surrogatepass"))
            body = []
    out.write("".join(body).encode("utf-8", "surrogatepass"))
    if n - (sheet.header is not None) != sheet.count:
        raise ValueError(f"sheet {sheet.name}: {n - (sheet.header is not None)} rows given, {sheet.count} announced")
    tail = f'<autoFilter ref="{sheet.extent()}"/>' if sheet.filtered else ""
    out.write(f"</sheetData>{tail}</worksheet>".encode())


def write_workbook(path: str | Path, sheets: Sequence[Sheet]) -> None:
    """Write ``sheets`` as one .xlsx file at ``path`` (overwritten)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        n = len(sheets)
        put = partial(_put, zf)
        put("[Content_Types].xml", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            + "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
                      'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                      for i in range(1, n + 1))
            + "</Types>"))
        put("_rels/.rels", (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{_PKG_REL_NS}">'
            '<Relationship Id="rId1" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>'))
        put("xl/_rels/workbook.xml.rels", (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{_PKG_REL_NS}">'
            + "".join(f'<Relationship Id="rId{i}" '
                      'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
                      f'Target="worksheets/sheet{i}.xml"/>' for i in range(1, n + 1))
            + f'<Relationship Id="rId{n + 1}" '
              'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
              'Target="styles.xml"/></Relationships>'))
        names = "".join(f'<sheet name={quoteattr(s.name)} sheetId="{i}" r:id="rId{i}"/>'
                        for i, s in enumerate(sheets, 1))
        # Excel keeps an autofilter's range in a hidden defined name as well as on the sheet.
        filters = "".join(
            f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
            f"{_quote_sheet(s.name)}!{_absolute(s.extent())}</definedName>"
            for i, s in enumerate(sheets) if s.filtered)
        put("xl/workbook.xml", (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{_MAIN_NS}" '
            f'xmlns:r="{_REL_NS}"><bookViews><workbookView/></bookViews><sheets>{names}</sheets>'
            + (f"<definedNames>{filters}</definedNames>" if filters else "") + "</workbook>"))
        put("xl/styles.xml", (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="{_MAIN_NS}">'
            '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
            '<numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts>'
            '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
            '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
            '<fills count="2"><fill><patternFill patternType="none"/></fill>'
            '<fill><patternFill patternType="gray125"/></fill></fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
            '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
            '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
            '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
            '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
            '</styleSheet>'))
        for i, sheet in enumerate(sheets, 1):
            with zf.open(_member(f"xl/worksheets/sheet{i}.xml"), "w", force_zip64=True) as out:
                _write_sheet(sheet, out)


def _member(name: str) -> zipfile.ZipInfo:
    # A fixed timestamp: the same rows give the same bytes, so a report's hash is evidence too.
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    if hasattr(info, "compress_level"):
        info.compress_level = 1
    else:  # Python < 3.13 spells it privately; without it, members would use deflate's slow default
        info._compresslevel = 1
    return info


def _put(zf: zipfile.ZipFile, name: str, text: str) -> None:
    zf.writestr(_member(name), text)


def _quote_sheet(name: str) -> str:
    return "'" + name.replace("'", "''").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") + "'"


def _absolute(extent: str) -> str:
    """A1:Y10 -> $A$1:$Y$10"""
    return ":".join(re.sub(r"([A-Z]+)(\d+)", r"$\1$\2", part) for part in extent.split(":"))
