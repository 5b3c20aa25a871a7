"""History over scans: what reconcile needs from the store, and the diff / history / true-up views.

The store keeps every scan; this module turns that sequence into the inputs of the pure
``agent.reconcile.reconcile`` (fleet items, per-device scan state, first/last seen per item) and
into the change views people ask for between scans.  Read-only: it never writes the store.
"""
from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from agent.core.identity import Key, pid_key
from agent.core.models import DeviceScanState, FleetItem, SeenHistory
from agent.store import Store, latest



def _when(epoch: float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, tz=timezone.utc) if epoch else None


def is_clean(device_row) -> bool:
    """Collected, and the inventory read in full: the only state in which absence means something
    (the stored fact ``devices.inventory_ok``, decided when the device was saved)."""
    return bool(device_row["inventory_ok"])


def identity(serial: str, base_pid: str) -> Key:
    """Reconcile's key from a stored (serial, base PID): contract files upper-case PIDs ("ASAV30"),
    devices print "ASAv30".  The stored value is already a base PID, so upper-casing is all of
    ``pid_key`` that is left to do (the full rule cost walk_history ~20 % at 10^5 rows)."""
    return (serial, base_pid.upper())


def fleet_items(store: Store, scan_id: int | None = None) -> list[FleetItem]:
    """Every contractable item of the snapshot as of ``scan_id`` (default latest)."""
    devices, rows = latest.fleet_rows(store, scan_id)
    upper: dict[str, str] = {}  # a fleet has a few hundred distinct PIDs: upper-case each once
    items = []
    for set_id, serial, base_pid, pid, cls, name, parent, cap in rows:
        device, hostname, site, scan, cap0 = devices[set_id]
        key_pid = upper.get(base_pid)
        if key_pid is None:
            key_pid = upper[base_pid] = identity("", base_pid)[1]
        items.append(FleetItem(serial, key_pid, pid, device, hostname, site, cls, name, parent, scan,
                               None if cap is None else cap0 + cap, name))
    return items


def device_states(store: Store, scan_id: int | None = None) -> list[DeviceScanState]:
    """Every device of the fleet as of ``scan_id`` (default latest): was its latest attempt clean,
    when was it last clean, when last collected at all, and what happened to it last."""
    # Each scan's time and each distinct site-id list made once, not once per device (20,000
    # devices: the JSON and datetime work was half of this function).
    when = {s["id"]: _when(s["started"]) for s in store.scans()}
    site_ids: dict[str, tuple[str, ...]] = {}
    states = []
    for row in store.fleet_device_states(scan_id):
        failed = row["status"] != "ok"
        raw_ids = row["contract_site_ids"] or "[]"
        ids = site_ids.get(raw_ids)
        if ids is None:
            ids = site_ids[raw_ids] = tuple(json.loads(raw_ids))
        states.append(
            DeviceScanState(
                device=row["device"], site=row["site"] or "",
                contract_site_ids=ids,
                last_clean_scan_at=when.get(row["last_clean_scan"]),
                latest_scan_clean=is_clean(row), latest_scan_id=row["scan_id"],
                last_ok_at=when.get(row["last_ok_scan"]), max_age_days=row["max_age_days"],
                latest_status=row["status"],
                latest_error=f"{row['error_kind']}: {row['error']}" if failed and row["error_kind"] else "",
            )
        )
    return states


