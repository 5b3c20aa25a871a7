"""The fleet model: a partial, interrupted or failed scan never shrinks the fleet; staleness; retiring.

Store-level and fast: scans are written through the store's own write path (save_device), with
the ground truth of each step stated beside it.  The end-to-end scenario over the lab (real SSH,
real subprocesses) is tests/test_fleet_scenario.py.
"""
from __future__ import annotations

import sqlite3
import time
from datetime import date, datetime, timedelta, timezone

import pytest

from agent.cli import main as cli_main
from agent.contracts import ContractLine, split_pid
from agent.core.models import Capture, Component, DeviceFacts, DeviceRecords, Target
from agent.reconcile import NOT_SEEN, UNVERIFIED
from agent.reconcile.from_store import reconcile_from_store
from agent.store import SCHEMA_VERSION, Store
from agent.store import fleet
from agent.store.views import device_rows
from parsers import ParseError

DAY = 86400
AS_OF = date(2026, 12, 5)
NOW = datetime(2026, 12, 5, 12, tzinfo=timezone.utc).timestamp()

FLEET = {  # device -> [(slot, pid, serial)], the ground truth of a full scan
    "a": [("Chassis", "C9300-48P", "FOCA1"), ("PS1", "PWR-C1-715WAC", "PSA1")],
    "b": [("Chassis", "C9500-24Y4C", "FOCB1"), ("Te1/1/1", "SFP-10G-SR", "OPB1")],
    "c": [("Chassis", "ISR4331/K9", "FDOC1")],
}


def save(store, scan, name, items=None, *, status="ok", kind=None, max_age=None, problems=()):
    t = Target(name=name, host="127.0.0.1", platform="cisco_xe", site="hq", max_age_days=max_age)
    cap = Capture(name, "cisco_xe", "ssh", "show inventory", "x", time.time(), time.time())
    recs = None
    if status == "ok":
        facts = DeviceFacts(name, "cisco_xe", hostname=name, os_version="17.9.4a", version="17.9.4a")
        comps = [Component(name, slot, "", pid, pid, "V01", sn, sn, "chassis" if slot == "Chassis" else "psu")
                 for slot, pid, sn in (items or [])]
        recs = DeviceRecords(facts, comps, problems=list(problems))
    with store.transaction():
        store.save_captures(scan, [cap])
        store.save_device(scan, t, status=status, transport="ssh", records=recs, error_kind=kind,
                          error="x" if kind else None, started=0, ended=0, attempts=1)


def scan(store, devices, *, days_ago=0, status="completed", failed=(), cancelled=(), **kw):
    """One scan of ``devices`` (name -> items); ``failed``/``cancelled`` devices end so."""
    sid = store.begin_scan("inv", {}, len(devices))
    for name, items in devices.items():
        if name in failed:
            save(store, sid, name, status="failed", kind="auth", **kw)
        elif name in cancelled:
            save(store, sid, name, status="failed", kind="cancelled", **kw)
        else:
            save(store, sid, name, items, **kw)
    store.end_scan(sid, status, 0, 0)
    store.db.execute("UPDATE scans SET started = ? WHERE id = ?", (NOW - days_ago * DAY, sid))
    store.db.commit()
    return sid


def lines_for(fleet_items, end=date(2027, 6, 30)):
    out = []
    for row, (_, pid, serial) in enumerate(fleet_items, start=2):
        as_read, base, refurb = split_pid(pid)
        out.append(ContractLine(serial=serial, pid=as_read, base_pid=base, contract_number="900", start=date(2025, 1, 1),
                                end=end, covered=True, refurbished=refurb, source_file="c.csv", source_row=row))
    return out


def all_items(devices):
    return [item for items in devices.values() for item in items]


def serials(store, scan_id=None):
    return {i.serial for i in fleet.fleet_items(store, scan_id)}


@pytest.fixture
def store(store_target):
    # Every test of this file runs on both backends (tests/pg/store_fixtures.py), but those
    # marked sqlite_only.
    s = Store(store_target)
    yield s
    s.close()


