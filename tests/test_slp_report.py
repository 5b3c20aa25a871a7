"""The SLP usage report: device clock texts, reporting status at its boundaries (fixed as-of
date), usage history over scans (current / min / max, first / last seen), ACK imports
refreshing a scan's status, the four renderings and the CLI."""
from __future__ import annotations

import csv
import io
import json
import time
from datetime import date, datetime, timedelta, timezone
from html.parser import HTMLParser

import pytest
from hypothesis import given
from hypothesis import strategies as hs

from agent.cli import main as cli_main
from agent.core.models import DeviceFacts, DeviceRecords, LicenseStatus, LicenseUsage, Target
from agent.slp import slp_report
from agent.slp.clock import parse_cli_time
from agent.slp.render import render
from agent.slp.status import reporting_state
from agent.store import Store

AS_OF = date(2026, 1, 12)
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def stamp(d: datetime, zone: str = "UTC") -> str:
    return f"{MONTHS[d.month - 1]} {d.day:02d} {d:%H:%M:%S %Y} {zone}"


def slp(last_ack: str = "", deadline: str = "", **kw) -> LicenseStatus:
    fields = {"slp_enabled": True, "smart_licensing_enabled": True, "transport_type": "Transport Off",
              "ack_required": "yes (CISCO default)", "last_ack_received": last_ack, "next_ack_deadline": deadline, **kw}
    return LicenseStatus(device="", **fields)


def at(days: int, hour: int = 12) -> str:
    """A deadline ``days`` after AS_OF (UTC, at ``hour``)."""
    return stamp(datetime(AS_OF.year, AS_OF.month, AS_OF.day, hour) + timedelta(days=days))


ACKED = stamp(datetime(2025, 10, 14, 12, 10, 32))

# ---------------------------------------------------------------- clock


@pytest.mark.parametrize("text, iso, note", [
    ("Jan 12 12:10:32 2026 UTC", "2026-01-12T12:10:32+00:00", ""),
    ("Oct 14 12:10:32 2021 GMT", "2021-10-14T12:10:32+00:00", ""),
    ("Nov 08 10:31:23 2023 EDT", "2023-11-08T14:31:23+00:00", ""),
    ("Aug 03 09:03:25 2024 est", "2024-08-03T14:03:25+00:00", ""),
    ("Dec 18 11:05:11 2023 PDT", "2023-12-18T18:05:11+00:00", ""),
    ("Jun 01 10:00:00 2025 CEST", "2025-06-01T08:00:00+00:00", ""),
    ("Apr 23 15:28:43 2025 IST", "2025-04-23T09:58:43+00:00", "India"),
    ("Apr 05 21:11:50 2023 pacific", "2023-04-05T21:11:50+00:00", "unknown time zone 'pacific', read as UTC"),
    ("Jan 05 2023 12:19:01 UTC", "2023-01-05T12:19:01+00:00", ""),  # ASA: year before the time
    ("Mar 13 08:09:24 2025", "2025-03-13T08:09:24+00:00", "no time zone"),
])
def test_cli_times(text, iso, note):
    t = parse_cli_time(text)
    assert t.when.isoformat() == iso and t.text == text
    assert (note in t.note) if note else t.note == ""


@pytest.mark.parametrize("text", ["", "<none>", "<empty>", "None", "Feb 30 10:00:00 2024 UTC", "soon", "12:00:00"])
def test_not_a_time(text):
    assert parse_cli_time(text) is None


@given(hs.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)),
       hs.sampled_from([("UTC", 0), ("PST", -480), ("EEST", 180), ("IST", 330), ("JST", 540), ("EDT", -240)]))
def test_any_printed_time_reads_back_exactly(local, zone):
    name, minutes = zone
    t = parse_cli_time(stamp(local.replace(microsecond=0), name))
    assert t.when == (local.replace(microsecond=0) - timedelta(minutes=minutes)).replace(tzinfo=timezone.utc)


# ---------------------------------------------------------------- status at the boundaries


@pytest.mark.parametrize("days, status", [
    (31, "ok"), (30, "due"), (29, "due"), (1, "due"), (0, "due"), (-1, "overdue"), (-90, "overdue")])
def test_status_boundaries(days, status):
    state = reporting_state(slp(ACKED, at(days)), AS_OF)
    assert state.status == status and state.days == days


def test_boundary_reasons_say_how_far():
    assert reporting_state(slp(ACKED, at(0)), AS_OF).reason.startswith("ACK deadline today")
    assert "in 30 days" in reporting_state(slp(ACKED, at(30)), AS_OF).reason
    assert "passed 1 day ago" in reporting_state(slp(ACKED, at(-1)), AS_OF).reason
    assert "in 31 days" in reporting_state(slp(ACKED, at(31)), AS_OF).reason