def seen_history(store: Store, upto_scan: int | None = None,
                 serials: Iterable[str] | None = None) -> dict[Key, SeenHistory]:
    """First and last sighting of every contractable item, over all scans up to ``upto_scan``;
    with ``serials``, of the items with those serials only (reconcile needs history only for
    contract serials missing from the snapshot).

    Up to the latest scan, from the store's ``sightings`` table (one row per item, kept up to
    date as devices are saved); for an earlier scan, by walking the component rows of every scan
    up to it."""
    upto_scan = upto_scan or store.latest_scan_id() or 0
    if not store.sightings_cover(upto_scan):
        return walk_history(store, upto_scan, serials)
    history: dict[Key, SeenHistory] = {}
    last_ids: dict[Key, int] = {}
    # In order of first sighting: the first row of an item's key gives its first sighting; the
    # row with the highest last id its last (two rows: the same serial stored under PIDs that
    # differ only in case, which identity() merges).
    for row in store.sightings(serials):
        key = identity(row["serial"], row["base_pid"])
        seen = history.get(key)
        if seen is None:
            history[key] = SeenHistory(_when(row["first_started"]), _when(row["last_started"]), row["last_device"],
                                       row["last_name"])
            last_ids[key] = row["last_id"]
        elif row["last_id"] > last_ids[key]:
            seen.last_seen, seen.last_device, seen.last_slot = (_when(row["last_started"]), row["last_device"],
                                                                row["last_name"])
            last_ids[key] = row["last_id"]
    return history


def walk_history(store: Store, upto_scan: int, serials: Iterable[str] | None = None) -> dict[Key, SeenHistory]:
    """``seen_history`` from the component rows of every scan up to ``upto_scan``: the
    definition, and the way for a scan before the latest."""
    sql = """
        SELECT c.serial, c.base_pid, c.device, c.name, s.started
        FROM {src} JOIN scans s ON s.id = c.scan_id
        WHERE c.contractable = 1 AND c.serial != '' AND c.scan_id <= ?
        ORDER BY c.scan_id, c.id
        """
    if serials is None:
        rows = store.db.execute(sql.format(src="components c"), (upto_scan,)).fetchall()
    else:
        with store.wanted_serials(serials) as wanted:
            # The wanted serials outside, one seek each into the items' serial index, then each
            # item's set and the device rows pointing to it (a TEMP table has no statistics: through
            # the components view SQLite chose to walk every device row instead).
            rows = store.db.execute(
                f"""SELECT i.serial, i.base_pid, d.device, i.name, s.started
                FROM {wanted} w CROSS JOIN set_items i ON i.serial = w.serial
                CROSS JOIN item_sets t ON t.id = i.set_id
                CROSS JOIN devices d ON d.device = t.device AND d.item_set = t.id
                JOIN scans s ON s.id = d.scan_id
                WHERE i.contractable = 1 AND i.serial != '' AND d.scan_id <= ?
                ORDER BY d.scan_id, d.item_id0 + i.pos""", (upto_scan,)).fetchall()
    history: dict[Key, SeenHistory] = {}
    for serial, base_pid, device, name, started in rows:
        when = _when(started)
        key = identity(serial, base_pid)
        seen = history.get(key)
        if seen is None:
            history[key] = SeenHistory(when, when, device, name)
        else:
            seen.last_seen, seen.last_device, seen.last_slot = when, device, name
    return history


# ------------------------------------------------------------------ change views


@dataclass(slots=True)
class Change:
    change: str  # added | removed | moved | version-changed
    serial: str
    base_pid: str
    device: str
    name: str
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"change": self.change, "serial": self.serial, "base_pid": self.base_pid, "device": self.device,
                "name": self.name, "detail": self.detail}


def _items_with_versions(store: Store, scan_id: int) -> dict[Key, tuple[str, str, str]]:
    """(serial, base_pid) -> (device, name, version) over the snapshot as of ``scan_id``."""
    versions = {d["device"]: d["version"] or "" for d in store.snapshot_devices(scan_id)}
    return {(i.serial, i.base_pid): (i.device, i.name, versions.get(i.device, "")) for i in fleet_items(store, scan_id)}


