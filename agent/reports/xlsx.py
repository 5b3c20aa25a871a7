"""A streaming writer for the small part of SpreadsheetML the reports need.

Why not openpyxl (kept for reading in tests) or XlsxWriter: at 10^5 rows x 25 columns, the
seven report sheets are about 5.5 million cells.  openpyxl's write-only mode builds a cell object
and an XML element per value and took 66 s; XlsxWriter took 30 s.  This writer formats each row
as one string and streams it into the zip member: a few seconds.  The subset is fixed and small:
inline strings, numbers, booleans, dates with a date format, a bold header row frozen in place,
an autofilter over the data, one sheet per list; and what makes a sheet readable on screen and on
paper: column widths from the content (the header and the first rows, capped), a fill per value
of one column (the status), bold or filled cells (``Styled``), and a print setup (landscape, fit
to one page wide, the header row repeated on every page, sheet name and page in the footer; no
paper size, so A4 and Letter both print as the printer's default).

Styles are numbered as cells ask for them and styles.xml is written after the sheets: the set of
fills is not known before the rows have streamed past.

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
from itertools import chain, islice
from operator import itemgetter
from typing import Any, Iterable, Mapping, Sequence
from xml.sax.saxutils import quoteattr

_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_EPOCH = date(1899, 12, 30)  # Excel's day 0 in the 1900 date system (past its 1900 leap-year bug)

# Style indexes into cellXfs: these four always exist, in this order; others are added by _Styles.
_BOLD, _DATE, _DATETIME = 1, 2, 3
_FMT_DATE, _FMT_DATETIME = 164, 165

# Column widths, in Excel's unit (about one digit of the default font).
_WIDTH_SAMPLE = 1000  # rows looked at: the sheet is streamed, the widths are written before the data
_MIN_WIDTH, _MAX_WIDTH = 4, 60
_FILTER_BUTTON = 3  # the autofilter's drop-down button sits over the header's last characters
_SELECTED = ' tabSelected="1"'  # the first sheet is the one shown on opening

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


@dataclass(frozen=True)
class Styled:
    """A cell value written bold and/or on a background colour (``fill``: "RRGGBB")."""
    value: Any
    bold: bool = False
    fill: str | None = None


@dataclass
class Sheet:
    name: str  # at most 31 characters, none of []:*?/\\
    header: Sequence[str] | None  # bold, frozen, filtered, repeated on printed pages; None for a plain sheet
    rows: Iterable[Sequence[Any]]
    count: int  # how many rows ``rows`` gives: the sheet's extent is written before its data
    width: int = 0  # columns; default: the header's
    widths: Sequence[float] | None = None  # column widths; default: from the header and the first rows
    fill_column: int | None = None  # the column whose values pick a cell fill from ``fills``
    fills: Mapping[str, str] | None = None  # value -> "RRGGBB"
    filter_rows: int | None = None  # rows under the header the autofilter covers; default: all

    def extent(self) -> str:
        width = max(self.width or len(self.header or ()), 1)
        return f"A1:{column_letter(width)}{max(self.count + (self.header is not None), 1)}"

    def filter_extent(self) -> str:
        rows = self.count if self.filter_rows is None else min(self.filter_rows, self.count)
        width = max(self.width or len(self.header or ()), 1)
        return f"A1:{column_letter(width)}{rows + 1}"

    @property
    def filtered(self) -> bool:
        return self.header is not None and self.count > 0 and self.filter_rows != 0


_APPLY_FMT, _APPLY_FONT, _APPLY_FILL = ' applyNumberFormat="1"', ' applyFont="1"', ' applyFill="1"'


class _Styles:
    """cellXfs entries by (number format, bold, fill), numbered in the order cells ask for them."""

    def __init__(self) -> None:
        self.fills: list[str] = []
        self.xfs: list[tuple[int, bool, str | None]] = [
            (0, False, None), (0, True, None), (_FMT_DATE, False, None), (_FMT_DATETIME, False, None)]
        self._index = {xf: i for i, xf in enumerate(self.xfs)}

    def xf(self, fmt: int = 0, bold: bool = False, fill: str | None = None) -> int:
        key = (fmt, bold, fill.upper() if fill else None)
        if key not in self._index:
            if key[2] is not None and key[2] not in self.fills:
                if not re.fullmatch("[0-9A-F]{6}", key[2]):
                    raise ValueError(f"fill {fill!r}: expected six hex digits RRGGBB")
                self.fills.append(key[2])
            self._index[key] = len(self.xfs)
            self.xfs.append(key)
        return self._index[key]

    def xml(self) -> str:
        # Fills 0 and 1 are reserved by the format (none, gray125); ours follow.
        fills = "".join(f'<fill><patternFill patternType="solid"><fgColor rgb="FF{c}"/><bgColor indexed="64"/>'
                        "</patternFill></fill>" for c in self.fills)
        xfs = "".join(
            f'<xf numFmtId="{fmt}" fontId="{int(bold)}" fillId="{self.fills.index(fill) + 2 if fill else 0}" '
            f'borderId="0" xfId="0"{_APPLY_FMT if fmt else ""}{_APPLY_FONT if bold else ""}'
            f'{_APPLY_FILL if fill else ""}/>' for fmt, bold, fill in self.xfs)
        return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="{_MAIN_NS}">'
                f'<numFmts count="2"><numFmt numFmtId="{_FMT_DATE}" formatCode="yyyy-mm-dd"/>'
                f'<numFmt numFmtId="{_FMT_DATETIME}" formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts>'
                '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
                '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
                f'<fills count="{len(self.fills) + 2}"><fill><patternFill patternType="none"/></fill>'
                f'<fill><patternFill patternType="gray125"/></fill>{fills}</fills>'
                '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
                '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
                f'<cellXfs count="{len(self.xfs)}">{xfs}</cellXfs>'
                '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
                '</styleSheet>')


def _text_cell(ref: str, value: str, style: str = "") -> str:
    text = value if not _SPECIAL.search(value) else escape_text(value)
    return f'<c r="{ref}" t="inlineStr"{style}><is><t xml:space="preserve">{text}</t></is></c>'


class _Prebuilt:
    """A cell written the same way on every row but for its reference (a filled status cell)."""
    __slots__ = ("rest",)

    def __init__(self, value: Any, styles: _Styles, fill: str) -> None:
        self.rest = _cell("", value, styles, fill=fill)[len('<c r=""'):]


def _cell(ref: str, value: Any, styles: _Styles | None = None, bold: bool = False, fill: str | None = None) -> str:
    kind = type(value)
    if kind is _Prebuilt:
        return f'<c r="{ref}"{value.rest}'
    if kind is Styled:
        return _cell(ref, value.value, styles, value.bold, value.fill)
    # A cell with neither bold nor fill keeps the four fixed styles (the common, fast case).
    plain = styles is None or not (bold or fill)
    if kind is str or value is None:
        style = "" if plain else f' s="{styles.xf(0, bold, fill)}"'
        return _text_cell(ref, value or "", style)
    if kind is bool:
        style = "" if plain else f' s="{styles.xf(0, bold, fill)}"'
        return f'<c r="{ref}" t="b"{style}><v>{int(value)}</v></c>'
    if kind is int or kind is float:
        style = "" if plain else f' s="{styles.xf(0, bold, fill)}"'
        return f'<c r="{ref}"{style}><v>{value!r}</v></c>'
    if kind is datetime:
        serial = (value - datetime(1899, 12, 30, tzinfo=value.tzinfo)).total_seconds() / 86400
        style = _DATETIME if plain else styles.xf(_FMT_DATETIME, bold, fill)
        return f'<c r="{ref}" s="{style}"><v>{serial!r}</v></c>'
    if kind is date:
        style = _DATE if plain else styles.xf(_FMT_DATE, bold, fill)
        return f'<c r="{ref}" s="{style}"><v>{(value - _EPOCH).days}</v></c>'
    return _cell(ref, str(value), styles, bold, fill)


def _shown_length(value: Any) -> int:
    """About how many characters a cell shows: what its column should be wide enough for."""
    if type(value) is Styled:
        value = value.value
    if value is None:
        return 0
    if type(value) is datetime:
        return 19
    if type(value) is date:
        return 10
    if type(value) is bool:
        return 5
    text = value if type(value) is str else str(value)
    return max(map(len, text.split("\n"))) if "\n" in text else len(text)


def auto_widths(header: Sequence[Any] | None, sample: Sequence[Sequence[Any]], width: int) -> list[float]:
    """Column widths that show the header (and its filter button) and the sample's values, capped."""
    longest = [0] * width
    for j, h in enumerate(header or ()):
        longest[j] = _shown_length(h) + _FILTER_BUTTON
    for values in sample:
        for j, v in enumerate(values[:width]):
            n = len(v) if type(v) is str and "\n" not in v else _shown_length(v)
            if n > longest[j]:
                longest[j] = n
    return [min(max(n + 1, _MIN_WIDTH), _MAX_WIDTH) for n in longest]


