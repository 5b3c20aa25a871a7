"""Each device's latest attempt, latest ok and latest clean scan, kept up to date as devices are
saved (schema v11): the current fleet read in one pass over the devices, not over every device
row of every scan.

Why: the fleet as of a scan (schema.SNAPSHOT_SQL) groups every stored device row to find each
device's latest attempt, which grows with the nightly scans (0.4 s for the snapshot and 0.8 s for
the device states at 20,000 devices x 30 scans, bench/store_growth.py), and reconcile reads the
current fleet every time.  ``device_latest`` answers the same three questions per device with one
row; the fleet as of an earlier scan still takes the general statements (schema.py).  Like
``sightings`` it is a summary that can always be rebuilt from the device rows (LATEST_REBUILD).
"""
from __future__ import annotations

DDL = """
CREATE TABLE IF NOT EXISTS device_latest (
    device TEXT PRIMARY KEY,
    last_attempt INTEGER NOT NULL,     -- MAX(scan_id) of its rows
    last_ok INTEGER,                   -- ... with status 'ok'
    last_clean INTEGER                 -- ... ok and the inventory read in full (inventory_ok)
) WITHOUT ROWID
"""

# One device's row from its device rows: three seeks, newest first (save_device runs it after
# writing the device row, so a device saved twice in one scan is summarised as it ends up).
_REPLACE = """
ON CONFLICT(device) DO UPDATE SET last_attempt = excluded.last_attempt, last_ok = excluded.last_ok,
    last_clean = excluded.last_clean"""
LATEST_UPSERT = """
INSERT INTO device_latest(device, last_attempt, last_ok, last_clean)
SELECT :device,
    (SELECT scan_id FROM devices WHERE device = :device ORDER BY scan_id DESC LIMIT 1),
    (SELECT scan_id FROM devices WHERE device = :device AND status = 'ok' ORDER BY scan_id DESC LIMIT 1),
    (SELECT scan_id FROM devices WHERE device = :device AND status = 'ok' AND inventory_ok = 1
     ORDER BY scan_id DESC LIMIT 1)
""" + _REPLACE

LATEST_REBUILD = """
INSERT INTO device_latest(device, last_attempt, last_ok, last_clean)
SELECT device, MAX(scan_id), MAX(CASE WHEN status = 'ok' THEN scan_id END),
       MAX(CASE WHEN status = 'ok' AND inventory_ok = 1 THEN scan_id END)
FROM devices GROUP BY device
""" + _REPLACE

# Shared with schema.py's general statements (the fleet as of any scan), which alias the same way:
# ``a`` = the device's latest attempt, ``cur`` = that attempt's row, ``d`` = its good collection.
NOT_RETIRED = """NOT EXISTS (SELECT 1 FROM retirements r
                  WHERE r.device = a.device AND r.after_scan >= a.last_attempt AND r.at <= ?)"""
SNAPSHOT_COLUMNS = """d.*, cur.status AS latest_status, cur.error_kind AS latest_error_kind, cur.error AS latest_error,
       cur.scan_id AS latest_attempt_scan, cur.ended AS latest_attempt_at, d.scan_id AS collected_in,
       cur.inventory_ok AS latest_inventory_ok"""

# schema.SNAPSHOT_SQL's columns and rows for the current fleet.  Parameter: the cut-off time T.
SNAPSHOT_LATEST_SQL = """
SELECT """ + SNAPSHOT_COLUMNS + """
FROM device_latest a
JOIN devices cur ON cur.scan_id = a.last_attempt AND cur.device = a.device
JOIN devices d ON d.scan_id = coalesce(a.last_clean, a.last_ok) AND d.device = a.device
WHERE """ + NOT_RETIRED + """
ORDER BY a.device
"""

# schema.DEVICE_STATES_SQL's columns and rows for the current fleet.  Parameter: T.
DEVICE_STATES_LATEST_SQL = """
SELECT cur.*, a.last_clean AS last_clean_scan, a.last_ok AS last_ok_scan
FROM device_latest a
JOIN devices cur ON cur.scan_id = a.last_attempt AND cur.device = a.device
WHERE """ + NOT_RETIRED + """
ORDER BY a.device
"""


def schema_v11(db) -> None:
    db.execute(DDL)
    db.execute(LATEST_REBUILD)


