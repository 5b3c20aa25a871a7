"""Reconciliation rules, one status at a time, plus the fixture estate end to end."""
from __future__ import annotations

import copy
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from agent.contracts import ContractLine, EoxIndex, EoxRecord, load_contracts, load_eox, split_pid
from agent.reconcile import (
    COVERED,
    END_OF_SUPPORT,
    EXPIRING,
    LAPSED,
    MATCH_EXACT,
    MATCH_SERIAL,
    NOT_SEEN,
    RMA_SWAP,
    UNCOVERED,
    UNVERIFIED,
    DeviceScanState,
    FleetItem,
    SeenHistory,
    count_by_status,
    reconcile,
)

AS_OF = date(2026, 1, 15)
SCANNED = datetime(2026, 1, 14, 2, 30)
FIX = Path(__file__).resolve().parent.parent / "fixtures" / "contracts"


def line(serial, pid="C9300-48P", start=date(2025, 6, 1), end=date(2026, 12, 31), contract="209876543",
         site="55501234", covered=True, row=2, file="coverage.csv", **kw) -> ContractLine:
    as_read, base, refurb = split_pid(pid)
    return ContractLine(serial=serial, pid=as_read, base_pid=base, contract_number=contract, start=start, end=end,
                        covered=covered, site_id=site, refurbished=refurb, source_file=file, source_row=row, **kw)


def item(serial, pid="C9300-48P", device="sw-hq-01", slot="", **kw) -> FleetItem:
    return FleetItem(serial=serial, base_pid=pid.rstrip("="), pid=pid, device=device, hostname=device,
                     site="HQ", cls="chassis", name="Switch 1", slot=slot, scan_id=7, capture_id=70, **kw)


def dev(name="sw-hq-01", sites=("55501234",), clean=True, last=SCANNED) -> DeviceScanState:
    return DeviceScanState(device=name, site="HQ", contract_site_ids=tuple(sites), last_clean_scan_at=last,
                           latest_scan_clean=clean, latest_scan_id=7)


def run(fleet, lines, devices=None, eox=None, history=None, **kw):
    return reconcile(fleet, devices if devices is not None else [dev()], lines, eox, AS_OF, history=history, **kw)


def rows_for(rows, serial):
    return [r for r in rows if r.serial == serial]


def only(rows, serial):
    found = rows_for(rows, serial)
    assert len(found) == 1, found
    return found[0]


def said(row, *words) -> bool:
    text = " | ".join(row.reasons)
    return all(w in text for w in words)


# ------------------------------------------------------------------ seen items


@pytest.mark.parametrize("end, status", [
    (AS_OF, EXPIRING),  # ends today: still covered today (inclusive), inside the window
    (AS_OF + timedelta(days=90), EXPIRING),  # last day of the window
    (AS_OF + timedelta(days=91), COVERED),
    (AS_OF - timedelta(days=1), LAPSED),
])
def test_window_and_inclusive_dates(end, status):
    rows = run([item("FOC1")], [line("FOC1", end=end)])
    row = only(rows, "FOC1")
    assert row.status == status
    assert row.coverage_end == end and row.contract_number == "209876543" and row.match == MATCH_EXACT


def test_window_is_a_parameter():
    rows = reconcile([item("FOC1")], [dev()], [line("FOC1", end=AS_OF + timedelta(days=100))], None, AS_OF,
                     window_days=120)
    assert only(rows, "FOC1").status == EXPIRING and said(rows[0], "120-day window")


def test_starts_today_is_active_starts_tomorrow_is_future():
    rows = run([item("FOC1"), item("FOC2")], [line("FOC1", start=AS_OF), line("FOC2", start=AS_OF + timedelta(days=1))])
    assert only(rows, "FOC1").status == COVERED and said(only(rows, "FOC1"), "active")
    fut = only(rows, "FOC2")
    # Not covered today: uncovered with the coverage-gap flag, the gap one day long.
    assert fut.status == UNCOVERED and fut.coverage_start == AS_OF + timedelta(days=1)
    assert fut.flags == ("coverage-gap",) and fut.gap_days == 1
    assert said(fut, "future-dated", "until 2026-01-16", "not covered on 2026-01-15")


