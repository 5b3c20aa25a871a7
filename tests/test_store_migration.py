"""A store written by the release before the fleet model (schema v4) opens with the current code:
migrated with nothing lost, and its partial second scan no longer shrinks the fleet."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from agent.store import SCHEMA_VERSION, Store
from agent.store import fleet
from agent.store.views import device_rows

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "stores" / "v4_release_7198eac"


def test_a_v4_store_of_the_previous_release_migrates_with_nothing_lost(tmp_path):
    expect = json.loads(FIXTURE.with_suffix(".json").read_text())
    path = tmp_path / "old.db"
    shutil.copy(FIXTURE.with_suffix(".db"), path)
    store = Store(path)
    try:
        count = lambda table: store.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]  # noqa: E731
        assert store.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(SCHEMA_VERSION)
        assert (count("devices"), count("components"), count("captures"), count("sightings")) == (
            expect["devices_rows"], expect["components_rows"], expect["captures_rows"], expect["sightings_rows"])
        s1, s2 = expect["scans"]
        items = sorted([r["device"], r["serial"], r["base_pid"]] for r in device_rows(store) if r["contractable"])
        # The old release showed only site000 after scan 2; the fleet keeps every device.
        assert items == expect["items_scan_1"]
        assert sorted(d.device for d in fleet.device_states(store)) == expect["all_devices"]
        assert [c for c in fleet.diff(store, s1, s2) if c.change == "removed"] == []
        # Every stored capture still reads back (content-addressed blobs kept).
        first = store.db.execute("SELECT MIN(id) FROM captures").fetchone()[0]
        assert store.capture_text(first)
        # The v6 facts were derived from the stored rows.
        assert count("devices") == store.db.execute(
            "SELECT COUNT(*) FROM devices WHERE inventory_ok = 1 AND version_ok = 1").fetchone()[0]
    finally:
        store.close()


def test_v10_recanonicalises_stored_versions_so_an_upgrade_is_no_version_change(tmp_path):
    """NX-OS versions were stored dotted ('10.2.3') and interim builds cut ('16.1'); the current form
    is Cisco's own.  Opened by this release, the stored canonical versions take the current form, so a
    diff across the upgrade of ibagent reports no version change that did not happen."""
    from agent.core.models import Target

    path = tmp_path / "v9.db"
    store = Store(path)
    rows = [("n9k-a", "cisco_nxos", "10.2(3) [Feature Release]", "10.2.3", "10.2(3)"),
            ("n9k-b", "cisco_nxos", "16.1(2.133b)", "16.1", "16.1(2.133b)"),
            ("n5k", "cisco_nxos", "7.3(8)N1(1)", "7.3(8)N1(1)", "7.3(8)N1(1)"),
            ("c9300", "cisco_xe", "17.09.04a", "17.9.4a", "17.9.4a")]
    scans = []
    for _ in range(2):
        scan = store.begin_scan("inv", {}, len(rows))
        with store.transaction():
            for device, platform, *_ in rows:
                store.save_device(scan, Target(device, "127.0.0.1", platform), status="failed", transport="ssh",
                                  records=None, error_kind="connect", error="x", started=0, ended=0, attempts=1)
        store.end_scan(scan, "completed")
        scans.append(scan)
    # The first scan as the previous release stored it; the store back at version 9.
    for device, _platform, raw, old, _new in rows:
        store.db.execute("UPDATE devices SET os_version=?, version=? WHERE device=?", (raw, old, device))
        store.db.execute("UPDATE devices SET version=? WHERE device=? AND scan_id=?", (_new, device, scans[1]))
    store.db.execute("UPDATE meta SET value='9' WHERE key='schema_version'")
    store.close()

    store = Store(path)
    try:
        got = {r["device"]: r["version"] for r in store.db.execute(
            "SELECT device, version FROM devices WHERE scan_id=?", (scans[0],))}
        assert got == {device: new for device, _p, _r, _o, new in rows}
        raw = {r["device"]: r["os_version"] for r in store.db.execute("SELECT device, os_version FROM devices")}
        assert raw["n9k-a"] == "10.2(3) [Feature Release]"  # what the device printed is never rewritten
    finally:
        store.close()
