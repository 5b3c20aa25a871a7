"""``show cdp neighbors detail`` and ``show lldp neighbors detail`` (IOS, IOS XE, NX-OS, IOS XR)
-> :class:`agent.core.models.Neighbour` entries (issue 17).

Why a line reader and not ntc-templates' TextFSM templates (``cisco_{ios,nxos,xr}_show_{cdp,lldp}
_neighbors_detail``), which were tried first on these fixtures: each keeps one address per entry
(a ``Value`` without ``List``), so a second entry address, the IPv6 ones and the management
addresses are lost; IOS's CDP template reads only IPv4 (``IP address:``), XR's LLDP one only a
dotted-MAC chassis id and errors out (``-> Error``) on any line it does not know (XR 7's
``Parent Interface:``); NX-OS's LLDP template requires ``System Name`` as one word, so an entry
with no system name (chassis id only) disappears; the CDP templates keep only the first line of
the version text; and several rules (``${PLATFORM}\\s*,\\s*Capabilities``, ``(.*)`` before
``\\s*$$``) retry a long line from every character, which ``tests/hostile/test_parsing_regex.py``
refuses.  The outputs are ``Label: value`` lines in blocks, so one reader serves every platform:
labels are looked up in a table (data, below), values are taken with ``str.partition``
(linear whatever a device prints), addresses and multi-line texts are sections.

Entries start at a CDP ``Device ID:`` line; for LLDP at a separator line (``-----``, IOS and XR)
or when the entry's first field comes again (NX-OS entries follow each other without one).
"""
from __future__ import annotations

import ipaddress
import re

from agent.core.models import Neighbour, NeighbourStatus

from ._util import ParseError

# Bounds (issue 12's rule: a device chooses what it prints).  No device has 20,000 neighbours: a
# capture holding more is not a neighbour table.  Texts are cut, never refused.
MAX_ENTRIES = 20_000
MAX_FIELD = 255  # characters of a name, port, platform, address
MAX_TEXT = 2_000  # characters of a description / version text
MAX_TEXT_LINES = 24
MAX_ADDRESSES = 64  # per entry and kind

# Label (lower case, blanks collapsed) -> field.  One table per protocol: the platforms' spellings
# differ ('Local Intf' IOS, 'Local Interface' XR, 'Local Port id' NX-OS), the meanings do not.
CDP_LABELS = {
    "device id": "device_id",
    "system name": "system_name", "sysname": "system_name",
    "entry address(es)": "@addresses", "interface address(es)": "@addresses",
    "management address(es)": "@mgmt_addresses", "mgmt address(es)": "@mgmt_addresses",
    "platform": "platform",  # 'Platform: cisco WS-C3850-24XS,  Capabilities: Switch IGMP'
    "interface": "local_port",  # 'Interface: Gi1/0/1,  Port ID (outgoing port): Gi0/1' (XR: two lines)
    "port id (outgoing port)": "remote_port",
    "version": "#description",
}
LLDP_LABELS = {
    "local intf": "local_port", "local interface": "local_port", "local port id": "local_port",
    "chassis id": "chassis_id",
    "port id": "remote_port",
    "port description": "port_description",
    "system name": "system_name",
    "system description": "#description",
    "enabled capabilities": "capabilities",
    "management addresses": "@mgmt_addresses",
    "management address": "mgmt_addresses", "management address ipv6": "mgmt_addresses",
    # LLDP-MED inventory TLVs (phones, access points): where LLDP announces a serial.
    "serial number": "serial", "manufacturer": "manufacturer", "model": "platform",
}
# Lines that end a multi-line text (besides a blank line): the next field of the entry.
_TEXT_ENDS = {"time remaining", "advertisement version", "system capabilities", "holdtime", "hold time"}
# Fields whose second sighting in one LLDP entry means a new entry (NX-OS has no separators).
_LLDP_FIRST = ("local_port", "chassis_id")
_NOT_ANNOUNCED = {"", "not advertised", "- not advertised", "null", "n/a", "none", "''"}
_TOTAL = ("total cdp entries displayed", "total entries displayed")


