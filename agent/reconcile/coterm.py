"""Co-termination pricing: Cisco's service-duration formula (FORMATS.md section 3).

    years  = (end - start + 1 - feb29s_in_range) / 365      # both dates inclusive
    factor = years / duration_qty                            # duration_qty: years the list price covers
    price  = annual_list * factor, rounded half-up to 2 decimals (0 for JPY and KRW)

Decimal throughout: a quote total must match the one Cisco's tools print to the cent, and
binary floats drift (0.1 + 0.2).  Minimum duration and charge have no public source, so they
are parameters, off by default.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext

ZERO_DECIMAL_CURRENCIES = frozenset({"JPY", "KRW"})


def feb29s_between(start: date, end: date) -> int:
    """Number of 29 Februaries in [start, end], both inclusive."""
    if end < start:
        return 0
    count = 0
    for year in range(start.year, end.year + 1):
        if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) and start <= date(year, 2, 29) <= end:
            count += 1
    return count


def currency_places(currency: str) -> int:
    return 0 if currency.strip().upper() in ZERO_DECIMAL_CURRENCIES else 2


@dataclass(frozen=True, slots=True)
class CotermQuote:
    start: date
    end: date
    days: int  # inclusive
    leap_days: int
    years: Decimal  # ServiceDuration
    factor: Decimal  # DurationFactor
    price: Decimal  # rounded for the currency
    currency: str
    minimum_applied: str = ""  # "", "days" or "charge"


def coterm_price(
    annual_list: Decimal | int | str,
    start: date,
    end: date,
    currency: str = "USD",
    duration_qty: int = 1,
    min_days: int | None = None,
    min_charge: Decimal | int | str | None = None,
) -> CotermQuote:
    """List price of service from ``start`` to ``end`` (inclusive) for a price covering
    ``duration_qty`` years.  ``annual_list`` must be exact: pass a Decimal, int or string, not a float."""
    if isinstance(annual_list, float):
        raise TypeError("pass the list price as Decimal or str, not float (binary rounding)")
    if end < start:
        raise ValueError(f"co-term end {end} is before start {start}")
    if duration_qty < 1:
        raise ValueError("duration_qty is the number of years the list price covers: at least 1")
    list_price = Decimal(annual_list)
    days = (end - start).days + 1
    leap = feb29s_between(start, end)
    counted = days - leap
    applied = ""
    if min_days is not None and counted < min_days:
        counted, applied = min_days, "days"
    with localcontext() as ctx:
        ctx.prec = 34
        years = Decimal(counted) / Decimal(365)
        factor = years / Decimal(duration_qty)
        exact = list_price * factor
    quantum = Decimal(1).scaleb(-currency_places(currency))
    price = exact.quantize(quantum, rounding=ROUND_HALF_UP)
    if min_charge is not None and price < Decimal(min_charge):
        price, applied = Decimal(min_charge).quantize(quantum, rounding=ROUND_HALF_UP), "charge"
    return CotermQuote(start, end, days, leap, years, factor, price, currency.upper(), applied)


def bridge(coverage_end: date, coterm_end: date, annual_list: Decimal | int | str, currency: str = "USD",
           **kwargs) -> CotermQuote:
    """Price to extend a line that ends ``coverage_end`` to the co-term date: renewal starts the
    day after the old coverage ends (field practice), so no day is paid twice."""
    return coterm_price(annual_list, coverage_end + timedelta(days=1), coterm_end, currency, **kwargs)
