"""Contract / coverage import: Cisco exports in their real layouts -> ``ContractLine`` records.

Recognised without a mapping file, from the header row alone (FORMATS.md section 1):
Services API / CX Cloud coverage (JSON ``{"data": [...]}`` or the flattened CSV), the
not-covered export, the two partner installed-base spreadsheets, sn2info coverage JSON and
its camelCase BCS twin.  Anything else goes through a small header map (``--map FILE``).

Nothing here raises on bad input data: a bad cell is a ``RowError`` that names the file, the
row as a spreadsheet user sees it and the column, and the row is skipped.  Only programming
errors (wrong argument types) raise.
"""
from __future__ import annotations

import csv
import gc
import io
import itertools
import json
import operator
import re
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from operator import itemgetter
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from agent.core.identity import PLACEHOLDERS, SERIAL_SHAPE, base_pid, canonical_serial, cell_text, split_pid  # noqa: F401  (re-exported)

# ------------------------------------------------------------------ identifiers

# Whitespace that str.strip() removes from ASCII text (\x1c-\x1f are "whitespace" to Python too).
_ASCII_SPACE = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"


def _needs_strip(joined: str) -> bool:
    """Does any cell of a NUL-joined column have leading or trailing whitespace?  Substring
    searches run at C speed, where a regex over the whole column does not; most columns hold no
    whitespace character at all, and one-character searches are the fastest of all."""
    if not joined.isascii():
        return True  # NBSP and other Unicode blanks: just strip every cell
    present = [c for c in _ASCII_SPACE if c in joined]
    if not present:
        return False
    return (joined[:1].isspace() or joined[-1:].isspace()
            or any(f"\x00{c}" in joined or f"{c}\x00" in joined for c in present))


_QUOTED_FORMULA = re.compile(r'^=\s*"(.*)"$')  # ="00123": Excel's trick to keep leading zeros


def canonical_serials(values: Sequence[Any]) -> list[str]:
    """``canonical_serial`` over a column: checks over the joined column, and a call per value
    only for the values one of them points at."""
    if set(map(type, values)) - {str}:
        return list(map(canonical_serial, values))
    texts = list(values)
    joined = "\x00".join(texts)
    if _needs_strip(joined):
        texts = list(map(str.strip, texts))
        joined = "\x00".join(texts)
    if not joined.isascii() or joined.upper() != joined:
        texts = list(map(str.upper, texts))
        joined = "\x00".join(texts)
    # ASCII letters and digits only, upper-case: SERIAL_SHAPE holds, so only placeholders and
    # all-zero serials are left to the full rule (a leading zero is the hint for the latter).
    if (not _all_alnum(joined, len(texts)) or not PLACEHOLDERS.isdisjoint(texts)
            or joined[:1] == "0" or "\x000" in joined):
        for j, text in enumerate(texts):
            if not (text.isascii() and text.isalnum()) or text in PLACEHOLDERS or not text.strip("0"):
                texts[j] = canonical_serial(values[j])
    return texts


# Objects a paused run may leave behind before the collector is trusted to look at them again.
_FREEZE_AFTER = 100_000