# ------------------------------------------------------------------ the fleet's items, fast
# fleet.fleet_items reads the fleet's devices (each with its set) and then their sets' items:
# two queries, so the device's name, host name and site are made once per device, not once per
# item (10^5 items: half the time went to making those strings).  Straight from the device rows
# and their sets, not through the components view, whose join through item_sets cost 2.5x.
_DEVICE_COLUMNS = ("d.item_set, d.device, coalesce(nullif(d.hostname, ''), d.device), coalesce(d.site, ''),"
                   " d.scan_id, d.item_cap0")
_ITEM_COLUMNS = "i.serial, i.base_pid, i.pid, i.class, i.name, coalesce(i.parent, ''), i.cap"
_ITEM_FILTER = "i.contractable = 1 AND i.serial != ''"
_LATEST_DEVICES = """FROM device_latest a
JOIN devices d ON d.scan_id = coalesce(a.last_clean, a.last_ok) AND d.device = a.device
WHERE d.item_set IS NOT NULL AND """ + NOT_RETIRED

# The current fleet.  Parameter: the retirement cut-off time T.
FLEET_DEVICES_LATEST_SQL = f"SELECT {_DEVICE_COLUMNS} {_LATEST_DEVICES} ORDER BY a.device"
FLEET_ITEMS_LATEST_SQL = (f"SELECT d.item_set, {_ITEM_COLUMNS} {_LATEST_DEVICES.replace('WHERE', 'JOIN set_items i ON i.set_id = d.item_set WHERE', 1)}"
                          f" AND {_ITEM_FILTER} ORDER BY a.device, i.pos")

# Given (scan, device) pairs, in the order of the TEMP table {wanted}.
_OF_DEVICES = "FROM {wanted} w JOIN devices d ON d.scan_id = w.scan_id AND d.device = w.device"
FLEET_DEVICES_OF_SQL = f"SELECT {_DEVICE_COLUMNS} {_OF_DEVICES} WHERE d.item_set IS NOT NULL ORDER BY w.pos"
FLEET_ITEMS_OF_SQL = (f"SELECT d.item_set, {_ITEM_COLUMNS} {_OF_DEVICES} JOIN set_items i ON i.set_id = d.item_set"
                      f" WHERE {_ITEM_FILTER} ORDER BY w.pos, i.pos")


def fleet_rows(store, scan_id: int | None) -> tuple[dict[int, tuple], list[tuple]]:
    """The fleet as of ``scan_id`` (None: now) for fleet.fleet_items: ({set id: (device, host
    name, site, scan id, item_cap0)}, [(set id, serial, base PID as stored, PID, class, name,
    parent, capture offset)] in fleet order).  The current fleet from ``device_latest``, an
    earlier one from its snapshot's keys."""
    point, cut = store._fleet_point(scan_id)
    if point is None:
        return {}, []
    cursor = store.db.cursor()
    cursor.row_factory = None  # plain tuples: 10^5 of them, read by position
    if store._latest_covers(point):
        devices = cursor.execute(FLEET_DEVICES_LATEST_SQL, (cut,)).fetchall()
        items = cursor.execute(FLEET_ITEMS_LATEST_SQL, (cut,)).fetchall()
    else:
        keys = [(r["scan_id"], r["device"]) for r in store.snapshot_devices(scan_id)]
        with store._temp_table("wanted_devices", keys) as wanted:
            devices = cursor.execute(FLEET_DEVICES_OF_SQL.format(wanted=wanted)).fetchall()
            items = cursor.execute(FLEET_ITEMS_OF_SQL.format(wanted=wanted)).fetchall()
    return {row[0]: row[1:] for row in devices}, items


# The components view's columns for given (scan, device) pairs (Store.components_of).
COMPONENTS_OF_SQL = """
SELECT d.item_id0 + i.pos AS id, d.scan_id AS scan_id, d.device AS device, i.name AS name, i.descr AS descr,
       i.pid AS pid, i.base_pid AS base_pid, i.vid AS vid, i.serial_raw AS serial_raw, i.serial AS serial,
       i.class AS class, i.parent AS parent, i.contractable AS contractable, i.reason AS reason,
       i.refurbished AS refurbished, i.transport AS transport, d.item_cap0 + i.cap AS capture_id
FROM {wanted} w
JOIN devices d ON d.scan_id = w.scan_id AND d.device = w.device
JOIN set_items i ON i.set_id = d.item_set
ORDER BY w.pos, i.pos
"""
