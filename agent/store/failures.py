"""Read side of the ``errors`` table: every failed attempt, per scan or over the fleet.

A device tried over several transports leaves one ``errors`` row per failed attempt (transport,
kind, reason); its device row carries only the headline (``agent.collect.endings``).  These reads
give back all of them, for ``ibagent errors`` and ``ibagent devices --failed``.

"The fleet" here is each device at its latest attempt in a finished scan (a scan still running is
left out, as every other read leaves it out), unless a retirement recorded at or after that
attempt took it out of the fleet.  Rows written before schema v6 have no transport of their own:
the device row's transport stands in for it.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from agent.store.db import Store

FAILURE_COLUMNS = ("scan_id", "at", "device", "site", "platform", "status", "transport", "kind", "reason")
FAILED_DEVICE_COLUMNS = ("device", "site", "platform", "scan_id", "agent", "at", "transport", "kind", "reason",
                         "last_ok_scan")

_ROW = """
SELECT e.id, e.scan_id, e.device, e.kind, e.message, e.at, coalesce(e.transport, d.transport) AS via,
       d.site, d.platform, d.status
FROM {source}
JOIN devices d ON d.scan_id = e.scan_id AND d.device = e.device
{where}
ORDER BY e.device, e.scan_id, e.id
"""

# Each device's latest attempt in a finished scan (retired devices are left out by _NOT_RETIRED).
_LATEST = """
SELECT x.device, MAX(x.scan_id) AS scan_id FROM devices x JOIN scans s ON s.id = x.scan_id
WHERE s.status != 'running' AND (? IS NULL OR x.scan_id <= ?)
GROUP BY x.device
"""
_NOT_RETIRED = "NOT EXISTS (SELECT 1 FROM retirements r WHERE r.device = l.device AND r.after_scan >= l.scan_id)"
# CROSS JOIN fixes the order: errors read once, each row's device found in the latest attempts
# (indexed on the fly).  The other order scanned all of errors once per device (tests pin the plan).
FLEET_FAILURES_SQL = _ROW.format(
    source=f"errors e CROSS JOIN ({_LATEST}) l ON e.scan_id = l.scan_id AND e.device = l.device",
    where=f"WHERE {_NOT_RETIRED}")


def _when(epoch: float | None) -> str | None:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat(timespec="seconds") if epoch else None


def _failure(row) -> dict[str, Any]:
    return {
        "scan_id": row["scan_id"], "at": _when(row["at"]), "device": row["device"], "site": row["site"],
        "platform": row["platform"], "status": row["status"], "transport": row["via"], "kind": row["kind"],
        "reason": row["message"],
    }


def scan_failures(store: Store, scan_id: int) -> list[dict[str, Any]]:
    """Every failed attempt of one scan, by device, in attempt order.  ``status`` is the device's
    outcome: a device collected after a fallback is ``ok`` with the failures of the transports
    before the one that worked."""
    rows = store.db.execute(_ROW.format(source="errors e", where="WHERE e.scan_id = ?"), (scan_id,)).fetchall()
    return [_failure(r) for r in rows]


def fleet_failures(store: Store, upto_scan: int | None = None) -> list[dict[str, Any]]:
    """Every failed attempt of each fleet device's latest attempt (as of ``upto_scan``)."""
    rows = store.db.execute(FLEET_FAILURES_SQL, (upto_scan, upto_scan)).fetchall()
    return [_failure(r) for r in rows]


def failed_devices(store: Store, scan_id: int | None = None) -> list[dict[str, Any]]:
    """Devices whose attempt failed (in scan ``scan_id``; default: each fleet device's latest
    attempt), each with the agent whose scan it failed in, its headline (``transport``, ``kind``,
    ``reason``), the last scan that collected it (``last_ok_scan``: its items are still the ones
    shown) and ``failures``: every failed attempt as ``{transport, kind, reason, at}``."""
    if scan_id is None:
        source = (f"({_LATEST}) l JOIN devices d ON d.scan_id = l.scan_id AND d.device = l.device"
                  f" WHERE d.status != 'ok' AND {_NOT_RETIRED}")
        params: tuple = (None, None)
    else:
        source = "devices d WHERE d.scan_id = ? AND d.status != 'ok'"
        params = (scan_id,)
    devices = store.db.execute(
        "SELECT d.device, d.site, d.platform, d.scan_id, d.ended, d.transport, d.error_kind, d.error,"
        " (SELECT s.agent FROM scans s WHERE s.id = d.scan_id) AS agent,"
        " (SELECT MAX(o.scan_id) FROM devices o WHERE o.device = d.device AND o.status = 'ok'"
        "  AND o.scan_id <= d.scan_id) AS last_ok_scan"
        f" FROM {source} ORDER BY d.device", params,
    ).fetchall()
    failures: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for f in (scan_failures(store, scan_id) if scan_id is not None else fleet_failures(store)):
        failures.setdefault((f["scan_id"], f["device"]), []).append(
            {"transport": f["transport"], "kind": f["kind"], "reason": f["reason"], "at": f["at"]})
    out = []
    for d in devices:
        out.append({
            "device": d["device"], "site": d["site"], "platform": d["platform"], "scan_id": d["scan_id"],
            "agent": d["agent"] or "", "at": _when(d["ended"]), "transport": d["transport"], "kind": d["error_kind"],
            "reason": d["error"],
            "last_ok_scan": d["last_ok_scan"],
            "failures": failures.get((d["scan_id"], d["device"]))
            or [{"transport": d["transport"], "kind": d["error_kind"], "reason": d["error"], "at": _when(d["ended"])}],
        })
    return out
