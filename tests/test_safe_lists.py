"""Lists that are safe to buy from (issue 14, item 2, and 2b's "every list row names its evidence"):
EoX milestones on every row with the upcoming ones flagged, reinstate and cannot-attach lists,
coverage gaps, a live line marked not covered, every reason in every format, one site vocabulary,
the evidence column, and the quote agreeing with the lists.  Inputs are built here, dates relative
to a fixed as-of date."""
from __future__ import annotations

import csv
import json
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from agent.contracts import ContractLine, EoxIndex, EoxRecord, split_pid
from agent.quote import ADD, BLOCKED, FLAGGED, PRICED, RENEW, QuoteOptions, build_quote, load_prices
from agent.reconcile import (
    COVERED, END_OF_SUPPORT, EXPIRING, LAPSED, NOT_SEEN, UNCOVERED, DeviceScanState, FleetItem, SeenHistory,
    reconcile,
)
from agent.reconcile.rows import (
    FLAG_ATTACH_PASSED, FLAG_ATTACH_SOON, FLAG_COVERAGE_GAP, FLAG_LDOS_SOON, FLAG_RECERT, FLAG_RENEWAL_SOON,
    FLAG_SALE_SOON,
)
from agent.reports import render_table, select_lists, write_reconcile_reports
from agent.reports.cells import COLUMNS, evidence_text, row_cells, row_record
from agent.reports.table import FILE_WHY_WIDTH

AS_OF = date(2026, 1, 15)
WINDOW = 90
SCANNED = datetime(2026, 1, 14, 2, 30)


def day(n: int) -> date:
    return AS_OF + timedelta(days=n)


def line(serial, pid="C9300-48P", start=date(2025, 4, 1), end=date(2028, 3, 31), contract="209876543", row=2,
         covered=True, status="", site_id="55501234", site_name="EXAMPLE CORP HQ", **kw) -> ContractLine:
    as_read, base, refurb = split_pid(pid)
    return ContractLine(serial=serial, pid=as_read, base_pid=base, contract_number=contract, start=start, end=end,
                        covered=covered, status=status, site_id=site_id, site_name=site_name, refurbished=refurb,
                        source_file="coverage.csv", source_row=row, **kw)


def item(serial, pid="C9300-48P", device="sw-hq-01", site="hq", **kw) -> FleetItem:
    return FleetItem(serial=serial, base_pid=pid.rstrip("="), pid=pid, device=device, hostname=device, site=site,
                     cls="chassis", name="Switch 1", scan_id=7, capture_id=70, **kw)


def dev(name="sw-hq-01", site="hq", sites=("55501234",)) -> DeviceScanState:
    return DeviceScanState(device=name, site=site, contract_site_ids=tuple(sites), last_clean_scan_at=SCANNED,
                           latest_scan_clean=True, latest_scan_id=7, last_ok_at=SCANNED)


def eox(pid, **dates) -> EoxRecord:
    return EoxRecord(pid, bulletin="EOL12345", source_file="eox.csv", source_row=2, **dates)


def run(fleet, lines, records=(), devices=None, history=None):
    return reconcile(fleet, devices if devices is not None else [dev()], lines, EoxIndex(list(records)), AS_OF,
                     WINDOW, history=history)


def only(rows, serial, seen=None):
    found = [r for r in rows if r.serial == serial and (seen is None or r.seen == seen)]
    assert len(found) == 1, found
    return found[0]


def text(row) -> str:
    return " | ".join(row.reasons)


def on(rows, name) -> list[str]:
    return [r.serial for r in select_lists(rows, [name])[name]]


# ------------------------------------------------------------------ 1. milestones on every row


