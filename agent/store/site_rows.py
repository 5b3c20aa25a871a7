"""One site's scans read out of the store as plain records, for a sealed site bundle (``ibagent
export --site``; agent/bundles/site.py packs them, agent/store/imported.py merges them).

A record is what the writer paths need to write the same rows again elsewhere: the scan row, and
per device of the site its device row, items, licences, licence status, SSH session, findings,
failures, captures (their metadata; the bytes travel as blobs, by sha256) and its neighbour blob.
Ids are the site's own: the importer maps them to its store's.  Read-only.
"""
from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from typing import Any
import zlib

from agent.store import sessions as store_sessions

# Device row columns the store assigns itself on writing (ids of the writer's store), or that
# travel apart (the neighbour blob, remapped on import).
_NOT_CARRIED = {"scan_id", "item_set", "item_cap0", "item_id0", "neighbours"}
SCAN_COLUMNS = ("started", "ended", "status", "reason", "inventory", "options", "devices_total", "agent", "scope",
                "origin")
CAPTURE_COLUMNS = ("id", "platform", "transport", "command", "sha256", "text_sha256", "started", "ended", "error",
                   "error_kind")
COMPONENT_COLUMNS = ("name", "descr", "pid", "base_pid", "vid", "serial_raw", "serial", "class", "parent",
                     "contractable", "reason", "refurbished", "transport", "capture_id")
LICENSE_COLUMNS = ("license", "entitlement_tag", "count", "status", "enforcement", "license_type", "udi_pid",
                   "udi_serial", "description", "transport")


def site_scans(store, site: str, since_scan: int | None = None, since_time: float | None = None) -> list[Any]:
    """Finished scans holding at least one device row of ``site``, oldest first: after scan
    ``since_scan``, or started at or after ``since_time``."""
    # The conditions are written only when given: "? IS NULL" leaves PostgreSQL a parameter of no type.
    where, params = [], []
    if since_scan is not None:
        where.append(" AND s.id > ?")
        params.append(since_scan)
    if since_time is not None:
        where.append(" AND s.started >= ?")
        params.append(since_time)
    return store.db.execute(
        "SELECT s.* FROM scans s WHERE s.status != 'running' AND s.pruned IS NULL" + "".join(where)
        + " AND EXISTS (SELECT 1 FROM devices d WHERE d.scan_id = s.id AND d.site = ?) ORDER BY s.id",
        (*params, site)).fetchall()


def scan_started(store, scan_id: int) -> float | None:
    row = store.db.execute("SELECT started FROM scans WHERE id = ?", (scan_id,)).fetchone()
    return row[0] if row else None


def scan_record(scan) -> dict[str, Any]:
    return {"site_scan_id": scan["id"], **{c: scan[c] for c in SCAN_COLUMNS}}


def device_records(store, scan_id: int, site: str) -> Iterator[dict[str, Any]]:
    """Each device of ``site`` in scan ``scan_id``, as a record (module docstring), by name."""
    rows = store.db.execute("SELECT * FROM devices WHERE scan_id = ? AND site = ? ORDER BY device",
                            (scan_id, site)).fetchall()
    if not rows:
        return
    names = {r["device"] for r in rows}
    captures: dict[str, list[dict]] = defaultdict(list)
    for c in store.db.execute("SELECT * FROM captures WHERE scan_id = ? ORDER BY id", (scan_id,)):
        if c["device"] in names:
            captures[c["device"]].append({k: c[k] for k in CAPTURE_COLUMNS})
    errors: dict[str, list[list]] = defaultdict(list)
    for e in store.db.execute("SELECT * FROM errors WHERE scan_id = ? ORDER BY id", (scan_id,)):
        if e["device"] in names:
            errors[e["device"]].append([e["transport"], e["kind"], e["message"], e["at"]])
    pairs = [(scan_id, r["device"]) for r in rows]
    components: dict[str, list[list]] = defaultdict(list)
    for c in store.components_of(pairs):
        components[c["device"]].append([c[k] for k in COMPONENT_COLUMNS])
    sessions = store_sessions.sessions_of(store, pairs)
    findings = store_sessions.findings_of(store, pairs)
    for r in rows:
        name = r["device"]
        status = store.license_status_of(scan_id, name)
        yield {
            "row": {k: r[k] for k in r.keys() if k not in _NOT_CARRIED},
            "components": components.get(name, []),
            "licenses": [[getattr(u, k) for k in LICENSE_COLUMNS] for u in store.licenses_of(scan_id, name)],
            "license_status": None if status is None else _as_dict(status),
            "session": sessions.get((scan_id, name)),
            "findings": findings.get((scan_id, name), []),
            "errors": errors.get(name, []),
            "captures": captures.get(name, []),
            "neighbours": r["neighbours"] if "neighbours" in r.keys() else None,
        }


