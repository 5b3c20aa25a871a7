"""Schema v11: a device's items as content-addressed sets (issue 15 item 4).

The same multi-scan scenario is written twice: once by this code, once into the previous layout
(the v10 ``components`` table, filled with the previous release's INSERT in save order).  The
``components`` view must give exactly the old table's rows (ids and capture ids included), the old
store must migrate, and every fleet read (fleet items, device state, history, diff, true-up, item
history, evidence, the devices rows) must answer the same on both."""
from __future__ import annotations

import sqlite3
from datetime import date

import pytest

from agent.core.models import Capture, Component, DeviceFacts, DeviceRecords, Target
from agent.store import SCHEMA_VERSION, Store
from agent.store import evidence, fleet
from agent.store.views import device_rows

DAY = 86400.0
T0 = 1_780_000_000.0

# The previous release's statement (schema v10), kept here as the reference layout.
OLD_INSERT = ("INSERT INTO components(scan_id, device, name, descr, pid, base_pid, vid, serial_raw, serial, class,"
              " parent, contractable, reason, refurbished, transport, capture_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
LEGACY_TABLE = """
CREATE TABLE components (
    id INTEGER PRIMARY KEY, scan_id INTEGER NOT NULL, device TEXT NOT NULL,
    name TEXT, descr TEXT, pid TEXT, base_pid TEXT, vid TEXT, serial_raw TEXT, serial TEXT, class TEXT, parent TEXT,
    contractable INTEGER, reason TEXT, refurbished INTEGER, transport TEXT, capture_id INTEGER)"""

BASE = {
    "core1": [("Chassis", "C9500-24Y4C", "FOC100"), ("PS1", "C9K-PWR-650WAC-R", "PSU100"), ("Te1/1", "SFP-10G-SR", "OPT100")],
    "acc1": [("Switch 1", "C9300-48P", "FOC201"), ("Switch 2", "C9300-48P", "FOC202")],
    "acc2": [("Switch 1", "C9300-48P", "FOC301"), ("Te1/1/1", "SFP-10G-SR", "OPT301")],
    "fw1": [("Chassis", "ASAv30", "9AAA")],
    "old1": [("Chassis", "WS-C2960X-48FPD-L", "FOC900")],
    "empty": [],
}


def _scenario():
    """[(scan number, {device: (items, status, problems)})]: unchanged nights, an RMA swap, an item
    moved between devices, a failure, a partial scan, an inventory not read, a device last seen in
    the first scan, a PID stored in two cases."""
    nights = []
    state = {d: list(items) for d, items in BASE.items()}

    def night(devs=None, failed=(), problems=None):
        out = {}
        for d in devs or state:
            out[d] = (list(state[d]), "failed" if d in failed else "ok", (problems or {}).get(d, []))
        nights.append(out)

    night()
    state.pop("old1")
    night()                                                    # old1 never seen again
    night()                                                    # unchanged
    state["acc1"][1] = ("Switch 2", "C9300-48P", "FOC299")     # RMA swap
    night(failed=("core1",))
    state["acc2"].remove(("Te1/1/1", "SFP-10G-SR", "OPT301"))  # the optic moves to core1
    state["core1"].append(("Te1/1/2", "SFP-10G-SR", "OPT301"))
    state["fw1"] = [("Chassis", "ASAV30", "9AAA")]
    night(devs=["core1", "acc2", "fw1"])                       # partial scan
    night(problems={"acc1": ["show inventory: not parsed (command): x"]})
    night()                                                    # unchanged
    return nights


def _write(store: Store, legacy: list | None = None) -> list[int]:
    """The scenario through Store (the scan's own write path).  ``legacy``: also collect each
    device's component rows as the previous release wrote them, in save order."""
    ids = []
    for n, night in enumerate(_scenario()):
        scan = store.begin_scan("inv", {}, len(night))
        store.db.execute("UPDATE scans SET started = ? WHERE id = ?", (T0 + n * DAY, scan))
        for device, (items, status, problems) in night.items():
            t = Target(name=device, host="127.0.0.1", platform="cisco_xe", site="hq")
            version = Capture(device, "cisco_xe", "ssh", "show version", f"{device} version", 0.0, 0.0)
            inventory = Capture(device, "cisco_xe", "ssh", "show inventory", f"{device} {items}", 0.0, 0.0)
            with store.transaction():
                store.save_captures(scan, [version, inventory])
                recs = None
                if status == "ok":
                    comps = [Component(device, name, "", pid, pid, "V01", sn, sn,
                                       "chassis" if name == "Chassis" else "module", transport="ssh",
                                       # the chassis from show version, the rest from show inventory
                                       capture_id=(version if name == "Chassis" else inventory).id)
                             for name, pid, sn in items]
                    recs = DeviceRecords(DeviceFacts(device, "cisco_xe", hostname=device, version="17.9.4a",
                                                     os_version="17.09.04a"), comps, problems=problems)
                store.save_device(scan, t, status=status, transport="ssh", records=recs,
                                  error_kind=None if status == "ok" else "timeout",
                                  error=None if status == "ok" else "hung", started=T0 + n * DAY,
                                  ended=T0 + n * DAY + 5, attempts=1)
                if legacy is not None and recs is not None:
                    legacy.extend((scan, device, c.name, c.descr, c.pid, c.base_pid, c.vid, c.serial_raw, c.serial,
                                   c.cls, c.parent, int(c.contractable), c.reason, int(c.refurbished), c.transport,
                                   c.capture_id) for c in recs.components)
        store.end_scan(scan, "completed")
        ids.append(scan)
    return ids


def _as_v10(path, legacy: list) -> None:
    """Turn a v11 store into the v10 layout its scans would have left: the components table, filled
    with the old statement in save order, no sets, version 10."""
    db = sqlite3.connect(path)
    db.executescript("DROP VIEW components; DROP TABLE set_items; DROP TABLE item_sets;" + LEGACY_TABLE + ";"
                     "CREATE INDEX components_by_device ON components(scan_id, device);"
                     "CREATE INDEX components_by_serial ON components(serial);")
    db.executemany(OLD_INSERT, legacy)
    for column in ("item_set", "item_cap0", "item_id0"):
        db.execute(f"ALTER TABLE devices DROP COLUMN {column}")
    db.execute("ALTER TABLE scans DROP COLUMN pruned")
    db.execute("DELETE FROM meta WHERE key = 'next_item_id'")
    db.execute("UPDATE meta SET value = '10' WHERE key = 'schema_version'")
    db.commit()
    db.close()


def _answers(store: Store, ids: list[int]) -> dict:
    """Every fleet read, over every scan and pair of scans."""
    serials = sorted({sn for night in _scenario() for items, _, _ in night.values() for _, _, sn in items})
    out = {
        "components": [tuple(r) for r in store.db.execute("SELECT * FROM components ORDER BY id")],
        "device_rows": [{k: v for k, v in r.items() if k != "age_days"} for r in device_rows(store)],
        "sightings": [tuple(r) for r in store.db.execute("SELECT * FROM sightings ORDER BY serial, base_pid")],
        "seen": fleet.seen_history(store),
        "seen_some": fleet.seen_history(store, serials={"FOC202", "OPT301", "FOC900", "NOPE"}),
        "items": {s: fleet.fleet_items(store, s) for s in ids},
        "states": {s: fleet.device_states(store, s) for s in ids},
        "walk": {s: fleet.walk_history(store, s) for s in ids},
        "walk_some": {s: fleet.walk_history(store, s, {"FOC202", "OPT301"}) for s in ids},
        "diff": {(a, b): [c.as_dict() for c in fleet.diff(store, a, b)] for a in ids for b in ids if a < b},
        "trueup": {s: fleet.trueup(store, s) for s in ids},
        "history": {sn: fleet.item_history(store, sn) for sn in serials},
        "evidence": {sn: evidence.sightings(store, sn) for sn in serials},
    }
    return out


@pytest.fixture()
def both(tmp_path):
    """(new store, its scan ids, migrated v10 store) written from the same scenario."""
    new = Store(tmp_path / "new.db")
    ids = _write(new)
    legacy: list = []
    old = Store(tmp_path / "old.db")
    assert _write(old, legacy) == ids
    old.close()
    _as_v10(tmp_path / "old.db", legacy)
    raw = sqlite3.connect(tmp_path / "old.db")
    legacy_rows = raw.execute("SELECT * FROM components ORDER BY id").fetchall()
    assert raw.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == "10"
    raw.close()
    migrated = Store(tmp_path / "old.db")
    yield new, ids, migrated, legacy_rows
    new.close()
    migrated.close()


def test_the_view_gives_the_old_tables_rows_ids_and_capture_ids_included(both):
    new, _ids, _migrated, legacy_rows = both
    assert [tuple(r) for r in new.db.execute("SELECT * FROM components ORDER BY id")] == legacy_rows
    assert len(legacy_rows) > 30


def test_a_v10_store_migrates_and_every_read_answers_as_before(both):
    new, ids, migrated, legacy_rows = both
    assert migrated.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(SCHEMA_VERSION)
    assert migrated.db.execute("SELECT type FROM sqlite_master WHERE name='components'").fetchone()[0] == "view"
    assert [tuple(r) for r in migrated.db.execute("SELECT * FROM components ORDER BY id")] == legacy_rows
    want, got = _answers(new, ids), _answers(migrated, ids)
    for key in want:
        assert got[key] == want[key], key
    # Both layouts dedupe alike: the migration made the sets a scan would have made.
    count = "SELECT COUNT(*) FROM {}"
    for table in ("item_sets", "set_items"):
        assert migrated.db.execute(count.format(table)).fetchone() == new.db.execute(count.format(table)).fetchone()
    # ... and the next scan of a migrated store goes on from the ids it had.
    nxt = [Component("acc2", "Switch 1", "", "C9300-48P", "C9300-48P", "V01", "FOC301", "FOC301", "module")]
    for store in (new, migrated):
        scan = store.begin_scan("inv", {}, 1)
        store.db.execute("UPDATE scans SET started = ? WHERE id = ?", (T0 + 20 * DAY, scan))
        with store.transaction():
            store.save_device(scan, Target(name="acc2", host="127.0.0.1", platform="cisco_xe", site="hq"),
                              status="ok", transport="ssh", records=DeviceRecords(None, nxt), error_kind=None,
                              error=None, started=0, ended=0, attempts=1)
        store.end_scan(scan, "completed")
    assert ([tuple(r) for r in new.db.execute("SELECT * FROM components ORDER BY id")]
            == [tuple(r) for r in migrated.db.execute("SELECT * FROM components ORDER BY id")])
    assert fleet.seen_history(new) == fleet.seen_history(migrated)


def test_an_unchanged_device_adds_no_set_and_a_change_adds_only_that_devices_set(store_target):
    # On both backends (tests/pg/store_fixtures.py); the tests through ``both`` compare a new store
    # with one migrated from SQLite v10, and stay SQLite-only.
    store = Store(store_target)

    def night(fleet_items):
        scan = store.begin_scan("inv", {}, len(fleet_items))
        for device, serials in fleet_items.items():
            with store.transaction():
                cap = Capture(device, "cisco_xe", "ssh", "show inventory", "same output", 0.0, 0.0)
                store.save_captures(scan, [cap])
                comps = [Component(device, f"slot {k}", "", "C9300-48P", "C9300-48P", "V01", sn, sn, "module",
                                   capture_id=cap.id) for k, sn in enumerate(serials)]
                store.save_device(scan, Target(name=device, host="127.0.0.1", platform="cisco_xe"), status="ok",
                                  transport="ssh", records=DeviceRecords(None, comps), error_kind=None, error=None,
                                  started=0, ended=0, attempts=1)
        store.end_scan(scan, "completed")
        return scan

    counts = lambda: tuple(store.db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]  # noqa: E731
                           for t in ("item_sets", "set_items"))
    items = {f"sw{d}": [f"FOC{d}{k}" for k in range(4)] for d in range(10)}
    first = night(items)
    assert counts() == (10, 40)
    second = night(items)  # new capture ids, same items: nothing added
    assert counts() == (10, 40)
    pointers = "SELECT device, item_set FROM devices WHERE scan_id = ? ORDER BY device"
    assert store.db.execute(pointers, (first,)).fetchall() == store.db.execute(pointers, (second,)).fetchall()
    items["sw3"][2] = "FOC3X"
    night(items)
    assert counts() == (11, 44)  # one new set: sw3's four items
    new_set = store.db.execute("SELECT device, items FROM item_sets ORDER BY id DESC LIMIT 1").fetchone()
    assert tuple(new_set) == ("sw3", 4)
    # The component rows still say which capture each item came from, scan by scan.
    for scan in (first, second):
        caps = store.db.execute("SELECT DISTINCT c.capture_id, k.scan_id FROM components c JOIN captures k"
                                " ON k.id = c.capture_id WHERE c.scan_id = ?", (scan,)).fetchall()
        assert {k for _, k in caps} == {scan} and len(caps) == 10
    store.close()