def test_the_issues_case_renewal_soon_on_renew_with_ldos_shown():
    # Covered to 2028-03-31, LDoS 2027-10-31, End of Service Contract Renewal 52 days away.
    rows = run([item("FOC1")], [line("FOC1")],
               [eox("C9300-48P", last_date_of_support=date(2027, 10, 31), end_of_service_contract_renewal=day(52))])
    row = only(rows, "FOC1")
    assert row.status == COVERED and row.coverage_end == date(2028, 3, 31)
    assert FLAG_RENEWAL_SOON in row.flags and FLAG_LDOS_SOON not in row.flags
    assert (row.ldos, row.last_renewal) == (date(2027, 10, 31), day(52))
    assert f"End of Service Contract Renewal {day(52)} in 52 days (EoX EOL12345 [eox.csv:2])" in text(row)
    assert row.reasons[-1].startswith("covered until 2028-03-31")  # the verdict stays last
    assert on(rows, "renew") == ["FOC1"]
    # The renew list's text form shows the flag, the date and the LDoS.
    txt = render_table(select_lists(rows, ["renew"])["renew"])
    assert "last-renewal-soon" in txt and "2027-10-31" in txt and "in 52 days" in txt


@pytest.mark.parametrize("field, flag", [
    ("end_of_sale", FLAG_SALE_SOON), ("end_of_service_contract_renewal", FLAG_RENEWAL_SOON),
    ("end_of_service_attach", FLAG_ATTACH_SOON), ("last_date_of_support", FLAG_LDOS_SOON)])
def test_each_upcoming_milestone_is_flagged_inside_the_window_only(field, flag):
    # Today and the window's last day are inside; the day after the window is not.
    for offset, flagged in ((0, True), (1, True), (WINDOW, True), (WINDOW + 1, False)):
        row = only(run([item("FOC1")], [line("FOC1")], [eox("C9300-48P", **{field: day(offset)})]), "FOC1")
        assert (flag in row.flags) is flagged, (field, offset, row.flags, row.reasons)
        left = "today" if offset == 0 else f"in {offset} days"
        assert (f"{day(offset)} {left}" in text(row)) is flagged


def test_passed_sale_and_attach_fill_the_columns_without_a_soon_flag():
    row = only(run([item("FOC1")], [line("FOC1")],
                   [eox("C9300-48P", end_of_sale=day(-400), end_of_service_attach=day(-30))]), "FOC1")
    assert row.status == COVERED and row.flags == ()
    assert (row.end_of_sale, row.last_attach) == (day(-400), day(-30))
    assert row.milestone_source == "EoX EOL12345 [eox.csv:2]"


def test_contract_file_columns_fill_in_where_eox_has_none():
    row = only(run([item("FOC1")], [line("FOC1", ldos=day(200), end_of_renewal=day(20))]), "FOC1")
    assert (row.ldos, row.last_renewal, row.flags) == (day(200), day(20), (FLAG_RENEWAL_SOON,))
    assert row.milestone_source == "contract file [coverage.csv:2]"


def test_unseen_rows_carry_milestones_too():
    rows = run([], [line("GONE1")], [eox("C9300-48P", last_date_of_support=day(30), end_of_sale=day(-10))])
    row = only(rows, "GONE1")
    assert row.status == NOT_SEEN and (row.ldos, row.end_of_sale) == (day(30), day(-10))
    assert row.flags == (FLAG_LDOS_SOON,) and row.reasons[-1].endswith("drop candidate")


def test_items_on_no_line_share_their_verdict_but_not_their_fields():
    # The bare path computes a PID's verdict once: both items get its milestones and flags.
    rows = run([item("P1", "PWR-C1-715WAC"), item("P2", "PWR-C1-715WAC", device="sw-hq-02")], [],
               [eox("PWR-C1-715WAC", end_of_service_attach=day(10))], devices=[dev(), dev("sw-hq-02")])
    for serial in ("P1", "P2"):
        row = only(rows, serial)
        assert row.status == UNCOVERED and row.flags == (FLAG_ATTACH_SOON,) and row.last_attach == day(10)
    assert on(rows, "add") == ["P1", "P2"]


# ------------------------------------------------------------------ 2. reinstate


def test_lapsed_seen_items_are_on_reinstate_unseen_lapsed_keys_are_not():
    rows = run([item("FOC1"), item("FOC2")],
               [line("FOC1", end=day(-1)),
                line("FOC2", start=date(2024, 1, 1), end=date(2024, 12, 31), row=3),
                line("FOC2", start=date(2025, 1, 1), end=day(-40), row=4),
                line("GONE1", end=day(-5), row=5)])
    for serial in ("FOC1", "FOC2"):  # the fast path (one ended line) and the general one
        row = only(rows, serial)
        assert row.status == LAPSED and row.flags == (FLAG_RECERT,)
        assert row.reasons[-1].startswith("reinstating needs re-certification")
    gone = only(rows, "GONE1")
    assert gone.status == LAPSED and not gone.seen and "nothing to drop" in text(gone)
    assert FLAG_RECERT not in gone.flags
    assert on(rows, "reinstate") == ["FOC2", "FOC1"]  # by contract, then the end that lapsed first


