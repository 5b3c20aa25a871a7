"""The lab's CDP / LLDP topology and its ground truth (issue 17).

Lab devices announce each other (a ring over the devices that run CDP / LLDP) and a few devices
that are in no inventory ("strangers": a Catalyst, a Nexus announcing ``name(SERIAL)``, an ASR
running IOS XR with no address, an ISR with several, an access point, an IP phone with its
LLDP-MED serial, and two non-Cisco LLDP speakers).  Everything is data (``lab/data/
neighbours.yaml``) and a pure function of the lab's devices (their order, names, seed): a lab
started twice announces the same tables, and the truth is computed here, from the data, never by
parsing what the devices print (``lab/neighbour_text.py`` prints it).

What each device sees is a list of :class:`Link`; :func:`attach` sets ``device.neighbour_links``
(None for a device that runs neither protocol, such as the ASA) and ``device.neighbour_off``.
:func:`unlisted` is the truth the gap report must find: every stranger that a collected device
sees, with its platform and the devices (and ports) that see it.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from . import entities
from .serials import MAX_DEVICES, make_serial

DATA = Path(__file__).resolve().parent / "data" / "neighbours.yaml"  # package data
PROTOCOLS = ("cdp", "lldp")
# The strangers' serial namespace: the top device ordinals, counted down per group (a lab of
# thousands of devices counts up from 0: the two never meet).


@cache
def data() -> dict[str, Any]:
    return yaml.safe_load(DATA.read_text())


@dataclass(frozen=True, slots=True)
class Box:
    """What one device announces of itself."""

    key: str  # the lab device's inventory name, or the stranger's name
    device_id: str  # CDP Device ID
    system_name: str  # LLDP System Name
    platform: str  # CDP Platform ('' for a non-Cisco LLDP speaker)
    software: tuple[str, ...]  # CDP Version / LLDP System Description lines
    addresses: tuple[str, ...]
    protocols: frozenset[str]
    caps_cdp: str
    caps_lldp: str
    mac: str
    port_form: str  # its ports, '{n}' numbered
    cisco: bool = True
    listed: bool = True  # in the generated inventory
    serial: str = ""  # announced serial (NX-OS device id, LLDP-MED), '' when none
    model: str = ""  # LLDP-MED model
    faulty: bool = False  # a lab device with a fault: never collected, so it sees nothing for the truth

    def port(self, n: int) -> str:
        return self.port_form.replace("{n}", str(n))


@dataclass(frozen=True, slots=True)
class Link:
    """One entry of a device's table: ``remote`` seen on ``local_port`` over ``protocol``."""

    protocol: str
    local_port: str
    remote: Box
    remote_port: str


@dataclass(slots=True)
class Unlisted:
    """Ground truth: a Cisco (or not) neighbour in no inventory, and who sees it."""

    name: str
    device_id: str
    platform: str
    cisco: bool
    addresses: tuple[str, ...]
    serial: str
    protocols: tuple[str, ...]
    seen_by: list[tuple[str, str]] = field(default_factory=list)  # (lab device name, its port)

    @property
    def seers(self) -> tuple[str, ...]:
        return tuple(sorted({d for d, _ in self.seen_by}))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "device_id": self.device_id, "platform": self.platform, "cisco": self.cisco,
                "addresses": list(self.addresses), "serial": self.serial, "protocols": list(self.protocols),
                "seen_by": [list(s) for s in self.seen_by]}


def _mac(index: int) -> str:
    h = f"00a38e{index % 0xFFFFFF:06x}"
    return f"{h[0:4]}.{h[4:8]}.{h[8:12]}"


def _lab_box(device) -> Box | None:
    spec = data()["platforms"].get(device.platform)
    if spec is None:
        return None
    truth = device.truth
    subs = {"{hostname}": device.hostname, "{HOSTNAME}": device.hostname.upper(), "{serial}": truth.chassis_serial,
            "{pid}": truth.chassis_pid}

    def fill(text: str) -> str:
        for k, v in subs.items():
            text = text.replace(k, v)
        return text

    try:  # what it announces as its software: its sysDescr, as SNMP serves it
        descr = entities.load(device.profile).sys_descr
    except KeyError:  # a profile without an SNMP/NETCONF view (IBAGENT_LAB_FIXTURES): its release
        descr = f"Cisco {device.profile_def.description}, Version {truth.os_version}"
    software = tuple(line for line in descr.replace("\r\n", "\n").split("\n") if line)
    return Box(
        key=device.name, device_id=fill(spec["device_id"]), system_name=fill(spec["system_name"]),
        platform=fill(spec["platform"]), software=software,
        addresses=(device.host,) if spec["addresses"] == "host" else (),
        protocols=frozenset(PROTOCOLS), caps_cdp=spec["caps_cdp"], caps_lldp=spec["caps_lldp"],
        mac=_mac(device.spec.index or 0), port_form=spec["port"],
        serial=truth.chassis_serial if "{serial}" in spec["device_id"] else "",
        faulty=bool(device.faults),
    )


