"""Retention: ``ibagent prune-history`` deletes what old scans stored, except every device's
latest state.

A scan is old when neither rule keeps it: ``keep`` (the last N finished scans) and ``keep_days``
(scans started within D days).  From an old scan goes every row of a (scan, device) that is no
device's latest state: its device row, captures, licences, licence status, errors, SSH session
and findings; then the item sets and capture blobs nothing points to any more.  A device's
latest state is each of the rows a fleet read can return for it: its latest attempt, its latest
ok collection, its latest clean one (the inventory read in full) and its latest licence status.
So a device last seen 40 scans ago keeps that scan's rows and evidence, and the fleet, device
state, reconcile, ``devices``, ``evidence`` for the current items and the SLP report answer as
before.

What it changes: the scan rows stay (their ids and times: ``sightings`` keeps each item's first
and last sighting, so true-up and reconcile's history still know when an item was first seen),
marked ``pruned`` with the time; ``diff`` and ``--scan`` no longer offer them (a fleet as of a
pruned scan cannot be rebuilt), and ``history`` / ``evidence`` list only the sightings kept.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

# Tables holding rows per (scan, device); devices last, it is what the others are kept by.
PER_DEVICE = ("captures", "licenses", "license_status", "errors", "sessions", "findings", "devices")

# Each device's latest state: the (scan, device) rows a fleet read may return.
_LATEST_STATE = """
INSERT INTO prune_keep(scan_id, device)
SELECT MAX(scan_id), device FROM devices GROUP BY device
UNION SELECT MAX(scan_id), device FROM devices WHERE status = 'ok' GROUP BY device
UNION SELECT MAX(scan_id), device FROM devices WHERE status = 'ok' AND inventory_ok = 1 GROUP BY device
UNION SELECT MAX(l.scan_id), l.device FROM license_status l
      JOIN devices d ON d.scan_id = l.scan_id AND d.device = l.device AND d.status = 'ok' GROUP BY l.device
ON CONFLICT DO NOTHING
"""

# The rows of a (scan, device) that goes: in an old scan, and no device's latest state.  {t}: the
# table's alias and a dot, or nothing.
# NOT EXISTS, not "(scan_id, device) NOT IN (SELECT ...)": SQLite ran that row-value form at
# 1.7 ms a row (13 minutes for 460,000 device rows); this one is a seek per row (0.25 s).
_GONE_OF = ("{t}scan_id IN (SELECT id FROM temp.prune_old) AND NOT EXISTS (SELECT 1 FROM temp.prune_keep k"
            " WHERE k.scan_id = {t}scan_id AND k.device = {t}device)")
_GONE = _GONE_OF.format(t="{table}.")


@dataclass
class Plan:
    old: list[int]                                     # scan ids emptied
    kept: list[int]                                    # finished scans the rules keep
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows deleted
    latest_kept: int = 0                               # device rows of old scans kept as latest state
    sets: int = 0                                      # item sets no longer pointed to
    blobs: int = 0                                     # capture blobs no longer referenced
    freed_bytes: int = 0
    size_before: int = 0
    size_after: int = 0


def old_scans(store, keep: int | None, keep_days: float | None, now: float) -> tuple[list[int], list[int]]:
    """(old, kept): finished scans not yet pruned, split by the rules."""
    rows = store.db.execute("SELECT id, started FROM scans WHERE status != 'running' AND pruned IS NULL"
                            " ORDER BY id").fetchall()
    kept = set()
    if keep is not None:
        kept.update(r["id"] for r in rows[-keep:] if keep > 0)
    if keep_days is not None:
        kept.update(r["id"] for r in rows if r["started"] >= now - keep_days * 86400)
    return [r["id"] for r in rows if r["id"] not in kept], sorted(kept)


def prune(store, keep: int | None, keep_days: float | None, *, dry_run: bool, vacuum: bool = True,
          now: float | None = None) -> Plan:
    """Count (``dry_run``) or delete what the old scans hold beyond every device's latest state.
    The caller holds the store lock."""
    now = time.time() if now is None else now
    old, kept = old_scans(store, keep, keep_days, now)
    plan = Plan(old=old, kept=kept, size_before=_size(store))
    db = store.db
    db.execute("CREATE TEMP TABLE IF NOT EXISTS prune_old (id INTEGER PRIMARY KEY)")
    db.execute("CREATE TEMP TABLE IF NOT EXISTS prune_keep (scan_id INTEGER, device TEXT, PRIMARY KEY (scan_id, device))")
    db.execute("DELETE FROM temp.prune_old")
    db.execute("DELETE FROM temp.prune_keep")
    try:
        db.executemany("INSERT INTO temp.prune_old(id) VALUES (?)", [(i,) for i in old])
        db.execute(_LATEST_STATE)
        plan.latest_kept = db.execute(
            "SELECT COUNT(*) FROM temp.prune_keep WHERE scan_id IN (SELECT id FROM temp.prune_old)").fetchone()[0]
        for table in PER_DEVICE:
            plan.rows[table] = db.execute(
                f"SELECT COUNT(*) FROM {table} WHERE {_GONE.format(table=table)}").fetchone()[0]
        plan.sets = db.execute(_UNUSED_SETS.format(select="SELECT COUNT(*)")).fetchone()[0]
        plan.blobs = db.execute(_UNUSED_BLOBS.format(select="SELECT COUNT(*)")).fetchone()[0]
        if dry_run or not old:
            return plan
        with store.transaction():
            for table in PER_DEVICE:
                db.execute(f"DELETE FROM {table} WHERE {_GONE.format(table=table)}")
            # The per-device rows are gone now, so "kept" is every row left.
            db.execute("DELETE FROM set_items WHERE set_id IN (" + _UNUSED_SETS.format(select="SELECT id") + ")")
            db.execute(_UNUSED_SETS.format(select="DELETE"))
            db.execute(_UNUSED_BLOBS.format(select="DELETE"))
            db.executemany("UPDATE scans SET pruned = ? WHERE id = ?", [(now, i) for i in old])
    finally:
        db.execute("DELETE FROM temp.prune_old")
        db.execute("DELETE FROM temp.prune_keep")
    plan.freed_bytes = store.backend.reclaim(db, vacuum)
    plan.size_after = _size(store)
    return plan


# Sets / blobs nothing will point to once the rows of _GONE are gone (counted before the delete,
# deleted after it).  NOT IN over a subquery: SQLite builds its list once, so each is one pass.
_UNUSED_SETS = ("{select} FROM item_sets WHERE id NOT IN (SELECT d.item_set FROM devices d"
                " WHERE d.item_set IS NOT NULL AND NOT (" + _GONE_OF.format(t="d.") + "))")
_KEPT_CAPTURES = "FROM captures c WHERE {col} IS NOT NULL AND NOT (" + _GONE_OF.format(t="c.") + ")"
_UNUSED_BLOBS = ("{select} FROM blobs WHERE sha256 NOT IN (SELECT c.sha256 " + _KEPT_CAPTURES.format(col="c.sha256")
                 + " UNION SELECT c.text_sha256 " + _KEPT_CAPTURES.format(col="c.text_sha256")
                 # a kept device row's CDP / LLDP neighbours (agent/store/neighbours.py) are a blob too
                 + " UNION SELECT d.neighbours FROM devices d WHERE d.neighbours IS NOT NULL AND NOT ("
                 + _GONE_OF.format(t="d.") + "))")


def _size(store) -> int:
    return store.backend.size(store.db)