# ------------------------------------------------------------------ 3. cannot-attach


def test_uncovered_past_end_of_service_attach_leaves_add_for_cannot_attach():
    rows = run([item("P1", "PWR-C1-715WAC"), item("P2", "PWR-C1-350WAC"), item("OLD1", "WS-C3850-48P-S")], [],
               [eox("PWR-C1-715WAC", end_of_service_attach=day(-1)),
                eox("WS-C3850-48P-S", last_date_of_support=day(-1))])
    p1 = only(rows, "P1")
    assert p1.status == UNCOVERED and p1.flags == (FLAG_ATTACH_PASSED,)
    assert p1.reasons[-1] == f"past End of Service Attach {day(-1)} (EoX EOL12345 [eox.csv:2]): cannot be added to " \
                             "a contract"
    assert on(rows, "add") == ["P2"]
    assert on(rows, "cannot-attach") == ["P1"]
    assert on(rows, "refresh") == ["OLD1"] and only(rows, "OLD1").status == END_OF_SUPPORT
    # Titles say what procurement can do with each.
    from agent.reports.lists import title_of
    assert "replace the hardware" in title_of("refresh") and "no contract can be added" in title_of("cannot-attach")


# ------------------------------------------------------------------ 4. coverage gaps


def test_only_a_future_line_is_a_gap_on_add_not_on_renew():
    rows = run([item("FOC1")], [line("FOC1", start=day(45), end=day(45 + 365))])
    row = only(rows, "FOC1")
    assert row.status == UNCOVERED and row.flags == (FLAG_COVERAGE_GAP,) and row.gap_days == 45
    assert row.coverage_start == day(45) and row.contract_file == "coverage.csv"
    assert f"45 days without coverage until {day(45)}" in row.reasons[-1]
    assert on(rows, "add") == ["FOC1"] and on(rows, "coverage-gap") == ["FOC1"] and on(rows, "renew") == []


def test_ended_then_future_line_names_both():
    rows = run([item("FOC1")], [line("FOC1", start=date(2025, 1, 1), end=day(-10), row=2),
                                line("FOC1", start=day(20), end=day(400), row=3)])
    row = only(rows, "FOC1")
    assert row.status == UNCOVERED and row.gap_days == 20 and row.contract_row == 3
    assert "coverage.csv:2" in text(row) and row.other_lines == ("coverage.csv:2",)


def test_gap_between_the_active_line_and_a_booked_one_is_flagged_on_renew():
    rows = run([item("FOC1")], [line("FOC1", start=date(2025, 1, 1), end=day(30), row=2),
                                line("FOC1", start=day(41), end=day(500), row=3)])
    row = only(rows, "FOC1")
    # Covered today (expiring inside the window), and ten days uncovered before the booked line.
    assert row.status == EXPIRING and row.flags == (FLAG_COVERAGE_GAP,) and row.gap_days == 10
    assert f"coverage gap of 10 days: covered until {day(30)}, the next line starts {day(41)}" in text(row)
    assert on(rows, "renew") == ["FOC1"] and on(rows, "coverage-gap") == ["FOC1"]
    # A booked line that starts the day after is a continuation, not a gap.
    seamless = only(run([item("FOC1")], [line("FOC1", start=date(2025, 1, 1), end=day(30)),
                                         line("FOC1", start=day(31), end=day(500), row=3)]), "FOC1")
    assert seamless.status == COVERED and seamless.flags == () and seamless.gap_days is None


# ------------------------------------------------------------------ 5. marked not covered, live dates