def _stranger(entry: dict[str, Any], group: int, seed: int, ordinal: int) -> Box:
    suffix = f"-g{group}" if group else ""
    serial = make_serial(entry["serial_kind"], seed, MAX_DEVICES - 1 - group, ordinal) if entry.get("serial_kind") else ""
    device_id = str(entry["device_id"]).replace("{serial}", serial)
    # A group's copy differs in its name (and the last octet of its addresses' host part stays).
    if suffix:
        head, dot, tail = device_id.partition(".")
        head, paren, rest = head.partition("(")
        device_id = head + suffix + paren + rest + dot + tail
    return Box(
        key=entry["name"] + suffix, device_id=device_id,
        system_name=device_id.split("(")[0] if entry.get("lldp_name", True) else "",
        platform=str(entry.get("platform") or ""), software=tuple(entry["software"]),
        addresses=tuple(entry.get("addresses") or ()), protocols=frozenset(entry["protocols"]),
        caps_cdp=entry["caps_cdp"], caps_lldp=entry["caps_lldp"], mac=entry["mac"], port_form=entry["port"],
        cisco=bool(entry["cisco"]), listed=False,
        serial=serial, model=str(entry.get("model") or ""),
    )


def off(device) -> frozenset[str]:
    """The protocols a lab device has switched off (it answers '% ... is not enabled')."""
    rules = data()["disabled"]
    index = device.spec.index or 0
    return frozenset(p for p, r in rules.items() if index % r["every"] == r["at"])


@dataclass(slots=True)
class Topology:
    links: dict[str, list[Link]]  # lab device name -> what it sees (only devices that run CDP / LLDP)
    off: dict[str, frozenset[str]]
    unlisted: list[Unlisted]


def build(devices: Sequence[Any]) -> Topology:
    """The topology of a lab (its devices in lab order, each resolved: ``spec.index`` set)."""
    boxes = [(d, b) for d in devices if (b := _lab_box(d)) is not None]
    offs = {d.name: off(d) for d, _ in boxes}
    links: dict[str, list[Link]] = {d.name: [] for d, _ in boxes}
    ports: dict[str, int] = {}

    def next_port(box: Box) -> str:
        ports[box.key] = ports.get(box.key, 0) + 1
        return box.port(ports[box.key])

    def connect(a: Box, b: Box, runs_a: frozenset[str], runs_b: frozenset[str] | None) -> list[Link]:
        """One cable between a and b; each end's table gets an entry per protocol both run."""
        pa, pb = next_port(a), next_port(b)
        made = []
        for proto in PROTOCOLS:
            if proto in runs_a and proto in b.protocols and (runs_b is None or proto in runs_b):
                links[a.key].append(Link(proto, pa, b, pb))
                made.append(Link(proto, pa, b, pb))
                if runs_b is not None and proto in a.protocols:
                    links[b.key].append(Link(proto, pb, a, pa))
        return made

    def runs(d) -> frozenset[str]:
        return frozenset(PROTOCOLS) - offs[d.name]

    # The ring: each announcing device cabled to the next (two devices: one cable).
    n = len(boxes)
    for i in range(n if n > 2 else n - 1):
        (da, a), (db, b) = boxes[i], boxes[(i + 1) % n]
        connect(a, b, runs(da), runs(db))
    # The strangers, one set per group of healthy announcing devices.
    spec = data()
    healthy = [(d, b) for d, b in boxes if not b.faulty]
    size = int(spec["group"])
    seed = devices[0].spec.seed if devices else 0
    unlisted: list[Unlisted] = []
    for g, start in enumerate(range(0, len(healthy), size)):
        members = healthy[start : start + size]
        for ordinal, entry in enumerate(spec["strangers"]):
            box = _stranger(entry, g, seed, ordinal)
            truth = Unlisted(box.key, box.device_id, box.model or box.platform, box.cisco, box.addresses, box.serial,
                             tuple(sorted(box.protocols)))
            heard: set[str] = set()
            for pos in dict.fromkeys(p % len(members) for p in entry["seen_at"]):
                d, seer = members[pos]
                made = connect(seer, box, runs(d), None)
                truth.seen_by += [(d.name, link.local_port) for link in made[:1]]
                heard |= {link.protocol for link in made}
            # What the report can know of its platform: CDP's Platform line, else LLDP-MED's model.
            truth.platform = box.platform if "cdp" in heard else box.model
            if truth.seen_by:
                unlisted.append(truth)
    return Topology(links, offs, unlisted)


def attach(devices: Sequence[Any]) -> Topology:
    """Build the lab's topology and give each device its table (``neighbour_links``, ``neighbour_off``)."""
    topo = build(devices)
    for d in devices:
        d.neighbour_links = topo.links.get(d.name)
        d.neighbour_off = topo.off.get(d.name, frozenset())
    return topo


def unlisted(devices: Sequence[Any]) -> list[Unlisted]:
    """Ground truth for the gap report: every stranger a healthy lab device sees."""
    return build(devices).unlisted
