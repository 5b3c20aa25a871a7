"""The gap report's rules (issue 17): which CDP / LLDP neighbours are Cisco gear in no inventory.

Pure functions of what the fleet's devices saw and what the fleet knows of itself; the store
wiring is ``agent.reconcile.neighbours_store``.

The matching rule.  A neighbour is a *known* device when any of these ties it to a device of the
fleet (every device the store holds an attempt for, a failed one included: it is listed):
  * an address it announces (CDP entry / management, LLDP management; IPv4-mapped IPv6 read as
    its IPv4) is a device's inventory host;
  * its name, with or without its domain, case-insensitive (``ACC-SW1.corp.invalid`` is
    ``acc-sw1``), is a device's inventory name or the host name its ``show version`` gave, with
    or without theirs;
  * a serial it announces (NX-OS ``name(SERIAL)``, LLDP-MED) is any serial the fleet's devices
    hold (a chassis, a stack member, a supervisor: a neighbour announces its own chassis).
Why so many ways: no one field is always there.  An IOS box may announce no address; a device id
carries whatever domain the box has; an inventory names hosts by address.  Each way is exact
(no prefix or fuzzy match): a false "known" would hide exactly the device the report is for.

Several devices (and both protocols) see the same neighbour: entries are merged when they share
a serial or a host name (without domain), else a chassis MAC or an address; each merged neighbour
keeps every (device, port) that sees it.  Non-Cisco neighbours (``Neighbour.cisco``, the one rule
of agent.core.models) are counted, listed only on request.
"""
from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from agent.core import platforms
from agent.core.models import Neighbour, mac_oui


@dataclass(frozen=True, slots=True)
class KnownDevice:
    """One device of the fleet, as the matcher sees it."""

    device: str  # inventory name
    host: str = ""  # inventory host (address or DNS name)
    hostname: str = ""  # as its show version gave it
    serials: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Sighting:
    device: str  # the fleet device that sees it
    local_port: str
    protocol: str
    remote_port: str
    capture_id: int | None = None  # the capture that shows it (evidence)


@dataclass(slots=True)
class Unlisted:
    """One neighbour in no inventory, merged over every device and protocol that sees it."""

    name: str  # its host name as announced (lower case, domain and '(SERIAL)' off)
    device_ids: list[str] = field(default_factory=list)  # as announced, each once
    platform: str = ""  # the announced platform / PID (CDP Platform, LLDP-MED model)
    software: str = ""  # the announced release line
    addresses: list[str] = field(default_factory=list)
    serial: str = ""
    cisco: bool = False
    protocols: list[str] = field(default_factory=list)
    seen_by: list[Sighting] = field(default_factory=list)

    @property
    def seers(self) -> list[str]:
        return sorted({s.device for s in self.seen_by})

    @property
    def ports(self) -> list[tuple[str, str, list[str]]]:
        """(device, its port, protocols) per port that sees it: one line for CDP and LLDP on one port."""
        out: dict[tuple[str, str], list[str]] = {}
        for s in sorted(self.seen_by, key=lambda s: (s.device, s.local_port)):
            protos = out.setdefault((s.device, s.local_port), [])
            if s.protocol not in protos:
                protos.append(s.protocol)
        return [(d, p, protos) for (d, p), protos in out.items()]

    @property
    def ibagent_platform(self) -> str | None:
        """Our platform for it (agent.core.platforms.from_announced), None when not one platform."""
        return platforms.from_announced(self.software, self.platform)

    @property
    def inventory_address(self) -> str | None:
        """The first usable address to reach it by: IPv4 first, link-local, multicast and unspecified
        left out (they name no box to log in to)."""
        usable = [a for a in self.addresses if _usable(a)]
        usable.sort(key=lambda a: ":" in a)  # stable: IPv4 first, each family in announced order
        return usable[0] if usable else None


def _usable(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return not (ip.is_link_local or ip.is_multicast or ip.is_unspecified)


# A dotted quad as ipaddress accepts it and prints it back unchanged: four decimal octets of
# 0-255, ASCII digits only, no leading zero.  Such text is its own normal form.
_CANONICAL_IPV4 = re.compile(r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}"
                             r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])")


