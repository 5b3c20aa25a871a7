"""Co-term pricing: FORMATS.md section 3 formula and its worked examples."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.reconcile.coterm import bridge, coterm_price, feb29s_between


def test_worked_example_partial_year():
    q = coterm_price("1200.00", date(2026, 3, 15), date(2026, 12, 31))
    assert (q.days, q.leap_days) == (292, 0)
    assert q.years == Decimal("0.8")
    assert q.price == Decimal("960.00") and str(q.price) == "960.00"


def test_worked_example_leap_year_is_one_full_year():
    q = coterm_price("1200.00", date(2027, 6, 1), date(2028, 5, 31))
    assert (q.days, q.leap_days) == (366, 1)
    assert q.years == 1 and q.price == Decimal("1200.00")


def test_multi_year_on_annual_and_on_a_multi_year_price():
    three = coterm_price("1000", date(2026, 1, 1), date(2028, 12, 31))  # 2028-02-29 inside
    assert three.leap_days == 1 and three.factor == 3 and three.price == Decimal("3000.00")
    sku = coterm_price("2700", date(2026, 1, 1), date(2028, 12, 31), duration_qty=3)
    assert sku.factor == 1 and sku.price == Decimal("2700.00")


def test_zero_decimal_currencies_and_half_up():
    # 100 days of 1,000 a year = 273.9726...: JPY/KRW round to whole units, others to cents.
    start, end = date(2026, 1, 1), date(2026, 4, 10)
    assert coterm_price("1000", start, end, "JPY").price == Decimal("274")
    assert coterm_price("1000", start, end, "krw").price == Decimal("274")
    assert coterm_price("1000", start, end, "EUR").price == Decimal("273.97")
    # A whole year of 10.025 is exactly 10.025: half-up gives 10.03 where banker's rounding gives 10.02.
    assert coterm_price("10.025", date(2026, 1, 1), date(2026, 12, 31)).price == Decimal("10.03")


def test_single_day_and_leap_day_alone():
    assert coterm_price("365", date(2026, 5, 5), date(2026, 5, 5)).price == Decimal("1.00")
    only_feb29 = coterm_price("365", date(2028, 2, 29), date(2028, 2, 29))
    assert (only_feb29.days, only_feb29.leap_days, only_feb29.price) == (1, 1, Decimal("0.00"))


def test_minimums_are_configurable():
    q = coterm_price("1200", date(2026, 1, 1), date(2026, 1, 10), min_days=30)
    assert q.minimum_applied == "days" and q.price == (Decimal(1200) * 30 / 365).quantize(Decimal("0.01"))
    q = coterm_price("1200", date(2026, 1, 1), date(2026, 1, 10), min_charge="50")
    assert q.minimum_applied == "charge" and q.price == Decimal("50.00")
    assert coterm_price("1200", date(2026, 1, 1), date(2026, 12, 31), min_days=30, min_charge=50).minimum_applied == ""


def test_refuses_bad_input():
    with pytest.raises(ValueError):
        coterm_price("100", date(2026, 2, 1), date(2026, 1, 31))
    with pytest.raises(TypeError):
        coterm_price(99.99, date(2026, 1, 1), date(2026, 12, 31))
    with pytest.raises(ValueError):
        coterm_price("100", date(2026, 1, 1), date(2026, 12, 31), duration_qty=0)


def test_bridge_starts_the_day_after_coverage_ends():
    q = bridge(date(2026, 3, 14), date(2026, 12, 31), "1200.00")
    assert q.start == date(2026, 3, 15) and q.price == Decimal("960.00")


def test_feb29_count():
    assert feb29s_between(date(2024, 2, 29), date(2024, 2, 29)) == 1
    assert feb29s_between(date(2024, 3, 1), date(2028, 2, 28)) == 0
    assert feb29s_between(date(2099, 1, 1), date(2101, 1, 1)) == 0  # 2100 is not a leap year
    assert feb29s_between(date(1999, 1, 1), date(2001, 1, 1)) == 1  # 2000 is


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 1, 1)), st.integers(0, 3000))
def test_feb29_count_matches_a_day_by_day_walk(start, span):
    end = start + timedelta(days=span)
    walk = sum(1 for n in range(span + 1) if (start + timedelta(days=n)).strftime("%m-%d") == "02-29")
    assert feb29s_between(start, end) == walk


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1)), st.integers(1, 5))
def test_whole_years_cost_the_annual_price(start, years):
    # Any exact anniversary-to-anniversary term costs years x list price, leap years or not.
    try:
        end = start.replace(year=start.year + years) - timedelta(days=1)
    except ValueError:  # starts on 29 Feb
        return
    q = coterm_price("1000", start, end)
    assert q.price == Decimal(1000 * years).quantize(Decimal("0.01"))