def diff(store: Store, scan_a: int, scan_b: int) -> list[Change]:
    """What changed between the fleet states as of two scans.

    Fleet states, not scans: a device that the later scan did not attempt (a partial or
    interrupted scan) is in both states as it was, so it yields no ``removed``.  An item that
    changed slot on its device is ``moved`` like one that changed device.  A removed and an added
    item of the same base PID in the same slot of the same device, one each, are labelled as the
    RMA swap reconcile would recognise; a removed item of a retired device says so."""
    a, b = _items_with_versions(store, scan_a), _items_with_versions(store, scan_b)
    changes: list[Change] = []
    added, removed = sorted(b.keys() - a.keys()), sorted(a.keys() - b.keys())
    swaps = _swap_labels([(k, b[k]) for k in added], [(k, a[k]) for k in removed])
    for key in added:
        changes.append(Change("added", *key, b[key][0], b[key][1], swaps.get(("added", key), "")))
    retired = _retired_between(store, {a[k][0] for k in removed}, scan_a, scan_b) if removed else {}
    for key in removed:
        detail = swaps.get(("removed", key)) or retired.get(a[key][0], "")
        changes.append(Change("removed", *key, a[key][0], a[key][1], detail))
    chassis: dict[str, Key] | None = None  # device -> its chassis item, read once when first needed
    for key in sorted(a.keys() & b.keys()):
        (dev_a, name_a, ver_a), (dev_b, name_b, ver_b) = a[key], b[key]
        if dev_a != dev_b:
            changes.append(Change("moved", *key, dev_b, name_b, f"from {dev_a} ({name_a})"))
        elif name_a != name_b:
            changes.append(Change("moved", *key, dev_b, name_b, f"from {name_a} on the same device"))
        elif ver_a != ver_b:
            if chassis is None:
                chassis = _chassis_keys(store, scan_b)
            if key == chassis.get(dev_b):
                changes.append(Change("version-changed", *key, dev_b, name_b, f"{ver_a or '?'} -> {ver_b or '?'}"))
    return changes


def _swap_labels(added, removed) -> dict[tuple[str, Key], str]:
    """RMA pairs among added and removed items: the same (device, slot, base PID), exactly one
    each (reconcile's rma-swap rule without the contract side)."""
    def by_slot(items):
        slots: dict[tuple[str, str, str], list[Key]] = defaultdict(list)
        for key, (device, name, _) in items:
            slots[(device, name, key[1])].append(key)
        return slots
    new, old = by_slot(added), by_slot(removed)
    labels: dict[tuple[str, Key], str] = {}
    for slot, keys in new.items():
        gone = old.get(slot, [])
        if len(keys) == 1 and len(gone) == 1:
            where = f"{slot[0]} {slot[1]}"
            labels[("added", keys[0])] = f"rma-swap: replaces {gone[0][0]} in {where}"
            labels[("removed", gone[0])] = f"rma-swap: replaced by {keys[0][0]} in {where}"
    return labels


def _retired_between(store: Store, devices: set[str], scan_a: int, scan_b: int) -> dict[str, str]:
    """device -> "retired ..." for the devices retired after ``scan_a`` and as of ``scan_b``."""
    out = {}
    for r in store.retirements(devices):
        if scan_a <= r["after_scan"] <= scan_b:
            out[r["device"]] = retirement_text(r)
    return out


def retirement_text(row) -> str:
    when = _when(row["at"]).date().isoformat() if row["at"] else "?"
    return f"retired ({row['how']}) on {when} by {row['by_whom'] or '?'}: {row['why'] or 'no reason given'}"


def _chassis_keys(store: Store, scan_id: int) -> dict[str, Key]:
    # A software change is a device fact: report it once, on the chassis item, not per optic.
    # (Read once per diff: after an upgrade wave every item of every device has a new version.)
    return {row["device"]: (row["chassis_serial"] or "", pid_key(row["chassis_pid"] or ""))
            for row in store.snapshot_devices(scan_id)}


