"""SNMP captures: snmprec-style ``OID|type|value`` lines -> :class:`ParseResult`.

The SNMP collector keeps what the agent answered as snmpsim's recording format (one varbind a
line, ``4x`` = hex-encoded octets), so a capture, a corpus recording and a lab data file are
read by the same code.  Whatever the capture's name (``snmp:system``, ``snmp:entPhysicalTable``
or a whole recording), every line is used:

* SNMPv2-MIB system group -> facts: ``sys_descr``, ``sys_object_id``, ``sys_name``,
  ``hostname`` (sysName up to the first dot, as ``show version`` names the host),
  ``os_version`` (the version sysDescr states), ``model`` (IOS XR's ``(Cisco ASR9K Series)``).
* ENTITY-MIB entPhysicalTable -> one :class:`RawComponent` per entity that identifies hardware
  (it has a model name or a serial, or it is a chassis / stack / the top entity): containers,
  sensors and bare ports are structure, not items, and ``show inventory`` does not print them
  either.  The top entity's description is the ``chassis_descr`` fact.
  ``physical_class`` is the entPhysicalClass name (``chassis``, ``powerSupply``, ``port``...),
  ``source_index`` the entPhysicalIndex and ``parent_ref`` the index of the nearest kept
  ancestor along entPhysicalContainedIn (containers in between are skipped), ``""`` at the top.
* CISCO-CDP-MIB cdpCacheTable, LLDP-MIB lldpRemTable / lldpRemManAddrTable -> ``neighbours``
  and a 'read' ``neighbour_status`` per protocol (``parsers.snmp_neighbours``).
"""
from __future__ import annotations

import re

from agent.core.models import Facts, ParseResult, RawComponent

from . import snmp_neighbours as _neighbours
from ._util import ParseError, to_int

SYS = "1.3.6.1.2.1.1."
SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SYS_NAME = "1.3.6.1.2.1.1.5.0"
ENT_PHYSICAL_ENTRY = "1.3.6.1.2.1.47.1.1.1.1"

# entPhysicalEntry columns (RFC 6933).
COLUMNS = {
    2: "descr", 3: "vendor_type", 4: "contained_in", 5: "class", 6: "parent_rel_pos", 7: "name",
    8: "hardware_rev", 9: "firmware_rev", 10: "software_rev", 11: "serial", 12: "mfg_name", 13: "model",
    14: "alias", 15: "asset_id", 16: "is_fru",
}
# PhysicalClass (ENTITY-MIB / IANA-ENTITY-MIB).
CLASSES = {
    1: "other", 2: "unknown", 3: "chassis", 4: "backplane", 5: "container", 6: "powerSupply", 7: "fan",
    8: "sensor", 9: "module", 10: "port", 11: "stack", 12: "cpu", 13: "energyObject", 14: "battery",
    15: "storageDrive",
}
_STRUCTURE = {"chassis", "stack"}
_PRIVATE = re.compile(r"^<[^>]*>$")  # '<private>' in published recordings
_DOTTED_QUAD = re.compile(r"[\d.]+")

# Version as sysDescr states it, per family; first match wins.  sysDescr is device text, so each
# pattern is linear in its length: a family name is looked for once, from the start, and committed
# to (atomic): from a later occurrence of the name the same 'Version' could only be found again, and
# a search retried from each of thousands of repeated names was quadratic.
_VERSION = (
    re.compile(r"\A(?>.*?IOS XR Software).*?Version\s+([0-9][\w.]*(?:\[[^\]]*\])?)", re.S),
    re.compile(r"\A(?>.*?Adaptive Security Appliance).*?Version\s+(\d[\w.()]*)", re.S),
    re.compile(r"Firepower Threat Defense,\s*+Version\s+([\d.]+(?:\s*\(Build\s*\d+\))?)", re.S | re.I),
    re.compile(r"\A(?>.*?NX-OS).*?Version\s+(\d[\w.()]*)", re.S),
    re.compile(r"\bVersion:?\s+([0-9][^\s,#]*)"),
)
_XR_MODEL = re.compile(r"\A(?>.*?IOS XR Software\s*+\((?=[^)]))([^)]+)\)", re.S)


def decode(tag: str, value: str) -> str:
    """The text of one recorded value: ``4x`` hex octets decoded, everything else as written."""
    if tag.endswith("x"):
        try:
            raw = bytes.fromhex(value.strip())
        except ValueError:
            return value
        return raw.decode("utf-8", errors="replace")
    return value


def varbinds(text: str) -> list[tuple[str, str, str]]:
    """(oid, type tag, decoded value) per line; lines that are not ``OID|type|value`` are skipped."""
    out = []
    for line in text.splitlines():
        parts = line.split("|", 2)
        if len(parts) != 3:
            continue
        oid, tag, value = parts
        oid = oid.strip().lstrip(".")
        if not oid or not oid[0].isdigit():
            continue
        tag = tag.strip().split(":", 1)[0]  # snmpsim variation modules: '4:numeric'
        out.append((oid, tag, decode(tag, value)))
    return out