def _as_dict(status) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(status)


def blob(store, sha256: str) -> bytes:
    """The bytes of one blob, exactly as stored (decompressed)."""
    row = store.db.execute("SELECT data FROM blobs WHERE sha256 = ?", (sha256,)).fetchone()
    if row is None:
        raise KeyError(sha256)
    return zlib.decompress(row[0])


# ------------------------------------------------------------------ Smart Licensing state

def slp_state(store, site: str, devices: set[str], since_time: float | None) -> list[dict[str, Any]]:
    """The SLP runs (started at or after ``since_time``) that touched ``site`` or its
    ``devices``, each with its events, usage reports (RUM files, bytes as hex) and ACKs for them."""
    runs = []
    since = (" AND started >= ?", (since_time,)) if since_time is not None else ("", ())
    for run in store.db.execute(f"SELECT * FROM slp_runs WHERE status != 'running'{since[0]} ORDER BY id",
                                since[1]).fetchall():
        rid = run["id"]
        reports = [r for r in store.db.execute("SELECT * FROM slp_reports WHERE run_id = ? ORDER BY id", (rid,))
                   if r["site"] == site or r["device"] in devices]
        acks = [a for a in store.db.execute("SELECT * FROM slp_acks WHERE run_id = ? ORDER BY id", (rid,))
                if a["device"] in devices]
        events = [e for e in store.db.execute("SELECT * FROM slp_events WHERE run_id = ? ORDER BY id", (rid,))
                  if e["device"] in devices]
        if not (reports or acks or events):
            continue
        runs.append({
            "site_run_id": rid,
            "run": {k: run[k] for k in ("kind", "started", "ended", "status", "inventory", "options", "devices_ok",
                                        "devices_failed")},
            "events": [{k: e[k] for k in ("device", "at", "action", "status", "kind", "command", "detail", "output")}
                       for e in events],
            "reports": [{**{k: r[k] for k in ("device", "site", "udi_pid", "udi_serial", "file_name", "mode",
                                              "transfer", "collected_at")},
                         "report_ids": json.loads(r["report_ids"]), "data": bytes(r["data"]).hex()}
                        for r in reports],
            "acks": [{**{k: a[k] for k in ("device", "file_name", "status", "reason", "last_ack_received",
                                           "next_ack_deadline", "at")},
                      "udis": json.loads(a["udis"] or "[]"), "report_ids": json.loads(a["report_ids"] or "[]"),
                      "license_status": json.loads(a["license_status"]) if a["license_status"] else None,
                      "data": bytes(a["data"]).hex()}
                     for a in acks],
        })
    return runs


def retirements(store, site: str) -> list[dict[str, Any]]:
    """Every retirement of a device ever collected at ``site``, with the agent of the scan it took
    effect after (the importer finds that scan by its origin).  All of them, whatever ``--since``:
    a device retired after its last exported scan would otherwise never leave the central fleet,
    and importing one twice adds nothing."""
    rows = store.db.execute(
        "SELECT r.device, r.at, r.after_scan, r.how, r.by_whom, r.why, s.agent FROM retirements r"
        " LEFT JOIN scans s ON s.id = r.after_scan"
        " WHERE r.device IN (SELECT DISTINCT device FROM devices WHERE site = ?) ORDER BY r.id", (site,)).fetchall()
    return [{"device": r[0], "at": r[1], "after_site_scan": r[2], "how": r[3], "by_whom": r[4] or "",
             "why": r[5] or "", "after_agent": r[6]} for r in rows]