@contextmanager
def paused_gc():
    """Building 10^5 live objects triggers full collections that free nothing (every object is
    still referenced); pausing the cyclic collector meanwhile saves a fifth of the run time.

    Re-enabling it would then cost three passes over everything built (young, middle, old
    generation), a few tenths of a second at 10^5 rows, to find nothing: records and rows hold no
    reference cycles and are freed by reference counting.  So when the paused run left more than
    ``_FREEZE_AFTER`` new objects, they are moved to the permanent generation (``gc.freeze``)
    first, where the collector never scans them.  That also freezes whatever else was alive or
    pending then, which the collector will not reclaim unless it is unfrozen (``gc.unfreeze``);
    small runs, such as a test suite's, just re-enable it.  The collector is enabled on the way
    out whenever it was on the way in, whatever happened inside."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if gc.get_count()[0] > _FREEZE_AFTER:
                gc.freeze()
            gc.enable()


# ------------------------------------------------------------------ records


@dataclass(slots=True)
class ContractLine:
    """One covered line: a serial on a contract for a period, as one export row stated it.

    Not frozen only because frozen dataclasses cost 4x to build at 10^5 lines: treat as read-only.
    """

    serial: str  # canonical
    pid: str  # as read (upper-cased, trimmed)
    base_pid: str
    contract_number: str = ""
    service_level: str = ""
    start: date | None = None
    end: date | None = None
    status: str = ""  # raw coverage/line status text as given
    covered: bool | None = None  # what the file says, None when it says nothing
    instance_id: str = ""
    parent_instance_id: str = ""
    parent_serial: str = ""
    site_id: str = ""
    site_name: str = ""
    ldos: date | None = None
    end_of_renewal: date | None = None  # End of Service Contract Renewal, when the file carries it
    refurbished: bool = False
    source_file: str = ""
    source_row: int = 0

    @property
    def key(self) -> tuple[str, str]:
        return (self.serial, self.base_pid)

    @property
    def where(self) -> str:
        return f"{self.source_file}:{self.source_row}"


@dataclass(frozen=True, slots=True)
class RowError:
    file: str
    row: int | None  # spreadsheet row (1-based, header counted), JSON record number, None = whole file/column
    column: str
    message: str

    def __str__(self) -> str:
        unit = "record" if self.file.lower().endswith(".json") else "row"
        where = self.file if self.row is None else f"{self.file} {unit} {self.row}"
        col = f", column '{self.column}'" if self.column else ""
        return f"{where}{col}: {self.message}"


@dataclass(slots=True)
class FileSummary:
    file: str
    layout: str = ""
    sheet: str = ""
    header_row: int | None = None
    delimiter: str = ""
    encoding: str = ""
    rows_read: int = 0
    lines: int = 0
    skipped: Counter = field(default_factory=Counter)  # reason -> count
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        head = f"{self.file}: {self.layout or 'not loaded'}"
        if self.sheet:
            head += f" (sheet '{self.sheet}')"
        if self.header_row:
            head += f", header on row {self.header_row}"
        parts = [head, f"{self.rows_read} rows read, {self.lines} lines kept"]
        if self.skipped:
            parts.append("skipped: " + ", ".join(f"{n} {why}" for why, n in sorted(self.skipped.items())))
        return "; ".join(parts + self.notes)


@dataclass(slots=True)
class ContractLoad:
    lines: list[ContractLine] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    summary: list[FileSummary] = field(default_factory=list)

    def summary_text(self) -> str:
        return "\n".join(s.text() for s in self.summary)


# ------------------------------------------------------------------ header recognition

# Canonical field -> header aliases, best first (FORMATS.md 1.6 plus the columns each layout
# carries).  Matching ignores case, spaces and punctuation, so "Serial Number" == "serialNumber".
ALIASES: dict[str, tuple[str, ...]] = {
    "serial": ("Serial Number / PAK number", "Serial Number", "serialNumber", "sr_no", "SN", "Serial",
               "Serial No", "collectedSerialNumber"),
    "pid": ("Product ID", "Product Number", "productId", "orderable_pid", "orderableProductId", "PID",
            "base_pid", "baseProductId"),
    "base_pid": ("base_pid", "baseProductId"),
    "parent_serial": ("Parent Serial Number", "parent_sr_no", "parentSerialNumber"),
    "instance_id": ("Instance Number", "Instance ID", "contractInstanceNumber", "instanceNumber",
                    "instance_id", "contractInstanceId"),
    "parent_instance_id": ("Parent Instance ID", "Parent Instance Number", "parentContractInstanceId"),
    "contract_number": ("Contract Number", "contractNumber", "service_contract_number",
                        "serviceContractNumber", "Contract"),
    "service_level": ("Service Level", "serviceLevel", "Default Service Level", "slaType",
                      "service_line_descr", "serviceLineDescription", "Service Level Description"),
    "coverage_start": ("Covered Line Start Date", "coverageStartDate", "Service Start Date", "Begin Date",
                       "Start Date"),
    "coverage_end": ("Covered Line End Date", "coverageEndDate", "coverage_end_date",
                     "covered_product_line_end_date", "coveredProductLineEndDate", "Service End Date",
                     "End Date"),
    # Every column that says covered / not covered, tried in this order per row.
    "covered": ("Coverage", "Coverage Status", "coverageStatus", "is_covered", "isCovered",
                "Covered Line Status", "serviceLineStatus", "contractStatus"),
    "site_id": ("Install Site ID", "Installed Site ID", "installedatSiteId", "installAtSiteID", "Site ID"),
    "site_name": ("Install Site Name", "Installed Site Name", "installedatSiteName",
                  "contract_site_customer_name", "contractSiteCustomerName", "Site Name"),
    "ldos": ("Last Date of Support", "LastDateOfSupport", "LDoS"),
    "end_of_renewal": ("End of Service Contract Renewal", "EndOfServiceContractRenewal"),
    "product_type": ("Product Type", "Item Type", "item_type", "itemType", "hwType", "productType",
                     "Asset Type"),
}
DATE_FIELDS = ("coverage_start", "coverage_end", "ldos", "end_of_renewal")
MAPPABLE_FIELDS = tuple(ALIASES)

# Layout names for the summary, decided by a column only that layout has (first hit wins).
_LAYOUT_MARKERS = (
    ("partner-ib", "Serial Number / PAK number"),
    ("partner-ib-variant", "Instance Number"),
    ("sn2info", "sr_no"),
    ("bcs-coverage", "isCovered"),
    ("cx-coverage", "coverageEndDate"),
    ("cx-not-covered", "hwType"),
)
HEADER_SCAN_ROWS = 20


def header_key(name: Any) -> str:
    return re.sub(r"[^a-z0-9]", "", cell_text(name).lower())


_ALIAS_KEYS = {f: tuple(header_key(a) for a in names) for f, names in ALIASES.items()}


@dataclass(slots=True)
class _Header:
    layout: str
    columns: dict[str, list[int]]  # field -> column indexes, best first
    names: list[str]  # header cells as printed, for messages


def _match_header(cells: Sequence[Any], header_map: Mapping[str, str] | None) -> _Header | None:
    keys = [header_key(c) for c in cells]
    position: dict[str, int] = {}
    for i, k in enumerate(keys):
        if k and k not in position:
            position[k] = i
    columns: dict[str, list[int]] = {}
    if header_map:
        for fld, col in header_map.items():
            idx = position.get(header_key(col))
            if idx is None:
                return None  # a mapped column is missing: not this row
            columns[fld] = [idx]
    for fld, alias_keys in _ALIAS_KEYS.items():
        if fld in columns:
            continue
        # Two aliases can name one column ("coverageStatus", "Coverage Status"): keep it once.
        found = list(dict.fromkeys(position[k] for k in alias_keys if k in position))
        if found:
            columns[fld] = found if fld == "covered" else found[:1]
    if "serial" not in columns:
        return None
    layout = "mapped" if header_map else ""
    if not layout:
        for name, marker in _LAYOUT_MARKERS:
            if header_key(marker) in position:
                layout = name
                break
    if layout == "cx-not-covered" and ("coverage_end" in columns or "contract_number" in columns):
        layout = "cx-coverage"
    if layout != "cx-not-covered" and not ({"coverage_end", "covered", "contract_number"} & columns.keys()):
        return None  # a serial list without any coverage fact is not a contract file
    return _Header(layout or "generic", columns, [cell_text(c) for c in cells])


# ------------------------------------------------------------------ dates

_EXCEL_EPOCH = date(1899, 12, 30)
_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_PLACEHOLDERS = {"", "-", "--", "N/A", "NA", "NULL", "NONE", "NAN", "NAT", "0000-00-00", "00/00/0000"}
_ISO = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[T ][\d:.]*(?:Z|[+-]\d\d:?\d\d)?)?$")
_DMONY = re.compile(r"^(\d{1,2})[- ]([A-Za-z]{3})[A-Za-z]*[- ,]+(\d{2}|\d{4})$")
_SLASH = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?: [\d:.]+(?: ?[AP]M)?)?$", re.I)
_DOTTED = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
# An Excel date number that lost its format on the way to CSV: 5 digits (1954..2173) only, so that
# a bare year or a day count is never taken for a date.
_SERIALNUM = re.compile(r"^[2-9]\d{4}(?:\.\d+)?$")

# --date-format values (and their strptime spellings) -> slash order or an explicit format.
DATE_FORMATS = {
    "DD/MM/YYYY": "dm", "%d/%m/%Y": "dm",
    "MM/DD/YYYY": "md", "%m/%d/%Y": "md",
    "YYYY-MM-DD": "iso", "%Y-%m-%d": "iso",
    "DD-MMM-YYYY": "dmony", "%d-%b-%Y": "dmony",
}


class DateProblem(ValueError):
    pass


def _excel_date(n: float) -> date:
    if not 1 <= n < 2_958_466:  # Excel's own range: 1900-01-01 .. 9999-12-31
        raise DateProblem(f"{n!r} is out of range for an Excel date number")
    return _EXCEL_EPOCH + timedelta(days=int(n))


def _ymd(y: int, m: int, d: int, raw: Any) -> date:
    try:
        return date(y, m, d)
    except ValueError:
        raise DateProblem(f"'{raw}' is not a real date") from None


def parse_date(value: Any, slash_order: str | None = None) -> date | None:
    """One cell -> date.  ``slash_order`` ('dm'/'md') says how to read NN/NN/YYYY; without it such a
    value with both parts <= 12 and different is refused (see ``_DateColumn`` for the per-column rule)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        raise DateProblem(f"'{value}' is not a date")
    if isinstance(value, (int, float)):
        return _excel_date(value)
    text = cell_text(value)
    if text.upper() in _PLACEHOLDERS:
        return None
    m = _ISO.match(text)
    if m:
        return _ymd(int(m[1]), int(m[2]), int(m[3]), text)
    m = _DMONY.match(text)
    if m:
        month = _MONTHS.get(m[2].lower())
        if month is None:
            raise DateProblem(f"'{text}': unknown month '{m[2]}'")
        year = int(m[3])
        return _ymd(year + 2000 if year < 100 else year, month, int(m[1]), text)
    m = _SLASH.match(text)
    if m:
        a, b = int(m[1]), int(m[2])
        order = slash_order or ("dm" if a > 12 else "md" if b > 12 else ("dm" if a == b else None))
        if order is None:
            raise DateProblem(f"'{text}' could be DD/MM/YYYY or MM/DD/YYYY")
        return _ymd(int(m[3]), b, a, text) if order == "dm" else _ymd(int(m[3]), a, b, text)
    m = _DOTTED.match(text)
    if m:
        return _ymd(int(m[3]), int(m[2]), int(m[1]), text)
    m = _COMPACT.match(text)
    if m:
        return _ymd(int(m[1]), int(m[2]), int(m[3]), text)
    if _SERIALNUM.match(text):
        return _excel_date(float(text))
    raise DateProblem(f"'{text}' is not a date this tool reads (YYYY-MM-DD, DD-MMM-YYYY, "
                      f"MM/DD/YYYY, DD/MM/YYYY or an Excel date number)")