def _quoted(v: str) -> str:
    # Some published recordings kept the quotes their tool printed around strings.
    v = v.strip()
    if len(v) >= 2 and v[0] == v[-1] == '"':
        v = v[1:-1]
    return v


def version_from_descr(descr: str) -> str:
    for rx in _VERSION:
        m = rx.search(descr)
        if m:
            return " ".join(m.group(1).split()).rstrip(",")
    return ""


def _facts(system: dict[str, str]) -> Facts:
    facts: Facts = {}
    descr = _quoted(system.get(SYS_DESCR, ""))
    if descr:
        facts["sys_descr"] = descr
        version = version_from_descr(descr)
        if version:
            facts["os_version"] = version
            facts["versions_seen"] = [version]
        m = _XR_MODEL.search(descr)
        if m:
            facts["model"] = m.group(1).strip()
    oid = system.get(SYS_OBJECT_ID, "").strip().lstrip(".")
    if oid:
        facts["sys_object_id"] = oid
    name = _quoted(system.get(SYS_NAME, ""))
    if name and not _PRIVATE.match(name):
        facts["sys_name"] = name
        # IOS appends 'ip domain-name' to sysName; the device's own host name is the first label.
        host = name if _DOTTED_QUAD.fullmatch(name) else name.split(".", 1)[0]
        if host and " " not in host:
            facts["hostname"] = host
    return facts


def entity_rows(table: dict[int, dict[str, str]]) -> list[RawComponent]:
    """RawComponents from entPhysicalTable columns keyed by entPhysicalIndex."""
    kept: dict[int, RawComponent] = {}
    cls_of: dict[int, str] = {}
    for index in sorted(table):
        row = table[index]
        cls = CLASSES.get(to_int(row.get("class")) or 0, "")
        cls_of[index] = cls
        model = _quoted(row.get("model", ""))
        serial = _quoted(row.get("serial", ""))
        top = to_int(row.get("contained_in")) == 0
        if not (model.strip() or serial.strip() or cls in _STRUCTURE or top):
            continue
        descr = _quoted(row.get("descr", ""))
        kept[index] = RawComponent(
            name=_quoted(row.get("name", "")).strip() or descr.strip(),
            descr=descr.strip(),
            pid=model.strip(),
            vid=_quoted(row.get("hardware_rev", "")).strip(),
            serial=serial.strip(),
            physical_class=cls,
            source_index=str(index),
        )
    for index, comp in kept.items():
        seen = {index}
        parent = to_int(table[index].get("contained_in"))
        while parent and parent not in kept and parent in table and parent not in seen:
            seen.add(parent)
            parent = to_int(table[parent].get("contained_in"))
        comp.parent_ref = str(parent) if parent in kept and parent != index else ""
    return list(kept.values())


def parse(platform: str, command: str, text: str) -> ParseResult:
    if not isinstance(text, str):
        raise ParseError(platform, command, f"capture is {type(text).__name__}, not text")
    system: dict[str, str] = {}
    table: dict[int, dict[str, str]] = {}
    prefix = ENT_PHYSICAL_ENTRY + "."
    seen = 0
    for oid, _tag, value in varbinds(text):
        seen += 1
        if oid.startswith(SYS):
            system[oid] = value
        elif oid.startswith(prefix):
            col, _, idx = oid[len(prefix):].partition(".")
            name = COLUMNS.get(to_int(col) or 0)
            index = to_int(idx)
            if name and index is not None and "." not in idx:
                table.setdefault(index, {})[name] = value
    if not seen:
        protocol = _neighbours.WALKS.get(command)
        if protocol:
            # A neighbour walk that found no row: an agent with no neighbour (or the protocol off:
            # the MIB cannot tell the two apart) answers an empty table, which is an answer (issue 17).
            return ParseResult(neighbour_status=[_neighbours.NeighbourStatus(protocol, "read")])
        raise ParseError(platform, command, "no OID|type|value lines")
    facts = _facts(system)
    components = entity_rows(table)
    # CDP / LLDP neighbour tables (issue 17), when the capture holds them: parsers.snmp_neighbours.
    neighbours, statuses = _neighbours.parse(text, platform, command)
    # The top entity describes the device as a whole ('Cisco ASR9K Series chassis', 'C29xx Stacking').
    root = next((c for c in components if not c.parent_ref), None)
    if root is not None and (root.descr or root.name):
        facts["chassis_descr"] = root.descr or root.name
    if not facts and not components and not statuses:
        raise ParseError(platform, command, "neither SNMPv2-MIB system values nor entPhysicalTable rows")
    return ParseResult(facts=facts, components=components, neighbours=neighbours, neighbour_status=statuses)
