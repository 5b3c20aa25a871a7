"""What ibagent would have the source of truth hold, from the store's latest fleet and a contract
file: inventory items per device (serial, PID) and, for Nautobot's Device Lifecycle Management
app, contracts with the devices they cover.  Pure functions of their inputs.

An item's name is the name the device gave it (``show inventory``'s NAME); two items of one device
under one name (it happens: some releases print "Transceiver" for every optic) are told apart by
their serial, so the (device, name) key a target uses stays unique and a second push finds each.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

MANUFACTURER = "Cisco"
NAME_MAX = 64  # NetBox's inventory item name limit (Nautobot allows 255): the smaller, for both


@dataclass(frozen=True, slots=True)
class WantItem:
    device: str  # the inventory's name for the device, which is the source of truth's own device name
    name: str
    part_id: str
    serial: str
    description: str = ""
    manufacturer: str = MANUFACTURER

    def fields(self) -> dict[str, str]:
        """The fields compared with (and written to) the target's item."""
        return {"part_id": self.part_id, "serial": self.serial, "description": self.description}


@dataclass(slots=True)
class WantContract:
    name: str  # the contract number: unique in DLM, as it is at Cisco
    number: str
    support_level: str = ""
    start: date | None = None
    end: date | None = None
    devices: set[str] = field(default_factory=set)
    serials: set[str] = field(default_factory=set)
    provider: str = MANUFACTURER
    contract_type: str = "Hardware"


def items_from_fleet(fleet) -> list[WantItem]:
    """One WantItem per contractable item of the fleet (``agent.store.fleet.fleet_items``),
    sorted by device and name."""
    by_device: dict[str, list] = defaultdict(list)
    for item in fleet:
        by_device[item.device].append(item)
    out: list[WantItem] = []
    for device, items in by_device.items():
        counts: dict[str, int] = defaultdict(int)
        for item in items:
            counts[_clip(item.name or item.pid or item.serial)] += 1
        for item in items:
            name = _clip(item.name or item.pid or item.serial)
            if counts[name] > 1:
                name = _clip(f"{name} {item.serial}", keep_tail=len(item.serial) + 1)
            description = f"ibagent: {item.cls}" if item.cls else "ibagent"
            out.append(WantItem(device, name, item.pid or item.base_pid, item.serial, description))
    out.sort(key=lambda w: (w.device, w.name))
    return out


def _clip(text: str, keep_tail: int = 0) -> str:
    text = " ".join(str(text).split())
    if len(text) <= NAME_MAX:
        return text
    if keep_tail:
        return text[: NAME_MAX - keep_tail - 1] + "~" + text[-keep_tail:]
    return text[:NAME_MAX]


def contracts_from_lines(lines, fleet) -> tuple[list[WantContract], list[str]]:
    """Contracts (DLM) from contract lines: one per contract number, covering the devices that hold
    one of its serials in the fleet; its period spans its lines'.  Returns the contracts and notes
    (lines whose serial is on no device: the contract is kept, the line covers nothing here)."""
    device_of = {item.serial: item.device for item in fleet}
    contracts: dict[str, WantContract] = {}
    notes: list[str] = []
    for line in lines:
        number = (line.contract_number or "").strip()
        if not number:
            continue
        c = contracts.setdefault(number, WantContract(name=number, number=number))
        if line.service_level and not c.support_level:
            c.support_level = line.service_level
        if line.start and (c.start is None or line.start < c.start):
            c.start = line.start
        if line.end and (c.end is None or line.end > c.end):
            c.end = line.end
        c.serials.add(line.serial)
        device = device_of.get(line.serial)
        if device:
            c.devices.add(device)
    for c in contracts.values():
        missing = sorted(s for s in c.serials if s not in device_of)
        if missing:
            notes.append(f"contract {c.name}: {len(missing)} serial(s) on no scanned device "
                         f"({', '.join(missing[:5])}{'...' if len(missing) > 5 else ''})")
        if c.start and c.end and c.end <= c.start:  # DLM refuses end <= start
            notes.append(f"contract {c.name}: end {c.end} is not after start {c.start}; start left empty")
            c.start = None
    return sorted(contracts.values(), key=lambda c: c.name), notes