def _label(line: str) -> tuple[str, str] | None:
    """('label', 'value') of a 'Label: value' line, or None.  A label is short and has no ':'."""
    head, sep, value = line.partition(":")
    if not sep or len(head) > 48:
        return None
    return " ".join(head.split()).lower(), value


def printable(value: str, limit: int = MAX_FIELD) -> str:
    """``value`` cut at ``limit`` with every character that is not printable written as an escape
    (``\\x1b``, ``\\x9b``, ``\\u2028``).  A neighbour's name is chosen by whoever plugged it in, and
    reaches terminals, tables and file names: the cleaning of CLI text removes C0 controls, but C1
    controls (an 8-bit CSI), line separators and the controls a JSON string spells ``\\u001b`` pass it."""
    v = value[: limit * 2]
    if not v.isprintable():
        v = "".join(c if c.isprintable() else (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}")
                    for c in v)
    return v[:limit].strip()


def _cut(value: str, limit: int = MAX_FIELD) -> str:
    v = value.strip()
    if v.lower() in _NOT_ANNOUNCED:
        return ""
    return printable(v, limit)


def address(value: str) -> str:
    """An IPv4 / IPv6 address as printed (lower case), or '' for anything else ('(link-local)'
    and other remarks after it dropped)."""
    token = value.strip().split(" ", 1)[0].split("\t", 1)[0].strip().lower()
    if not token or len(token) > 64:
        return ""
    try:
        ipaddress.ip_address(token)
    except ValueError:
        return ""
    return token


class _Entry:
    """Fields of one entry while it is read."""

    __slots__ = ("fields", "addresses", "mgmt_addresses", "text", "capabilities")

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}
        self.addresses: list[str] = []
        self.mgmt_addresses: list[str] = []
        self.text: list[str] = []
        self.capabilities: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.fields or self.addresses or self.mgmt_addresses or self.text)

    def add(self, kind: str, value: str) -> None:
        addr = address(value)
        target = self.addresses if kind == "addresses" else self.mgmt_addresses
        if addr and addr not in target and len(target) < MAX_ADDRESSES:
            target.append(addr)


def _neighbour(protocol: str, e: _Entry) -> Neighbour:
    f = e.fields
    lines = [ln for ln in e.text if ln]
    description = "\n".join(lines)[:MAX_TEXT]
    device_id = f.get("device_id") or f.get("system_name") or f.get("chassis_id", "")
    return Neighbour(
        protocol=protocol,
        local_port=f.get("local_port", ""),
        device_id=device_id,
        remote_port=f.get("remote_port", ""),
        platform=f.get("platform", ""),
        capabilities=e.capabilities,
        software=lines[0][:MAX_FIELD] if lines else "",
        description=description,
        addresses=tuple(e.addresses),
        mgmt_addresses=tuple(e.mgmt_addresses),
        chassis_id=f.get("chassis_id", ""),
        port_description=f.get("port_description", ""),
        system_name=f.get("system_name", ""),
        manufacturer=f.get("manufacturer", ""),
        serial=f.get("serial", ""),
        serial_source="lldp-med" if f.get("serial") else "",
    )


# CDP capability names of more than one word (IOS's phones, NX-OS), kept whole.
_MULTI_WORD = ("Two-port Mac Relay", "IGMP Filtering")


def _capabilities(protocol: str, value: str) -> tuple[str, ...]:
    # CDP: 'Router Switch IGMP'; LLDP: 'B,R' / 'B, R'; 'not advertised' (NX-OS), 'N/A' (XR): none.
    if not _cut(value):
        return ()
    if protocol == "lldp":
        parts = value.replace(",", " ").split()
    else:
        for phrase in _MULTI_WORD:
            value = value.replace(phrase, phrase.replace(" ", "\x00"))
        parts = [p.replace("\x00", " ") for p in value.split()]
    return tuple(p[:32] for p in parts if p.lower() not in _NOT_ANNOUNCED and p.upper() != "N/A")[:32]