def test_deadline_day_is_the_utc_day():
    # 23:30 PST on Jan 11 is 07:30 UTC on Jan 12: due today, not overdue.
    assert reporting_state(slp(ACKED, "Jan 11 23:30:00 2026 PST"), AS_OF).days == 0
    # 02:00 IST on Jan 12 is 20:30 UTC on Jan 11: passed yesterday.
    state = reporting_state(slp(ACKED, "Jan 12 02:00:00 2026 IST"), AS_OF)
    assert (state.status, state.days) == ("overdue", -1) and "India" in state.reason


def test_never_acked_and_first_report_deadline():
    assert reporting_state(slp("", ""), AS_OF).status == "never-acked"
    first = reporting_state(slp("", at(45)), AS_OF)
    assert first.status == "never-acked" and "first report due" in first.reason and first.days == 45
    assert reporting_state(slp("", at(0)), AS_OF).status == "never-acked"
    missed = reporting_state(slp("", at(-1)), AS_OF)
    assert missed.status == "overdue" and "never acknowledged" in missed.reason


def test_ok_without_a_deadline_or_an_ack_requirement():
    assert reporting_state(slp(ACKED, ""), AS_OF).status == "ok"
    no_ack = slp("", "", ack_required="no (Customer Policy)")
    assert reporting_state(no_ack, AS_OF).status == "ok"
    reserved = slp("", at(-10), reservation="SPECIFIC LICENSE RESERVATION")
    assert reporting_state(reserved, AS_OF).status == "ok"


def test_not_slp():
    assert reporting_state(None, AS_OF).status == "not-slp"
    classic = LicenseStatus(device="", smart_licensing_enabled=True, registration_status="REGISTERED",
                            authorization_status="AUTHORIZED")
    assert "classic Smart Licensing" in reporting_state(classic, AS_OF).reason
    asa_keys = LicenseStatus(device="", smart_licensing_enabled=False)
    assert "activation-key" in reporting_state(asa_keys, AS_OF).reason
    off = LicenseStatus(device="", slp_enabled=False)
    assert reporting_state(off, AS_OF).status == "not-slp"


def test_unreadable_deadline_is_noted():
    state = reporting_state(slp(ACKED, "sometime soon"), AS_OF)
    assert state.status == "ok" and "'sometime soon' is not a timestamp" in state.reason


# ---------------------------------------------------------------- history through a store


def _epoch(d: date, hour: int = 2) -> float:
    return datetime(d.year, d.month, d.day, hour, tzinfo=timezone.utc).timestamp()


def _device(store, scan_id, name, site, licenses, status, ok=True):
    target = Target(name=name, host="127.0.0.1", platform="cisco_xe", site=site)
    records = None
    if ok:
        records = DeviceRecords(facts=DeviceFacts(device=name, platform="cisco_xe", hostname=name),
                                licenses=[LicenseUsage(device=name, license=lic, entitlement_tag=tag, count=n,
                                                       status="IN USE", license_type="Subscription",
                                                       udi_pid="C9300-48UXM", udi_serial=f"FCW{name[-1]}")
                                          for lic, tag, n in licenses],
                                license_status=status)
    with store.transaction():
        store.save_device(scan_id, target, status="ok" if ok else "failed", transport="ssh", records=records,
                          error_kind=None if ok else "auth", error=None if ok else "login refused",
                          started=time.time(), ended=time.time(), attempts=1)


STACK = [{"role": "Active", "udi_pid": "C9300-48UXM", "udi_serial": "FCWA"},
         {"role": "Standby", "udi_pid": "C9300-48UXM", "udi_serial": "FCWB"}]


