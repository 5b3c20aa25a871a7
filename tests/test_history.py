"""History over scans: reconcile inputs, diff, per-serial history, true-up; and the reconcile CLI's errors."""
from __future__ import annotations

import json
import sqlite3
import time
from datetime import date

import pytest

from agent.store import fleet as history
from agent.cli import main as cli_main
from agent.core.models import Capture, Component, DeviceFacts, DeviceRecords, Target
from agent.store import SCHEMA_VERSION, Store


def _scan(store, devices: dict[str, list[tuple[str, str, str]]], failed=(), version="17.9.4a", problems=()):
    """devices: name -> [(slot name, pid, serial)]; returns the scan id."""
    scan = store.begin_scan("inv", {}, len(devices))
    for name, items in devices.items():
        t = Target(name=name, host="127.0.0.1", platform="cisco_xe", site="hq", contract_site_ids=("555",))
        cap = Capture(name, "cisco_xe", "ssh", "show inventory", "x", time.time(), time.time())
        if name in failed:
            recs, status, kind = None, "failed", "timeout"
        else:
            facts = DeviceFacts(name, "cisco_xe", hostname=name, version=version,
                                chassis_pid=items[0][1], chassis_serial=items[0][2])
            comps = [Component(name, slot, "", pid, pid.rstrip("="), "V01", sn, sn, "chassis") for slot, pid, sn in items]
            recs, status, kind = DeviceRecords(facts, comps, problems=list(problems)), "ok", None
        with store.transaction():
            store.save_captures(scan, [cap])
            store.save_device(scan, t, status=status, transport="ssh", records=recs, error_kind=kind,
                              error="x" if kind else None, started=0, ended=0, attempts=1)
    store.end_scan(scan, "completed", 0, 0)
    return scan


def _as_older_version(store, version: int, undo: str) -> Store:
    """Close ``store``, take it back to schema ``version`` (``undo`` removes what came later) and
    open it again, which migrates it."""
    path = store.path
    store.close()
    db = sqlite3.connect(path)
    db.execute(undo)
    db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(version),))
    db.commit()
    db.close()
    return Store(path)


@pytest.fixture
def store(store_target):
    # Every test of this file runs on both backends (tests/pg/store_fixtures.py), but those
    # marked sqlite_only.
    s = Store(store_target)
    yield s
    s.close()


def test_diff_history_and_trueup(store):
    s1 = _scan(store, {"sw1": [("Switch 1", "C9300-48P", "FOC1"), ("Switch 2", "C9300-48P", "FOC2")],
                       "sw2": [("Chassis", "ASAv30", "9AAA")]})
    s2 = _scan(store, {"sw1": [("Switch 1", "C9300-48P", "FOC1"), ("Switch 2", "C9300-48P", "FOC3")],
                       "sw2": [("Chassis", "ASAv30", "9AAA"), ("Te1", "SFP-10G-SR", "FOC2")]}, version="17.12.4")
    changes = {(c.change, c.serial) for c in history.diff(store, s1, s2)}
    assert ("added", "FOC3") in changes
    assert ("moved", "FOC2") not in changes  # same serial, other PID: a different item
    assert ("removed", "FOC2") in changes and ("added", "FOC2") in changes
    assert ("version-changed", "FOC1") in changes and ("version-changed", "9AAA") in changes
    sightings = history.item_history(store, "FOC2")
    assert [(h["scan_id"], h["device"]) for h in sightings] == [(s1, "sw1"), (s2, "sw2")]
    fresh = {i.serial for i in history.trueup(store, s1)}
    assert fresh == {"FOC3", "FOC2"}
    assert history.trueup(store, date(2000, 1, 1))


def test_reconcile_inputs_from_store(store):
    s1 = _scan(store, {"a": [("Chassis", "C9300-48P", "FOC1")], "b": [("Chassis", "ASAv30", "9AAA")]})
    s2 = _scan(store, {"a": [("Chassis", "C9300-48P", "FOC1")], "b": [("Chassis", "ASAv30", "9AAA")]}, failed=("b",))
    items = {(i.serial, i.base_pid, i.device) for i in history.fleet_items(store)}
    # b failed in the latest scan: its last clean collection still stands in the snapshot.
    assert items == {("FOC1", "C9300-48P", "a"), ("9AAA", "ASAV30", "b")}
    states = {s.device: s for s in history.device_states(store)}
    assert states["a"].latest_scan_clean and not states["b"].latest_scan_clean
    assert states["b"].last_clean_scan_at is not None and states["b"].contract_site_ids == ("555",)
    seen = history.seen_history(store)
    assert seen[("9AAA", "ASAV30")].last_device == "b"
    assert s2 > s1