def test_the_history_of_an_earlier_scan_walks_the_sets(both):
    new, ids, _migrated, _legacy = both
    # seen_history before the latest scan walks the components (the view): old1's chassis was
    # seen only in the first scan, the RMA'd switch up to the third.
    seen = fleet.seen_history(new, ids[3])
    assert seen[("FOC900", "WS-C2960X-48FPD-L")].last_seen.timestamp() == T0
    assert seen[("FOC202", "C9300-48P")].last_seen.timestamp() == T0 + 2 * DAY
    assert ("FOC299", "C9300-48P") in seen and ("FOC299", "C9300-48P") not in fleet.seen_history(new, ids[2])
    assert fleet.trueup(new, date(2020, 1, 1)) == fleet.fleet_items(new)


def test_the_current_fleet_from_device_latest_is_the_general_statements_answer(both):
    from agent.store import latest, schema

    new, ids, migrated, _legacy = both
    for store in (new, migrated):
        store.retire(["fw1"], how="retire", by="test", why="gone")
        last = ids[-1]
        for fast, general in ((latest.SNAPSHOT_LATEST_SQL, schema.SNAPSHOT_SQL),
                              (latest.DEVICE_STATES_LATEST_SQL, schema.DEVICE_STATES_SQL)):
            for cut in (float("inf"), 0.0):  # with and without the retirement
                want = [tuple(r) for r in store.db.execute(general, (last, last, last, cut))]
                assert [tuple(r) for r in store.db.execute(fast, (cut,))] == want
                assert len(want) >= 5
        # The summary is what a rebuild from the device rows gives.
        rows = "SELECT * FROM device_latest ORDER BY device"
        kept = store.db.execute(rows).fetchall()
        store.db.execute("DELETE FROM device_latest")
        store.db.execute(latest.LATEST_REBUILD)
        assert store.db.execute(rows).fetchall() == kept
    # A scan still running has saved a device: the current fleet is read the general way, and
    # is the fleet as of the last finished scan.
    before = new.snapshot_devices()
    running = new.begin_scan("inv", {}, 1)
    with new.transaction():
        new.save_device(running, Target(name="acc1", host="127.0.0.1", platform="cisco_xe", site="hq"),
                        status="failed", transport="ssh", records=None, error_kind="timeout", error="x",
                        started=0, ended=0, attempts=1)
    assert not new._latest_covers(ids[-1])
    assert [tuple(r) for r in new.snapshot_devices()] == [tuple(r) for r in before]


