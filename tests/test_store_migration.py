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