def test_unread_inventory_is_not_clean(store):
    _scan(store, {"a": [("Chassis", "C9300-48P", "FOC1")]}, problems=["show inventory: not parsed (command): x"])
    assert not history.device_states(store)[0].latest_scan_clean


def _mixed_history(store):
    """Four scans: failures, an unread inventory, a part moving between devices, a PID case change."""
    ids = [
        _scan(store, {"a": [("Chassis", "C9300-48P", "FOC1"), ("Te1", "SFP-10G-SR", "OPT1")],
                      "b": [("Chassis", "ASAv30", "9AAA")], "c": [("Chassis", "C9500-24Y4C", "FOC9")]}),
        _scan(store, {"a": [("Chassis", "C9300-48P", "FOC1")], "b": [("Chassis", "ASAV30", "9AAA"),
                                                                       ("Te1", "SFP-10G-SR", "OPT1")]},
              failed=("a",)),
        _scan(store, {"a": [("Chassis", "C9300-48P", "FOC1")], "b": [("Chassis", "ASAv30", "9AAA")],
                      "c": [("Chassis", "C9500-24Y4C", "FOC9")]},
              problems=["show inventory: not parsed (command): x"]),
        _scan(store, {"a": [("Chassis", "C9300-48P", "FOC1")], "b": [("Chassis", "ASAv30", "9AAA")],
                      "c": [("Chassis", "C9500-24Y4C", "FOC9")]}, failed=("b",)),
    ]
    return ids


def test_device_states_match_a_walk_over_every_scan(store):
    # device_states seeks each device's latest clean scan through the index; the reference here
    # walks every device row of every scan with is_clean, as the definition says.  The fleet
    # (schema v6) is every device seen up to the scan, each at its own latest attempt.
    ids = _mixed_history(store)
    started = {s["id"]: s["started"] for s in store.scans()}
    for upto in ids:
        last_clean, latest = {}, {}
        for row in store.db.execute("SELECT * FROM devices WHERE scan_id <= ? ORDER BY scan_id", (upto,)):
            latest[row["device"]] = row
            if history.is_clean(row):
                last_clean[row["device"]] = history._when(started[row["scan_id"]])
        got = {s.device: (s.last_clean_scan_at, s.latest_scan_clean) for s in history.device_states(store, upto)}
        want = {d: (last_clean.get(d), history.is_clean(r)) for d, r in latest.items()}
        assert got == want
    assert history.device_states(store, ids[2])[0].latest_scan_clean is False  # inventory not read


def test_sightings_table_gives_the_history_walked_over_every_scan(store):
    ids = _mixed_history(store)
    assert store.sightings_cover(ids[-1]) and not store.sightings_cover(ids[-2])
    walked = history.walk_history(store, ids[-1])
    assert history.seen_history(store) == walked  # from sightings
    assert walked[("9AAA", "ASAV30")].last_device == "b"  # stored as ASAv30 and ASAV30: one item
    for wanted in ({"OPT1"}, {"9AAA", "FOC9"}, {"NOPE"}, set()):
        assert history.seen_history(store, serials=wanted) == history.walk_history(store, ids[-1], wanted)
    # A scan still running has written components: its sightings are not history "as of" the
    # latest finished scan, so the walk answers.
    running = store.begin_scan("inv", {}, 1)
    t = Target(name="a", host="127.0.0.1", platform="cisco_xe", site="hq")
    comps = [Component("a", "Te9", "", "GLC-TE", "GLC-TE", "V01", "OPT1", "OPT1", "optic")]
    with store.transaction():
        store.save_device(running, t, status="ok", transport="ssh", records=DeviceRecords(None, comps),
                          error_kind=None, error=None, started=0, ended=0, attempts=1)
    assert not store.sightings_cover(store.latest_scan_id())
    assert history.seen_history(store) == walked


