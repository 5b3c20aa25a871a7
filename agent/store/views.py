"""Read-side views over the store: what ``ibagent devices`` and the demo print."""
from __future__ import annotations

import json
from typing import Any

from agent.store import Store

DEVICE_COLUMNS = (
    "hostname", "platform", "site", "name", "class", "pid", "base_pid", "serial", "version",
    "contractable", "reason", "parent", "transport", "device", "scan_id", "capture_id",
)
TABLE_COLUMNS = ("device", "hostname", "site", "name", "class", "pid", "serial", "version", "contractable")


def device_rows(store: Store, scan_id: int | None = None, include_virtual: bool = True) -> list[dict[str, Any]]:
    """One row per physical item of the latest snapshot (each device's latest clean collection)."""
    snapshot = store.snapshot_devices(scan_id)
    rows: list[dict[str, Any]] = []
    by_key = {(d["scan_id"], d["device"]): d for d in snapshot}
    for comp in store.components_of(by_key):
        dev = by_key[(comp["scan_id"], comp["device"])]
        if not include_virtual and not comp["contractable"]:
            continue
        rows.append(
            {
                "device": comp["device"],
                "hostname": dev["hostname"] or comp["device"],
                "platform": dev["platform"],
                "site": dev["site"],
                "name": comp["name"],
                "class": comp["class"],
                "descr": comp["descr"],
                "pid": comp["pid"],
                "base_pid": comp["base_pid"],
                "vid": comp["vid"],
                "serial": comp["serial"],
                "version": dev["version"],
                "os_version": dev["os_version"],
                "contractable": bool(comp["contractable"]),
                "reason": comp["reason"],
                "parent": comp["parent"],
                "refurbished": bool(comp["refurbished"]),
                "transport": comp["transport"],
                "scan_id": comp["scan_id"],
                "capture_id": comp["capture_id"],
                "latest_status": dev["latest_status"],
            }
        )
    return rows


def failed_devices(store: Store, scan_id: int) -> list[dict[str, Any]]:
    return [
        {"device": r["device"], "platform": r["platform"], "site": r["site"], "error_kind": r["error_kind"], "error": r["error"]}
        for r in store.scan_devices(scan_id)
        if r["status"] != "ok"
    ]


def scan_roles(row) -> list[str]:
    return json.loads(row["roles"] or "[]")