@pytest.fixture()
def history_store(store_target):
    """Three scans (40, 20 and 1 day before AS_OF) of a small fleet whose usage changes, on each
    backend (tests/pg/store_fixtures.py)."""
    store = Store(store_target)
    dna = ("dna-advantage", "C9300-48 DNA Advantage")
    net = ("network-advantage", "C9300-48 Network Advantage")
    plan = [
        (40, {"sw-a": [(*dna, 1), (*net, 1)], "sw-b": [(*dna, 2)], "rtr-c": [], "old-d": [(*dna, 1)]}),
        (20, {"sw-a": [(*dna, 2), (*net, 2)], "sw-b": [(*dna, 2)], "rtr-c": [], "old-d": [(*dna, 1)]}),
        (1, {"sw-a": [(*dna, 2)], "sw-b": None, "rtr-c": []}),  # sw-b failed; old-d left the inventory
    ]
    statuses = {
        "sw-a": slp(ACKED, at(0), ha_udis=STACK, udi_pid="C9300-48UXM", udi_serial="FCWA"),
        "sw-b": slp(ACKED, at(-1)),
        "rtr-c": LicenseStatus(device="", smart_licensing_enabled=True, registration_status="REGISTERED"),
        "old-d": slp(ACKED, at(30)),
    }
    sites = {"sw-a": "hq", "sw-b": "hq", "rtr-c": "branch", "old-d": "branch"}
    for days_before, devices in plan:
        scan_id = store.begin_scan("inv", {}, len(devices))
        for name, lics in devices.items():
            _device(store, scan_id, name, sites[name], lics or [], statuses[name], ok=lics is not None)
        store.end_scan(scan_id, "completed", len(devices), 0)
        with store.transaction():
            store.db.execute("UPDATE scans SET started=? WHERE id=?", (_epoch(AS_OF - timedelta(days=days_before)), scan_id))
    yield store
    store.close()


def _by(rows, **match):
    return [r for r in rows if all(r[k] == v for k, v in match.items())]


def test_usage_over_the_window(history_store):
    report = slp_report(history_store, AS_OF, window_days=90)
    assert report.window_scans == 3
    dna_a = _by(report.rows, device="sw-a", license="dna-advantage")[0]
    assert (dna_a["count"], dna_a["min_count"], dna_a["max_count"]) == (2, 1, 2)
    assert (dna_a["first_seen"], dna_a["last_seen"]) == ("2025-12-03", "2026-01-11")
    assert dna_a["members"] == "Active C9300-48UXM FCWA; Standby C9300-48UXM FCWB"
    # network-advantage went away in the last scan: no current count, min 0 over the window.
    net_a = _by(report.rows, device="sw-a", license="network-advantage")[0]
    assert (net_a["count"], net_a["min_count"], net_a["max_count"], net_a["last_seen"]) == (None, 0, 2, "2025-12-23")
    # sw-b failed last night: its last clean collection still counts.
    dna_b = _by(report.rows, device="sw-b")[0]
    assert dna_b["count"] == 2 and dna_b["reporting_status"] == "overdue"
    hq = _by(report.entitlements, site="hq", license="dna-advantage")[0]
    assert (hq["current"], hq["min_count"], hq["max_count"]) == (4, 3, 4)
    # Stack members of sw-a by their HA UDIs, sw-b (no HA list) by its own UDI serial.
    assert hq["devices"] == "sw-a, sw-b" and hq["members"] == "FCWA, FCWB, FCWb"
    assert hq["device_count"] == 2


def test_json_rows_carry_the_required_fields(history_store):
    report = slp_report(history_store, AS_OF)
    rows = json.loads(render(report, "json"))
    for r in rows:
        for key in ("hostname", "site", "udi_pid", "udi_serial", "license", "entitlement_tag", "count", "last_ack",
                    "next_ack_deadline", "reporting_status"):
            assert key in r
    statuses = {r["device"]: r["reporting_status"] for r in rows}
    assert statuses == {"sw-a": "due", "sw-b": "overdue", "rtr-c": "not-slp", "old-d": "due"}
    assert _by(rows, device="rtr-c")[0]["license"] == ""  # every device present, licensed or not
    assert _by(rows, device="sw-a")[0]["next_ack_deadline"] == "2026-01-12T12:00:00Z"


def test_device_view(history_store):
    report = slp_report(history_store, AS_OF)
    devices = {d["device"]: d for d in report.devices}
    assert devices["sw-a"]["reason"].startswith("ACK deadline today")
    assert devices["sw-b"]["latest_scan"] == "failed"
    assert "not in the latest scan" in devices["old-d"]["reason"] and devices["old-d"]["latest_scan"] == "absent"
    assert devices["rtr-c"]["reporting_status"] == "not-slp"
    assert report.counts() == {"ok": 0, "due": 2, "overdue": 1, "never-acked": 0, "not-slp": 1}


def test_site_filter_and_window(history_store):
    hq = slp_report(history_store, AS_OF, site="hq")
    assert {d["device"] for d in hq.devices} == {"sw-a", "sw-b"}
    # A 10-day window holds only the last scan: min == max == current.
    short = slp_report(history_store, AS_OF, window_days=10)
    dna_a = _by(short.rows, device="sw-a", license="dna-advantage")[0]
    assert short.window_scans == 1 and (dna_a["min_count"], dna_a["max_count"]) == (2, 2)
    # As of a date before any scan: nothing.
    assert slp_report(history_store, AS_OF - timedelta(days=60)).scan_id is None