def test_a_partial_or_interrupted_scan_never_shrinks_the_fleet(store):
    truth = {sn for _, _, sn in all_items(FLEET)}
    full = scan(store, FLEET, days_ago=2)
    assert serials(store) == truth
    # One site's inventory only (the natural per-site schedule): the others stay as they were.
    part = scan(store, {"a": FLEET["a"]}, days_ago=1)
    assert serials(store) == truth
    assert [c for c in fleet.diff(store, full, part) if c.change == "removed"] == []
    # Interrupted: a saved, b cancelled in flight, c never reached.
    cut = scan(store, {"a": FLEET["a"], "b": []}, status="interrupted", cancelled=("b",))
    assert serials(store) == truth
    assert [c for c in fleet.diff(store, part, cut) if c.change == "removed"] == []
    states = {d.device: d for d in fleet.device_states(store)}
    assert set(states) == {"a", "b", "c"}
    assert states["b"].latest_status == "failed" and states["b"].latest_error.startswith("cancelled")
    rows = reconcile_from_store(store, lines_for(all_items(FLEET)), None, AS_OF, 90)
    assert {r.serial: r.status for r in rows} == dict.fromkeys(truth, "covered")  # no live item on the drop list
    b_rows = [r for r in rows if r.device == "b"]
    assert b_rows and all(r.scan_id == full for r in b_rows)  # b rests on its last good collection


def test_absence_is_claimed_only_from_a_read_inventory(store):
    scan(store, FLEET, days_ago=2)
    # c answers but its hardware table parsed to nothing (an SNMP/NETCONF table that failed to
    # parse): not a read inventory, so FDOC1 is not claimed absent.
    scan(store, {"c": []})
    assert store.db.execute("SELECT inventory_ok FROM devices WHERE device='c' ORDER BY scan_id DESC").fetchone()[0] == 0
    rows = {r.serial: r for r in reconcile_from_store(store, lines_for(all_items(FLEET)), None, AS_OF, 90)}
    # Its items stay those of its last read inventory (a hardware table that did not parse does
    # not empty a device), resting on that collection.
    assert rows["FDOC1"].status == "covered" and rows["FDOC1"].scan_id == 1
    # Read in full, without it (another router in its place): now the absence is proven.
    scan(store, {"c": [("Chassis", "ISR4351/K9", "FDOC2")]})
    rows = {r.serial: r for r in reconcile_from_store(store, lines_for(all_items(FLEET)), None, AS_OF, 90)}
    assert rows["FDOC1"].status == NOT_SEEN


def test_stale_devices_keep_their_items_marked_and_prove_no_absence(store):
    with_optic = dict(FLEET, b=FLEET["b"] + [("Te1/1/2", "SFP-10G-SR", "OPB9")])
    scan(store, with_optic, days_ago=60)
    scan(store, FLEET, days_ago=50)  # b without OPB9: history last saw it on b
    scan(store, {"c": [("Chassis", "ISR4331/K9", "FDOC1")]}, days_ago=45)
    scan(store, {"a": FLEET["a"]}, days_ago=1)  # b not attempted for 50 days
    lines = lines_for(all_items(with_optic))
    rows = reconcile_from_store(store, lines, None, AS_OF, 90, max_age_days=30)
    by = {r.serial: r for r in rows}
    for sn in ("FOCB1", "OPB1"):
        assert by[sn].status == "covered" and 49 <= by[sn].evidence_age_days <= 51
        assert any("rests on evidence" in why and "b was last collected" in why for why in by[sn].reasons)
    assert by["FDOC1"].evidence_age_days is not None  # 45 days > 30
    assert by["FOCA1"].evidence_age_days is None  # collected yesterday
    assert by["OPB9"].status == UNVERIFIED and by["OPB9"].blocking_devices == ("b",)
    # A larger limit (the command's, or the device's own) and b is fresh enough again.
    rows = {r.serial: r for r in reconcile_from_store(store, lines, None, AS_OF, 90, max_age_days=60)}
    assert rows["FOCB1"].evidence_age_days is None and rows["OPB9"].status == NOT_SEEN


