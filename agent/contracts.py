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
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

# ------------------------------------------------------------------ identifiers

_SERIAL_PREFIX = re.compile(r"^(?:SN|S)\s*:\s*")
# What a serial may contain once canonical.  Anything else (spaces inside, quotes, a leading
# '+' or '@') is a broken cell or an injected formula, not a serial.
_SERIAL_OK = re.compile(r"^[A-Z0-9][A-Z0-9._/\-]*$")
_QUOTED_FORMULA = re.compile(r'^=\s*"(.*)"$')  # ="00123": Excel's trick to keep leading zeros


def canonical_serial(raw: Any) -> str:
    """Trim, upper-case, drop ``SN:``/``S:`` prefixes.  Never touches O/0 (virtual UDIs use O)."""
    text = _text(raw).upper()
    if text.startswith("S"):
        text = _SERIAL_PREFIX.sub("", text, count=1)
    return text


_PID_CACHE: dict[str, tuple[str, str, bool]] = {}


def split_pid(raw: Any) -> tuple[str, str, bool]:
    """``(pid as read, base pid, refurbished)``: base drops a trailing ``=`` and a ``-RF`` suffix.

    ``-RF`` (Cisco Refresh) is the same hardware remanufactured, so it must match the base PID
    for contracts and EoX; the flag keeps the fact.  ``/K9`` and ``-A``/``-E`` are significant.
    """
    text = _text(raw).upper()
    hit = _PID_CACHE.get(text)
    if hit is None:
        base = text.rstrip("=").rstrip()
        refurbished = base.endswith("-RF")
        if refurbished:
            base = base[:-3]
        hit = (text, base, refurbished)
        if len(_PID_CACHE) < 100_000:
            _PID_CACHE[text] = hit
    return hit


def base_pid(raw: Any) -> str:
    return split_pid(raw)[1]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if type(value) is str:
        return value.strip().strip("\ufeff\xa0").strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel turns a numeric serial or contract number into 123456.0
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value).strip()


# ------------------------------------------------------------------ records


@dataclass(frozen=True, slots=True)
class ContractLine:
    """One covered line: a serial on a contract for a period, as one export row stated it."""

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


def _hkey(name: Any) -> str:
    return re.sub(r"[^a-z0-9]", "", _text(name).lower())


_ALIAS_KEYS = {f: tuple(_hkey(a) for a in names) for f, names in ALIASES.items()}


@dataclass(slots=True)
class _Header:
    layout: str
    columns: dict[str, list[int]]  # field -> column indexes, best first
    names: list[str]  # header cells as printed, for messages


def _match_header(cells: Sequence[Any], header_map: Mapping[str, str] | None) -> _Header | None:
    keys = [_hkey(c) for c in cells]
    position: dict[str, int] = {}
    for i, k in enumerate(keys):
        if k and k not in position:
            position[k] = i
    columns: dict[str, list[int]] = {}
    if header_map:
        for fld, col in header_map.items():
            idx = position.get(_hkey(col))
            if idx is None:
                return None  # a mapped column is missing: not this row
            columns[fld] = [idx]
    for fld, alias_keys in _ALIAS_KEYS.items():
        if fld in columns:
            continue
        found = [position[k] for k in alias_keys if k in position]
        if found:
            columns[fld] = found if fld == "covered" else found[:1]
    if "serial" not in columns:
        return None
    layout = "mapped" if header_map else ""
    if not layout:
        for name, marker in _LAYOUT_MARKERS:
            if _hkey(marker) in position:
                layout = name
                break
    if layout == "cx-not-covered" and ("coverage_end" in columns or "contract_number" in columns):
        layout = "cx-coverage"
    if layout != "cx-not-covered" and not ({"coverage_end", "covered", "contract_number"} & columns.keys()):
        return None  # a serial list without any coverage fact is not a contract file
    return _Header(layout or "generic", columns, [_text(c) for c in cells])


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
_SERIALNUM = re.compile(r"^\d{1,6}(?:\.\d+)?$")

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
    text = _text(value)
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


class _DateColumn:
    """Parses one date column of one file, deciding DD/MM vs MM/DD from all of its values.

    A day > 12 in the first place proves DD/MM, in the second place MM/DD.  A column where no
    value proves either (03/04/2026 ...) is refused: guessing would shift coverage by months.
    """

    def __init__(self, values: Iterable[Any], forced: str | None):
        self.error: str | None = None
        self.cache: dict[Any, date | None | DateProblem] = {}
        order = forced if forced in ("dm", "md") else None
        if order is None:
            first_big = second_big = undecided = False
            for v in values:
                if type(v) is str and "/" in v:
                    m = _SLASH.match(v.strip())
                    if m:
                        a, b = int(m[1]), int(m[2])
                        first_big |= a > 12
                        second_big |= b > 12
                        undecided |= a != b and a <= 12 and b <= 12
            if first_big and second_big:
                self.error = ("mixes DD/MM/YYYY and MM/DD/YYYY values; export the column in one "
                              "format (YYYY-MM-DD is safest)")
            elif first_big:
                order = "dm"
            elif second_big:
                order = "md"
            elif undecided:
                self.error = ("dates such as NN/NN/YYYY are ambiguous in every row (no day above 12 "
                              "tells DD/MM from MM/DD); run again with --date-format DD/MM/YYYY or "
                              "--date-format MM/DD/YYYY")
        self.order = order
        self.forced = forced

    def get(self, value: Any) -> date | None:
        hit = self.cache.get(value, _MISSING)
        if hit is _MISSING:
            try:
                hit = parse_date(value, self.order)
            except DateProblem as exc:
                hit = exc
            try:
                self.cache[value] = hit
            except TypeError:  # unhashable JSON value: no caching
                pass
        if isinstance(hit, DateProblem):
            raise hit
        return hit


