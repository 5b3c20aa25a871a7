"""A device's items as content-addressed sets (schema v11): what a scan adds for a device whose
items did not change is a pointer, not a copy (issue 15 item 4).

Before v11 every scan wrote one ``components`` row per item of every device it collected, so 30
nightly scans of an unchanged 100,000-item fleet held 3 million rows (~400 MiB with their indexes)
that said the same thing 30 times.  Now:

- ``item_sets``: one row per distinct item list of a device, keyed by the SHA-256 of the device
  name and its items in the order they were saved (the order readers give them back in);
- ``set_items``: the items of a set, each with its position, and its capture as an offset from the
  device row's first referenced capture (``devices.item_cap0``): a capture id differs every scan,
  the offset does not, so an unchanged device hashes to the same set night after night;
- ``devices.item_set`` / ``item_cap0`` / ``item_id0``: the per-scan pointer, on the device row that
  a scan writes anyway (a separate pointer table would cost as much again as the sets save);
- ``components``: a view with the old table's columns, so every reader (and a query typed by hand)
  sees what it saw before.  An item's ``id`` is ``item_id0 + position``: ids are handed out from a
  counter in ``meta`` exactly as the old table's row ids were (one per item, in save order), so
  ``sightings.first_id``/``last_id`` keep their meaning, and a migrated store keeps its ids.

Why sets and not a change log of sightings (first/last seen intervals): every reader asks "the
items of device D as collected in scan S", which a pointer answers with two index seeks; an
interval log has to be cut at the failed and partial scans in between, and a capture id, which
changes every scan, cannot live on an interval at all.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from agent.store import latest

# Columns of an item, in the order the old ``components`` table had them (after scan_id, device).
ITEM_COLUMNS = ("name", "descr", "pid", "base_pid", "vid", "serial_raw", "serial", "class", "parent",
                "contractable", "reason", "refurbished", "transport")

_DDL = """
CREATE TABLE IF NOT EXISTS item_sets (
    id INTEGER PRIMARY KEY,
    device TEXT NOT NULL,              -- sets are per device: a serial's sets lead to its device rows
    digest TEXT NOT NULL UNIQUE,       -- sha256 (hex) of the device name and its items in order
    items INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS set_items (
    set_id INTEGER NOT NULL REFERENCES item_sets(id),
    pos INTEGER NOT NULL,              -- the item's id is the device row's item_id0 + pos
    name TEXT, descr TEXT, pid TEXT, base_pid TEXT, vid TEXT,
    serial_raw TEXT, serial TEXT, class TEXT, parent TEXT,
    contractable INTEGER, reason TEXT, refurbished INTEGER, transport TEXT,
    cap INTEGER,                       -- capture id minus the device row's item_cap0 (NULL: none)
    PRIMARY KEY (set_id, pos)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS set_items_by_serial ON set_items(serial);
"""

# The old table's columns and meaning, over the sets.  The join order lets SQLite enter from
# either side: a (scan, device) through the devices primary key, a serial through
# set_items_by_serial -> its set -> that device's rows (devices_by_name).
COMPONENTS_VIEW = """
CREATE VIEW IF NOT EXISTS components AS
SELECT d.item_id0 + i.pos AS id, d.scan_id AS scan_id, d.device AS device,
       i.name AS name, i.descr AS descr, i.pid AS pid, i.base_pid AS base_pid, i.vid AS vid,
       i.serial_raw AS serial_raw, i.serial AS serial, i.class AS class, i.parent AS parent,
       i.contractable AS contractable, i.reason AS reason, i.refurbished AS refurbished,
       i.transport AS transport, d.item_cap0 + i.cap AS capture_id
FROM item_sets s
JOIN set_items i ON i.set_id = s.id
JOIN devices d ON d.device = s.device AND d.item_set = s.id
"""

_LEGACY_COMPONENTS = """
CREATE TABLE IF NOT EXISTS components (
    id INTEGER PRIMARY KEY,
    scan_id INTEGER NOT NULL, device TEXT NOT NULL,
    name TEXT, descr TEXT, pid TEXT, base_pid TEXT, vid TEXT,
    serial_raw TEXT, serial TEXT, class TEXT, parent TEXT,
    contractable INTEGER, reason TEXT, refurbished INTEGER,
    transport TEXT, capture_id INTEGER
);
CREATE INDEX IF NOT EXISTS components_by_device ON components(scan_id, device);
CREATE INDEX IF NOT EXISTS components_by_serial ON components(serial)
"""

_DEVICE_COLUMNS = (("item_set", "INTEGER"), ("item_cap0", "INTEGER"), ("item_id0", "INTEGER"))

NEXT_ID_KEY = "next_item_id"

# A device's contractable items into ``sightings`` (Store.save_device runs it once per device; the
# set's rows through its primary key, so the cost does not grow with the scan).  Parameters:
# scan, item_id0, scan, item_id0, device, set id.  tests/test_store.py pins the plan.
# One row per (serial, base PID), grouped: a device that lists an item twice (a stack reporting its
# chassis twice) is first seen at its first listing and last seen at its last, as folding the rows
# one by one did; PostgreSQL refuses an upsert that would touch one row twice.
SIGHTINGS_UPSERT = """
INSERT INTO sightings(serial, base_pid, first_scan, first_id, last_scan, last_id, last_device, last_name)
SELECT g.serial, g.base_pid, ?, ? + g.first_pos, ?, ? + g.last_pos, ?, j.name
FROM (SELECT set_id, serial, base_pid, MIN(pos) AS first_pos, MAX(pos) AS last_pos FROM set_items
      WHERE set_id = ? AND contractable = 1 AND serial != '' GROUP BY set_id, serial, base_pid) g
JOIN set_items j ON j.set_id = g.set_id AND j.pos = g.last_pos
WHERE true ORDER BY g.first_pos
ON CONFLICT(serial, base_pid) DO UPDATE SET last_scan = excluded.last_scan, last_id = excluded.last_id,
    last_device = excluded.last_device, last_name = excluded.last_name
WHERE excluded.last_id > sightings.last_id
"""


def _kind(db, name: str) -> str | None:
    row = db.execute("SELECT type FROM sqlite_master WHERE name = ?", (name,)).fetchone()
    return row[0] if row else None


def legacy_base(db) -> None:
    """Run after the base DDL on every migration: a store without ``components`` (a new one) gets
    the pre-v11 table, so the migrations before v11 that read it run as written; v11 turns it
    into the sets.  A v11 store (``components`` is the view) is left alone."""
    if _kind(db, "components") is None:
        for statement in _LEGACY_COMPONENTS.split(";"):
            db.execute(statement)


def digest(device: str, items: Sequence[tuple]) -> str:
    """The set key: the device and its items (ITEM_COLUMNS + capture offset) in order.  Hex, not
    the 32 raw bytes: every BLOB in the store is a zlib stream (captures), and tools that sweep
    the store (the secrets sweep of the tests) inflate every BLOB they find."""
    return hashlib.sha256(json.dumps([device, items], separators=(",", ":")).encode()).hexdigest()


def item_rows(components) -> tuple[list[tuple], int | None]:
    """(items as set_items tuples without set id and position, item_cap0) of Component objects."""
    caps = [c.capture_id for c in components if c.capture_id is not None]
    cap0 = min(caps) if caps else None
    rows = [(c.name, c.descr, c.pid, c.base_pid, c.vid, c.serial_raw, c.serial, c.cls, c.parent, int(c.contractable),
             c.reason, int(c.refurbished), c.transport, None if c.capture_id is None else c.capture_id - cap0)
            for c in components]
    return rows, cap0


def put_set(db, device: str, items: list[tuple], positions: Sequence[int] | None = None) -> int:
    """The id of the set holding ``items`` for ``device``, written if new.  ``positions``: each
    item's offset from the row's first id (default 0, 1, 2...; a migrated store keeps its ids)."""
    positions = list(range(len(items))) if positions is None else list(positions)
    key = digest(device, [[p, *row] for p, row in zip(positions, items)])
    row = db.execute("SELECT id FROM item_sets WHERE digest = ?", (key,)).fetchone()
    if row is not None:
        return int(row[0])
    set_id = int(db.execute("INSERT INTO item_sets(device, digest, items) VALUES (?,?,?) RETURNING id",
                            (device, key, len(items))).fetchall()[0][0])
    db.executemany(f"INSERT INTO set_items(set_id, pos, {', '.join(ITEM_COLUMNS)}, cap)"
                   f" VALUES ({', '.join('?' * (len(ITEM_COLUMNS) + 3))})",
                   [(set_id, p, *row) for p, row in zip(positions, items)])
    return set_id


def take_ids(db, count: int) -> int:
    """Reserve ``count`` item ids; returns the first (inside the writer's transaction)."""
    row = db.execute(f"UPDATE meta SET value = CAST(value AS INTEGER) + ? WHERE key = '{NEXT_ID_KEY}'"
                     " RETURNING CAST(value AS INTEGER) - ?", (count, count)).fetchone()
    return int(row[0])


def schema_v11(db) -> None:
    """Components into sets.  Each (scan, device) group of the old table becomes a set (shared by
    every scan in which the device's items and their capture offsets were the same), its device
    row points to it, and each item keeps its old id (``item_id0`` = the group's lowest id,
    position = id - item_id0), so ``sightings`` stays valid as it is.  Safe to run again."""
    for column, decl in _DEVICE_COLUMNS:
        if column not in {row[1] for row in db.execute("PRAGMA table_info(devices)")}:
            db.execute(f"ALTER TABLE devices ADD COLUMN {column} {decl}")
    for statement in _DDL.split(";"):
        if statement.strip():
            db.execute(statement)
    if _kind(db, "components") == "table":
        _convert(db)
        db.execute("DROP TABLE components")  # its indexes go with it
    _devices_without_rowid(db)
    _device_index(db)
    db.execute(COMPONENTS_VIEW)
    latest.schema_v11(db)
    if "pruned" not in {row[1] for row in db.execute("PRAGMA table_info(scans)")}:
        db.execute("ALTER TABLE scans ADD COLUMN pruned REAL")  # when prune-history emptied it
    # The next item id follows the highest one stored, as the old table's next row id did.
    last = db.execute("SELECT MAX(id) FROM components").fetchone()[0]
    db.execute("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value ="
               " max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))", (NEXT_ID_KEY, str((last or 0) + 1)))


def _convert(db) -> None:
    rows = db.execute(f"SELECT scan_id, device, id, {', '.join(ITEM_COLUMNS)}, capture_id FROM components"
                      " ORDER BY scan_id, device, id")
    pointers: list[tuple] = []
    group: list[tuple] = []
    key = None

    def flush() -> None:
        if not group:
            return
        ids = [r[2] for r in group]
        caps = [r[-1] for r in group if r[-1] is not None]
        id0, cap0 = ids[0], (min(caps) if caps else None)
        items = [(*r[3:-1], None if r[-1] is None else r[-1] - cap0) for r in group]
        set_id = put_set(db, key[1], items, [i - id0 for i in ids])
        pointers.append((set_id, cap0, id0, key[0], key[1]))

    for row in _batches(rows):
        if (row[0], row[1]) != key:
            flush()
            key, group = (row[0], row[1]), []
        group.append(tuple(row))
    flush()
    db.executemany("UPDATE devices SET item_set = ?, item_cap0 = ?, item_id0 = ? WHERE scan_id = ? AND device = ?",
                   pointers)


def _devices_without_rowid(db) -> None:
    """Store ``devices`` in its primary key's order (scan_id, device), WITHOUT ROWID.  Why: once
    the items stopped growing, a scan's device rows were the store's growth, and a rowid table
    keeps each row twice in effect (the row under its rowid, and the primary key's own index):
    12 of 160 MiB after 30 nightly scans of 20,000 devices (bench/store_growth.py).  The table is
    copied once; its indexes are made again as they were."""
    sql = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'devices'").fetchone()[0]
    if "WITHOUT ROWID" in sql.upper():
        return
    indexes = [r[0] for r in db.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'devices' AND sql IS NOT NULL"
        " AND name NOT IN ('devices_by_name', 'devices_by_attempt')")]  # _device_index makes its own
    db.execute(sql.replace("CREATE TABLE devices", "CREATE TABLE devices_v11", 1).rstrip() + " WITHOUT ROWID")
    db.execute("INSERT INTO devices_v11 SELECT * FROM devices")
    db.execute("DROP TABLE devices")
    db.execute("ALTER TABLE devices_v11 RENAME TO devices")
    for statement in indexes:
        db.execute(statement)


DEVICE_INDEX = "CREATE INDEX devices_by_name ON devices(device, scan_id, status)"


def _device_index(db) -> None:
    """One index by device where v3 and v6 had two (devices_by_name (device, status, scan_id) for a
    device's latest good collection, devices_by_attempt (device, scan_id) for its latest attempt):
    (device, scan_id, status) answers both, walking back from a scan in the index until a row
    qualifies (usually the first), and the fleet's device list is still one pass over it.  9 MiB
    less at 30 scans x 20,000 devices (bench/store_growth.py)."""
    db.execute("DROP INDEX IF EXISTS devices_by_attempt")
    row = db.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'devices_by_name'").fetchone()
    if row is None or row[0] != DEVICE_INDEX:
        db.execute("DROP INDEX IF EXISTS devices_by_name")
        db.execute(DEVICE_INDEX)


def _batches(cursor, size: int = 5000):
    while True:
        chunk = cursor.fetchmany(size)
        if not chunk:
            return
        yield from chunk
