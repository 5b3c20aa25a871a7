"""``agent.quote``: quote lines and totals against values computed by hand (the arithmetic is in
the comments: days inclusive, minus the 29 Februaries inside, / 365, / the years the price
covers, x the price, rounded half-up to cents, or to whole units for JPY)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from agent.contracts import EoxIndex, EoxRecord
from agent.quote import (
    BLOCKED, FLAGGED, NO_CHARGE, PRICED, UNPRICED, QuoteOptions, build_quote, load_prices, totals,
)
from agent.reconcile import (
    COVERED, END_OF_SUPPORT, EXPIRING, LAPSED, NOT_SEEN, RMA_SWAP, UNCOVERED, UNVERIFIED, ReconRow,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "prices"
AS_OF = date(2026, 12, 5)


def _prices(tmp_path: Path, *rows: str, header: str = "Product ID,Service Level,Annual List Price,Currency,"
            "Discount %,Duration (years)"):
    path = tmp_path / "prices.csv"
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return load_prices(path)


def _row(status=COVERED, serial="FOC0000A001", pid="C9300-48P-E", end=None, start=None, seen=True, contract="100",
         level="SNT", site="hq", **kw) -> ReconRow:
    return ReconRow(status, serial, pid, pid, seen, "sw1", "sw1", site, "chassis", "Switch 1", "",
                    contract if status not in (UNCOVERED,) else "", level if status != UNCOVERED else "",
                    start, end, **kw)


def _one(rows, prices, coterm=None, eox=None, **opts):
    lines = build_quote(rows, prices, [], eox, QuoteOptions(AS_OF, coterm, **opts))
    assert len(lines) == 1, lines
    return lines[0]


def test_renew_across_29_february_is_one_year(tmp_path):
    prices = _prices(tmp_path, "C9300-48P-E,SNT,1200.00,USD,,")
    # 2027-07-01..2028-06-30 = 366 days, 2028-02-29 inside: (366 - 1) / 365 = 1.0 -> 1200.00
    q = _one([_row(end=date(2027, 6, 30))], prices, coterm=date(2028, 6, 30))
    assert (q.state, q.start, q.end, q.days, q.leap_days) == (PRICED, date(2027, 7, 1), date(2028, 6, 30), 366, 1)
    assert q.net_price == Decimal("1200.00") and str(q.net_price) == "1200.00"


def test_renew_in_a_leap_year_after_29_february(tmp_path):
    prices = _prices(tmp_path, "C9300-48P-E,SNT,1200.00,USD,,")
    # 2028-04-01..2028-12-31: 30+31+30+31+31+30+31+30+31 = 275 days, no 29 Feb inside (it is before the start)
    # 1200 x 275 / 365 = 904.10958... -> 904.11
    q = _one([_row(end=date(2028, 3, 31))], prices, coterm=date(2028, 12, 31))
    assert (q.days, q.leap_days, q.net_price) == (275, 0, Decimal("904.11"))


def test_jpy_rounds_to_whole_yen_and_discount_after_rounding(tmp_path):
    prices = _prices(tmp_path, "C9200L-24P-4G,SNT,150000,JPY,15%,")
    # 2027-01-01..2027-03-31 = 31+28+31 = 90 days: 150000 x 90 / 365 = 36986.30... -> list 36986
    # less 15%: 36986 x 0.85 = 31438.1 -> 31438
    q = _one([_row(pid="C9200L-24P-4G", end=date(2026, 12, 31))], prices, coterm=date(2027, 3, 31))
    assert (q.days, q.currency, q.list_price, q.net_price) == (90, "JPY", Decimal("36986"), Decimal("31438"))
    assert str(q.net_price) == "31438"  # no decimals at all for JPY
    assert str(totals([q]).by_currency["JPY"].cost) == "31438"


def test_three_year_price_with_duration_3(tmp_path):
    prices = _prices(tmp_path, "N9K-C93180YC-FX3,SNT,3000.00,USD,,3")
    row = _row(pid="N9K-C93180YC-FX3", end=date(2026, 12, 31))
    # 2027-01-01..2029-12-31 = 365 + 366 + 365 = 1096 days, one 29 Feb: 1095 / 365 = 3 years; / 3 = 1 -> 3000.00
    q = _one([row], prices, coterm=date(2029, 12, 31))
    assert (q.days, q.leap_days, q.factor, q.net_price) == (1096, 1, Decimal(1), Decimal("3000.00"))
    # one year of a 3-year price: 365 / 365 / 3 = 1/3 -> 1000.00
    q = _one([row], prices, coterm=date(2027, 12, 31))
    assert q.net_price == Decimal("1000.00")


def test_coterm_before_current_end_is_flagged_not_credited(tmp_path):
    prices = _prices(tmp_path, "C9300-48P-E,SNT,1200.00,USD,,")
    q = _one([_row(end=date(2027, 12, 31))], prices, coterm=date(2027, 6, 30))
    assert q.state == FLAGGED and q.net_price is None
    assert "before the current end 2027-12-31" in " ".join(q.why) and "credit" in " ".join(q.why)
    # On the current end exactly: nothing to renew, no charge, no flag.
    q = _one([_row(end=date(2027, 6, 30))], prices, coterm=date(2027, 6, 30))
    assert q.state == NO_CHARGE and q.net_price is None


def _eox(**dates) -> EoxIndex:
    return EoxIndex([EoxRecord("C9300-48P-E", bulletin="EOL99999", source_file="eox.json", source_row=1, **dates)])


def test_ldos_caps_the_renewal(tmp_path):
    prices = _prices(tmp_path, "C9300-48P-E,SNT,1200.00,USD,,")
    eox = _eox(last_date_of_support=date(2027, 10, 31), end_of_service_contract_renewal=date(2027, 3, 31))
    # 2027-04-01..2027-10-31 (capped from 2028-03-31): 30+31+30+31+31+30+31 = 214 days
    # 1200 x 214 / 365 = 703.5616... -> 703.56
    q = _one([_row(end=date(2027, 3, 31))], prices, coterm=date(2028, 3, 31), eox=eox)
    assert (q.state, q.end, q.days, q.net_price) == (PRICED, date(2027, 10, 31), 214, Decimal("703.56"))
    assert "capped at Last Date of Support 2027-10-31" in q.milestone
    assert "End of Service Contract Renewal 2027-03-31" in q.milestone  # upcoming: said, not blocking


def test_end_of_service_contract_renewal_passed_blocks(tmp_path):
    prices = _prices(tmp_path, "C9300-48P-E,SNT,1200.00,USD,,")
    eox = _eox(last_date_of_support=date(2029, 10, 31), end_of_service_contract_renewal=date(2026, 11, 30))
    # reconcile marks such an item end-of-support; a covered row with the same EoX is blocked as well
    for status in (END_OF_SUPPORT, COVERED):
        q = _one([_row(status, end=date(2027, 3, 31))], prices, coterm=date(2028, 3, 31), eox=eox)
        assert q.state == BLOCKED and q.net_price is None, status
        assert "End of Service Contract Renewal 2026-11-30" in q.milestone
    assert totals([q]).by_currency == {}


def test_end_of_service_attach_passed_blocks_the_add(tmp_path):
    prices = _prices(tmp_path, "C9300-48P-E,SNT,1200.00,USD,,")
    eox = _eox(end_of_service_attach=date(2026, 6, 30), last_date_of_support=date(2030, 6, 30))
    q = _one([_row(UNCOVERED)], prices, coterm=date(2027, 6, 30), eox=eox)
    assert (q.kind, q.state, q.net_price) == ("add", BLOCKED, None)
    assert q.milestone == "End of Service Attach 2026-06-30"
    # Attach still open: 2026-12-05..2027-06-30 = 27 + 31+28+31+30+31+30 = 208 days
    # 1200 x 208 / 365 = 683.8356... -> 683.84
    eox = _eox(end_of_service_attach=date(2027, 6, 30))
    q = _one([_row(UNCOVERED)], prices, coterm=date(2027, 6, 30), eox=eox)
    assert (q.state, q.days, q.net_price, q.service_level) == (PRICED, 208, Decimal("683.84"), "SNT")


def test_unpriced_items_are_listed_not_priced_zero(tmp_path):
    prices = _prices(tmp_path, "C9300-48P-E,SNT,1200.00,USD,,")
    q = _one([_row(pid="STACK-T1-50CM", end=date(2026, 12, 31))], prices, coterm=date(2027, 12, 31))
    assert q.state == UNPRICED and q.net_price is None and q.list_price is None
    assert "no price for STACK-T1-50CM" in q.why[-1]
    sums = totals([q])
    assert sums.by_currency == {} and sums.unpriced == {"STACK-T1-50CM": 1}
    # A price at another service level does not price it either.
    q = _one([_row(end=date(2026, 12, 31), level="SNTP")], prices, coterm=date(2027, 12, 31))
    assert q.state == UNPRICED and "service level SNTP" in q.why[-1]


def test_mixed_currencies_are_totalled_apart(tmp_path):
    prices = _prices(tmp_path, "C9300-48P-E,SNT,1200.00,USD,,", "C9500-48Y4C,SNT,4000.00,EUR,,",
                     "C9200L-24P-4G,SNT,100.00,USD,,", "C9200L-24P-4G,SNT,90.00,EUR,,")
    rows = [_row(end=date(2026, 12, 31)),
            _row(serial="FOC0000A002", pid="C9500-48Y4C", end=date(2026, 12, 31)),
            _row(serial="FOC0000A003", pid="C9300-48P-E", end=date(2027, 6, 30), site="dc1"),
            _row(serial="FOC0000A004", pid="C9200L-24P-4G", end=date(2026, 12, 31))]
    lines = build_quote(rows, prices, [], None, QuoteOptions(AS_OF, date(2027, 12, 31)))
    by_serial = {q.serial: q for q in lines}
    # A001: 2027-01-01..2027-12-31 = 365 days -> 1200.00 USD; A002: the same year -> 4000.00 EUR
    # A003: 2027-07-01..2027-12-31 = 184 days: 1200 x 184 / 365 = 604.9315... -> 604.93 USD
    assert by_serial["FOC0000A003"].net_price == Decimal("604.93")
    # A004 is priced in USD and EUR: not guessed
    assert by_serial["FOC0000A004"].state == UNPRICED and "--currency" in by_serial["FOC0000A004"].why[-1]
    sums = totals(lines)
    assert {c: t.cost for c, t in sums.by_currency.items()} == {"EUR": Decimal("4000.00"),
                                                                "USD": Decimal("1804.93")}  # 1200.00 + 604.93
    assert sums.by_contract[("100", "USD")].cost == Decimal("1804.93")
    assert sums.by_contract[("100", "EUR")].cost == Decimal("4000.00")
    assert sums.by_site[("hq", "USD")].cost == Decimal("1200.00")
    assert sums.by_site[("dc1", "USD")].cost == Decimal("604.93")
    # --currency EUR: only EUR prices count; A004 at 90.00 EUR for the year
    lines = build_quote(rows, prices, [], None, QuoteOptions(AS_OF, date(2027, 12, 31), currency="EUR"))
    assert {q.serial: (q.state, q.net_price) for q in lines}["FOC0000A004"] == (PRICED, Decimal("90.00"))
    assert {q.serial: q.state for q in lines}["FOC0000A001"] == UNPRICED


def test_reinstate_drop_transfer_and_what_is_not_quoted(tmp_path):
    prices = _prices(tmp_path, "C9300-48P-E,SNT,1200.00,USD,,")
    rows = [
        _row(LAPSED, serial="LAPSED00001", end=date(2026, 10, 31)),
        _row(NOT_SEEN, serial="GONE0000001", seen=False, start=date(2026, 1, 1), end=date(2027, 6, 30)),
        _row(NOT_SEEN, serial="GONE0000002", seen=False, end=None),
        _row(RMA_SWAP, serial="OLD00000001", seen=False, end=date(2027, 6, 30), contract="300"),
        _row(RMA_SWAP, serial="NEW00000001", contract="", swap_with="OLD00000001 C9300-48P-E"),
        _row(UNVERIFIED, serial="FAR00000001", seen=False, end=date(2027, 6, 30)),
        _row(LAPSED, serial="LAPSEDGONE1", seen=False, end=date(2026, 1, 31)),
        _row(EXPIRING, serial="EXPIRING001", end=date(2027, 1, 31)),
    ]
    lines = {q.serial: q for q in build_quote(rows, prices, [], None, QuoteOptions(AS_OF, date(2027, 10, 31)))}
    assert set(lines) == {"LAPSED00001", "GONE0000001", "GONE0000002", "NEW00000001", "EXPIRING001"}
    re = lines["LAPSED00001"]
    # from the lapse: 2026-11-01..2027-10-31 = 365 days -> 1200.00, flagged for re-certification
    assert (re.kind, re.start, re.days, re.net_price, re.recertification) == (
        "reinstate", date(2026, 11, 1), 365, Decimal("1200.00"), True)
    drop = lines["GONE0000001"]
    # remaining value 2026-12-05..2027-06-30 = 208 days -> 683.84 saved
    assert (drop.kind, drop.basis, drop.days, drop.net_price) == ("drop", "remaining value", 208, Decimal("683.84"))
    assert (lines["GONE0000002"].basis, lines["GONE0000002"].net_price) == ("annual price", Decimal("1200.00"))
    move = lines["NEW00000001"]
    assert (move.kind, move.state, move.contract_number, move.net_price) == ("transfer", NO_CHARGE, "300", None)
    # 2027-02-01..2027-10-31 = 28+31+30+31+30+31+31+30+31 = 273 days: 1200 x 273 / 365 = 897.5342... -> 897.53
    assert lines["EXPIRING001"].net_price == Decimal("897.53")
    sums = totals(lines.values())
    usd = sums.by_currency["USD"]
    assert usd.cost == Decimal("2097.53")  # 1200.00 + 897.53
    assert usd.saving == Decimal("1883.84")  # 683.84 + 1200.00


def test_default_coterm_is_the_contracts_latest_end(tmp_path):
    prices = _prices(tmp_path, "C9300-48P-E,SNT,1200.00,USD,,")
    rows = [_row(serial="EARLY000001", end=date(2027, 3, 31)), _row(serial="LATE0000001", end=date(2027, 6, 30))]
    lines = {q.serial: q for q in build_quote(rows, prices, [], None, QuoteOptions(AS_OF))}
    early = lines["EARLY000001"]
    # bridged to the contract's latest end: 2027-04-01..2027-06-30 = 30+31+30 = 91 days
    # 1200 x 91 / 365 = 299.1780... -> 299.18
    assert (early.end, early.days, early.net_price) == (date(2027, 6, 30), 91, Decimal("299.18"))
    late = lines["LATE0000001"]
    # already at the contract's end: one year 2027-07-01..2028-06-30 (366 days incl. 2028-02-29) -> 1200.00
    assert (late.end, late.net_price) == (date(2028, 6, 30), Decimal("1200.00"))


def test_sample_fixture_price_list(tmp_path):
    prices = load_prices(FIXTURES / "generic.csv")
    usd = [p for p in prices.by_pid["C9300-48P-E"] if p.currency == "USD" and p.level == "SNT"]
    assert usd[0].annual == Decimal("1200.00")  # "1,200.00" read with its thousands comma
    q = _one([_row(pid="C9200L-24P-4G", end=date(2026, 12, 31), level="SNTP")], prices, coterm=date(2027, 3, 31))
    # the JPY row has no service level: it prices every level; as in the JPY test: 36986 less 15% -> 31438
    assert (q.currency, q.net_price) == ("JPY", Decimal("31438"))


def test_unknown_end_is_flagged_not_priced_from_today(tmp_path):
    prices = _prices(tmp_path, "C9300-48P-E,SNT,1200.00,USD,,")
    q = _one([_row(end=None)], prices, coterm=date(2027, 12, 31))
    assert (q.kind, q.state, q.net_price) == ("renew", FLAGGED, None)
    assert "current end unknown" in q.why[-1]
    # a lapsed line with no date: reinstated from the as-of date, 2026-12-05..2027-12-04 = 365 days -> 1200.00
    q = _one([_row(LAPSED, end=None)], prices, coterm=date(2027, 12, 4))
    assert (q.kind, q.state, q.days, q.net_price) == ("reinstate", PRICED, 365, Decimal("1200.00"))


def test_reinstating_past_end_of_service_attach_says_so(tmp_path):
    prices = _prices(tmp_path, "C9300-48P-E,SNT,1200.00,USD,,")
    eox = _eox(end_of_service_attach=date(2026, 6, 30), end_of_service_contract_renewal=date(2027, 6, 30))
    q = _one([_row(LAPSED, end=date(2026, 10, 31))], prices, coterm=date(2027, 10, 31), eox=eox)
    assert q.state == PRICED and q.recertification
    assert "End of Service Attach 2026-06-30 has passed" in q.milestone


def test_minimum_days_is_off_unless_asked(tmp_path):
    prices = _prices(tmp_path, "C9300-48P-E,SNT,1200.00,USD,,")
    row = _row(end=date(2027, 6, 20))
    # 2027-06-21..2027-06-30 = 10 days: 1200 x 10 / 365 = 32.876... -> 32.88
    assert _one([row], prices, coterm=date(2027, 6, 30)).net_price == Decimal("32.88")
    # --min-days 30: 1200 x 30 / 365 = 98.630... -> 98.63, and the line says so
    q = _one([row], prices, coterm=date(2027, 6, 30), min_days=30)
    assert q.net_price == Decimal("98.63") and "minimum of 30 days" in " ".join(q.why)


def test_a_booked_renewal_is_not_quoted_again(tmp_path):
    # Active to 2027-06-30, a renewal already booked 2027-07-01..2028-06-30 (the safe-lists review
    # found the row kept the first line's end, so the quote priced 2027-07-01.. again).  Co-termed to
    # 2028-12-31: only 2028-07-01..2028-12-31 is bought, 184 days: 1200 x 184 / 365 = 604.93.
    from agent.contracts import ContractLine
    from agent.reconcile import DeviceScanState, FleetItem, reconcile

    pid = "C9300-48P-E"
    lines = [ContractLine("FOC0000A001", pid, pid, "100", "SNT", date(2026, 7, 1), date(2027, 6, 30),
                          source_file="c.csv", source_row=2),
             ContractLine("FOC0000A001", pid, pid, "200", "SNT", date(2027, 7, 1), date(2028, 6, 30),
                          source_file="c.csv", source_row=3)]
    fleet = [FleetItem("FOC0000A001", pid, pid, "sw1", "sw1", "hq", "chassis", "Switch 1")]
    [row] = reconcile(fleet, [DeviceScanState("sw1", "hq", latest_scan_clean=True)], lines, None, AS_OF)
    assert (row.status, row.contract_number, row.coverage_end) == (COVERED, "200", date(2028, 6, 30))
    q = _one([row], _prices(tmp_path, f"{pid},SNT,1200.00,USD,,"), coterm=date(2028, 12, 31))
    assert (q.state, q.start, q.end, q.days, q.net_price) == (
        PRICED, date(2028, 7, 1), date(2028, 12, 31), 184, Decimal("604.93"))