_MISSING = object()

# ------------------------------------------------------------------ coverage flags

_YES = {"YES", "Y", "TRUE", "1", "COVERED", "ACTIVE", "SIGNED", "SERVICE", "IN COVERAGE"}
_NO = {"NO", "N", "FALSE", "0", "NOT COVERED", "NOT_COVERED", "NOTCOVERED", "UNCOVERED", "EXPIRED",
       "INACTIVE", "TERMINATED", "CANCELLED", "CANCELED", "NOT ACTIVE"}


def parse_covered(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = _text(value).upper()
    if text in _YES:
        return True
    if text in _NO:
        return False
    return None


def _is_software(product_type: str) -> bool:
    t = product_type.upper()
    return "SOFTWARE" in t or "LICENSE" in t or t in ("SUBSCRIPTION", "SW")


# ------------------------------------------------------------------ file readers

# A source yields (row number, cells) for every record, blank ones included, so that row numbers
# are the ones a person sees in Excel (a quoted multi-line cell is still one row).
Rows = list[tuple[int, list[Any]]]


def _decode(data: bytes, summary: FileSummary) -> str:
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
    text = _decode(path.read_bytes(), summary)
    head_lines = text.splitlines()[: HEADER_SCAN_ROWS + 5]
    # Try each delimiter on the first rows and keep the one under which a header is recognised:
    # more reliable than csv.Sniffer on files with a title block above the header.
    for delim in (",", ";", "\t", "|"):
        for rowno, cells in enumerate(csv.reader(head_lines, delimiter=delim), 1):
            if rowno > HEADER_SCAN_ROWS:
                break
            header = _match_header(cells, header_map)
            if header:
                summary.delimiter = delim
                return header, rowno, _csv_rows(text, delim, rowno, label, errors)
    return "no header row recognised in the first %d rows" % HEADER_SCAN_ROWS


def _csv_rows(text: str, delim: str, header_row: int, label: str, errors: list[RowError]) -> Rows:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    rows: Rows = []
    n = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return rows
        except csv.Error as exc:  # one broken record, not a broken file: keep reading after it
            n += 1
            errors.append(RowError(label, n, "", f"malformed CSV record: {exc}"))
            continue
        n += 1
        if n > header_row:
            rows.append((n, cells))


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
    try:
        for ws in wb.worksheets:
            it = ws.iter_rows(values_only=True)
            for rowno, cells in enumerate(it, 1):
                if rowno > HEADER_SCAN_ROWS:
                    break
                header = _match_header(list(cells), header_map)
                if header:
                    summary.sheet = ws.title
                    rows = [(n, list(r)) for n, r in enumerate(it, rowno + 1)]
                    return header, rowno, rows
        return "no sheet has a recognised header row in its first %d rows" % HEADER_SCAN_ROWS
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
            elif value and not isinstance(value[0], (dict, list)):
                flat[key] = value[0]
        else:
            flat[key] = value
    for sub in nested:
        for key, value in _flatten(sub).items():
            flat.setdefault(key, value)
    return flat


def _json_source(path: Path, label: str, summary: FileSummary, header_map,
                 errors: list[RowError]) -> tuple[_Header, int, Rows] | str:
    try:
        doc = json.loads(_decode(path.read_bytes(), summary))
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
    rows = [(n, [r.get(k) for k in cells]) for n, r in enumerate(flat, 1)]
    return header, 0, rows


# ------------------------------------------------------------------ rows -> lines


class _RowProblem(Exception):
    def __init__(self, column: str, message: str):
        super().__init__(message)
        self.column = column
        self.message = message


def _value(raw: Any, column: str) -> str:
    text = _text(raw)
    if text[:1] == "=":
        m = _QUOTED_FORMULA.match(text)
        if m:
            return m[1].strip()
        raise _RowProblem(column, f"holds a formula ({text[:40]}), not a value: export values, not formulas")
    return text


def _build_lines(path_label: str, header: _Header, rows: Rows, summary: FileSummary,
                 errors: list[RowError], date_format: str | None) -> list[ContractLine]:
    cols = header.columns
    names = header.names

    def col(fld: str) -> int | None:
        found = cols.get(fld)
        return found[0] if found else None

    i_serial = col("serial")
    i_pid, i_base = col("pid"), col("base_pid")
    i_contract, i_level = col("contract_number"), col("service_level")
    i_inst, i_pinst, i_pser = col("instance_id"), col("parent_instance_id"), col("parent_serial")
    i_site, i_sname, i_ptype = col("site_id"), col("site_name"), col("product_type")
    covered_cols = cols.get("covered", [])
    not_covered_export = header.layout == "cx-not-covered"
    width = len(names)

    forced = DATE_FORMATS.get(date_format or "")
    date_cols: dict[str, tuple[int, _DateColumn]] = {}
    refused: list[str] = []
    for fld in DATE_FIELDS:
        idx = col(fld)
        if idx is None:
            continue
        parser = _DateColumn({r[idx] for _, r in rows if idx < len(r) and _hashable(r[idx])}, forced)
        if parser.error:
            errors.append(RowError(path_label, None, names[idx], parser.error))
            refused.append(fld)
            continue
        date_cols[fld] = (idx, parser)
    if {"coverage_start", "coverage_end"} & set(refused):
        # Coverage periods are the whole point: a guessed or missing one would mis-state every row.
        summary.skipped["rows in a file whose coverage dates were refused"] += len(rows)
        summary.rows_read = len(rows)
        return []

    out: list[ContractLine] = []
    skipped = summary.skipped
    for rowno, row in rows:
        if len(row) < width:
            row = list(row) + [None] * (width - len(row))
        if not any(_text(c) for c in row):
            skipped["blank rows"] += 1
            continue
        summary.rows_read += 1
        try:
            serial_cell = _value(row[i_serial], names[i_serial])
            serial = canonical_serial(serial_cell)
            if not serial:
                raise _RowProblem(names[i_serial], "serial number is blank")
            if not _SERIAL_OK.match(serial):
                raise _RowProblem(names[i_serial], f"'{serial_cell[:40]}' is not a serial number")
            if i_ptype is not None and _is_software(_text(row[i_ptype])):
                skipped["software / PAK rows"] += 1
                continue
            pid_text = _value(row[i_pid], names[i_pid]) if i_pid is not None else ""
            if pid_text.upper() in _PLACEHOLDERS:  # "-", "N/A": a placeholder, not a PID
                pid_text = ""
            pid, base, refurb = split_pid(pid_text)
            if i_base is not None and i_base != i_pid:
                given = split_pid(_value(row[i_base], names[i_base]))[1]
                base = given or base
            if pid[:1] in ("+", "@", "-"):
                raise _RowProblem(names[i_pid], f"'{pid[:40]}' is not a product ID")
            dates: dict[str, date | None] = {}
            for fld, (idx, parser) in date_cols.items():
                try:
                    dates[fld] = parser.get(row[idx])
                except DateProblem as exc:
                    raise _RowProblem(names[idx], str(exc)) from None
            start, end = dates.get("coverage_start"), dates.get("coverage_end")
            if start and end and end < start:
                raise _RowProblem(names[date_cols["coverage_end"][0]],
                                  f"coverage ends ({end}) before it starts ({start})")
            status, covered = "", None
            for idx in covered_cols:
                cell = row[idx]
                text = _text(cell)
                if text:
                    status, covered = text, parse_covered(cell)
                    break
            if not_covered_export:
                status, covered = status or "NOT COVERED", False
            parent_serial = canonical_serial(_value(row[i_pser], names[i_pser])) if i_pser is not None else ""
            if parent_serial == serial:
                parent_serial = ""  # sn2info repeats the serial for parent/standalone items
            line = ContractLine(
                serial=serial,
                pid=pid,
                base_pid=base,
                contract_number=_value(row[i_contract], names[i_contract]) if i_contract is not None else "",
                service_level=_text(row[i_level]) if i_level is not None else "",
                start=start,
                end=end,
                status=status,
                covered=covered,
                instance_id=_value(row[i_inst], names[i_inst]) if i_inst is not None else "",
                parent_instance_id=_value(row[i_pinst], names[i_pinst]) if i_pinst is not None else "",
                parent_serial=parent_serial,
                site_id=_value(row[i_site], names[i_site]) if i_site is not None else "",
                site_name=_text(row[i_sname]) if i_sname is not None else "",
                ldos=dates.get("ldos"),
                end_of_renewal=dates.get("end_of_renewal"),
                refurbished=refurb,
                source_file=path_label,
                source_row=rowno,
            )
        except _RowProblem as exc:
            errors.append(RowError(path_label, rowno, exc.column, exc.message))
            skipped["rows with errors"] += 1
            continue
        out.append(line)
    summary.lines = len(out)
    return out


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
            got = reader(path, label, summary, header_map, load.errors)
        except OSError as exc:
            load.errors.append(RowError(label, None, "", f"cannot read file: {exc.strerror or exc}"))
            continue
        if isinstance(got, str):
            expected = "; ".join(f"{name} (has '{marker}')" for name, marker in _LAYOUT_MARKERS)
            msg = got if header_map else f"{got}; known layouts: {expected}; for another layout use --map FILE"
            load.errors.append(RowError(label, None, "", msg))
            continue
        header, header_row, rows = got
        summary.layout = header.layout
        summary.header_row = header_row or None
        load.lines.extend(_build_lines(label, header, rows, summary, load.errors, date_format))
    return load