def item_history(store: Store, serial: str) -> list[dict[str, Any]]:
    """Every sighting of a serial: scan, when, device, slot, PID; then the retirements of the
    devices it was seen on (a device leaves the fleet only that way, and history says so)."""
    rows = store.db.execute(
        """
        SELECT c.scan_id, s.started, c.device, c.name, c.pid, c.base_pid, c.class, c.contractable, c.capture_id
        FROM components c JOIN scans s ON s.id = c.scan_id
        WHERE c.serial = ? ORDER BY c.scan_id, c.id
        """,
        (serial,),
    ).fetchall()
    out = [
        {"scan_id": r["scan_id"], "when": _when(r["started"]).isoformat(timespec="seconds"), "device": r["device"],
         "name": r["name"], "pid": r["pid"], "base_pid": r["base_pid"], "class": r["class"],
         "contractable": bool(r["contractable"]), "capture_id": r["capture_id"]}
        for r in rows
    ]
    for r in store.retirements({row["device"] for row in rows}) if rows else ():
        out.append({"scan_id": r["after_scan"], "when": _when(r["at"]).isoformat(timespec="seconds"),
                    "device": r["device"], "name": retirement_text(r), "pid": "", "base_pid": "", "class": "",
                    "contractable": False, "capture_id": None})
    return out


def trueup(store: Store, since: date | int, scan_id: int | None = None) -> list[FleetItem]:
    """Contractable items of the latest snapshot first seen after ``since`` (a date or a scan id)."""
    history = seen_history(store, scan_id)
    items = fleet_items(store, scan_id)
    if isinstance(since, int):
        row = store.db.execute("SELECT started FROM scans WHERE id=?", (since,)).fetchone()
        if row is None:
            raise ValueError(f"no scan {since}")
        cutoff = _when(row["started"])
        return [i for i in items if history[(i.serial, i.base_pid)].first_seen > cutoff]
    return [i for i in items if history[(i.serial, i.base_pid)].first_seen.date() > since]


def scan_ids(store: Store) -> list[int]:
    # A pruned scan (ibagent prune-history) kept only its devices' latest state: the fleet as of it
    # cannot be rebuilt, so it is no longer offered.
    return [s["id"] for s in store.scans() if s["status"] != "running" and not _pruned(s)]


def _pruned(scan_row) -> bool:
    return "pruned" in scan_row.keys() and scan_row["pruned"] is not None


def resolve_pair(store: Store, ids: Iterable[int | str] | None) -> tuple[int, int]:
    """The two fleet states to compare: given scan ids or dates (YYYY-MM-DD: the fleet after the
    last scan that started on or before that day), or the last two finished scans."""
    ids = list(ids or [])
    known = scan_ids(store)
    if not ids:
        if len(known) < 2:
            raise ValueError("need two finished scans to compare; run another scan first")
        return known[-2], known[-1]
    if len(ids) != 2:
        raise ValueError("give two scan ids or dates, or none for the last two scans")
    resolved = []
    for i in ids:
        if isinstance(i, str) and not i.isdigit():
            try:
                day = date.fromisoformat(i)
            except ValueError:
                raise ValueError(f"{i!r} is neither a scan id nor a date (YYYY-MM-DD)") from None
            end = datetime.combine(day, datetime.max.time(), timezone.utc).timestamp()
            found = store.scan_started_by(end)
            if found is None:
                raise ValueError(f"no finished scan started on or before {day}")
            resolved.append(found)
            continue
        i = int(i)
        if i not in known:
            raise ValueError(f"no finished scan {i} (known: {', '.join(map(str, known)) or 'none'}; scans emptied "
                             "by prune-history are not)")
        resolved.append(i)
    return resolved[0], resolved[1]


def expired_devices(store: Store, days: int, now: float) -> list[str]:
    """Devices of the current fleet whose last good collection (or, never collected, whose
    latest attempt) is more than ``days`` days before ``now``: what ``retire --expire`` takes out."""
    cutoff = now - days * 86400
    started = {s["id"]: s["started"] for s in store.scans()}
    out = []
    for row in store.fleet_device_states(None):
        last = row["last_ok_scan"] or row["scan_id"]
        if started.get(last, now) < cutoff:
            out.append(row["device"])
    return out


def absent_from(store: Store, names: Iterable[str]) -> list[str]:
    """Devices of the current fleet that are not in ``names`` (an inventory): what ``scan --prune``
    retires once a complete scan of that inventory has finished."""
    keep = set(names)
    return [row["device"] for row in store.fleet_device_states(None) if row["device"] not in keep]