def test_a_devices_own_max_age_overrides_the_default(store):
    scan(store, {"b": FLEET["b"]}, days_ago=40, max_age=60)
    scan(store, {"a": FLEET["a"]}, days_ago=40)
    rows = {r.serial: r for r in reconcile_from_store(store, lines_for(FLEET["a"] + FLEET["b"]), None, AS_OF, 90)}
    assert rows["FOCB1"].evidence_age_days is None
    assert rows["FOCA1"].evidence_age_days is not None


def test_retire_is_the_way_out_recorded_and_undone_by_a_new_scan(store, tmp_path, capsys):
    first = scan(store, FLEET, days_ago=3)
    path = str(store.path)
    assert cli_main(["retire", "b", "--db", path]) == 2  # no reason given
    assert cli_main(["retire", "nope", "--why", "x", "--db", path]) == 2  # not in the fleet
    capsys.readouterr()
    assert cli_main(["retire", "b", "--why", "sold to the lab", "--by", "ana", "--db", path]) == 0
    assert "retired 1 device(s)" in capsys.readouterr().out
    assert {d.device for d in fleet.device_states(store)} == {"a", "c"}
    assert "FOCB1" not in serials(store)
    second = scan(store, {"a": FLEET["a"]}, days_ago=1)
    removed = {c.serial: c.detail for c in fleet.diff(store, first, second) if c.change == "removed"}
    assert set(removed) == {"FOCB1", "OPB1"} and all("retired (retire)" in d and "ana" in d for d in removed.values())
    hist = fleet.item_history(store, "FOCB1")
    assert hist[-1]["device"] == "b" and "sold to the lab" in hist[-1]["name"]
    rows = {r.serial: r.status for r in reconcile_from_store(store, lines_for(all_items(FLEET)), None, AS_OF, 90)}
    assert rows["FOCB1"] == UNVERIFIED  # retired: not in the fleet, and its absence is not proven either
    scan(store, {"b": FLEET["b"]})  # found again: back in the fleet
    assert {"FOCB1", "OPB1"} <= serials(store)
    assert cli_main(["retire", "--list", "--format", "csv", "--db", path]) == 0
    assert "sold to the lab" in capsys.readouterr().out


def test_retire_expire_takes_out_devices_not_collected_for_days(store, capsys):
    scan(store, FLEET, days_ago=100)
    scan(store, {"a": FLEET["a"]}, days_ago=1)
    path = str(store.path)
    assert cli_main(["retire", "--expire", "90", "--dry-run", "--db", path]) == 0
    assert "would retire: b, c" in capsys.readouterr().out
    assert {d.device for d in fleet.device_states(store)} == {"a", "b", "c"}
    assert cli_main(["retire", "--expire", "90", "--db", path]) == 0
    assert {d.device for d in fleet.device_states(store)} == {"a"}
    assert {r["how"] for r in store.retirements()} == {"expiry"}


def test_diff_reports_moves_inside_a_device_and_rma_pairs(store):
    first = scan(store, FLEET, days_ago=2)
    moved = dict(FLEET, b=[("Chassis", "C9500-24Y4C", "FOCB1"), ("Te1/1/4", "SFP-10G-SR", "OPB1")],
                 a=[("Chassis", "C9300-48P", "FOCA1"), ("PS1", "PWR-C1-715WAC", "PSA2")])
    second = scan(store, moved, days_ago=1)
    changes = {(c.change, c.serial): c.detail for c in fleet.diff(store, first, second)}
    assert changes[("moved", "OPB1")] == "from Te1/1/1 on the same device"
    assert changes[("added", "PSA2")] == "rma-swap: replaces PSA1 in a PS1"
    assert changes[("removed", "PSA1")] == "rma-swap: replaced by PSA2 in a PS1"
    day_first = datetime.fromtimestamp(NOW - 2 * DAY, tz=timezone.utc).date().isoformat()
    assert fleet.resolve_pair(store, [day_first, str(second)]) == (first, second)
    with pytest.raises(ValueError, match="neither a scan id nor a date"):
        fleet.resolve_pair(store, ["yesterday", "1"])


