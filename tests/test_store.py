"""The store: schema, evidence links, snapshots, lock, crash recovery.

Tests taking ``store_target`` run on both backends (an SQLite file and a PostgreSQL database:
tests/pg/store_fixtures.py); the query-plan tests read SQLite's EXPLAIN QUERY PLAN and stay
SQLite-only, as do the tests of what a file can be (damaged, another format)."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest

from agent.core.models import Capture, Component, DeviceFacts, DeviceRecords, Target
from agent.store import SCHEMA_VERSION, Store, StoreError, StoreLocked


def target(name="sw1"):
    return Target(name=name, host="127.0.0.1", platform="cisco_xe", site="lab")


def records(device, serials):
    facts = DeviceFacts(device=device, platform="cisco_xe", hostname=device.upper(), version="17.9.4a")
    comps = [
        Component(device, f"Switch {i}", "C9300", "C9300-48P", "C9300-48P", "V01", s, s, "stack-member", transport="ssh")
        for i, s in enumerate(serials, 1)
    ]
    return DeviceRecords(facts=facts, components=comps)


def save(store, scan_id, t, recs, status="ok", kind=None, output="NAME: x"):
    cap = Capture(t.name, t.platform, "ssh", "show inventory", output, time.time(), time.time())
    with store.transaction():
        store.save_captures(scan_id, [cap])
        if recs:
            for c in recs.components:
                c.capture_id = cap.id
        store.save_device(scan_id, t, status=status, transport="ssh", records=recs, error_kind=kind,
                          error="boom" if kind else None, started=0, ended=1, attempts=1)
    return cap


def test_snapshot_keeps_last_clean_collection(store_target):
    store = Store(store_target)
    s1 = store.begin_scan("inv", {}, 2)
    cap = save(store, s1, target("sw1"), records("sw1", ["FOC1"]))
    save(store, s1, target("sw2"), records("sw2", ["FOC2"]))
    store.end_scan(s1, "completed", 2, 0)
    s2 = store.begin_scan("inv", {}, 2)
    save(store, s2, target("sw1"), None, status="failed", kind="timeout")
    save(store, s2, target("sw2"), records("sw2", ["FOC3"]))
    store.end_scan(s2, "completed", 1, 1)

    snap = {r["device"]: r for r in store.snapshot_devices()}
    assert snap["sw1"]["collected_in"] == s1 and snap["sw1"]["latest_status"] == "failed"
    assert snap["sw2"]["collected_in"] == s2
    comps = store.components_of((r["scan_id"], r["device"]) for r in snap.values())
    assert sorted(c["serial"] for c in comps) == ["FOC1", "FOC3"]
    # Evidence: the component points at the capture, whose raw text is kept byte for byte.
    first = next(c for c in comps if c["serial"] == "FOC1")
    assert first["capture_id"] == cap.id
    assert store.capture_text(first["capture_id"]) == "NAME: x"
    assert [e["kind"] for e in store.errors_of(s2)] == ["timeout"]


@pytest.mark.parametrize("query", ["SNAPSHOT_SQL", "DEVICE_STATES_SQL"])
def test_fleet_queries_seek_each_device_by_index(tmp_path, query):
    # Without devices_by_name, each device's "latest clean collection" scanned every device row of
    # every scan: quadratic in the fleet, growing with each nightly scan (bench/store_scale.py).
    # Since the fleet model (schema v6) the device list is every device known up to the scan: one
    # pass over a covering index, linear in stored rows; every per-device look-up is a seek.
    from agent.store import schema

    store = Store(tmp_path / "s.db")
    plan = " | ".join(r[3] for r in store.db.execute("EXPLAIN QUERY PLAN " + getattr(schema, query), (1, 1, 1, 1)))
    # Since v11 one index (device, scan_id, status): each look-up walks back from S.
    assert "SEARCH x USING INDEX devices_by_name (device=? AND scan_id<?)" in plan, plan
    scans = [step for step in plan.split(" | ") if step.startswith("SCAN")]
    assert scans == ["SCAN devices USING COVERING INDEX devices_by_name", "SCAN a"], plan


@pytest.mark.parametrize("query, params, seek", [
    ("SIGHTINGS_UPSERT", (1, 1, 1, 1, "sw1", 1), "SEARCH set_items USING PRIMARY KEY (set_id=?)"),
    ("SIGHTINGS_UPSERT_SCAN", (1,), "SEARCH d USING PRIMARY KEY (scan_id=?)"),
])
def test_sightings_upsert_seeks_one_device(tmp_path, query, params, seek):
    # save_device folds each device into sightings: with "(? IS NULL OR device = ?)" SQLite used only
    # scan_id of the index and read every component of the running scan on each save (issue 15:
    # quadratic in the scan).  Since schema v11 the per-device statement reads the device's item set
    # through its primary key; the whole-scan one reads the scan's device rows, then their sets.
    from agent.store import schema

    store = Store(tmp_path / "s.db")
    plan = " | ".join(r[3] for r in store.db.execute("EXPLAIN QUERY PLAN " + getattr(schema, query), params))
    assert seek in plan, plan
    # SCAN g: the one device's (or scan's) items grouped per serial, which the seek above produced
    # (grouped so that an item listed twice is upserted once: PostgreSQL refuses twice).
    assert [step for step in plan.split(" | ") if step.startswith("SCAN")] in ([], ["SCAN g"]), plan


def test_sightings_per_device_and_per_scan_agree(store_target):
    # The two statements fold the same rows: a scan folded device by device (save_device) and the
    # same components folded per scan give identical sightings; an item listed twice by one device
    # (a stack that reports its chassis twice) is first seen at its first listing, last at its last.
    store = Store(store_target)
    s1 = store.begin_scan("inv", {}, 3)
    for d in range(3):
        save(store, s1, target(f"sw{d}"), records(f"sw{d}", [f"FOC{d}A", f"FOC{d}B", f"FOC{d}A"]))
    rows = "SELECT * FROM sightings ORDER BY serial, base_pid"
    per_device = [tuple(r) for r in store.db.execute(rows)]
    store.db.execute("DELETE FROM sightings")
    store.record_sightings(1)
    assert per_device == [tuple(r) for r in store.db.execute(rows)]
    assert len(per_device) == 6
    first_a = next(r for r in store.db.execute(rows) if r["serial"] == "FOC0A")
    assert (first_a["last_id"] - first_a["first_id"], first_a["last_name"]) == (2, "Switch 3")


def test_components_of_many_devices_in_one_query(store_target):
    store = Store(store_target)
    s1 = store.begin_scan("inv", {}, 40)
    for d in range(40):
        save(store, s1, target(f"sw{d:02d}"), records(f"sw{d:02d}", [f"FOC{d}A", f"FOC{d}B"]))
    pairs = [(s1, f"sw{d:02d}") for d in reversed(range(40))]  # any order: kept
    many = store.components_of(pairs)
    one_by_one = [row for pair in pairs for row in store.components_of([pair])]
    assert [tuple(r) for r in many] == [tuple(r) for r in one_by_one]
    assert [r["serial"] for r in many[:4]] == ["FOC39A", "FOC39B", "FOC38A", "FOC38B"]
    assert store.components_of(pairs[:35]) and not store.db.execute("SELECT * FROM wanted_devices").fetchall()


def test_identical_outputs_stored_once(store_target):
    store = Store(store_target)
    s1 = store.begin_scan("inv", {}, 1)
    save(store, s1, target("a"), None, output="same text\n" * 100)
    save(store, s1, target("b"), None, output="same text\n" * 100)
    assert store.db.execute("SELECT COUNT(*) FROM blobs").fetchone()[0] == 1
    assert store.db.execute("SELECT COUNT(*) FROM captures").fetchone()[0] == 2


def test_lock_excludes_second_scan_and_marks_interrupted(store_target):
    path = store_target
    a = Store(path)
    a.lock()
    scan = a.begin_scan("inv", {}, 1)
    b = Store(path)
    with pytest.raises(StoreLocked, match="another scan is running"):
        b.lock()
    a.close()  # a died without end_scan
    b.lock()
    assert b.db.execute("SELECT status FROM scans WHERE id=?", (scan,)).fetchone()[0] == "interrupted"
    b.close()


def test_killed_writer_leaves_consistent_store(store_target):
    """A process killed mid-scan leaves whole devices or nothing; the next scan works (on
    PostgreSQL the killed session's transaction is rolled back and its lock freed by the server)."""
    path = store_target
    script = textwrap.dedent(
        f"""
        import os, time
        from agent.store import Store
        from agent.core.models import Capture, Target
        s = Store({str(path)!r}); s.lock()
        scan = s.begin_scan("inv", {{}}, 1000)
        for i in range(1000):
            t = Target(name=f"d{{i}}", host="127.0.0.1", platform="cisco_xe")
            with s.transaction():
                s.save_captures(scan, [Capture(t.name, "cisco_xe", "ssh", "show version", "x" * 5000 + str(i), 0, 0)])
                s.save_device(scan, t, status="ok", transport="ssh", records=None, error_kind=None, error=None,
                              started=0, ended=0, attempts=1)
            if i == 300:
                os.kill(os.getpid(), 9)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert proc.returncode == -9
    store = Store(path)
    store.lock()
    if not path.startswith("postgresql://"):
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    devices = store.db.execute("SELECT COUNT(*) FROM devices").fetchone()[0]
    captures = store.db.execute("SELECT COUNT(*) FROM captures").fetchone()[0]
    assert devices == captures and devices >= 300
    assert store.scans()[0]["status"] == "interrupted"
    s2 = store.begin_scan("inv", {}, 1)
    save(store, s2, target(), records("sw1", ["FOC9"]))
    store.end_scan(s2, "completed", 1, 0)


def test_newer_schema_refused(store_target):
    store = Store(store_target)
    with store.transaction():
        store.db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION + 1),))
    store.close()
    for readonly in (False, True):
        with pytest.raises(StoreError, match="newer"):
            Store(store_target, readonly=readonly)


def test_not_a_store(tmp_path):
    # SQLite only: a file that is not a database (PostgreSQL's case, another application's
    # database, is in tests/test_store_pg.py).
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not an ibagent store"):
        Store(path)


def test_failures_of_a_scan_and_of_the_fleet(store_target):
    # agent/store/failures.py's statements (a CROSS JOIN ... ON, SQLite's join-order hint that
    # PostgreSQL takes as a JOIN) on both backends: every attempt kept, a partial scan forgets none.
    from agent.store import failures

    store = Store(store_target)
    s1 = store.begin_scan("inv", {}, 2)
    with store.transaction():
        store.save_device(s1, target("sw1"), status="failed", transport="ssh", records=None, error_kind="auth",
                          error="refused", started=0, ended=1, attempts=2,
                          failures=[("netconf", "connect", "port closed"), ("ssh", "auth", "refused")])
    save(store, s1, target("sw2"), records("sw2", ["FOC2"]))
    store.end_scan(s1, "completed")
    s2 = store.begin_scan("inv", {}, 1)  # sw2 only: sw1's failure still stands in the fleet
    save(store, s2, target("sw2"), records("sw2", ["FOC2"]))
    store.end_scan(s2, "completed")
    assert [(f["device"], f["kind"]) for f in failures.scan_failures(store, s1)] == [("sw1", "connect"),
                                                                                     ("sw1", "auth")]
    assert failures.scan_failures(store, s2) == []
    assert [(f["device"], f["kind"]) for f in failures.fleet_failures(store)] == [("sw1", "connect"), ("sw1", "auth")]
    assert [d["device"] for d in failures.failed_devices(store)] == ["sw1"]
    store.close()