# Stands for the row number in a shared row's XML: never in a cell's text, where escape_text
# writes NUL as _x0000_.
_NUMBER = "\x00"


def _row_xml(values: Sequence[Any], n: int | str, letters: list[str], filled: dict, fill_at: int | None,
             styles: _Styles, templates: dict | None = None) -> str:
    if filled and len(values) > fill_at and values[fill_at] in filled:
        values = list(values)
        values[fill_at] = filled[values[fill_at]]
    if len(values) > len(letters):
        letters += [column_letter(i) for i in range(len(letters) + 1, len(values) + 1)]
    if templates is not None:
        types = tuple(map(type, values))
        if _TEMPLATE_TYPES.issuperset(types):
            key = (types, tuple(map(bool, values)))
            shape = templates.get(key)
            if shape is None:
                shape = templates[key] = _RowShape(key, letters)
            xml = shape.fill(values)
            if xml is not None:
                return xml if n == _NUMBER else xml.replace(_NUMBER, str(n))
    # Text cells are the common case: _text_cell written out, without a call per cell; and one
    # search over the row's texts tells whether any needs escaping (LF joins them: no escape
    # pattern spans it), which most rows do not.
    if not _SPECIAL.search("\n".join([v for v in values if type(v) is str])):
        cells = [f'<c r="{letters[j]}{n}" t="inlineStr"><is><t xml:space="preserve">{v}</t></is></c>'
                 if type(v) is str else _cell(f"{letters[j]}{n}", v, styles)
                 for j, v in enumerate(values) if v is not None and v != ""]
    else:
        cells = [f'<c r="{letters[j]}{n}" t="inlineStr"><is><t xml:space="preserve">'
                 f'{v if not _SPECIAL.search(v) else escape_text(v)}</t></is></c>'
                 if type(v) is str else _cell(f"{letters[j]}{n}", v, styles)
                 for j, v in enumerate(values) if v is not None and v != ""]
    return f'<row r="{n}">{"".join(cells)}</row>'


