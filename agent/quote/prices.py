"""The user's price list (``--prices FILE``, CSV or XLSX) -> ``PriceList``.

Columns are found by their header, in the first 20 rows, under any of the spellings in
``ALIASES`` (compared without case, spaces or punctuation, so "Annual List Price (USD)" is not
needed verbatim: "annual list price" matches "Annual List Price" and "ANNUAL_LIST_PRICE").  A
price row names a product PID (and a service level, or none: then it prices every level of that
PID) or a Cisco service SKU of the form ``CON-<LEVEL>-<PRODUCT>``, an annual list price, a
currency (or ``--currency`` gives the one for rows without), optionally a discount in percent
and the number of years the price covers (default 1).

Prices are money: a price list with any unreadable row is refused as a whole (every problem
named by file, row and column), never half read.  The file goes through the contracts stage's
hostile-input guards: a byte cap before reading, the CSV dialect found from the header, and for
XLSX the package checks (zip bombs, DTDs, element counts) before openpyxl opens it.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Iterator

from agent.contracts import header_key, split_pid
from agent.contracts.records import FileSummary
from agent.contracts.source import decode_text
from agent.contracts.xlsx import MAX_HEADER_COLUMNS, _check_package
from agent.core.untrusted import InputError, read_capped

MAX_PRICE_FILE_BYTES = 64 << 20  # a global price list as CSV is a few MiB
MAX_PRICE_ROWS = 500_000
HEADER_ROWS = 20
MAX_ERRORS_SHOWN = 50

# Canonical column -> spellings seen in price-list exports (Cisco GPL extracts, distributor
# quotes, hand-made sheets).  Compared through ``header_key`` (lower case, letters and digits).
ALIASES: dict[str, tuple[str, ...]] = {
    "sku": ("service sku", "sku", "service part number", "service product id", "service pid",
            "service product", "part number", "service item"),
    "pid": ("product id", "pid", "product number", "product", "hardware pid", "covered product",
            "covered product id", "base pid", "item"),
    "level": ("service level", "service level code", "service program", "service type", "coverage level",
              "level", "service"),
    "price": ("annual list price", "list price", "unit list price", "annual price", "price", "global list price",
              "gpl", "gpl price", "list price annual", "annual list"),
    "currency": ("currency", "currency code", "price currency", "price list currency", "ccy"),
    "discount": ("discount", "discount %", "discount percent", "discount pct", "disc %", "disc",
                 "discount percentage"),
    "duration": ("duration", "duration years", "duration (years)", "term", "term (years)", "term years",
                 "years", "duration qty", "duration quantity"),
}
_KEYS = {f: {header_key(a) for a in names} for f, names in ALIASES.items()}
_AMOUNT = re.compile(r"^-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class PriceListError(ValueError):
    """The price list cannot be used; the message names the file (and rows/columns)."""


@dataclass(frozen=True, slots=True)
class Price:
    pid: str  # base PID ("" for a SKU-only row)
    level: str  # service level code, upper case; "" prices every level
    sku: str
    annual: Decimal  # the list price, for ``duration`` years
    currency: str
    discount: Decimal  # percent, 0..100
    duration: int  # years the price covers (DurationQty)
    where: str  # file:row

    @property
    def sku_parts(self) -> tuple[str, str]:
        """(level, product part) of a ``CON-<LEVEL>-<PRODUCT>`` SKU, or ("", "")."""
        parts = self.sku.split("-", 2)
        if len(parts) == 3 and parts[0] in ("CON", "CS", "SNT") and parts[1] and parts[2]:
            return parts[1], _alnum(parts[2])
        return "", ""


@dataclass(slots=True)
class PriceList:
    source: str
    prices: list[Price] = field(default_factory=list)
    by_pid: dict[str, list[Price]] = field(default_factory=dict)
    sku_only: list[Price] = field(default_factory=list)
    summary: str = ""

    def add(self, price: Price) -> None:
        self.prices.append(price)
        if price.pid:
            self.by_pid.setdefault(price.pid, []).append(price)
        else:
            self.sku_only.append(price)

    def candidates(self, base_pid: str) -> list[Price]:
        """Every price row that may price this product: rows naming its base PID, else the
        SKU-only rows whose product part is the longest prefix of the PID (letters and digits only,
        at least 6 of them: Cisco SKUs abbreviate the PID, so this is a best effort)."""
        found = self.by_pid.get(base_pid)
        if found:
            return found
        target = _alnum(base_pid)
        best: list[Price] = []
        best_len = 0
        for price in self.sku_only:
            _, product = price.sku_parts
            if len(product) >= 6 and target.startswith(product):
                if len(product) > best_len:
                    best, best_len = [price], len(product)
                elif len(product) == best_len:
                    best.append(price)
        return best


def _alnum(text: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", text.upper())


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def parse_amount(value: Any) -> Decimal:
    """A non-negative money amount: 1200, 1200.50, 1,200.50 (thousands commas), or a number cell."""
    if isinstance(value, bool):
        raise ValueError("not a number")
    if isinstance(value, (int, float)):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("not a finite number")
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    else:
        text = _text(value)
        if not _AMOUNT.match(text):
            raise ValueError(f"'{text[:40]}' is not an amount (digits, optional thousands commas and decimals)")
        amount = Decimal(text.replace(",", ""))
    if amount < 0:
        raise ValueError("a price cannot be negative")
    return amount


def parse_discount(value: Any) -> Decimal:
    text = _text(value).rstrip("%").strip()
    if not text:
        return Decimal(0)
    try:
        pct = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"'{text[:40]}' is not a percentage (25 or 25%)") from None
    if not pct.is_finite() or not 0 <= pct <= 100:
        raise ValueError(f"discount {text} is outside 0..100 percent")
    return pct


def parse_duration(value: Any) -> int:
    text = _text(value)
    if not text:
        return 1
    m = re.fullmatch(r"(\d{1,2})\s*(?:y|yr|yrs|year|years)?", text, re.I)
    if not m or not 1 <= int(m.group(1)) <= 10:
        raise ValueError(f"'{text[:40]}' is not a whole number of years from 1 to 10")
    return int(m.group(1))


def _match_header(cells: list[Any]) -> dict[str, tuple[int, str]] | None:
    """Canonical column -> (index, heading as the file spells it), when the row is a header."""
    found: dict[str, tuple[int, str]] = {}
    for i, cell in enumerate(cells[:MAX_HEADER_COLUMNS]):
        key = header_key(_text(cell))
        for name, keys in _KEYS.items():
            if key in keys and name not in found:
                found[name] = (i, _text(cell)[:60])
                break
    if "price" in found and ("pid" in found or "sku" in found):
        return found
    return None


def _csv_rows(path: Path, summary: FileSummary) -> Iterator[tuple[int, list[Any]]]:
    text = decode_text(read_capped(path, MAX_PRICE_FILE_BYTES, "a price list"), summary)
    head = text[: 1 << 16].splitlines()[:HEADER_ROWS]
    delim = ","
    for candidate in (",", ";", "\t", "|"):
        try:
            if any(_match_header(cells) for cells in csv.reader(head, delimiter=candidate)):
                delim = candidate
                break
        except csv.Error:
            continue
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    rowno = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # a broken record (a runaway quote, an over-long field)
            raise PriceListError(f"{path} row {rowno + 1}: malformed CSV record ({exc}); price list not used") from None
        rowno += 1
        yield rowno, cells


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[Any]]]:
    problem = _check_package(path)
    if problem:
        raise PriceListError(f"{path}: {problem}")
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - a broken workbook of any kind is a message
        raise PriceListError(f"{path}: not a readable .xlsx workbook ({type(exc).__name__})") from None
    try:
        for ws in wb.worksheets:
            ws.reset_dimensions()  # a sheet's own claimed extent is not trusted
            rows = ws.iter_rows(values_only=True, max_col=MAX_HEADER_COLUMNS)
            first = list(next(rows, ()) or ())
            for rowno, cells in enumerate([first], 1):
                yield rowno, cells
            for rowno, cells in enumerate(rows, 2):
                yield rowno, list(cells)
            return  # the first sheet only: a price list is one table
    except PriceListError:
        raise
    except Exception as exc:  # noqa: BLE001 - bad XML further down
        raise PriceListError(f"{path}: the sheet is malformed ({type(exc).__name__}); price list not used") from None
    finally:
        wb.close()


def load_prices(path: str | Path, default_currency: str | None = None) -> PriceList:
    """Read a price list; raises PriceListError naming every bad row (up to 50) when it cannot be used."""
    path = Path(path)
    suffix = path.suffix.lower()
    summary = FileSummary(str(path))
    if suffix in (".csv", ".txt", ".tsv"):
        rows = _csv_rows(path, summary)
    elif suffix in (".xlsx", ".xlsm"):
        rows = _xlsx_rows(path)
    else:
        raise PriceListError(f"{path}: unsupported price list type '{path.suffix}' (CSV or XLSX)")
    default = (default_currency or "").strip().upper()
    out = PriceList(str(path))
    problems: list[str] = []
    header: dict[str, tuple[int, str]] | None = None
    header_row = 0
    seen: dict[tuple[str, str, str, str], Price] = {}
    try:
        for rowno, cells in rows:
            if header is None:
                if rowno > HEADER_ROWS:
                    break
                header = _match_header(cells)
                header_row = rowno
                continue
            if rowno - header_row > MAX_PRICE_ROWS:
                raise PriceListError(f"{path}: more than {MAX_PRICE_ROWS:,} price rows; not used")
            if not any(_text(c) for c in cells):
                continue
            price = _row(path, rowno, cells, header, default, problems)
            if price is None:
                continue
            ident = (price.pid, price.level, price.sku if not price.pid else "", price.currency)
            old = seen.get(ident)
            if old is not None:
                if (old.annual, old.duration, old.discount) != (price.annual, price.duration, price.discount):
                    problems.append(f"{path} row {rowno}: prices {price.pid or price.sku} "
                                    f"{price.level or '(any level)'} in {price.currency} again, differently from "
                                    f"row {old.where.rsplit(':', 1)[1]}: which one holds?")
                continue
            seen[ident] = price
            out.add(price)
    except OSError as exc:
        raise PriceListError(f"{path}: cannot read price list: {exc.strerror or exc}") from None
    except InputError as exc:
        raise PriceListError(f"{path}: {exc}") from None
    if header is None:
        names = "; ".join(f"{k}: {', '.join(v[:4])}" for k, v in ALIASES.items())
        raise PriceListError(f"{path}: no header row with a price column and a PID or SKU column in the first "
                             f"{HEADER_ROWS} rows (recognised headings - {names})")
    if problems:
        more = f"\n... and {len(problems) - MAX_ERRORS_SHOWN} more" if len(problems) > MAX_ERRORS_SHOWN else ""
        raise PriceListError("\n".join(problems[:MAX_ERRORS_SHOWN]) + more + "\nprice list not used")
    out.summary = (f"{path}: {len(out.prices)} prices (header on row {header_row}; "
                   f"columns {', '.join(sorted(header))})")
    return out


def _row(path: Path, rowno: int, cells: list[Any], header: dict[str, tuple[int, str]], default: str,
         problems: list[str]) -> Price | None:
    def cell(name: str) -> Any:
        i = header[name][0] if name in header else None
        return cells[i] if i is not None and i < len(cells) else None

    def bad(name: str, message: str) -> None:
        column = header[name][1] if name in header else f"({name}: no such column)"
        problems.append(f"{path} row {rowno}, column '{column}': {message}")

    pid_text = _text(cell("pid")).upper()
    sku = _text(cell("sku")).upper()
    if not pid_text and not sku:
        bad("pid" if "pid" in header else "sku", "no product PID and no service SKU: the row prices nothing")
        return None
    level = _text(cell("level")).upper()
    pid = split_pid(pid_text)[1] if pid_text else ""
    if not pid:
        sku_level = Price("", "", sku, Decimal(0), "", Decimal(0), 1, "").sku_parts[0]
        if not sku_level:
            bad("sku", f"SKU '{sku[:40]}' names no product: give a Product ID column, or a SKU shaped "
                       "CON-<LEVEL>-<PRODUCT>")
            return None
        level = level or sku_level
    ok = True
    try:
        annual = parse_amount(cell("price"))
    except ValueError as exc:
        bad("price", str(exc) if _text(cell("price")) else "no price")
        ok = False
    currency = _text(cell("currency")).upper() or default
    if not currency:
        bad("currency", "no currency (add a currency column or give --currency)")
        ok = False
    elif not _CURRENCY.match(currency):
        bad("currency", f"'{currency[:20]}' is not a 3-letter currency code")
        ok = False
    try:
        discount = parse_discount(cell("discount"))
    except ValueError as exc:
        bad("discount", str(exc))
        ok = False
    try:
        duration = parse_duration(cell("duration"))
    except ValueError as exc:
        bad("duration", str(exc))
        ok = False
    if not ok:
        return None
    return Price(pid, level, sku, annual, currency, discount, duration, f"{path}:{rowno}")