def test_live_line_marked_not_covered_is_uncovered_naming_row_and_words():
    rows = run([item("FOC1")], [line("FOC1", covered=False, status="NOT COVERED", row=17)])
    row = only(rows, "FOC1")
    assert row.status == UNCOVERED and "NOT COVERED" in text(row) and "coverage.csv:17" in text(row)
    assert row.contract_row == 17 and on(rows, "add") == ["FOC1"] and on(rows, "reinstate") == []


# ------------------------------------------------------------------ 6. every reason in every format


LONG = ("past End of Service Contract Renewal 2026-05-19 (EoX EOL13201 [exports/a/rather/long/path/to/the/"
        "eox-export-of-this-quarter.json:1]): cannot be renewed, and this sentence runs on well past ninety characters")


def test_every_reason_kept_in_every_format(tmp_path):
    rows = run([item("FOC1")], [line("FOC1", end=day(-1))])
    row = rows[0]
    row.reasons = row.reasons + (LONG,)
    write_reconcile_reports(rows, tmp_path, formats=["table", "csv", "json"], lists=["reinstate"], parallel=False)
    txt = (tmp_path / "reinstate.txt").read_text()
    lines = txt.splitlines()
    column = lines[2].index("WHY")  # the title, a blank line, then the table's header
    why = [ln[column:] for ln in lines[4:] if ln.strip() and not ln.startswith("1 row")]
    assert all(len(w) <= FILE_WHY_WIDTH for w in why)
    assert "".join(why).replace(" ", "").startswith("".join(row.reasons).replace(" ", ""))
    assert "…" not in txt
    with (tmp_path / "reinstate.csv").open(encoding="utf-8-sig", newline="") as fh:
        assert next(csv.DictReader(fh))["reasons"] == "; ".join(row.reasons)
    assert json.loads((tmp_path / "reinstate.json").read_text())["rows"][0]["reasons"] == list(row.reasons)
    # The terminal keeps them all too, wrapped in what the columns leave.
    term = render_table([row], width=80)
    assert all(len(ln) <= 80 for ln in term.splitlines())
    assert "".join(row.reasons).replace(" ", "") in "".join(term.split())


# ------------------------------------------------------------------ 7. one site vocabulary


def test_site_is_the_inventory_site_on_every_row():
    devices = [dev("sw-hq-01", "hq", ("55501234",)), dev("sw-br-01", "branch", ("55505678",)),
               dev("sw-br-02", "branch", ("55505678",)), dev("sw-mix-01", "lab", ("55509999",)),
               dev("sw-mix-02", "dc", ("55509999",))]
    hist = {("GONE1", "C9300-48P"): SeenHistory(None, datetime(2025, 12, 1), "sw-hq-01", "Switch 2")}
    rows = run([item("FOC1")],
               [line("FOC1"), line("GONE1", row=3, site_id="55505678", site_name="BRANCH OFFICE"),
                line("NEVER1", row=4, site_id="55505678", site_name="BRANCH OFFICE"),
                line("NEVER2", row=5, site_id="55509999", site_name="SHARED"),
                line("OLD1", row=6, end=day(-3), site_id="55505678", site_name="BRANCH OFFICE")],
               devices=devices, history=hist)
    seen = only(rows, "FOC1")
    assert (seen.site, seen.contract_site) == ("hq", "EXAMPLE CORP HQ")
    # Last seen on sw-hq-01: that device's site, whatever the contract says.
    assert (only(rows, "GONE1").site, only(rows, "GONE1").contract_site) == ("hq", "BRANCH OFFICE")
    # Never seen: the site of the devices that map the install site id.
    assert (only(rows, "NEVER1").site, only(rows, "NEVER1").contract_site) == ("branch", "BRANCH OFFICE")
    assert (only(rows, "OLD1").site, only(rows, "OLD1").status) == ("branch", LAPSED)
    # Mapped by devices of two sites: no one inventory site; the contract's is beside it.
    assert (only(rows, "NEVER2").site, only(rows, "NEVER2").contract_site) == ("", "SHARED")


# ------------------------------------------------------------------ 8. evidence per row