def test_active_line_that_ends_last_decides():
    lines = [line("FOC1", start=date(2024, 1, 1), end=date(2024, 12, 31), contract="OLD", covered=False, row=2),
             line("FOC1", start=date(2025, 3, 1), end=date(2026, 2, 28), contract="A", row=3),
             line("FOC1", start=date(2025, 6, 1), end=date(2026, 9, 30), contract="B", row=4)]
    row = only(run([item("FOC1")], lines), "FOC1")
    assert (row.status, row.contract_number, row.coverage_end, row.contract_row) == (
        COVERED, "B", date(2026, 9, 30), 4)
    assert said(row, "also active: contract A")
    assert set(row.other_lines) == {"coverage.csv:2", "coverage.csv:3"}


def test_booked_renewal_is_not_expiring():
    lines = [line("FOC1", start=date(2025, 2, 1), end=date(2026, 1, 31), row=2),
             line("FOC1", start=date(2026, 2, 1), end=date(2027, 1, 31), contract="RENEWAL", row=3)]
    row = only(run([item("FOC1")], lines), "FOC1")
    assert row.status == COVERED and said(row, "continued by future-dated contract RENEWAL", "2027-01-31")
    gap = [line("FOC1", start=date(2025, 2, 1), end=date(2026, 1, 31)),
           line("FOC1", start=date(2026, 3, 1), end=date(2027, 1, 31), contract="LATE")]
    assert only(run([item("FOC1")], gap), "FOC1").status == EXPIRING  # a gap is not a continuation


def test_uncovered_and_listed_not_covered():
    rows = run([item("FOC1"), item("FOC2")], [line("FOC2", contract="", start=None, end=None, covered=False)])
    assert only(rows, "FOC1").status == UNCOVERED and said(only(rows, "FOC1"), "on no contract line")
    listed = only(rows, "FOC2")
    assert listed.status == UNCOVERED and said(listed, "listed as not covered", "coverage.csv:2")


def test_terminated_line_is_not_coverage():
    # Live dates, but the file says not covered: uncovered (not lapsed), naming the row and the words.
    row = only(run([item("FOC1")], [line("FOC1", covered=False, status="TERMINATED")]), "FOC1")
    assert row.status == UNCOVERED and said(row, "TERMINATED", "[coverage.csv:2]", "not covered")
    ended = only(run([item("FOC1")], [line("FOC1", end=AS_OF - timedelta(days=1), covered=False,
                                           status="TERMINATED")]), "FOC1")
    assert ended.status == LAPSED and said(ended, "TERMINATED")


def test_serial_only_fallback_when_unambiguous():
    # Contract carries the orderable PID (-A bundle), the device reports the base PID.
    row = only(run([item("FOC1", "C9300-48P")], [line("FOC1", "C9300-48P-A")]), "FOC1")
    assert row.status == COVERED and row.match == MATCH_SERIAL
    assert said(row, "matched on serial alone", "C9300-48P-A", "C9300-48P")


def test_serial_only_fallback_refused_when_ambiguous():
    # Two seen items share the serial (acquired product lines): the PID-less line proves nothing.
    fleet = [item("ABC123", "C9300-48P"), item("ABC123", "AIR-AP2802I-E-K9", device="ap-01")]
    rows = run(fleet, [line("ABC123", "", site="55501234")], devices=[dev(), dev("ap-01")])
    seen = [r for r in rows if r.seen]
    assert [r.status for r in seen] == [UNCOVERED, UNCOVERED]
    assert all(said(r, "not matched", "2 items in the snapshot share this serial") for r in seen)
    unmatched = [r for r in rows if not r.seen]
    assert len(unmatched) == 1 and unmatched[0].status == UNVERIFIED
    assert said(unmatched[0], "is in the snapshot as", "no match was made")


def test_refurbished_and_spare_pids_match_the_base():
    fleet = [item("FOC1", "C9200L-24P-4G"), item("FOC2", "C9300-NM-8X=")]
    rows = run(fleet, [line("FOC1", "C9200L-24P-4G-RF"), line("FOC2", "C9300-NM-8X")])
    assert {r.serial: r.match for r in rows} == {"FOC1": MATCH_EXACT, "FOC2": MATCH_EXACT}


def test_seen_row_evidence():
    row = only(run([item("FOC1")], [line("FOC1", row=42, file="ib.xlsx")]), "FOC1")
    assert (row.scan_id, row.capture_id, row.contract_file, row.contract_row) == (7, 70, "ib.xlsx", 42)
    assert (row.hostname, row.site, row.device, row.seen) == ("sw-hq-01", "HQ", "sw-hq-01", True)