def test_as_of_moves_the_statuses(history_store):
    later = slp_report(history_store, AS_OF + timedelta(days=1))
    assert {d["device"]: d["reporting_status"] for d in later.devices}["sw-a"] == "overdue"
    earlier = slp_report(history_store, AS_OF - timedelta(days=1))
    assert {d["device"]: d["reporting_status"] for d in earlier.devices}["sw-b"] == "due"


def test_an_ack_import_after_the_scan_refreshes_the_status(history_store):
    refreshed = slp(stamp(datetime(2026, 1, 11, 9)), stamp(datetime(2026, 4, 11, 9)))
    run = history_store.begin_slp_run("import-ack", "inv", {})
    with history_store.transaction():
        history_store.save_slp_ack(run, "sw-b", file_name="ACK_sw-b_rum.txt", data=b"<smartLicense/>", udis=[],
                                   report_ids=[], status="imported", license_status=refreshed,
                                   at=_epoch(AS_OF - timedelta(days=1), 9))
    report = slp_report(history_store, AS_OF)
    b = {d["device"]: d for d in report.devices}["sw-b"]
    assert b["reporting_status"] == "ok" and b["next_ack_deadline"] == "2026-04-11T09:00:00Z"
    # Not yet as of a date before the import.
    assert {d["device"]: d for d in slp_report(history_store, AS_OF - timedelta(days=2)).devices}["sw-b"][
        "reporting_status"] == "due"


# ---------------------------------------------------------------- rendering and CLI


class _Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs, self.tags = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.refs += [v for k, v in attrs if k in ("src", "href") and v]


def test_html_is_self_contained_and_escaped(history_store):
    history_store.db.execute("UPDATE devices SET hostname='<script>x</script>' WHERE device='rtr-c'")
    page = render(slp_report(history_store, AS_OF), "html")
    parser = _Refs()
    parser.feed(page)
    assert parser.refs == [] and "script" not in parser.tags and "link" not in parser.tags
    assert "&lt;script&gt;" in page and "http://" not in page and "https://" not in page
    assert page.count("<table>") == 3 and 'class="pill overdue"' in page


def test_csv_keeps_numbers_and_neutralises_text(history_store):
    history_store.db.execute("UPDATE devices SET hostname='=cmd()' WHERE device='rtr-c'")
    rows = list(csv.DictReader(io.StringIO(render(slp_report(history_store, AS_OF), "csv"))))
    assert _by(rows, device="sw-b")[0]["days_to_deadline"] == "-1"
    assert _by(rows, device="rtr-c")[0]["hostname"] == "'=cmd()"


def test_table(history_store):
    text = render(slp_report(history_store, AS_OF), "table")
    assert "due 2, overdue 1, not-slp 1" in text and "Licence usage by entitlement and site" in text


def test_cli_report(history_store, tmp_path, capsys):
    db = str(history_store.path)
    assert cli_main(["slp", "report", "--db", db, "--as-of", "2026-01-12", "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert {r["device"]: r["reporting_status"] for r in json.loads(out)}["sw-b"] == "overdue"
    assert "due 2, overdue 1, not-slp 1" in err
    assert cli_main(["slp", "report", "--db", db, "--as-of", "2026-01-12", "--format", "html",
                     "--out", str(tmp_path / "r.html")]) == 0
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
    assert cli_main(["slp", "report", "--db", db, "--as-of", "12/01/2026"]) == 2
    assert cli_main(["slp", "report", "--db", str(tmp_path / "none.db")]) == 2
    assert cli_main(["slp"]) == 2


SLR = """Smart Licensing is ENABLED
License Reservation is ENABLED

Registration:
  Status: REGISTERED - SPECIFIC LICENSE RESERVATION
  Export-Controlled Functionality: ALLOWED
  Initial Registration: SUCCEEDED on Jan 10 09:00:00 2025 UTC

License Authorization:
  Status: AUTHORIZED - RESERVED on Jan 10 09:00:00 2025 UTC
"""


def test_classic_reservation_state_reaches_the_reason():
    import parsers

    st = parsers.parse("cisco_xe", "show license status", SLR).license_status
    assert st.reservation == "SPECIFIC LICENSE RESERVATION" and st.authorization_status == "AUTHORIZED - RESERVED"
    state = reporting_state(st, AS_OF)
    assert state.status == "not-slp" and "reservation SPECIFIC LICENSE RESERVATION" in state.reason
