"""Store schema 2: an additive migration from schema 1 (no data touched), RUM bytes kept exactly.

Tests taking ``store_target`` run on both backends (tests/pg/store_fixtures.py); the migrations from
older SQLite versions and the PRAGMA reads stay SQLite-only."""
from __future__ import annotations

import hashlib
import sqlite3

from agent.store import SCHEMA_VERSION, Store

V2_TABLES = {"slp_runs", "slp_reports", "slp_acks", "slp_events"}


def _tables(db) -> set[str]:
    return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def test_a_version_1_store_migrates_in_place(tmp_path):
    path = tmp_path / "ib.db"
    store = Store(path)
    scan = store.begin_scan("inv", {"workers": 1}, 1)
    store.end_scan(scan, "completed", 1, 0)
    store.close()
    # Turn it back into what ibagent with schema 1 left on disk.
    db = sqlite3.connect(path)
    for table in V2_TABLES:
        db.execute(f"DROP TABLE {table}")
    db.execute("UPDATE meta SET value='1' WHERE key='schema_version'")
    db.commit()
    db.close()

    store = Store(path)
    assert store.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(SCHEMA_VERSION)
    assert V2_TABLES <= _tables(store.db)
    indexes = {r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert "devices_by_name" in indexes  # version 3
    assert [(r["id"], r["status"], r["inventory"]) for r in store.scans()] == [(scan, "completed", "inv")]
    store.close()
    Store(path).close()  # opening a current store again is a no-op


def test_rum_bytes_are_kept_exactly(store_target):
    store = Store(store_target)
    data = b"<smartLicense>\r\n<RUMReport><![CDATA[{\"payload\":\"{\\\"a\\\":1}\"}]]></RUMReport>\n\x00\xff</smartLicense>"
    run = store.begin_slp_run("collect", "inv", {})
    with store.transaction():
        store.save_slp_report(run, "sw1", site="hq", udi_pid="C9300", udi_serial="FCW1", file_name="bootflash:sw1_rum.txt",
                              mode="unreported", transfer="scp", data=data, report_ids=[1, 2], collected_at=1.0)
    row = store.latest_slp_reports()[0]
    assert bytes(row["data"]) == data and row["sha256"] == hashlib.sha256(data).hexdigest() and row["size"] == len(data)
    store.close()