def test_fast_and_general_paths_fill_the_same_fields():
    # One active line takes the fast path; an extra ended line forces the general one.
    one = only(run([item("FOC1", slot="Switch 1")], [line("FOC1", service_level="SNTP")]), "FOC1")
    two = only(run([item("FOC1", slot="Switch 1")], [
        line("FOC1", service_level="SNTP"),
        line("FOC1", start=date(2023, 1, 1), end=date(2023, 12, 31), row=3)]), "FOC1")
    differ = {f for f in one.__slots__ if getattr(one, f) != getattr(two, f)}
    assert differ == {"other_lines"}
    assert (one.slot, one.service_level, one.contract_site_id, one.cls, one.name) == (
        "Switch 1", "SNTP", "55501234", "chassis", "Switch 1")


def test_unseen_row_fields():
    hist = {("GONE1", "C9300-48P"): SeenHistory(None, datetime(2025, 11, 1), "sw-hq-01", "Switch 2")}
    row = only(run([], [line("GONE1", site_name="EXAMPLE CORP HQ", service_level="SNT", ldos=date(2030, 1, 1))],
                   history=hist), "GONE1")
    # site: the inventory's (the device history last saw it on), the contract's beside it.
    assert (row.device, row.slot, row.site, row.service_level, row.contract_site_id, row.ldos) == (
        "sw-hq-01", "Switch 2", "HQ", "SNT", "55501234", date(2030, 1, 1))
    assert row.contract_site == "EXAMPLE CORP HQ"
    assert (row.hostname, row.scan_id, row.capture_id, row.match) == ("", 7, None, "")


def test_item_without_serial_is_uncovered_not_matched():
    rows = run([item("")], [line("FOC1")])
    blank = [r for r in rows if r.seen][0]
    assert blank.status == UNCOVERED and said(blank, "no serial number")


# ------------------------------------------------------------------ end of support


def test_past_ldos_from_eox():
    eox = EoxIndex([EoxRecord("WS-C3850-48P-S", bulletin="EOL99999", last_date_of_support=AS_OF - timedelta(days=1),
                              source_file="eox.json", source_row=1)])
    rows = run([item("SAL1", "WS-C3850-48P-S"), item("SAL2", "WS-C3850-48P-S=")], [line("SAL1", "WS-C3850-48P-S")],
               eox=eox)
    for row in rows:
        assert row.status == END_OF_SUPPORT and said(row, "past Last Date of Support 2026-01-14", "EOL99999")
    assert said(only(rows, "SAL1"), "coverage state: covered")
    assert only(rows, "SAL1").coverage_end == date(2026, 12, 31)  # the coverage facts stay on the row


@pytest.mark.parametrize("extra_lines", [0, 1])  # one line takes the fast path, two the general one
@pytest.mark.parametrize("ldos, status", [(AS_OF, COVERED), (AS_OF - timedelta(days=1), END_OF_SUPPORT)])
def test_ldos_day_itself_is_still_supported(extra_lines, ldos, status):
    eox = EoxIndex([EoxRecord("WS-C3850-48P-S", last_date_of_support=ldos)])
    lines = [line("SAL1", "WS-C3850-48P-S")] + [
        line("SAL1", "WS-C3850-48P-S", start=date(2023, 1, 1), end=date(2023, 12, 31), row=3)] * extra_lines
    assert only(run([item("SAL1", "WS-C3850-48P-S")], lines, eox=eox), "SAL1").status == status


def test_past_end_of_renewal_and_line_ldos():
    eox = EoxIndex([EoxRecord("N9K-C93180YC-FX", end_of_service_contract_renewal=date(2025, 12, 31),
                              last_date_of_support=date(2030, 1, 1))])
    rows = run([item("FDO1", "N9K-C93180YC-FX"), item("FDO2", "C9500-24Y4C")],
               [line("FDO1", "N9K-C93180YC-FX"), line("FDO2", "C9500-24Y4C", ldos=date(2025, 10, 31))], eox=eox)
    assert only(rows, "FDO1").status == END_OF_SUPPORT and said(only(rows, "FDO1"), "cannot be renewed")
    own = only(rows, "FDO2")
    assert own.status == END_OF_SUPPORT and said(own, "contract file [coverage.csv:2]") and own.ldos == date(2025, 10, 31)


