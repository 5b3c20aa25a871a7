"""The gap report's store wiring (issue 17): the fleet's known devices and its devices' latest
neighbours, read from the store and handed to the pure rules of ``agent.reconcile.neighbours``."""
from __future__ import annotations

from dataclasses import dataclass, field

from agent.store import Store
from agent.store.fleet import fleet_items
from agent.store import neighbours as stored

from .neighbours import KnownDevice, KnownIndex, Unlisted, unlisted


@dataclass(slots=True)
class GapReport:
    cisco: list[Unlisted] = field(default_factory=list)  # Cisco neighbours in no inventory: the list
    other: list[Unlisted] = field(default_factory=list)  # non-Cisco ones: counted, listed on request
    devices_read: int = 0  # fleet devices whose neighbour tables were read
    not_read: dict[str, list[str]] = field(default_factory=dict)  # device -> 'cdp: not-enabled (...)'


def known_devices(store: Store, states=None, snapshot=None) -> list[KnownDevice]:
    """Every device of the fleet (a failed-only one too: it is listed) with its inventory host,
    its host name and the serials of its latest collection.  ``states`` and ``snapshot``: the
    store's ``fleet_device_states(None)`` and ``snapshot_devices()`` rows, when already read."""
    serials: dict[str, set[str]] = {}
    for item in fleet_items(store):
        serials.setdefault(item.device, set()).add(item.serial)
    out = []
    for row in store.fleet_device_states(None) if states is None else states:
        sn = set(serials.get(row["device"], ()))
        if row["chassis_serial"]:
            sn.add(row["chassis_serial"])
        out.append(KnownDevice(row["device"], row["host"] or "", row["hostname"] or "", tuple(sorted(sn))))
    # A device whose latest attempt failed shows its last good collection's host name and serial.
    for row in store.snapshot_devices() if snapshot is None else snapshot:
        out.append(KnownDevice(row["device"], row["host"] or "", row["hostname"] or "",
                               (row["chassis_serial"],) if row["chassis_serial"] else ()))
    return out


# Is there any neighbour table in the store at all?  One pass over the device rows, stopping at
# the first: a fleet scanned without CDP / LLDP (or by an older ibagent) has none.
_ANY_TABLE_SQL = "SELECT 1 FROM devices WHERE neighbours IS NOT NULL LIMIT 1"


def gap_report(store: Store) -> GapReport:
    # The fleet's names first (two small reads), then its neighbour tables; the index of what the
    # fleet knows of itself (every item's serial: a read of the whole fleet, and its addresses
    # parsed) only when some device saw a neighbour to match.  Reconcile writes this report
    # beside its lists on every run, and a fleet without CDP / LLDP tables paid ~1.5 s for an
    # index nothing was looked up in (100k items).
    report = GapReport()
    if store.db.execute(_ANY_TABLE_SQL).fetchone() is None:  # no device ever read one: nothing to say
        return report
    states = store.fleet_device_states(None)
    snapshot = store.snapshot_devices()
    fleet = {row["device"] for row in states} | {row["device"] for row in snapshot}
    seen = []
    for dn in stored.latest(store, fleet):
        report.devices_read += 1
        seen += [(n, dn.capture_of(n)) for n in dn.neighbours]
        off = [f"{s.protocol}: {s.state} ({s.detail})" for s in dn.status if s.state != "read"]
        if off:
            report.not_read[dn.device] = off
    if not seen:
        return report
    index = KnownIndex.of(known_devices(store, states, snapshot))
    for u in unlisted(seen, index):
        (report.cisco if u.cisco else report.other).append(u)
    return report