# The value types a row template writes (anything else, e.g. Styled, a datetime: cell by cell).
_TEMPLATE_TYPES = frozenset((str, type(None), int, float, bool, date, _Prebuilt))


class _RowShape:
    """One row XML template per shape: each column's value type, and whether it is empty (an empty
    text or None writes no cell).  Rows of one report share a few hundred shapes; a row of a
    known shape is one %-format of its values instead of an f-string and a type test per cell
    (half of the workbook's time at 10^5 rows).  Written exactly as ``_row_xml``'s cells and
    ``_cell`` write them; a row whose text needs escaping goes the general way (``fill`` returns
    None).  The row number is _NUMBER here: the caller puts the number in."""

    __slots__ = ("template", "take", "texts", "days", "prebuilt")

    def __init__(self, key: tuple[tuple[type, ...], tuple[bool, ...]], letters: Sequence[str]) -> None:
        parts, take, texts, days, prebuilt = [f'<row r="{_NUMBER}">'], [], [], [], []
        for j, (kind, truth) in enumerate(zip(*key)):
            ref = f"{letters[j]}{_NUMBER}"
            if kind is type(None) or (kind is str and not truth):
                continue
            if kind is bool:  # the value is in the key: a fixed cell
                parts.append(f'<c r="{ref}" t="b"><v>{int(truth)}</v></c>')
                continue
            if kind is str:
                texts.append(len(take))
                parts.append(f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">%s</t></is></c>')
            elif kind is int:
                parts.append(f'<c r="{ref}"><v>%s</v></c>')  # an int's str is its repr
            elif kind is float:
                parts.append(f'<c r="{ref}"><v>%r</v></c>')
            elif kind is date:
                days.append(len(take))
                parts.append(f'<c r="{ref}" s="{_DATE}"><v>%s</v></c>')
            else:  # _Prebuilt
                prebuilt.append(len(take))
                parts.append(f'<c r="{ref}"%s')
            take.append(j)
        parts.append("</row>")
        self.template = "".join(parts)
        self.take = (lambda values: ()) if not take else itemgetter(*take) if len(take) > 1 else (
            lambda values, j=take[0]: (values[j],))
        self.texts = itemgetter(*texts) if len(texts) > 1 else (lambda args, k=texts[0]: (args[k],)) if texts else (
            lambda args: ())
        self.days, self.prebuilt = days, prebuilt

    def fill(self, values: Sequence[Any]) -> str | None:
        args = self.take(values)
        # One test over the row's texts for anything _SPECIAL could match: printable (no control
        # character, CR, surrogate or U+FFFE/U+FFFF), no markup, no "_x".  Joined by a blank,
        # which no escape pattern contains, so none spans two cells.
        joined = " ".join(self.texts(args))
        if not joined.isprintable() or "&" in joined or "<" in joined or ">" in joined or "_x" in joined:
            return None
        if self.days or self.prebuilt:
            args = list(args)
            for k in self.days:
                args[k] = (args[k] - _EPOCH).days
            for k in self.prebuilt:
                args[k] = args[k].rest
        return self.template % tuple(args)


def _write_sheet(sheet: Sheet, out, styles: _Styles, selected: bool = False, shared: dict | None = None,
                 templates: dict | None = None) -> None:
    width = max(sheet.width or len(sheet.header or ()), 1)
    letters = [column_letter(i) for i in range(1, width + 1)]
    rows: Iterable[Sequence[Any]] = sheet.rows
    widths = sheet.widths
    if widths is None:
        # Widths come first in the XML: look at the first rows, then stream them and the rest.
        rows = iter(rows)
        sample = list(islice(rows, _WIDTH_SAMPLE))
        widths = auto_widths(sheet.header, sample, width)
        rows = chain(sample, rows)
    cols = "".join(f'<col min="{j}" max="{j}" width="{w:g}" customWidth="1"/>' for j, w in enumerate(widths, 1))
    frozen = ('<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
              '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>' if sheet.header is not None else "")
    out.write(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_MAIN_NS}" '
              f'xmlns:r="{_REL_NS}"><sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'
              f'<dimension ref="{sheet.extent()}"/><sheetViews><sheetView workbookViewId="0"'
              f'{_SELECTED if selected else ""}>{frozen}</sheetView></sheetViews>'
              f'<sheetFormatPr defaultRowHeight="15"/>{f"<cols>{cols}</cols>" if cols else ""}<sheetData>'.encode())
    n = 0
    if sheet.header is not None:
        n = 1
        out.write(('<row r="1">' + "".join(
            _cell(f"{letters[j]}1", h, styles) if type(h) is Styled else _text_cell(f"{letters[j]}1", h, f' s="{_BOLD}"')
            for j, h in enumerate(sheet.header)) + "</row>").encode())
    fill_at = sheet.fill_column
    # Each fill value's cell made once: a filled status cell costs a dict lookup per row.
    filled = {v: _Prebuilt(v, styles, c) for v, c in (sheet.fills or {}).items()} if fill_at is not None else {}
    body = []
    if shared is not None:  # a row's XML depends on its sheet's fills too
        shared = shared.setdefault((fill_at, tuple(sorted((sheet.fills or {}).items()))), {})
    for values in rows:
        n += 1
        if shared is not None:
            # A row given before (the same list object, on another list's sheet): its XML is the
            # same but for the row number, kept split where the number goes.
            got = shared.get(id(values))
            if got is None or got[0] is not values:
                parts = _row_xml(values, _NUMBER, letters, filled, fill_at, styles, templates).split(_NUMBER)
                shared[id(values)] = got = (values, parts)  # the list kept alive: its id stays its own
            body.append(str(n).join(got[1]))
        else:
            body.append(_row_xml(values, n, letters, filled, fill_at, styles, templates))
        if len(body) == 1000:
            out.write("".join(body).encode("utf-8", "surrogatepass"))
            body = []
    out.write("".join(body).encode("utf-8", "surrogatepass"))
    if n - (sheet.header is not None) != sheet.count:
        raise ValueError(f"sheet {sheet.name}: {n - (sheet.header is not None)} rows given, {sheet.count} announced")
    tail = f'<autoFilter ref="{sheet.filter_extent()}"/>' if sheet.filtered else ""
    # Printed: landscape, one page wide and as many long as it takes (fitToHeight 0), grid lines on,
    # the sheet's name and the page in the footer.  No paperSize: A4 or Letter, as the printer has.
    tail += ('<printOptions gridLines="1"/>'
             '<pageMargins left="0.4" right="0.4" top="0.5" bottom="0.6" header="0.3" footer="0.3"/>'
             '<pageSetup orientation="landscape" fitToWidth="1" fitToHeight="0"/>'
             '<headerFooter><oddFooter>&amp;L&amp;A&amp;RPage &amp;P of &amp;N</oddFooter></headerFooter>')
    out.write(f"</sheetData>{tail}</worksheet>".encode())


