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
LATEST_UPSERT = """
INSERT OR REPLACE INTO device_latest(device, last_attempt, last_ok, last_clean)
SELECT :device,
    (SELECT scan_id FROM devices WHERE device = :device ORDER BY scan_id DESC LIMIT 1),
    (SELECT scan_id FROM devices WHERE device = :device AND status = 'ok' ORDER BY scan_id DESC LIMIT 1),
    (SELECT scan_id FROM devices WHERE device = :device AND status = 'ok' AND inventory_ok = 1
     ORDER BY scan_id DESC LIMIT 1)
"""

LATEST_REBUILD = """
INSERT OR REPLACE INTO device_latest(device, last_attempt, last_ok, last_clean)
SELECT device, MAX(scan_id), MAX(CASE WHEN status = 'ok' THEN scan_id END),
       MAX(CASE WHEN status = 'ok' AND inventory_ok = 1 THEN scan_id END)
FROM devices GROUP BY device
"""

_NOT_RETIRED = """NOT EXISTS (SELECT 1 FROM retirements r
                  WHERE r.device = a.device AND r.after_scan >= a.last_attempt AND r.at <= ?)"""

# schema.SNAPSHOT_SQL's columns and rows for the current fleet.  Parameter: the cut-off time T.
SNAPSHOT_LATEST_SQL = """
SELECT d.*, cur.status AS latest_status, cur.error_kind AS latest_error_kind, cur.error AS latest_error,
       cur.scan_id AS latest_attempt_scan, cur.ended AS latest_attempt_at, d.scan_id AS collected_in,
       cur.inventory_ok AS latest_inventory_ok
FROM device_latest a
JOIN devices cur ON cur.scan_id = a.last_attempt AND cur.device = a.device
JOIN devices d ON d.scan_id = coalesce(a.last_clean, a.last_ok) AND d.device = a.device
WHERE """ + _NOT_RETIRED + """
ORDER BY a.device
"""

# schema.DEVICE_STATES_SQL's columns and rows for the current fleet.  Parameter: T.
DEVICE_STATES_LATEST_SQL = """
SELECT cur.*, a.last_clean AS last_clean_scan, a.last_ok AS last_ok_scan
FROM device_latest a
JOIN devices cur ON cur.scan_id = a.last_attempt AND cur.device = a.device
WHERE """ + _NOT_RETIRED + """
ORDER BY a.device
"""


def schema_v11(db) -> None:
    db.execute(DDL)
    db.execute(LATEST_REBUILD)