def _slash_evidence(values: Iterable[Any]) -> tuple[bool, bool, bool]:
    """(a value proves DD/MM, a value proves MM/DD, a value is ambiguous) for NN/NN/YYYY values."""
    first_big = second_big = undecided = False
    for v in values:
        if type(v) is str and "/" in v:
            m = _SLASH.match(v.strip())
            if m:
                a, b = int(m[1]), int(m[2])
                first_big |= a > 12
                second_big |= b > 12
                undecided |= a != b and a <= 12 and b <= 12
    return first_big, second_big, undecided


class _DateColumn:
    """Parses one date column of one file, deciding DD/MM vs MM/DD from all of its values.

    A day > 12 in the first place proves DD/MM, in the second place MM/DD.  A column that proves
    neither takes the order its sibling date columns prove (one export, one locale); when nothing
    in the file decides (03/04/2026 ...), the column is refused: a guess would shift coverage by
    months.
    """

    def __init__(self, values: Iterable[Any], forced: str | None, file_order: str | None = None):
        self.error: str | None = None
        self.cache: dict[Any, date | None | DateProblem] = {}
        order = forced if forced in ("dm", "md") else None
        if order is None:
            first_big, second_big, undecided = _slash_evidence(values)
            if first_big and second_big:
                self.error = ("mixes DD/MM/YYYY and MM/DD/YYYY values; export the column in one "
                              "format (YYYY-MM-DD is safest)")
            elif first_big:
                order = "dm"
            elif second_big:
                order = "md"
            elif undecided:
                order = file_order
                if order is None:
                    self.error = ("dates such as NN/NN/YYYY are ambiguous in every row (no day above 12 "
                                  "tells DD/MM from MM/DD); run again with --date-format DD/MM/YYYY or "
                                  "--date-format MM/DD/YYYY")
        self.order = order
        self.forced = forced

    def _parse(self, value: Any) -> date | None | DateProblem:
        try:
            return parse_date(value, self.order)
        except DateProblem as exc:
            return exc.with_traceback(None)  # kept as a value: no frame (and no cycle through it)

    def convert(self, values: list[Any], distinct: set | None = None) -> list[date | None | DateProblem]:
        """Column -> dates, each distinct value parsed once; a bad value stays a DateProblem.
        ``distinct``: the column's distinct values, when the caller has them already."""
        cache = self.cache
        try:
            for v in (set(values) if distinct is None else distinct) - cache.keys():
                cache[v] = self._parse(v)
            return list(map(cache.__getitem__, values))
        except TypeError:  # a JSON list or object where a date should be: one by one
            return [cache[v] if _hashable(v) and v in cache else self._parse(v) for v in values]



