"""Read-side views over the store: what ``ibagent devices`` and the demo print."""
from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from typing import Any

from agent.store import Store
from agent.store import sessions as store_sessions

DEVICE_COLUMNS = (
    "hostname", "platform", "site", "name", "class", "pid", "base_pid", "serial", "version",
    "contractable", "reason", "parent", "transport", "device", "scan_id", "capture_id",
    "collected_at", "age_days", "latest_status", "latest_error",
    "ssh_driver", "ssh_profile", "ssh_stepped_down_from", "ssh_kex", "ssh_cipher", "ssh_mac", "ssh_hostkey",
    "weak_crypto",
)
TABLE_COLUMNS = ("device", "hostname", "site", "name", "class", "pid", "serial", "version", "contractable", "crypto")


def device_rows(store: Store, scan_id: int | None = None, include_virtual: bool = True) -> list[dict[str, Any]]:
    """One row per physical item of the latest snapshot (each device's latest clean collection)."""
    snapshot = store.snapshot_devices(scan_id)
    rows: list[dict[str, Any]] = []
    by_key = {(d["scan_id"], d["device"]): d for d in snapshot}
    # The fleet keeps each device at its last good collection: say when that was, how old it is
    # and what happened to the device since (a failed latest attempt keeps its items, flagged).
    started = {s["id"]: s["started"] for s in store.scans()}
    now = time.time()
    when = {key: started.get(key[0]) for key in by_key}
    # What the collection behind each device's items negotiated, and its weak-crypto findings.
    sessions = store_sessions.sessions_of(store, by_key)
    findings = store_sessions.findings_of(store, by_key)
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
                "collected_at": _iso(when[(comp["scan_id"], comp["device"])]),
                "age_days": _age(when[(comp["scan_id"], comp["device"])], now),
                "latest_attempt_scan": dev["latest_attempt_scan"],
                "latest_error": _latest_error(dev),
                **_crypto(sessions.get((comp["scan_id"], comp["device"])),
                          findings.get((comp["scan_id"], comp["device"]), [])),
            }
        )
    return rows


def _crypto(session: dict[str, str] | None, findings: list[dict[str, str]]) -> dict[str, Any]:
    """The SSH session and weak-crypto columns of a device's rows: flat fields for CSV, the findings
    also as a list for JSON; ``crypto`` is the short table cell (weak / ok / '' when unknown)."""
    session = session or {}
    weak = [f for f in findings if f["kind"] == store_sessions.WEAK_CRYPTO]
    return {
        **{f"ssh_{k}": session.get(k, "") for k in store_sessions.SESSION_FIELDS},
        "weak_crypto": "; ".join(f"{f['subject']} {f['value']}: {f['why']}" for f in weak),
        "weak_crypto_findings": [{k: f[k] for k in ("subject", "value", "why")} for f in weak],
        "crypto": f"weak ({len(weak)})" if weak else ("ok" if session else ""),
    }


def _latest_error(dev) -> str:
    """Why a device's items are older than its latest attempt: the attempt failed, or it answered
    without a readable hardware inventory (its items stay those of the last read one)."""
    if dev["latest_status"] != "ok":
        return f"{dev['latest_error_kind']}: {dev['latest_error']}" if dev["latest_error_kind"] else "failed"
    if not dev["latest_inventory_ok"] and dev["latest_attempt_scan"] != dev["collected_in"]:
        return (f"scan {dev['latest_attempt_scan']} did not read the hardware inventory; "
                f"items from scan {dev['collected_in']}")
    return ""


def _iso(epoch: float | None) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat(timespec="seconds") if epoch else ""


def _age(epoch: float | None, now: float) -> int | None:
    return int((now - epoch) // 86400) if epoch else None


def failed_devices(store: Store, scan_id: int) -> list[dict[str, Any]]:
    return [
        {"device": r["device"], "platform": r["platform"], "site": r["site"], "error_kind": r["error_kind"], "error": r["error"]}
        for r in store.scan_devices(scan_id)
        if r["status"] != "ok"
    ]


def scan_roles(row) -> list[str]:
    return json.loads(row["roles"] or "[]")