def test_uncovered_past_service_attach_says_so():
    eox = EoxIndex([EoxRecord("C9500-24Y4C", end_of_service_attach=date(2025, 1, 1))])
    row = only(run([item("FDO1", "C9500-24Y4C")], [], eox=eox), "FDO1")
    assert row.status == UNCOVERED and said(row, "End of Service Attach")


# ------------------------------------------------------------------ on contract, not seen


def test_not_seen_when_last_device_collected_cleanly():
    hist = {("GONE1", "C9300-48P"): SeenHistory(datetime(2025, 1, 1), datetime(2025, 11, 1), "sw-hq-01", "Switch 2")}
    rows = run([item("FOC1")], [line("FOC1"), line("GONE1", row=3)], history=hist)
    row = only(rows, "GONE1")
    assert row.status == NOT_SEEN and not row.seen and row.device == "sw-hq-01"
    assert said(row, "last seen in sw-hq-01 Switch 2", "collected cleanly", "drop candidate")
    assert (row.contract_file, row.contract_row, row.contract_number) == ("coverage.csv", 3, "209876543")
    assert row.scan_id == 7  # the clean scan that proves the absence


@pytest.mark.parametrize("devices, blocker", [
    ([dev(clean=False)], "was not clean"),
    ([dev("other-sw")], "not in the current inventory"),
])
def test_unverified_when_last_device_not_clean_or_gone(devices, blocker):
    hist = {("GONE1", "C9300-48P"): SeenHistory(None, datetime(2025, 11, 1), "sw-hq-01", "Switch 2")}
    row = only(run([], [line("GONE1")], devices=devices, history=hist), "GONE1")
    assert row.status == UNVERIFIED and row.blocking_devices == ("sw-hq-01",) and said(row, blocker)


def test_never_seen_scope_by_install_site():
    devices = [dev("sw-hq-01"), dev("sw-hq-02"), dev("sw-br-01", sites=("55505678",), clean=False, last=None)]
    lines = [line("HQ1", site="55501234"), line("BR1", site="55505678", row=3), line("ZZ1", site="55509999", row=4)]
    rows = run([], lines, devices=devices)
    hq = only(rows, "HQ1")
    assert hq.status == NOT_SEEN and said(hq, "all 2 device(s) for install site 55501234") and hq.scan_id == 7
    br = only(rows, "BR1")
    assert br.status == UNVERIFIED and br.blocking_devices == ("sw-br-01",) and said(br, "sw-br-01")
    zz = only(rows, "ZZ1")
    assert zz.status == UNVERIFIED and said(zz, "maps to no device")


def test_clean_collection_must_be_inside_the_window():
    stale = [dev("sw-hq-01", last=datetime(2025, 9, 1))]
    assert only(run([], [line("HQ1")], devices=stale), "HQ1").status == UNVERIFIED
    recent = [dev("sw-hq-01", last=datetime(2025, 10, 20), clean=False)]  # clean once inside 90 days
    assert only(run([], [line("HQ1")], devices=recent), "HQ1").status == NOT_SEEN
    assert only(run([], [line("HQ1")], devices=stale, clean_window_days=200), "HQ1").status == NOT_SEEN


def test_no_site_mapping_means_the_whole_fleet():
    devices = [dev("a", sites=()), dev("b", sites=())]
    assert only(run([], [line("X1")], devices=devices), "X1").status == NOT_SEEN
    devices.append(dev("c", sites=(), clean=False, last=None))
    row = only(run([], [line("X1")], devices=devices), "X1")
    assert row.status == UNVERIFIED and row.blocking_devices == ("c",) and said(row, "the whole fleet")


def test_unseen_lines_one_row_per_live_line_deduplicated():
    lines = [line("GONE1", contract="A", row=2, file="a.csv"),
             line("GONE1", contract="A", row=9, file="b.csv"),  # the same line in a second export
             line("GONE1", contract="B", start=date(2027, 1, 1), end=date(2027, 12, 31), row=3, file="a.csv"),
             line("GONE1", contract="OLD", start=date(2023, 1, 1), end=date(2023, 12, 31), row=4, file="a.csv")]
    rows = rows_for(run([], lines), "GONE1")
    assert sorted((r.contract_number, r.status) for r in rows) == [("A", NOT_SEEN), ("B", NOT_SEEN)]
    assert said([r for r in rows if r.contract_number == "B"][0], "future-dated")