# ------------------------------------------------------------------ coverage flags

_YES = {"YES", "Y", "TRUE", "1", "COVERED", "ACTIVE", "SIGNED", "SERVICE", "IN COVERAGE"}
_NO = {"NO", "N", "FALSE", "0", "NOT COVERED", "NOT_COVERED", "NOTCOVERED", "UNCOVERED", "EXPIRED",
       "INACTIVE", "TERMINATED", "CANCELLED", "CANCELED", "NOT ACTIVE"}


def parse_covered(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = cell_text(value).upper()
    if text in _YES:
        return True
    if text in _NO:
        return False
    return None


def _is_software(product_type: str) -> bool:
    t = product_type.upper()
    return "SOFTWARE" in t or "LICENSE" in t or t in ("SUBSCRIPTION", "SW")


# ------------------------------------------------------------------ file readers

# Rows are converted a column at a time, in chunks: each distinct value (a date, a PID, a status)
# is converted once and the per-row work is list building, which is what lets a 120,000-line
# export load in well under a second.  Chunks bound the memory held as raw cells.
_CHUNK = 8192
# Plain CSV text (no quote character anywhere) is cut into cells by str.split, a chunk of records
# at a time: the same cells csv.reader gives, without a list per record.  Larger chunks, since
# the per-chunk work is a handful of C-level passes.
_PLAIN_CHUNK = 32768


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


def _xlsx_source(path: Path, label: str, summary: FileSummary, header_map,
                 errors: list[RowError]) -> tuple[_Header, int, Rows] | str:
    try:
        import openpyxl
    except ImportError:  # pragma: no cover - openpyxl is a declared dependency
        return "openpyxl is not installed: save the sheet as CSV"
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile/XML errors of every kind: a broken file is a message
        return f"not a readable .xlsx workbook ({type(exc).__name__}: {exc})"
    for ws in wb.worksheets:
        it = ws.iter_rows(values_only=True)
        for rowno, cells in enumerate(it, 1):
            if rowno > HEADER_SCAN_ROWS:
                break
            header = _match_header(list(cells), header_map)
            if header:
                summary.sheet = ws.title
                return header, rowno, _xlsx_rows(wb, it, rowno + 1)
    wb.close()
    return "no sheet has a recognised header row in its first %d rows" % HEADER_SCAN_ROWS


def _xlsx_rows(wb, it, first: int) -> Rows:
    try:
        while True:
            chunk = [list(cells) for cells in itertools.islice(it, _CHUNK)]
            if not chunk:
                return
            yield first, chunk
            first += len(chunk)
    finally:
        wb.close()


_JSON_LIST_KEYS = ("data", "serial_numbers", "serialnumbers", "items", "records", "results", "coverage")


def _json_records(doc: Any) -> list[dict] | None:
    if isinstance(doc, list):
        if doc and all(isinstance(d, dict) for d in doc) and any(_json_records_in(d) is not None for d in doc):
            out: list[dict] = []
            for page in doc:  # several API pages saved as one array
                out.extend(_json_records_in(page) or [])
            return out
        return [d for d in doc if isinstance(d, dict)] if all(isinstance(d, dict) for d in doc) else None
    if isinstance(doc, dict):
        return _json_records_in(doc)
    return None


def _json_records_in(page: dict) -> list[dict] | None:
    lowered = {k.lower(): v for k, v in page.items() if isinstance(k, str)}
    for key in _JSON_LIST_KEYS:
        value = lowered.get(key)
        if isinstance(value, list):
            return [r for r in value if isinstance(r, dict)]
    return None


def _flatten(record: dict) -> dict[str, Any]:
    """Nested API objects -> one flat row.  From lists of objects (``base_pid_list``,
    ``orderable_pid_list``) the first entry is taken, preferring a parent/standalone position."""
    flat: dict[str, Any] = {}
    nested: list[dict] = []
    for key, value in record.items():
        if isinstance(value, dict):
            nested.append(value)
        elif isinstance(value, list):
            items = [v for v in value if isinstance(v, dict)]
            if items:
                items.sort(key=lambda d: str(d.get("item_position", d.get("itemPosition", "Z"))).strip()
                           not in ("P", "S"))
                nested.append(items[0])
            else:
                flat[key] = value  # a list where a value belongs: reported by the field that reads it
        else:
            flat[key] = value
    for sub in nested:
        for key, value in _flatten(sub).items():
            flat.setdefault(key, value)
    return flat


def _json_source(path: Path, label: str, summary: FileSummary, header_map,
                 errors: list[RowError]) -> tuple[_Header, int, Rows] | str:
    try:
        doc = json.loads(decode_text(path.read_bytes(), summary))
    except json.JSONDecodeError as exc:
        return f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
    records = _json_records(doc)
    if records is None:
        return "JSON has no list of records (expected {\"data\": [...]}, {\"serial_numbers\": [...]} or [...])"
    flat = [_flatten(r) for r in records]
    names: dict[str, None] = {}
    for r in flat:
        for k in r:
            names.setdefault(k, None)
    cells = list(names)
    header = _match_header(cells, header_map)
    if header is None:
        return "JSON records carry no recognised serial / coverage keys"
    rows = [[r.get(k) for k in cells] for r in flat]
    return header, 0, [(1, rows)] if rows else []


# ------------------------------------------------------------------ rows -> lines



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
                                                      "status", "covered", "parent_serial",
                                                      *self.TEXT_FIELDS, *self.PLAIN_FIELDS, *DATE_FIELDS)}
        self.problems: dict[int, tuple[str, str]] = {}  # position -> (column, message), first one wins
        self.software: set[int] = set()
        self.blank = 0
        self._covered: dict[str, bool | None] = {}
        self._pools: dict[str, dict[str, str]] = {}

    def _problem(self, pos: int, column_index: int, message: str) -> None:
        self.problems.setdefault(pos, (self.names[column_index], message))

    def _texts(self, cols: _Columns, idx: int, base: int, formulas: bool = True) -> list[str]:
        """One column as trimmed text.  Padding and formula-looking cells are rare, so a search
        over the joined column (C speed) decides whether the per-cell work is needed at all.
        (Pooling repeated values is ``_pooled``'s job, for the columns where it pays.)"""
        values = cols[idx]  # a new list: fixed in place below
        if cols.clean:
            return values
        if self.strings:
            joined = "\x00".join(values)
            if _needs_strip(joined):
                values = list(map(str.strip, values))
                joined = "\x00".join(values)
        else:
            values = list(map(cell_text, values))
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
        serial_cells = self._texts(cols, i_serial, base)
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
        if self.header.layout == "cx-not-covered":
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
            errors.append(RowError(path_label, None, header.names[idx], parser.error))
            refused |= fld in ("coverage_start", "coverage_end")
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
                    acc.problems.setdefault(j, (header.names[idx], str(v)))
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
        dates["end_of_renewal"], out["refurbished"], itertools.repeat(path_label), out["rowno"]))
    software = acc.software - acc.problems.keys()
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


