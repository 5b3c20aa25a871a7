"""Schema v12: a scan's agent, scope and origin (issue 16) and a device's neighbour blob (issue 17)."""
from __future__ import annotations

import json
import sqlite3

import pytest

from agent.store import SCHEMA_VERSION, Store


def _columns(db, table):
    return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}


def test_new_store_has_the_v12_columns(tmp_path):
    store = Store(tmp_path / "s.db")
    assert SCHEMA_VERSION >= 12
    assert {"agent", "scope", "origin"} <= _columns(store.db, "scans")
    assert "neighbours" in _columns(store.db, "devices")
    store.close()


def test_begin_scan_records_agent_and_scope(tmp_path):
    store = Store(tmp_path / "s.db")
    local = store.begin_scan("inv", {}, 0)
    named = store.begin_scan("inv", {}, 3, agent="dc-east", scope={"sites": ["east"], "inventory": "inv"})
    rows = {r["id"]: r for r in store.db.execute("SELECT id, agent, scope, origin FROM scans")}
    assert rows[local]["agent"] is None and rows[local]["scope"] is None
    assert rows[named]["agent"] == "dc-east"
    assert json.loads(rows[named]["scope"]) == {"inventory": "inv", "sites": ["east"]}
    assert rows[named]["origin"] is None
    store.close()


def test_origin_is_unique_but_local_scans_have_none(tmp_path):
    store = Store(tmp_path / "s.db")
    for _ in range(2):  # NULL origins never collide
        store.begin_scan("inv", {}, 0)
    with store.transaction():
        store.db.execute("INSERT INTO scans(started, status, origin) VALUES (1, 'completed', 'k:site:1')")
    with pytest.raises(sqlite3.IntegrityError):
        with store.transaction():
            store.db.execute("INSERT INTO scans(started, status, origin) VALUES (2, 'completed', 'k:site:1')")
    store.close()


def test_v11_store_is_migrated_once_and_keeps_its_scans(tmp_path):
    path = tmp_path / "s.db"
    store = Store(path)
    scan = store.begin_scan("inv", {}, 0)
    # A v11 store: the version row set back and the v12 columns' index absent, as v11 wrote it.
    store.db.execute("DROP INDEX scans_by_origin")
    store.db.execute("UPDATE meta SET value = '11' WHERE key = 'schema_version'")
    store.close()
    again = Store(path)
    assert again.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(SCHEMA_VERSION)
    assert [r["id"] for r in again.db.execute("SELECT id FROM scans")] == [scan]
    names = {r[0] for r in again.db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert "scans_by_origin" in names
    again.close()