def test_unseen_and_ended_is_lapsed_not_a_drop():
    rows = run([], [line("OLD1", end=date(2025, 1, 1))])
    row = only(rows, "OLD1")
    assert row.status == LAPSED and not row.seen and said(row, "nothing to drop")
    assert run([], [line("NC1", contract="", start=None, end=None, covered=False)]) == []


# ------------------------------------------------------------------ rma swap


def test_rma_swap_pairs_both_rows():
    hist = {("OLDSN1", "C9300-48P"): SeenHistory(datetime(2024, 1, 1), datetime(2025, 12, 1), "sw-hq-01", "Switch 2")}
    fleet = [item("FOC1", slot="Switch 1"), item("NEWSN1", slot="Switch 2")]
    rows = run(fleet, [line("FOC1"), line("OLDSN1", contract="C-OLD", row=5)], history=hist)
    old, new = only(rows, "OLDSN1"), only(rows, "NEWSN1")
    assert old.status == new.status == RMA_SWAP
    assert old.swap_with == "NEWSN1 C9300-48P" and new.swap_with == "OLDSN1 C9300-48P"
    assert said(new, "C-OLD", "transfer") and said(old, "NEWSN1")
    assert only(rows, "FOC1").status == COVERED


def test_no_rma_swap_across_pids_slots_or_unverified_devices():
    hist = {("OLDSN1", "C9300-48P"): SeenHistory(None, datetime(2025, 12, 1), "sw-hq-01", "Switch 2")}
    other_pid = run([item("NEW1", "C9300-24P", slot="Switch 2")], [line("OLDSN1")], history=hist)
    assert {r.status for r in other_pid} == {UNCOVERED, NOT_SEEN}
    other_slot = run([item("NEW1", slot="Switch 3")], [line("OLDSN1")], history=hist)
    assert {r.status for r in other_slot} == {UNCOVERED, NOT_SEEN}
    dirty = run([item("NEW1", slot="Switch 2")], [line("OLDSN1")], history=hist, devices=[dev(clean=False)])
    assert {r.status for r in dirty} == {UNCOVERED, UNVERIFIED}


def test_ambiguous_rma_candidates_are_not_paired():
    hist = {(sn, "C9300-48P"): SeenHistory(None, datetime(2025, 12, 1), "sw-hq-01", "Switch 2")
            for sn in ("OLD1", "OLD2")}
    rows = run([item("NEW1", slot="Switch 2")], [line("OLD1"), line("OLD2", row=3)], history=hist)
    assert RMA_SWAP not in {r.status for r in rows}
    assert said(only(rows, "NEW1"), "possible RMA swap", "not paired")


# ------------------------------------------------------------------ properties of the function


def test_pure_and_deterministic():
    fleet = [item("FOC1"), item("FOC2", slot="Switch 2")]
    lines = [line("FOC1"), line("GONE", row=3)]
    hist = {("GONE", "C9300-48P"): SeenHistory(None, datetime(2025, 12, 1), "sw-hq-01", "Switch 2")}
    before = copy.deepcopy((fleet, lines, hist))
    first = run(fleet, lines, history=hist)
    assert run(fleet, lines, history=hist) == first
    assert (fleet, lines, hist) == before


def test_one_row_per_item_and_per_unmatched_key():
    fleet = [item(f"FOC{i}") for i in range(50)]
    lines = [line(f"FOC{i}") for i in range(0, 50, 2)] + [line(f"GONE{i}") for i in range(7)]
    rows = run(fleet, lines)
    assert len([r for r in rows if r.seen]) == 50 and len([r for r in rows if not r.seen]) == 7
    counts = count_by_status(rows)
    assert (counts[COVERED], counts[UNCOVERED], counts[NOT_SEEN]) == (25, 25, 7)