def _fleet_items_as_v10(store: Store, scan_id):
    """fleet_items as the v10 code built it: the snapshot's rows, then their components (the view
    gives the old table's rows, the test above checks it), one FleetItem per contractable row."""
    from agent.core.models import FleetItem

    snapshot = store.snapshot_devices(scan_id)
    by_key = {(d["scan_id"], d["device"]): d for d in snapshot}
    items = []
    for comp in store.db.execute("SELECT * FROM components ORDER BY id"):
        dev = by_key.get((comp["scan_id"], comp["device"]))
        if dev is None or not comp["contractable"] or not comp["serial"]:
            continue
        items.append(FleetItem(serial=comp["serial"], base_pid=comp["base_pid"].upper(), pid=comp["pid"],
                               device=comp["device"], hostname=dev["hostname"] or comp["device"],
                               site=dev["site"] or "", cls=comp["class"], name=comp["name"],
                               parent=comp["parent"] or "", scan_id=comp["scan_id"], capture_id=comp["capture_id"],
                               slot=comp["name"]))
    order = {key: n for n, key in enumerate(by_key)}
    return sorted(items, key=lambda i: order[(i.scan_id, i.device)])  # stable: each device's in id order


def test_fleet_items_read_from_the_sets_are_the_v10_answer(both):
    new, ids, migrated, _legacy = both
    for store in (new, migrated):
        for scan in [*ids, None]:
            assert fleet.fleet_items(store, scan) == _fleet_items_as_v10(store, scan), scan
        store.retire(["acc2"], how="retire", by="test", why="gone")
        assert fleet.fleet_items(store) == _fleet_items_as_v10(store, None)
        assert "acc2" not in {i.device for i in fleet.fleet_items(store)}
