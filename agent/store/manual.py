"""What an import of hand-collected outputs (``ibagent import-captures``) reads from the store
before it writes: each device's latest known settings, and the outputs earlier imports hold.

Reads only; the import writes through the same ``Store`` methods a scan uses.  No schema of its
own: an import is a scan row whose options say ``"transport": "manual"``.
"""
from __future__ import annotations

import json
from collections.abc import Iterable

from agent.store.db import Store

MANUAL = "manual"  # the transport of captures collected by hand, and of their scans' options


def latest_rows(store: Store, devices: Iterable[str]) -> dict[str, dict]:
    """device -> platform, site, contract_site_ids (a tuple) and max_age_days of its latest
    attempt, for the devices the store knows (an import keeps a device where the inventory put it)."""
    out: dict[str, dict] = {}
    for device in devices:
        row = store.db.execute(
            "SELECT platform, site, contract_site_ids, max_age_days FROM devices WHERE device = ?"
            " ORDER BY scan_id DESC LIMIT 1", (device,)).fetchone()  # devices_by_name: one seek
        if row is not None:
            try:
                ids = tuple(json.loads(row["contract_site_ids"] or "[]"))
            except ValueError:
                ids = ()
            out[device] = {"platform": row["platform"] or "", "site": row["site"] or "",
                           "contract_site_ids": ids, "max_age_days": row["max_age_days"]}
    return out


def imported_sets(store: Store) -> dict[str, dict[frozenset, int]]:
    """device -> {frozenset of (command, sha256) of its captures: the first import scan holding
    exactly them}, over every earlier import (their scans say ``transport: manual``)."""
    scans = [r["id"] for r in store.db.execute("SELECT id, options FROM scans ORDER BY id")
             if _is_manual(r["options"])]
    out: dict[str, dict[frozenset, int]] = {}
    for scan_id in scans:
        per_device: dict[str, set] = {}
        for row in store.db.execute("SELECT device, command, sha256 FROM captures WHERE scan_id = ?", (scan_id,)):
            per_device.setdefault(row["device"], set()).add((row["command"], row["sha256"]))
        for device, caps in per_device.items():
            out.setdefault(device, {}).setdefault(frozenset(caps), scan_id)
    return out


def _is_manual(options: str | None) -> bool:
    try:
        return (json.loads(options or "{}") or {}).get("transport") == MANUAL
    except (ValueError, AttributeError):
        return False


def names_by_hostname(store: Store) -> dict[str, str]:
    """host name as the device calls itself (lower case) -> the device's name in the store, from
    each device's latest attempt; a host name two devices share is left out (it names neither).
    A prompt says 'core-sw1' where the inventory may call the device 'core-sw1.hq' or 'sw-0042'."""
    out: dict[str, str] = {}
    shared: set[str] = set()
    for row in store.db.execute(
            "SELECT d.device, d.hostname FROM devices d WHERE d.scan_id = "
            "(SELECT MAX(x.scan_id) FROM devices x WHERE x.device = d.device) AND coalesce(d.hostname, '') != ''"):
        key = row["hostname"].lower()
        if out.setdefault(key, row["device"]) != row["device"]:
            shared.add(key)
    return {k: v for k, v in out.items() if k not in shared}