@pytest.mark.sqlite_only("a migration from an older SQLite schema")
def test_a_version_3_store_gets_its_sightings_from_the_components(store, tmp_path):
    _mixed_history(store)
    walked = history.walk_history(store, store.latest_scan_id())
    again = _as_older_version(store, 3, "DROP TABLE sightings")
    try:
        assert again.sightings_cover(again.latest_scan_id())
        assert history.seen_history(again) == walked
    finally:
        again.close()


def test_history_of_some_serials_is_the_whole_history_restricted(store):
    ids = _mixed_history(store)
    for upto in ids:
        whole = history.seen_history(store, upto)
        for wanted in ({"OPT1"}, {"9AAA", "FOC9"}, {"NOPE"}, set()):
            some = history.seen_history(store, upto, serials=wanted)
            assert some == {k: v for k, v in whole.items() if k[0] in wanted}
    assert history.seen_history(store, serials={"OPT1"})[("OPT1", "SFP-10G-SR")].last_device == "b"


def test_reconcile_cli_errors_are_precise(tmp_path, capsys, store):
    _scan(store, {"a": [("Chassis", "C9300-48P", "FOC1")]})
    bad = tmp_path / "bad.csv"
    bad.write_text("Serial Number,Product ID,Covered Line Start Date,Covered Line End Date,Contract Number\n"
                   "FOC1,C9300-48P,2026-01-01,2027-01-01,100\n"
                   "FOC2,C9300-48P,2026-01-01,not-a-date,101\n")
    code = cli_main(["reconcile", "--db", str(store.path), "--contracts", str(bad), "--as-of", "2026-06-01",
                     "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0
    assert "bad.csv row 3" in err and "Covered Line End Date" in err and "Traceback" not in err
    rows = json.loads(out)
    assert [(r["serial"], r["status"]) for r in rows] == [("FOC1", "covered")]
    assert cli_main(["reconcile", "--db", str(store.path), "--contracts", str(bad), "--strict"]) == 2
    assert cli_main(["reconcile", "--db", str(store.path), "--contracts", str(tmp_path / "none.csv")]) == 2
    assert cli_main(["reconcile", "--db", str(store.path), "--contracts", str(bad), "--as-of", "01/02/2026"]) == 2
    out_dir = tmp_path / "reports"
    (out_dir / "deployed.csv").mkdir(parents=True)  # cannot be replaced by the report
    capsys.readouterr()
    assert cli_main(["reconcile", "--db", str(store.path), "--contracts", str(bad), "--out", str(out_dir)]) == 2
    err = capsys.readouterr().err
    assert "cannot write reports" in err and "deployed.csv" in err and "Traceback" not in err


@pytest.mark.sqlite_only("a migration from an older SQLite schema")
def test_a_version_4_store_gets_the_inventory_ok_fact_from_its_rows(store):
    """Schema v5 stores "collected cleanly" as a column; a v4 store (no column) is back-filled
    with the rule that used to run at read time: ok, and no problem mentioning the inventory."""
    _scan(store, {"clean": [("Chassis", "C9300-48P", "FOC1")]})
    _scan(store, {"partial": [("Chassis", "C9300-48P", "FOC2")]}, problems=["show inventory: unparsable row 3"])
    _scan(store, {"other": [("Chassis", "C9300-48P", "FOC3")]}, problems=["show version: no uptime"])
    _scan(store, {"down": [("Chassis", "C9300-48P", "FOC4")]}, failed=("down",))
    want = {"clean": 1, "partial": 0, "other": 1, "down": 0}
    assert {r["device"]: r["inventory_ok"] for r in store.db.execute("SELECT device, inventory_ok FROM devices")} == want
    again = _as_older_version(store, 4, "ALTER TABLE devices DROP COLUMN inventory_ok")
    try:
        got = {r["device"]: r["inventory_ok"] for r in again.db.execute("SELECT device, inventory_ok FROM devices")}
        assert got == want
        assert again.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(SCHEMA_VERSION)
        clean = {s.device: s.latest_scan_clean for sid in range(1, 5) for s in history.device_states(again, sid)}
        assert clean == {"clean": True, "partial": False, "other": True, "down": False}
    finally:
        again.close()