def normal_address(text: str) -> str:
    """An address in one spelling: lower case, compressed, IPv4-mapped IPv6 as its IPv4; '' when
    ``text`` is no address."""
    text = str(text).strip().split("%", 1)[0]
    # Without a colon the text can only be IPv4, and ipaddress takes only the canonical dotted
    # quad: one regex answers, instead of an IPv4 and an IPv6 parse and their exceptions for
    # every name (the known-device index asks this of every device's name, host and host name).
    if ":" not in text:
        return text if _CANONICAL_IPV4.fullmatch(text) else ""
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return ""
    mapped = getattr(ip, "ipv4_mapped", None)
    return str(mapped if mapped is not None else ip)


def _names(text: str) -> set[str]:
    """A name with and without its domain, lower case ('' left out)."""
    name = str(text or "").strip().lower().rstrip(".")
    if not name:
        return set()
    return {name, name.split(".", 1)[0]} if not normal_address(name) else {name}


@dataclass(slots=True)
class KnownIndex:
    names: dict[str, str] = field(default_factory=dict)  # name form -> device
    addresses: dict[str, str] = field(default_factory=dict)
    serials: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, devices: Iterable[KnownDevice]) -> KnownIndex:
        index = cls()
        for d in devices:
            for form in _names(d.device) | _names(d.hostname) | (_names(d.host) if not normal_address(d.host) else set()):
                index.names.setdefault(form, d.device)
            if (a := normal_address(d.host)):
                index.addresses.setdefault(a, d.device)
            for sn in d.serials:
                if sn:
                    index.serials.setdefault(sn.strip().upper(), d.device)
        return index

    def match(self, n: Neighbour) -> str | None:
        """The fleet device this neighbour is, or None (module docstring: the matching rule)."""
        if n.serial and n.serial.upper() in self.serials:
            return self.serials[n.serial.upper()]
        for text in (n.name, n.hostname, n.system_name):
            for form in _names(text):
                if form in self.names:
                    return self.names[form]
        for a in (*n.addresses, *n.mgmt_addresses):
            if (key := normal_address(a)) and key in self.addresses:
                return self.addresses[key]
        return None


def _keys(n: Neighbour) -> list[str]:
    """What ties two entries to one neighbour: serial, host name, else chassis MAC, else addresses."""
    keys = [f"sn:{n.serial.upper()}"] if n.serial else []
    if n.hostname and not normal_address(n.hostname) and not mac_oui(n.hostname):
        keys.append(f"name:{n.hostname}")
    if not keys and n.chassis_id:
        keys.append(f"chassis:{n.chassis_id.lower()}")
    if not keys:
        keys += [f"addr:{a}" for a in map(normal_address, (*n.addresses, *n.mgmt_addresses)) if a]
    return keys or [f"id:{n.device_id.lower()}"]


def unlisted(seen: Sequence[tuple[Neighbour, int | None]], known: KnownIndex) -> list[Unlisted]:
    """Every neighbour (with the capture it was read from) that matches no known device, merged
    (module docstring); Cisco and not, ordered by name."""
    parent: dict[str, str] = {}

    def find(k: str) -> str:
        while parent.setdefault(k, k) != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    entries = [(n, cap, _keys(n)) for n, cap in seen if known.match(n) is None]
    for _, _, keys in entries:
        for k in keys[1:]:
            parent[find(k)] = find(keys[0])
    groups: dict[str, Unlisted] = {}
    order: list[str] = []
    for n, cap, keys in sorted(entries, key=lambda e: (e[0].protocol != "cdp", e[0].local_device, e[0].local_port)):
        root = find(keys[0])
        u = groups.get(root)
        if u is None:
            u = groups[root] = Unlisted(name=n.hostname or n.name or n.device_id)
            order.append(root)
        if n.device_id not in u.device_ids:
            u.device_ids.append(n.device_id)
        u.platform = u.platform or n.platform
        u.software = u.software or n.software
        for a in (*n.mgmt_addresses, *n.addresses):
            if a not in u.addresses:  # as announced (lower case): '::ffff:127.0.9.21' stays what it was
                u.addresses.append(a)
        u.serial = u.serial or n.serial
        u.cisco = u.cisco or n.cisco
        if n.protocol not in u.protocols:
            u.protocols.append(n.protocol)
        sighting = Sighting(n.local_device, n.local_port, n.protocol, n.remote_port, cap)
        if sighting not in u.seen_by:
            u.seen_by.append(sighting)
    out = [groups[r] for r in order]
    out.sort(key=lambda u: (u.name, u.serial))
    return out