@pytest.mark.sqlite_only("a migration from an older SQLite schema")
def test_a_v5_store_migrates_to_the_fleet_model_with_nothing_lost(store):
    first = scan(store, FLEET, days_ago=2)
    scan(store, {"c": []})  # read nothing
    before = {(r["scan_id"], r["device"]): dict(r) for r in store.db.execute("SELECT * FROM devices")}
    comps = store.db.execute("SELECT COUNT(*) FROM components").fetchone()[0]
    path = store.path
    store.close()
    db = sqlite3.connect(path)
    db.execute("DROP TABLE retirements")
    db.execute("DROP INDEX IF EXISTS devices_by_attempt")  # v11 folded it into devices_by_name
    for table, column in (("devices", "version_ok"), ("devices", "licenses_ok"), ("devices", "max_age_days"),
                          ("errors", "transport"), ("scans", "devices_cancelled"), ("scans", "reason")):
        db.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    db.execute("UPDATE devices SET inventory_ok = 1 WHERE status = 'ok'")  # v5's rule: no item count
    db.execute("UPDATE meta SET value='5' WHERE key='schema_version'")
    db.commit()
    db.close()
    again = Store(path)
    try:
        assert again.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(SCHEMA_VERSION)
        after = {(r["scan_id"], r["device"]): dict(r) for r in again.db.execute("SELECT * FROM devices")}
        assert after.keys() == before.keys()
        assert again.db.execute("SELECT COUNT(*) FROM components").fetchone()[0] == comps
        assert after[(first, "a")]["version_ok"] == 1
        assert after[(first + 1, "c")]["inventory_ok"] == 0  # re-derived: no physical item read
        # ... so c's items come from the collection that read them.
        assert {i.serial for i in fleet.fleet_items(again)} == {sn for _, _, sn in all_items(FLEET)}
    finally:
        again.close()


SYS_DESCR = ("Cisco IOS Software [Cupertino], Catalyst L3 Switch Software (CAT9K_IOSXE), Version 17.9.4a, "
             "RELEASE SOFTWARE (fc3)")


@pytest.mark.parametrize("transport, captures", [
    # SNMP: the system group answers, the entPhysicalTable walk returns no usable row (an agent
    # that times out half way, or answers the wrong table).
    ("snmp", [("snmp:system", f"1.3.6.1.2.1.1.1.0|4|{SYS_DESCR}\n1.3.6.1.2.1.1.5.0|4|sw9\n"),
              ("snmp:entPhysicalTable", "1.3.6.1.2.1.47.1.1.1.1.2|4|no index\n")]),
    # NETCONF: the hardware filter is refused with an rpc-error.
    ("netconf", [("netconf:device-hardware-data",
                  '<rpc-reply xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="1"><rpc-error>'
                  "<error-type>application</error-type><error-tag>operation-failed</error-tag>"
                  "<error-severity>error</error-severity><error-message>resource busy</error-message>"
                  "</rpc-error></rpc-reply>")]),
])
def test_an_unreadable_hardware_table_is_not_a_read_inventory(store, transport, captures):
    """Issue 11: an SNMP or NETCONF device whose hardware table fails to parse used to come out
    clean with 0 items, so its contract serials became drop candidates."""
    from agent.normalize import records_from_captures
    from agent.store.db import collection_facts

    scan(store, {"c": FLEET["c"] + [("NIM1", "NIM-2GE-CU-SFP", "FOCN5")]}, days_ago=2)
    scan(store, {"c": FLEET["c"]}, days_ago=1)  # read in full: FOCN5 left c
    caps = [Capture("c", "cisco_xe", transport, cmd, out, time.time(), time.time()) for cmd, out in captures]
    try:  # the device answered something: records without items, or nothing usable at all
        recs, status, kind = records_from_captures("c", "cisco_xe", caps), "ok", None
        assert [c for c in recs.components if c.serial] == []
    except ParseError:
        recs, status, kind = None, "failed", "parse"
    assert collection_facts(status, recs)[0] is False
    sid = store.begin_scan("inv", {}, 1)
    with store.transaction():
        store.save_captures(sid, caps)
        store.save_device(sid, Target(name="c", host="127.0.0.1", platform="cisco_xe", site="hq"), status=status,
                          transport=transport, records=recs, error_kind=kind, error=kind, started=0, ended=0,
                          attempts=1)
    store.end_scan(sid, "completed", 1, 0)
    assert [d.latest_scan_clean for d in fleet.device_states(store)] == [False]
    lines = lines_for(FLEET["c"] + [("NIM1", "NIM-2GE-CU-SFP", "FOCN5")])
    rows = {r.serial: r for r in reconcile_from_store(store, lines, None, AS_OF, 90)}
    assert rows["FDOC1"].status == "covered"  # still the items of its last read inventory, not a drop
    # The serial that left c: proven absent by yesterday's read, but c's latest attempt did not
    # read its inventory, so nothing is claimed: unverified, naming c.
    assert rows["FOCN5"].status == UNVERIFIED and rows["FOCN5"].blocking_devices == ("c",)
    listed = {r["serial"]: r for r in device_rows(store)}
    if status == "ok":
        assert listed["FDOC1"]["latest_error"].endswith("did not read the hardware inventory; items from scan 2")
    else:
        assert listed["FDOC1"]["latest_error"].startswith("parse")