def parse(protocol: str, platform: str, command: str, body: str) -> list[Neighbour]:
    """Entries of a cleaned capture.  Raises ParseError when nothing of a neighbour table is there
    (no entry, no 'Total ... entries displayed' line, no 'Capability codes' header)."""
    labels = CDP_LABELS if protocol == "cdp" else LLDP_LABELS
    entries: list[Neighbour] = []
    entry = _Entry()
    section = ""  # '@addresses' / '@mgmt_addresses' while an address list is read, '#text' in a text
    recognised = False

    def close() -> None:
        nonlocal entry
        if entry and (entry.fields.get("device_id") or entry.fields.get("chassis_id")
                      or entry.fields.get("local_port")):
            if len(entries) >= MAX_ENTRIES:
                raise ParseError(platform, command, f"more than {MAX_ENTRIES} entries: not a neighbour table")
            entries.append(_neighbour(protocol, entry))
        entry = _Entry()

    for line in body.split("\n"):
        stripped = line.strip()
        if section == "#text":
            lab = _label(stripped)
            # A text ends at a blank line, at the entry's next field, or at any field of the table
            # (a device that prints no blank line must not lose the rest of its entry).
            if not stripped or (lab is not None and (lab[0] in _TEXT_ENDS or lab[0] in labels)):
                section = ""
                if not stripped:
                    continue
            else:
                if len(entry.text) < MAX_TEXT_LINES:
                    entry.text.append(printable(stripped, MAX_TEXT))
                continue
        if section.startswith("@"):
            if line[:1] in (" ", "\t") and stripped:
                lab = _label(stripped)
                if lab is not None and lab[0].startswith("ip"):  # 'IP address', 'IPv6 address', 'IPV6'
                    entry.add(section[1:], lab[1])
                continue  # 'OID:' lines and the like inside the list
            section = ""
        if not stripped:
            continue
        if stripped.startswith("---"):  # entry separator (IOS, XR; NX-OS CDP)
            close()
            recognised = True
            continue
        low = stripped.lower()
        if low.startswith(_TOTAL) or low.startswith("capability codes"):
            recognised = True
            continue
        lab = _label(stripped)
        if lab is None:
            continue
        key, value = lab
        name = labels.get(key)
        if name is None:
            continue
        recognised = True
        if name.startswith("@"):
            section = name
            continue
        if name == "#description":
            section = "#text"
            first = value.strip()
            if first and len(entry.text) < MAX_TEXT_LINES:
                entry.text.append(_cut(first, MAX_TEXT))
            continue
        if protocol == "cdp" and name == "device_id" and entry:
            close()
        if protocol == "lldp" and name in _LLDP_FIRST and name in entry.fields:
            close()
        if name == "platform" and protocol == "cdp":
            head, sep, caps = value.partition("Capabilities:")
            value = head.strip().rstrip(",")
            if sep:
                entry.capabilities = _capabilities(protocol, caps)
        elif name == "local_port" and protocol == "cdp":
            head, sep, port = value.partition("Port ID (outgoing port):")
            value = head.strip().rstrip(",")
            if sep:
                entry.fields["remote_port"] = _cut(port)
        elif name == "capabilities":
            entry.capabilities = _capabilities(protocol, value)
            continue
        elif name == "mgmt_addresses":
            entry.add("mgmt_addresses", value)
            continue
        cut = _cut(value)
        if cut:
            entry.fields[name] = cut
    close()
    if not entries and not recognised:
        raise ParseError(platform, command, f"no {protocol.upper()} neighbour entry nor table header recognised")
    return entries


# '% CDP is not enabled' (IOS, IOS XE, NX-OS, IOS XR), '% LLDP is not enabled'; NX-OS also prints
# it without the '%'.  Checked on the answer's first lines only, as platform refusals are.
_OFF = re.compile(r"[ \t]*+(?:ERROR:[ \t]*+)?(?:%[ \t]*+)?(?:CDP|LLDP)[ \t]++is[ \t]++not[ \t]++(?:enabled|running)", re.I)
_OFF_LINES = 4


def not_enabled(body: str) -> str:
    """The device's line saying the protocol is off, or ''."""
    for ln in body.split("\n", _OFF_LINES)[:_OFF_LINES]:
        if _OFF.match(ln):
            return ln.strip()[:MAX_FIELD]
    return ""


def status(protocol: str, state: str = "read", detail: str = "") -> NeighbourStatus:
    return NeighbourStatus(protocol=protocol, state=state, detail=detail[:MAX_FIELD])