def test_scales_linearly():
    def estate(n):
        fleet = [item(f"FOC{i:07d}", device=f"d{i % 500}") for i in range(n)]
        lines = [line(f"FOC{i:07d}", row=i) for i in range(0, n, 2)] + [line(f"GONE{i:07d}") for i in range(n // 2)]
        devices = [dev(f"d{i}") for i in range(500)]
        return fleet, lines, devices

    def timed(n):
        fleet, lines, devices = estate(n)
        t = time.perf_counter()
        reconcile(fleet, devices, lines, None, AS_OF)
        return time.perf_counter() - t

    small, large = min(timed(5_000) for _ in range(2)), min(timed(20_000) for _ in range(2))
    # 4x the data: linear work takes ~4x; an item-by-line comparison would take ~16x.
    assert large < small * 9, (small, large)


# ------------------------------------------------------------------ the fixture estate, end to end


def test_fixture_estate():
    load = load_contracts([FIX / "cx_coverage.csv", FIX / "partner_ib.csv", FIX / "partner_ib_variant.csv"])
    assert not load.errors
    eox = load_eox([FIX / "eox_v5.json", FIX / "eox.csv"]).index
    fleet = [item("FOC2611X0AB", slot="Switch 1"), item("FOC2611X1CD", "C9300-NM-8X", slot="Switch 1 Slot 1"),
             item("FOC2619Y1AA", "C9200L-24P-4G", device="sw-hq-02"),
             item("FDO2450A1BC", "C9500-24Y4C", device="core-hq-01"),
             item("SAL1833Z9KQ", "WS-C3850-48P-S", device="sw-br-01"),
             item("FDO2301R0XY", "N9K-C93180YC-FX", device="leaf-hq-01"),
             item("FCW2233L0MN", "ISR4331/K9", device="rtr-hq-01")]
    devices = [dev(d) for d in ("sw-hq-01", "sw-hq-02", "core-hq-01", "leaf-hq-01", "rtr-hq-01")]
    devices.append(dev("sw-br-01", sites=("55505678",)))
    rows = reconcile(fleet, devices, load.lines, eox, AS_OF)
    status = {r.serial: r.status for r in rows}
    assert status == {
        "FOC2611X0AB": COVERED,  # active line + booked renewal
        "FOC2611X1CD": COVERED,
        "FOC2619Y1AA": COVERED,  # -RF on the contract
        "FDO2450A1BC": EXPIRING,  # ends 2026-02-28
        "SAL1833Z9KQ": END_OF_SUPPORT,  # lapsed and past LDoS
        "FDO2301R0XY": UNCOVERED,  # IB says NOT COVERED
        "FCW2233L0MN": COVERED,
        "JAE2445044T": NOT_SEEN,  # on contract, branch collected cleanly, not there
        "FOX1849GQKL": LAPSED,  # not seen, its line ended yesterday
    }
    # The booked renewal continues the active line (which ends 2026-07-31): coverage ends with it,
    # and the row names it, so a renewal quoted from the row never pays for booked days again.
    assert only(rows, "FOC2611X0AB").coverage_end == date(2027, 7, 31)
    assert said(only(rows, "FOC2611X0AB"), "continued by future-dated")
    assert said(only(rows, "FOC2611X0AB"), "further lines matched on serial alone", "C9300-48P-A")


# ------------------------------------------------------------------ the shortcuts agree with the general rules


def _mixed_estate():
    """Every path at once: one active line, an ended one, a file-marked lapse, two lines, a
    future line, no line, EoX limits, a serial-only match, lines of absent keys with and without
    history."""
    eox = EoxIndex([EoxRecord("WS-C3850-48P-S", last_date_of_support=date(2025, 10, 31)),
                    EoxRecord("PWR-C1-715WAC", end_of_service_attach=date(2025, 1, 1))])
    fleet = [item("A1"), item("A2"), item("A3"), item("A4", "WS-C3850-48P-S"), item("A5"), item("A6"),
             item("A7", "PWR-C1-715WAC", slot="PS1"), item("A8"), item("A9", slot="Switch 3"), item("A10")]
    lines = [line("A1", row=2), line("A2", end=date(2025, 12, 31), row=3),
             line("A3", covered=False, status="EXPIRED", row=4), line("A4", row=5),
             line("A5", start=date(2024, 1, 1), end=date(2025, 1, 1), row=6), line("A5", row=7),
             line("A6", start=date(2026, 3, 1), end=date(2027, 3, 1), row=8),
             line("A8", "C9300-48P-A", row=9), line("GONE1", row=10), line("GONE2", row=11),
             line("GONE3", start=date(2026, 6, 1), row=12), line("GONE4", end=date(2025, 1, 1), row=13),
             line("A10", ldos=date(2025, 1, 1), row=14)]
    history = {("GONE2", "C9300-48P"): SeenHistory(None, datetime(2025, 12, 1), "sw-hq-01", "Switch 3")}
    return fleet, lines, eox, history


def test_unique_and_shared_serial_paths_agree():
    # With every serial carried once, lines are matched by taking them out of the index; with a
    # serial carried twice, by look-up.  A second carrier of a serial on no line changes nothing
    # for the other rows.
    fleet, lines, eox, history = _mixed_estate()
    rows = run(fleet, lines, eox=eox, history=history)
    twice = run(fleet + [item("ZZ9"), item("ZZ9", "C9300-24P")], lines, eox=eox, history=history)
    seen = len(fleet)
    assert twice[:seen] == rows[:seen]
    assert twice[seen + 2:] == rows[seen:]
    assert [r.serial for r in rows[seen:]] == ["GONE1", "GONE2", "GONE3", "GONE4"]  # in line order
    assert only(rows, "A9").status == only(rows, "GONE2").status == RMA_SWAP
    status = {r.serial: r.status for r in rows}
    assert status["A1"] == COVERED and status["A2"] == LAPSED and status["A3"] == UNCOVERED
    assert status["A4"] == END_OF_SUPPORT and status["A5"] == COVERED and status["A6"] == UNCOVERED
    assert status["A7"] == UNCOVERED and status["A8"] == COVERED and status["A10"] == END_OF_SUPPORT
    assert only(rows, "A8").match == MATCH_SERIAL
    assert said(only(rows, "A2"), "every contract line has ended", "coverage.csv:3")
    assert said(only(rows, "A3"), "marks this line not covered (EXPIRED)")
    assert said(only(rows, "A7"), "past End of Service Attach")


def test_shortcut_rows_say_what_the_general_rules_say():
    # Rows the fast paths write out (one active or ended line, a file-marked lapse, no line, one
    # unseen line with or without history), word for word.
    fleet, lines, eox, history = _mixed_estate()
    rows = {r.serial: r for r in run(fleet, lines, eox=eox, history=history)}
    active = "contract 209876543 2025-06-01..2026-12-31"
    assert rows["A1"].reasons == (f"active: {active} [coverage.csv:2]", "covered until 2026-12-31 (350 days left)")
    assert rows["A2"].reasons == ("every contract line has ended; the last was contract 209876543 "
                                  "2025-06-01..2025-12-31 [coverage.csv:3]",
                                  "reinstating needs re-certification: a lapsed item is inspected before it "
                                  "can be covered again")
    assert rows["A3"].reasons == ("the contract file marks this line not covered (EXPIRED) although its dates are "
                                  f"live: {active} [coverage.csv:4]",)
    assert rows["A5"].reasons[0] == f"active: {active} [coverage.csv:7]" and rows["A5"].other_lines == ("coverage.csv:6",)
    assert rows["A7"].reasons == ("on no contract line", "past End of Service Attach 2025-01-01 "
                                  "(EoX PWR-C1-715WAC [:0]): cannot be added to a contract")
    assert rows["A10"].reasons[-1] == "past Last Date of Support 2025-01-01 (contract file [coverage.csv:14])"
    assert rows["GONE1"].reasons == (f"active: {active} [coverage.csv:10]", "never seen; all 1 device(s) for "
                                     "install site 55501234 collected cleanly since 2025-10-17: drop candidate")
    assert rows["GONE2"].reasons[1] == ("last seen in sw-hq-01 Switch 3 on 2025-12-01; sw-hq-01 was collected "
                                        "cleanly in the latest scan (scan 7) without it: drop candidate")
    assert (rows["GONE2"].device, rows["GONE2"].slot, rows["GONE2"].scan_id) == ("sw-hq-01", "Switch 3", 7)
    assert rows["GONE3"].reasons[0] == "future-dated: contract 209876543 2026-06-01..2026-12-31 [coverage.csv:12]"
    assert rows["GONE4"].status == LAPSED and rows["GONE4"].reasons[0].endswith("nothing to drop")


def test_count_by_status_keeps_its_order():
    fleet, lines, eox, history = _mixed_estate()
    rows = run(fleet, lines, eox=eox, history=history)
    counts = count_by_status(rows + [copy.copy(rows[0])])
    assert list(counts)[:8] == [COVERED, EXPIRING, LAPSED, UNCOVERED, NOT_SEEN, UNVERIFIED, RMA_SWAP, END_OF_SUPPORT]
    assert sum(counts.values()) == len(rows) + 1