def test_max_age_days_comes_from_the_inventory_group(tmp_path):
    from agent.collect.inventory import InventoryError, load_inventory

    (tmp_path / "hosts.yaml").write_text("r1:\n  hostname: 127.0.0.1\n  groups: [branch]\n"
                                         "r2:\n  hostname: 127.0.0.1\n  groups: [core]\n")
    (tmp_path / "groups.yaml").write_text("branch:\n  data: {max_age_days: 90}\ncore: {}\n")
    (tmp_path / "defaults.yaml").write_text("platform: cisco_xe\nusername: u\npassword: ${PW}\n")
    targets = {t.name: t for t in load_inventory(tmp_path, env={"PW": "x"}).targets}
    assert (targets["r1"].max_age_days, targets["r2"].max_age_days) == (90, None)
    assert "max_age_days" not in targets["r1"].options
    (tmp_path / "groups.yaml").write_text("branch:\n  data: {max_age_days: soon}\ncore: {}\n")
    with pytest.raises(InventoryError, match="max_age_days 'soon' is not a whole number of days"):
        load_inventory(tmp_path, env={"PW": "x"})


@pytest.mark.sqlite_only("reads SQLite's statement trace")
def test_reconcile_reads_the_store_in_one_read_transaction(store):
    """Items, device states and the history of absent serials come from one state of the store,
    and the TEMP table of absent serials is filled inside that one transaction (autocommitted, one
    transaction per serial took 1.3-2.2 s at 27,000 serials)."""
    scan(store, FLEET, days_ago=1)
    gone = [("Chassis", "C9300-48P", f"FOCGONE{i}") for i in range(50)]  # on contract, never seen
    statements: list[str] = []
    store.db.set_trace_callback(statements.append)
    rows = reconcile_from_store(store, lines_for(all_items(FLEET) + gone), None, AS_OF, 90)
    store.db.set_trace_callback(None)
    assert {r.serial for r in rows if r.status == NOT_SEEN} >= {sn for _, _, sn in gone}
    inserts = [i for i, sql in enumerate(statements) if "INTO wanted_serials" in sql]
    begin = statements.index("BEGIN")
    commit = max(i for i, sql in enumerate(statements) if sql == "COMMIT")
    assert len(inserts) >= 50 and begin < min(inserts) and max(inserts) < commit
    assert not any(sql in ("BEGIN", "COMMIT") for sql in statements[min(inserts):max(inserts)])
    assert not store.db.in_transaction
    # Inside a caller's own transaction it reads there and leaves it open.
    store.db.execute("BEGIN")
    assert reconcile_from_store(store, lines_for(all_items(FLEET)), None, AS_OF, 90)
    assert store.db.in_transaction
    store.db.execute("ROLLBACK")