def write_workbook(path: str | Path, sheets: Sequence[Sheet], shared_rows: bool = False) -> None:
    """Write ``sheets`` as one .xlsx file at ``path`` (overwritten).  ``shared_rows``: the sheets
    give one list object per distinct row (a row on several sheets is the same list, never
    changed): each is formatted once."""
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
            f"{_quote_sheet(s.name)}!{_absolute(s.filter_extent())}</definedName>"
            for i, s in enumerate(sheets) if s.filtered)
        # The header row printed at the top of every page; the print area is the sheet's extent,
        # so that long text running on over empty cells does not add columns to the printout.
        filters += "".join(
            f'<definedName name="_xlnm.Print_Titles" localSheetId="{i}">{_quote_sheet(s.name)}!$1:$1</definedName>'
            for i, s in enumerate(sheets) if s.header is not None)
        filters += "".join(
            f'<definedName name="_xlnm.Print_Area" localSheetId="{i}">{_quote_sheet(s.name)}!'
            f"{_absolute(s.extent())}</definedName>" for i, s in enumerate(sheets))
        put("xl/workbook.xml", (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{_MAIN_NS}" '
            f'xmlns:r="{_REL_NS}"><bookViews><workbookView/></bookViews><sheets>{names}</sheets>'
            + (f"<definedNames>{filters}</definedNames>" if filters else "") + "</workbook>"))
        styles = _Styles()
        shared: dict | None = {} if shared_rows else None
        templates: dict = {}  # _RowShape per row shape, for every sheet (their columns' letters are the same)
        for i, sheet in enumerate(sheets, 1):
            with zf.open(_member(f"xl/worksheets/sheet{i}.xml"), "w", force_zip64=True) as out:
                _write_sheet(sheet, out, styles, selected=(i == 1), shared=shared, templates=templates)
        put("xl/styles.xml", styles.xml())


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