def test_every_row_names_its_evidence():
    rows = run([item("FOC1"), item("NEW1", "PWR-C1-715WAC")],
               [line("FOC1", row=17), line("FOC1", start=date(2023, 1, 1), end=date(2023, 12, 31), row=9),
                line("GONE1", row=20)],
               [eox("C9300-48P", end_of_sale=day(-10))])
    assert evidence_text(only(rows, "FOC1")) == ("capture 70 (scan 7); coverage.csv:17; also coverage.csv:9; "
                                                 "milestones: EoX EOL12345 [eox.csv:2]")
    assert evidence_text(only(rows, "NEW1")) == "capture 70 (scan 7)"  # uncovered: the sighting is the evidence
    assert evidence_text(only(rows, "GONE1")) == ("absent from scan 7; coverage.csv:20; "
                                                  "milestones: EoX EOL12345 [eox.csv:2]")
    cells = dict(zip(COLUMNS, row_cells(only(rows, "NEW1"))))
    assert cells["evidence"] == "capture 70 (scan 7)"
    record = row_record(only(rows, "FOC1"))
    assert record["evidence"] == {"scan_id": 7, "capture_id": 70, "contract_file": "coverage.csv",
                                  "contract_row": 17, "other_lines": ["coverage.csv:9"]}
    assert record["evidence_text"].startswith("capture 70 (scan 7); coverage.csv:17")
    assert "EVIDENCE" in render_table(rows).splitlines()[0]


# ------------------------------------------------------------------ 10. the quote agrees with the lists


def _prices(tmp_path, *rows):
    path = tmp_path / "prices.csv"
    path.write_text("Product ID,Service Level,Annual List Price,Currency\n" + "\n".join(rows) + "\n")
    return load_prices(path)


def test_quote_follows_the_lists(tmp_path):
    prices = _prices(tmp_path, "C9300-48P,,3650.00,USD", "PWR-C1-715WAC,,365.00,USD")
    records = [eox("PWR-C1-715WAC", end_of_service_attach=day(-1)),
               eox("C9300-24P", end_of_service_contract_renewal=day(52))]
    rows = run([item("GAP1"), item("BOOKED1", device="sw-hq-02"), item("PSU1", "PWR-C1-715WAC"),
                item("SOON1", "C9300-24P")],
               [line("GAP1", start=day(45), end=day(400), row=2),
                line("BOOKED1", start=date(2025, 1, 1), end=day(30), row=3),
                line("BOOKED1", start=day(41), end=day(500), row=4),
                line("SOON1", "C9300-24P", end=day(20), row=5)],
               records, devices=[dev(), dev("sw-hq-02")])
    lines = {q.serial: q for q in build_quote(rows, prices, [], EoxIndex(records),
                                               QuoteOptions(AS_OF, coterm=day(364)))}
    # The gap only: AS_OF .. day 44 = 45 days; 3650 x 45 / 365 = 450.00.
    gap = lines["GAP1"]
    assert (gap.kind, gap.state, gap.start, gap.end, gap.days) == (ADD, PRICED, AS_OF, day(44), 45)
    assert gap.net_price == Decimal("450.00") and any("coverage gap only" in w for w in gap.why)
    # A renewal to the co-term date would overlap the booked line: noted, not priced.
    booked = lines["BOOKED1"]
    assert (booked.kind, booked.state) == (RENEW, FLAGGED) and any("gap of 10 days" in w for w in booked.why)
    # cannot-attach: listed with its milestone, never priced as an add.
    psu = lines["PSU1"]
    assert (psu.kind, psu.state, psu.amount) == (ADD, BLOCKED, None)
    assert psu.milestone == f"End of Service Attach {day(-1)}"
    # A renewal whose End of Service Contract Renewal is inside the window says so.
    assert "End of Service Contract Renewal" in lines["SOON1"].milestone
    assert FLAG_RENEWAL_SOON in only(rows, "SOON1").flags


def test_stale_evidence_is_a_flag_beside_its_reason():
    old = DeviceScanState(device="sw-hq-01", site="hq", last_clean_scan_at=datetime(2025, 10, 1),
                          latest_scan_clean=True, latest_scan_id=3, last_ok_at=datetime(2025, 10, 1))
    row = only(run([item("FOC1")], [line("FOC1")], devices=[old]), "FOC1")
    assert row.status == COVERED and row.flags == ("stale-evidence",) and row.evidence_age_days == 106
    assert "rests on evidence 106 days old" in row.reasons[-1]
