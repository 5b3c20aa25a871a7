"""The store's schema: the DDL of a new store, each migration since version 1, and the hot
queries the fleet reads share.  Only ever add a migration; a store newer than this code is refused.
"""
from __future__ import annotations

from agent.store import itemsets
from agent.store.latest import NOT_RETIRED, SNAPSHOT_COLUMNS

SCHEMA_VERSION = 12
DEFAULT_DB = "ibagent.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS scans (
    id INTEGER PRIMARY KEY,
    started REAL NOT NULL,
    ended REAL,
    status TEXT NOT NULL,              -- running | completed | interrupted
    inventory TEXT,
    options TEXT,                      -- JSON: workers, deadline, transports... never secrets
    devices_total INTEGER DEFAULT 0,
    devices_ok INTEGER DEFAULT 0,
    devices_failed INTEGER DEFAULT 0
);
CREATE TABLE IF NOT EXISTS devices (
    scan_id INTEGER NOT NULL REFERENCES scans(id),
    device TEXT NOT NULL,
    host TEXT, port INTEGER, platform TEXT, site TEXT,
    contract_site_ids TEXT,            -- JSON list
    status TEXT NOT NULL,              -- ok | failed
    transport TEXT,
    error_kind TEXT, error TEXT,
    hostname TEXT, os_version TEXT, version TEXT,
    chassis_pid TEXT, chassis_serial TEXT, uptime TEXT,
    roles TEXT,                        -- JSON list
    problems TEXT,                     -- JSON list of non-fatal parse problems
    started REAL, ended REAL, attempts INTEGER,
    PRIMARY KEY (scan_id, device)
);
CREATE TABLE IF NOT EXISTS blobs (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    data BLOB NOT NULL                 -- zlib of the bytes (since v8 a capture's bytes as received)
);
CREATE TABLE IF NOT EXISTS captures (
    id INTEGER PRIMARY KEY,
    scan_id INTEGER NOT NULL REFERENCES scans(id),
    device TEXT NOT NULL,
    platform TEXT, transport TEXT, command TEXT,
    sha256 TEXT REFERENCES blobs(sha256),
    started REAL, ended REAL,
    error TEXT, error_kind TEXT
);
CREATE INDEX IF NOT EXISTS captures_by_device ON captures(scan_id, device);
CREATE TABLE IF NOT EXISTS licenses (
    scan_id INTEGER NOT NULL, device TEXT NOT NULL,
    license TEXT, entitlement_tag TEXT, count INTEGER, status TEXT, enforcement TEXT,
    license_type TEXT, udi_pid TEXT, udi_serial TEXT, description TEXT, transport TEXT
);
CREATE INDEX IF NOT EXISTS licenses_by_device ON licenses(scan_id, device);
CREATE TABLE IF NOT EXISTS license_status (
    scan_id INTEGER NOT NULL, device TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (scan_id, device)
);
CREATE TABLE IF NOT EXISTS errors (
    id INTEGER PRIMARY KEY,
    scan_id INTEGER NOT NULL, device TEXT NOT NULL,
    kind TEXT NOT NULL, message TEXT NOT NULL, at REAL NOT NULL
);
"""


# Version 2 (additive): the Smart Licensing offline round trip.  RUM files are kept as the exact
# bytes the device wrote (CSSM verifies their signatures, so they are never re-serialised), ACK
# files as the exact bytes imported, and every device action as an event.
_SCHEMA_V2 = """
CREATE TABLE IF NOT EXISTS slp_runs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,                -- collect | bundle | import-ack
    started REAL NOT NULL,
    ended REAL,
    status TEXT NOT NULL,              -- running | completed | interrupted
    inventory TEXT,
    options TEXT,                      -- JSON, never secrets
    devices_ok INTEGER DEFAULT 0,
    devices_failed INTEGER DEFAULT 0
);
CREATE TABLE IF NOT EXISTS slp_reports (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES slp_runs(id),
    device TEXT NOT NULL,
    site TEXT,
    udi_pid TEXT, udi_serial TEXT,
    file_name TEXT NOT NULL,           -- as written on the device, e.g. bootflash:x_rum.txt
    mode TEXT,                         -- unreported | all | days N
    transfer TEXT,                     -- scp | cli (how the bytes came back)
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    data BLOB NOT NULL,                -- the file, byte for byte
    report_ids TEXT NOT NULL,          -- JSON list of RUM report ids
    collected_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS slp_reports_by_device ON slp_reports(device, collected_at);
CREATE TABLE IF NOT EXISTS slp_acks (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES slp_runs(id),
    device TEXT,                       -- NULL when the file matched no device
    file_name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    data BLOB NOT NULL,
    udis TEXT,                         -- JSON [[pid, serial], ...] named in the ACK
    report_ids TEXT,                   -- JSON list acknowledged
    status TEXT NOT NULL,              -- imported | failed | unmatched | invalid
    reason TEXT,
    last_ack_received TEXT,            -- re-read from the device after the import
    next_ack_deadline TEXT,
    license_status TEXT,               -- JSON LicenseStatus re-read after the import
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS slp_acks_by_device ON slp_acks(device, at);
CREATE TABLE IF NOT EXISTS slp_events (
    id INTEGER PRIMARY KEY,
    run_id INTEGER REFERENCES slp_runs(id),
    device TEXT,
    at REAL NOT NULL,
    action TEXT NOT NULL,              -- save-usage | read-file | push-file | import | verify | bundle ...
    status TEXT NOT NULL,              -- ok | failed | skipped | refused
    kind TEXT,                         -- error kind when failed
    command TEXT,
    detail TEXT,
    output TEXT                        -- what the device printed (secrets scrubbed)
);
CREATE INDEX IF NOT EXISTS slp_events_by_run ON slp_events(run_id);
"""

# A device's scans by name: the snapshot looks up each device's latest clean collection, which
# without this index scanned every device row of every scan once per device (13 s at 20,000
# devices x 10 scans, growing with every nightly scan).
_SCHEMA_V3 = """
CREATE INDEX IF NOT EXISTS devices_by_name ON devices(device, status, scan_id);
"""

# The fleet as of a scan S (docs/ARCHITECTURE.md, "The fleet"): every device with a row in any
# scan up to S that was not retired since its latest attempt (by the cut-off time T: the end of
# scan S, or now for the current fleet), each at its latest attempt and at its latest good
# collection, the one its items come from: the latest whose inventory was read in full, else the
# latest ok one (a collection that could not read the hardware table does not empty the device).
# A scan of part of the inventory, or one that ended early, leaves the devices it did not
# attempt as they were.  The device list is one pass over the covering index (device, scan_id),
# linear in stored rows; each device's look-ups are index seeks (since v11 one index,
# devices_by_name (device, scan_id, status, inventory_ok): each look-up walks back from S in the
# index until a row qualifies, usually the first).  Parameters: S, S, S, T.
FLEET_ATTEMPTS_SQL = """
SELECT device, MAX(scan_id) AS last_attempt FROM devices WHERE scan_id <= ? GROUP BY device
"""
SNAPSHOT_SQL = """
SELECT """ + SNAPSHOT_COLUMNS + """
FROM (""" + FLEET_ATTEMPTS_SQL + """) a
JOIN devices cur ON cur.device = a.device AND cur.scan_id = a.last_attempt
JOIN devices d ON d.device = a.device AND d.scan_id = coalesce(
    (SELECT x.scan_id FROM devices x
     WHERE x.device = a.device AND x.scan_id <= ? AND x.status = 'ok' AND x.inventory_ok = 1
     ORDER BY x.scan_id DESC LIMIT 1),
    (SELECT x.scan_id FROM devices x WHERE x.device = a.device AND x.scan_id <= ? AND x.status = 'ok'
     ORDER BY x.scan_id DESC LIMIT 1))
WHERE """ + NOT_RETIRED + """
ORDER BY d.device
"""

# First and last sighting of every contractable item (per serial and base PID as stored), kept
# up to date as devices are saved: history that reconcile and true-up read in one pass over the
# items instead of over every component row of every scan.  Component ids grow with scans (one
# writer, no deletes), so MIN(id) is the first sighting and MAX(id) the last.
_SCHEMA_V4 = """
CREATE TABLE IF NOT EXISTS sightings (
    serial TEXT NOT NULL, base_pid TEXT NOT NULL,
    first_scan INTEGER NOT NULL, first_id INTEGER NOT NULL,
    last_scan INTEGER NOT NULL, last_id INTEGER NOT NULL, last_device TEXT, last_name TEXT,
    PRIMARY KEY (serial, base_pid)
);
INSERT OR REPLACE INTO sightings(serial, base_pid, first_scan, first_id, last_scan, last_id, last_device, last_name)
SELECT f.serial, f.base_pid, a.scan_id, f.first_id, b.scan_id, f.last_id, b.device, b.name
FROM (SELECT serial, base_pid, MIN(id) AS first_id, MAX(id) AS last_id FROM components
      WHERE contractable = 1 AND serial != '' GROUP BY serial, base_pid) f
JOIN components a ON a.id = f.first_id JOIN components b ON b.id = f.last_id;
"""

# A whole scan's contractable components into sightings (Store.record_sightings with no device;
# save_device folds each device in as it is saved, itemsets.SIGHTINGS_UPSERT, through the
# device's set: per device, never per scan, which once made a scan quadratic in its size (issue
# 15: 1.46 ms -> 0.004 ms per save at 25k rows).  tests/test_store.py pins both plans.
SIGHTINGS_UPSERT = itemsets.SIGHTINGS_UPSERT
SIGHTINGS_UPSERT_SCAN = """
INSERT INTO sightings(serial, base_pid, first_scan, first_id, last_scan, last_id, last_device, last_name)
SELECT serial, base_pid, scan_id, id, scan_id, id, device, name FROM components
WHERE scan_id = ? AND contractable = 1 AND serial != '' ORDER BY id
ON CONFLICT(serial, base_pid) DO UPDATE SET last_scan = excluded.last_scan, last_id = excluded.last_id,
    last_device = excluded.last_device, last_name = excluded.last_name
WHERE excluded.last_id > sightings.last_id
"""

# "Collected cleanly" as a stored fact: the device was collected and its hardware inventory read
# in full, the only state in which an item's absence means something (a not-seen claim rests on
# it).  It used to be decided at read time by searching the problem texts for "inventory", once in
# Python and once in SQL; now the writer decides once (Store.save_device) and readers read the
# column.  The back-fill applies that same rule to the rows already stored.
_INVENTORY_OK_BACKFILL = """
UPDATE devices SET inventory_ok = CASE
    WHEN status = 'ok' AND instr(coalesce(problems, ''), 'inventory') = 0 THEN 1 ELSE 0 END
"""


def _schema_v5(db) -> None:
    # A callable, not a script: the column may already be there (a store whose version row was
    # set back by hand, as a test of the v4 sightings migration does), and SQLite has no
    # ADD COLUMN IF NOT EXISTS.
    if "inventory_ok" not in {row[1] for row in db.execute("PRAGMA table_info(devices)")}:
        db.execute("ALTER TABLE devices ADD COLUMN inventory_ok INTEGER NOT NULL DEFAULT 0")
    db.execute(_INVENTORY_OK_BACKFILL)


# The fleet model (docs/ARCHITECTURE.md, "The fleet"): the fleet is every device the store knows,
# each at its own latest attempt and latest good collection, until it is retired; a scan of part
# of the inventory, or one that ended early, changes only the devices it attempted.  v6 adds
# - what each collection read and parsed, whatever the transport (inventory_ok now also needs at
#   least one physical item: an SNMP or NETCONF hardware table that parsed to nothing is not a
#   read inventory), version_ok, licenses_ok;
# - each device's own evidence age limit (the inventory group's data.max_age_days);
# - the transport of each failure (a fallback keeps every attempt's reason);
# - retirements: the only way a device leaves the fleet (retire, scan --prune, expiry);
# - a scan's cancelled count and, for a failed scan, why;
# - the index that finds a device's latest attempt.
_V6_COLUMNS = (
    ("devices", "version_ok", "INTEGER NOT NULL DEFAULT 0"),
    ("devices", "licenses_ok", "INTEGER NOT NULL DEFAULT 0"),
    ("devices", "max_age_days", "INTEGER"),
    ("errors", "transport", "TEXT"),
    ("scans", "devices_cancelled", "INTEGER DEFAULT 0"),
    ("scans", "reason", "TEXT"),
)
_SCHEMA_V6 = """
CREATE INDEX IF NOT EXISTS devices_by_attempt ON devices(device, scan_id);
CREATE TABLE IF NOT EXISTS retirements (
    id INTEGER PRIMARY KEY,
    device TEXT NOT NULL,
    at REAL NOT NULL,
    after_scan INTEGER NOT NULL,       -- the latest scan when it was retired: gone from the fleet as of it
    how TEXT NOT NULL,                 -- retire | prune | expiry
    by_whom TEXT, why TEXT
);
CREATE INDEX IF NOT EXISTS retirements_by_device ON retirements(device, after_scan, at);
UPDATE devices SET version_ok = CASE WHEN status = 'ok' AND coalesce(os_version, '') != '' THEN 1 ELSE 0 END;
UPDATE devices SET licenses_ok = CASE WHEN status = 'ok' AND (
    EXISTS (SELECT 1 FROM license_status l WHERE l.scan_id = devices.scan_id AND l.device = devices.device)
    OR EXISTS (SELECT 1 FROM licenses l WHERE l.scan_id = devices.scan_id AND l.device = devices.device)) THEN 1 ELSE 0 END;
UPDATE devices SET inventory_ok = 0 WHERE inventory_ok = 1 AND NOT EXISTS (
    SELECT 1 FROM components c WHERE c.scan_id = devices.scan_id AND c.device = devices.device)
"""


def _schema_v6(db) -> None:
    for table, column, decl in _V6_COLUMNS:
        if column not in {row[1] for row in db.execute(f"PRAGMA table_info({table})")}:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")
    for statement in _SCHEMA_V6.split(";"):
        if statement.strip():
            db.execute(statement)


# Host-key trust (docs/ARCHITECTURE.md, "Trust"; agent/core/hostkeys.py): per host and port, the
# key trusted on first use and, after a connection was refused for a changed key, the key that was
# offered instead, kept so that 'ibagent hostkeys accept HOST' can trust it once a person checked
# it.  One row per (host, port, key type, status); the one table besides sightings and a scan's
# own row that is updated in place (last_seen).
_SCHEMA_V7 = """
CREATE TABLE IF NOT EXISTS host_keys (
    host TEXT NOT NULL,
    port INTEGER NOT NULL,
    key_type TEXT NOT NULL,            -- ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa ...
    status TEXT NOT NULL,              -- trusted | offered (refused, waiting for 'hostkeys accept')
    key TEXT NOT NULL,                 -- base64 public key blob, as in known_hosts
    fingerprint TEXT NOT NULL,         -- SHA256:..., as ssh-keygen -l prints it
    device TEXT,                       -- the inventory name it was last seen for
    first_seen REAL NOT NULL,
    last_seen REAL NOT NULL,
    PRIMARY KEY (host, port, key_type, status)
)
"""


def _schema_v7(db) -> None:
    # A callable like v5 and v6: CREATE ... IF NOT EXISTS makes it safe to run twice.
    db.execute(_SCHEMA_V7)


# Version 8: a capture is evidence of what the device sent, so ``captures.sha256`` names the blob
# of the exact bytes received (an SSH capture used to keep only its cleaned text, with bytes that
# were not UTF-8 turned into U+FFFD, so its hash proved nothing).  The cleaned text that was
# parsed is kept beside it, ``text_sha256``, when it differs from those bytes; NULL means the
# text is the blob itself (SNMP and NETCONF captures, every capture stored before v8).
def _schema_v8(db) -> None:
    if "text_sha256" not in {row[1] for row in db.execute("PRAGMA table_info(captures)")}:
        db.execute("ALTER TABLE captures ADD COLUMN text_sha256 TEXT REFERENCES blobs(sha256)")


# Version 9 (additive): what each SSH session negotiated (issue 13: old gear needs sha1 key exchange,
# CBC, ssh-rsa; auditors want to see where) and the findings about a device's collection (weak
# crypto: those algorithms, SNMP v1 / noAuthNoPriv / MD5 / DES, telnet).  ``findings.kind`` keeps
# the table general: weak crypto is the first kind.
_SCHEMA_V9 = """
CREATE TABLE IF NOT EXISTS sessions (
    scan_id INTEGER NOT NULL, device TEXT NOT NULL,
    transport TEXT NOT NULL,           -- ssh
    driver TEXT,                       -- asyncssh | netmiko
    profile TEXT,                      -- data.ssh_algorithms profile that connected (modern | legacy | ancient | custom)
    stepped_down_from TEXT,            -- the inventory's profile when data.ssh_step_down widened it, else ''
    kex TEXT, cipher TEXT, mac TEXT, hostkey TEXT,
    PRIMARY KEY (scan_id, device, transport)
);
CREATE TABLE IF NOT EXISTS findings (
    scan_id INTEGER NOT NULL, device TEXT NOT NULL,
    kind TEXT NOT NULL,                -- weak-crypto
    subject TEXT NOT NULL,             -- "ssh kex", "snmp auth", "transport"...
    value TEXT NOT NULL,
    why TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS findings_by_device ON findings(scan_id, device)
"""


def _schema_v9(db) -> None:
    # A callable like v5-v8; CREATE ... IF NOT EXISTS makes it safe to run twice.
    for statement in _SCHEMA_V9.split(";"):
        if statement.strip():
            db.execute(statement)


# Version 10: each device row's canonical version is recomputed from the version as the device
# printed it (``os_version``, kept raw for this), by the rules of the ibagent that opens the store.
# Why: the NX-OS form changed to Cisco's own (``10.2(3)``, was ``10.2.3``; interim builds whole,
# ``16.1(2.133b)``, were cut to ``16.1``), so without it the first diff after an upgrade of ibagent
# would report a version change on every NX-OS device, which did not happen.
def _schema_v10(db) -> None:
    from agent.core.versions import canonical_version

    # By primary key, not rowid: since v11 the table has none (a v11 store set back to v9 by a test).
    rows = db.execute("SELECT scan_id, device, platform, os_version, version FROM devices "
                      "WHERE coalesce(os_version, '') != ''").fetchall()
    changed = []
    for scan_id, device, platform, os_version, version in rows:
        new = canonical_version(platform or "", os_version)
        if new != (version or ""):
            changed.append((new, scan_id, device))
    db.executemany("UPDATE devices SET version = ? WHERE scan_id = ? AND device = ?", changed)


# Version 12 (additive; issues 16 and 17):
# - each scan names the agent that ran it and its scope (JSON: inventory, sites, groups), so several
#   agents can feed one store and the fleet can say who claims a device;
# - ``scans.origin`` identifies a scan imported from a site bundle (``<agent>:<site scan id>``, with
#   the site's key id), unique, so importing the same bundle twice adds nothing; NULL for a local scan;
# - ``devices.neighbours``: the blob (JSON, content-addressed like captures, so an unchanged CDP/LLDP
#   table costs one pointer per scan) of the device's neighbours and neighbour-command outcomes.
_V12_COLUMNS = (
    ("scans", "agent", "TEXT"),
    ("scans", "scope", "TEXT"),
    ("scans", "origin", "TEXT"),
    ("devices", "neighbours", "TEXT REFERENCES blobs(sha256)"),
)


def _schema_v12(db) -> None:
    for table, column, decl in _V12_COLUMNS:
        if column not in {row[1] for row in db.execute(f"PRAGMA table_info({table})")}:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")
    db.execute("CREATE UNIQUE INDEX IF NOT EXISTS scans_by_origin ON scans(origin) WHERE origin IS NOT NULL")


# version -> statements (or a function of the connection) bringing a store from version-1 to it.
# Only ever add to this.  Every migration checks before it adds, so running one twice is harmless.
# Version 11: a device's items as content-addressed sets, ``components`` a view over them
# (agent/store/itemsets.py says why); scans.pruned (``ibagent prune-history``).
_MIGRATIONS = {2: _SCHEMA_V2, 3: _SCHEMA_V3, 4: _SCHEMA_V4, 5: _schema_v5, 6: _schema_v6, 7: _schema_v7,
               8: _schema_v8, 9: _schema_v9, 10: _schema_v10, 11: itemsets.schema_v11,
               12: _schema_v12}
# Run before the migrations, after _SCHEMA: the pre-v11 components table for a new store, so the
# migrations that read it run as written (v11 then turns it into sets).
BASE = (_SCHEMA, itemsets.legacy_base)


# Every device of the fleet as of a scan S (as SNAPSHOT_SQL, failed-only devices included) at its
# latest attempt, with its latest clean scan (inventory read: the only collection that lets an
# item's absence mean something) and its latest good one.  Parameters: S, S, S, T (as above).
# tests/test_store.py pins the plan.
DEVICE_STATES_SQL = """
SELECT cur.*,
       (SELECT x.scan_id FROM devices x
        WHERE x.device = cur.device AND x.scan_id <= ? AND x.status = 'ok' AND x.inventory_ok = 1
        ORDER BY x.scan_id DESC LIMIT 1) AS last_clean_scan,
       (SELECT x.scan_id FROM devices x
        WHERE x.device = cur.device AND x.scan_id <= ? AND x.status = 'ok'
        ORDER BY x.scan_id DESC LIMIT 1) AS last_ok_scan
FROM (""" + FLEET_ATTEMPTS_SQL + """) a
JOIN devices cur ON cur.device = a.device AND cur.scan_id = a.last_attempt
WHERE """ + NOT_RETIRED + """
ORDER BY cur.device
"""