_ASCII_ALNUM_NUL = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789\x00"


def _all_alnum(joined: str, cells: int) -> bool:
    """Is every one of ``cells`` cells of a NUL-joined column non-empty and alphanumeric
    (``str.isalnum``)?  For ASCII, a byte-table pass: str.isalnum looks each character up in the
    Unicode database."""
    if (not joined or joined[:1] == "\x00" or joined[-1:] == "\x00" or "\x00\x00" in joined
            or joined.count("\x00") != cells - 1):
        return False  # a blank cell, or a NUL in one
    if joined.isascii():
        return not joined.encode("ascii").translate(None, _ASCII_ALNUM_NUL)
    return all(map(str.isalnum, joined.split("\x00")))


def _ends_before_start(starts: list[date | None], ends: list[date | None]) -> bool:
    """Does any row end before it starts?  One C-level pass (a missing date never does)."""
    if None in set(starts):
        starts = list(map({None: date.min}.get, starts, starts))
    if None in set(ends):
        ends = list(map({None: date.max}.get, ends, ends))
    return any(map(operator.lt, ends, starts))


def _hashable(value: Any) -> bool:
    return not isinstance(value, (list, dict))


# ------------------------------------------------------------------ entry points


def load_header_map(path: str | Path) -> dict[str, str]:
    """Read a ``--map`` YAML file: ``canonical field: column name``.  Raises ValueError with a
    message fit for the user when the file is not such a mapping."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read header map: {exc}") from None
    if not isinstance(data, dict) or not data:
        raise ValueError(f"{path}: a header map is a mapping 'field: column name'")
    return validate_header_map(data, str(path))


def validate_header_map(data: Mapping[Any, Any], where: str = "header map") -> dict[str, str]:
    unknown = [k for k in data if k not in MAPPABLE_FIELDS]
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {', '.join(map(str, unknown))}; "
                         f"known fields: {', '.join(MAPPABLE_FIELDS)}")
    bad = [k for k, v in data.items() if not isinstance(v, str) or not v.strip()]
    if bad:
        raise ValueError(f"{where}: field(s) {', '.join(bad)} need a column name")
    if "serial" not in data:
        raise ValueError(f"{where}: 'serial' must be mapped")
    return {k: v.strip() for k, v in data.items()}


_READERS = {".csv": _csv_source, ".txt": _csv_source, ".tsv": _csv_source,
            ".xlsx": _xlsx_source, ".xlsm": _xlsx_source, ".json": _json_source}


def load_contracts(paths: Iterable[str | Path] | str | Path, header_map: Mapping[str, str] | None = None,
                   date_format: str | None = None) -> ContractLoad:
    """Read contract / coverage exports.  Never raises on file content: problems are in ``.errors``.

    ``header_map`` (canonical field -> column name) overrides the built-in aliases; ``date_format``
    (``DD/MM/YYYY``, ``MM/DD/YYYY``, ``YYYY-MM-DD``, ``DD-MMM-YYYY``) settles ambiguous columns.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    if header_map:
        header_map = validate_header_map(header_map)
    if date_format and date_format not in DATE_FORMATS:
        raise ValueError(f"unknown date format {date_format!r}; use one of "
                         "DD/MM/YYYY, MM/DD/YYYY, YYYY-MM-DD, DD-MMM-YYYY")
    load = ContractLoad()
    for raw_path in paths:
        path = Path(raw_path)
        label = str(raw_path)
        summary = FileSummary(label)
        load.summary.append(summary)
        reader = _READERS.get(path.suffix.lower())
        if reader is None:
            hint = " (.xlsb: save it as .xlsx or .csv)" if path.suffix.lower() in (".xlsb", ".xls") else ""
            load.errors.append(RowError(label, None, "", f"unsupported file type '{path.suffix}'{hint}"))
            continue
        try:
            with paused_gc():
                got = reader(path, label, summary, header_map, load.errors)
        except OSError as exc:
            load.errors.append(RowError(label, None, "", f"cannot read file: {exc.strerror or exc}"))
            continue
        if isinstance(got, str):
            msg = got
            if "recognised" in got and not header_map:
                expected = "; ".join(f"{name} (has '{marker}')" for name, marker in _LAYOUT_MARKERS)
                msg = f"{got}; known layouts: {expected}; for another layout use --map FILE"
            load.errors.append(RowError(label, None, "", msg))
            continue
        header, header_row, rows = got
        summary.layout = header.layout
        summary.header_row = header_row or None
        first_error = len(load.errors)
        with paused_gc():
            load.lines.extend(_build_lines(label, header, rows, summary, load.errors, date_format,
                                           strings=reader is _csv_source))
        # Date problems are found in a second pass: list this file's errors in row order.
        load.errors[first_error:] = sorted(load.errors[first_error:], key=lambda e: (e.row or 0))
    return load
