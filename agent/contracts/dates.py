"""Date cells -> dates: every spelling the exports use (ISO, DD-MMM-YYYY, NN/NN/YYYY, dotted,
compact, Excel date numbers), ``--date-format`` values (``DATE_FORMATS``), and the per-column
DD/MM vs MM/DD decision (``_DateColumn``).  A bad cell is a ``DateProblem``, never a guess."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any, Iterable

from agent.core.identity import cell_text


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


def _hashable(value: Any) -> bool:
    return not isinstance(value, (list, dict))
