"""CISCO-CDP-MIB ``cdpCacheTable`` and LLDP-MIB ``lldpRemTable`` / ``lldpRemManAddrTable`` rows
-> :class:`agent.core.models.Neighbour` entries (issue 17).

Rows arrive as the SNMP inventory parser receives them (``parsers.snmp``): snmprec lines
``OID|type|value``, an octet string as text or as ``4x|<hex>`` of its bytes.  Here the bytes
matter (an address, a MAC, a capability bitmap), so values are read back to their bytes, never
through ``parsers.snmp.decode``'s text: an address whose octets happen to be printable is written as
text by the collector and must give the same bytes back.

* cdpCacheEntry (1.3.6.1.4.1.9.9.23.1.2.1.1.<column>.<ifIndex>.<deviceIndex>): DeviceId (6),
  DevicePort (7), Platform (8), Version (5), Capabilities (9, the CDP bitmap), SysName (17), and
  the addresses: cdpCacheAddress (4) decoded by cdpCacheAddressType (3: ip(1) four octets, ipv6(20)
  sixteen), the primary / secondary management addresses (19/20, 21/22) likewise.  The local port is
  the row's ifIndex named by IF-MIB ifName (else ifDescr) when those rows are in the capture.
* lldpRemEntry (1.0.8802.1.1.2.1.4.1.1.<column>.<timeMark>.<localPortNum>.<index>): chassis id by
  its subtype (a MAC as Cisco prints it, an address, a name), port id, port description, system
  name and description, enabled capabilities (the BITS as IOS's letters); lldpRemManAddrTable
  carries the management address in its index (subtype 1 IPv4, 2 IPv6, then length, octets).  The
  local port is lldpLocPortId (else lldpLocPortDesc) of the local port number.

Not read: LLDP-MED's inventory (LLDP-EXT-MED-MIB, the serial a phone announces): no collector
walks it yet, and the CLI's 'Serial number:' line gives the same fact.
"""
from __future__ import annotations

import ipaddress

from agent.core.models import Neighbour, NeighbourStatus

from ._util import ParseError
from .neighbours import MAX_ENTRIES, MAX_FIELD, MAX_TEXT, printable

CDP_CACHE = "1.3.6.1.4.1.9.9.23.1.2.1.1."
LLDP_REM = "1.0.8802.1.1.2.1.4.1.1."
LLDP_REM_MAN_ADDR = "1.0.8802.1.1.2.1.4.2.1."
LLDP_LOC_PORT = "1.0.8802.1.1.2.1.3.7.1."
IF_NAME = "1.3.6.1.2.1.31.1.1.1.1."
IF_DESCR = "1.3.6.1.2.1.2.2.1.2."
# The SNMP collector's neighbour captures (collectors.snmp.NEIGHBOUR_WALKS) -> the protocol they read.
WALKS = {"snmp:cdpCacheTable": "cdp", "snmp:lldpRemTable": "lldp"}
PREFIXES = (CDP_CACHE, LLDP_REM, LLDP_REM_MAN_ADDR, LLDP_LOC_PORT, IF_NAME, IF_DESCR)

CDP_COLUMNS = {3: "address_type", 4: "address", 5: "version", 6: "device_id", 7: "device_port", 8: "platform",
               9: "capabilities", 17: "sys_name", 19: "primary_type", 20: "primary", 21: "secondary_type",
               22: "secondary"}
LLDP_COLUMNS = {4: "chassis_subtype", 5: "chassis_id", 6: "port_subtype", 7: "port_id", 8: "port_desc",
                9: "sys_name", 10: "sys_desc", 12: "cap_enabled"}
# The CDP capabilities TLV's bits, low to high, named as IOS prints them.
CDP_CAPABILITIES = ("Router", "Trans-Bridge", "Source-Route-Bridge", "Switch", "Host", "IGMP", "Repeater",
                    "Phone", "Remote", "CVTA", "Two-port Mac Relay")
# LLDP-MIB LldpSystemCapabilitiesMap: BITS, bit 0 the first octet's high bit; IOS's letters.
LLDP_CAPABILITIES = ("O", "P", "B", "W", "R", "T", "C", "S")
_CDP_ADDRESS_LEN = {1: 4, 20: 16}  # CiscoNetworkProtocol ip(1), ipv6(20)
_INET_FAMILY = {1: 4, 2: 16}  # IANA AddressFamilyNumbers ipv4(1), ipv6(2) (LLDP management / chassis)


def _octets(tag: str, value: str) -> bytes:
    """The bytes a recorded value stands for: ``4x`` hex, else the text's UTF-8 (the collector
    writes an octet string as text only when it was UTF-8)."""
    if tag.endswith("x"):
        try:
            return bytes.fromhex(value.strip())
        except ValueError:
            return b""
    return value.encode("utf-8", errors="surrogateescape")


def text(raw: bytes, limit: int = MAX_FIELD) -> str:
    """Bytes as printable text: control characters escaped (``\\x07``), cut at ``limit``.  A device id
    is device text that reaches tables and file names; it never carries a terminal escape through."""
    s = raw.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n").strip()
    return "\n".join(printable(line, limit) for line in s[: limit * 2].split("\n"))[:limit].strip()


def _int(value: str) -> int | None:
    try:
        return int(value.strip())
    except ValueError:
        return None


def _ip(raw: bytes) -> str:
    if len(raw) not in (4, 16):
        return ""
    addr = ipaddress.ip_address(raw)
    # An IPv4-mapped IPv6 address is written '::ffff:127.0.1.2', as devices print it (Python before
    # 3.13 writes '::ffff:7f00:102'; the form must not change with the interpreter).
    mapped = getattr(addr, "ipv4_mapped", None)
    return f"::ffff:{mapped}" if mapped is not None else str(addr)


def _mac(raw: bytes) -> str:
    h = raw.hex()
    return f"{h[0:4]}.{h[4:8]}.{h[8:12]}" if len(raw) == 6 else ""


def _bits(raw: bytes, names: tuple[str, ...], low_first: bool) -> tuple[str, ...]:
    if low_first:  # CDP: a 32-bit number, bit 0 the lowest
        n = int.from_bytes(raw[-4:], "big") if raw else 0
        return tuple(name for i, name in enumerate(names) if n >> i & 1)
    return tuple(name for i, name in enumerate(names) if i // 8 < len(raw) and raw[i // 8] >> (7 - i % 8) & 1)


def _rows(lines: list[tuple[str, str, str]]) -> dict[str, dict]:
    tables: dict[str, dict] = {p: {} for p in PREFIXES}
    for oid, tag, value in lines:
        for prefix in PREFIXES:
            if oid.startswith(prefix):
                tables[prefix][oid[len(prefix):]] = (tag, value)
                break
    return tables


def _split(suffix: str) -> list[int] | None:
    parts = suffix.split(".")
    if len(parts) > 64 or not all(p.isdigit() and len(p) <= 10 for p in parts):
        return None
    return [int(p) for p in parts]


def _cdp(cache: dict, if_names: dict[int, str]) -> list[Neighbour]:
    rows: dict[tuple[int, int], dict[str, bytes | str]] = {}
    for suffix, (tag, value) in cache.items():
        arcs = _split(suffix)
        if not arcs or len(arcs) != 3 or arcs[0] not in CDP_COLUMNS:
            continue
        col = CDP_COLUMNS[arcs[0]]
        rows.setdefault((arcs[1], arcs[2]), {})[col] = value if col.endswith("type") else _octets(tag, value)
    out = []
    for (if_index, _dev), r in sorted(rows.items()):
        addresses, mgmt = [], []
        for kind, col, target in (("address_type", "address", addresses), ("primary_type", "primary", mgmt),
                                  ("secondary_type", "secondary", mgmt)):
            raw = r.get(col, b"")
            if raw and _CDP_ADDRESS_LEN.get(_int(str(r.get(kind, ""))) or 0) == len(raw):
                a = _ip(raw)
                if a and a not in target:
                    target.append(a)
        description = text(r.get("version", b""), MAX_TEXT)
        out.append(Neighbour(
            protocol="cdp", local_port=if_names.get(if_index, f"ifIndex {if_index}"),
            device_id=text(r.get("device_id", b"")), remote_port=text(r.get("device_port", b"")),
            platform=text(r.get("platform", b"")), capabilities=_bits(r.get("capabilities", b""), CDP_CAPABILITIES, True),
            software=description.split("\n", 1)[0], description=description,
            addresses=tuple(addresses), mgmt_addresses=tuple(mgmt), system_name=text(r.get("sys_name", b""))))
    return out


def _chassis(subtype: int | None, raw: bytes) -> str:
    if subtype == 4:  # macAddress
        return _mac(raw) or text(raw)
    if subtype == 5 and raw and _INET_FAMILY.get(raw[0]) == len(raw) - 1:  # networkAddress
        return _ip(raw[1:])
    return text(raw)


def _lldp(rem: dict, man: dict, local: dict) -> list[Neighbour]:
    rows: dict[tuple[int, int, int], dict[str, bytes | str]] = {}
    for suffix, (tag, value) in rem.items():
        arcs = _split(suffix)
        if not arcs or len(arcs) != 4 or arcs[0] not in LLDP_COLUMNS:
            continue
        col = LLDP_COLUMNS[arcs[0]]
        rows.setdefault(tuple(arcs[1:]), {})[col] = value if col.endswith("subtype") else _octets(tag, value)
    mgmt: dict[tuple[int, int, int], list[str]] = {}
    for suffix in man:
        arcs = _split(suffix)  # column . timeMark . localPort . index . subtype . length . octets
        if not arcs or len(arcs) < 6 or _INET_FAMILY.get(arcs[4]) != arcs[5] or len(arcs) != 6 + arcs[5]:
            continue
        if any(b > 255 for b in arcs[6:]):
            continue
        a = _ip(bytes(arcs[6:]))
        lst = mgmt.setdefault(tuple(arcs[1:4]), [])
        if a and a not in lst:
            lst.append(a)
    out = []
    for key, r in sorted(rows.items()):
        chassis = _chassis(_int(str(r.get("chassis_subtype", ""))), r.get("chassis_id", b""))
        port_raw = r.get("port_id", b"")
        port = _mac(port_raw) if _int(str(r.get("port_subtype", ""))) == 3 else text(port_raw)
        name = text(r.get("sys_name", b""))
        description = text(r.get("sys_desc", b""), MAX_TEXT)
        out.append(Neighbour(
            protocol="lldp", local_port=local.get(key[1], f"port {key[1]}"), device_id=name or chassis,
            remote_port=port, capabilities=_bits(r.get("cap_enabled", b""), LLDP_CAPABILITIES, False),
            software=description.split("\n", 1)[0], description=description,
            mgmt_addresses=tuple(mgmt.get(key, ())), chassis_id=chassis,
            port_description=text(r.get("port_desc", b"")), system_name=name))
    return out


def _names(table: dict, column: str | None = None) -> dict[int, str]:
    out: dict[int, str] = {}
    for suffix, (tag, value) in table.items():
        arcs = _split(suffix)
        if column is not None:  # lldpLocPortTable: column . portNum
            if not arcs or len(arcs) != 2 or arcs[0] != int(column):
                continue
            arcs = arcs[1:]
        if arcs and len(arcs) == 1:
            name = text(_octets(tag, value))
            if name:
                out[arcs[0]] = name
    return out


def raw_varbinds(text_in: str) -> list[tuple[str, str, str]]:
    """(oid, type tag, value as written) of the lines under the neighbour tables' prefixes: the same
    line rules as ``parsers.snmp.varbinds``, the value left undecoded."""
    out = []
    for line in text_in.splitlines():
        parts = line.split("|", 2)
        if len(parts) != 3:
            continue
        oid = parts[0].strip().lstrip(".")
        if oid.startswith(PREFIXES):
            out.append((oid, parts[1].strip().split(":", 1)[0], parts[2]))
    return out


def parse(text_in: str, platform: str = "?", command: str = "snmp") -> tuple[list[Neighbour], list[NeighbourStatus]]:
    """Neighbours and one 'read' status per protocol whose table the lines hold; ([], []) when
    they hold neither table (an inventory walk)."""
    tables = _rows(raw_varbinds(text_in))
    statuses: list[NeighbourStatus] = []
    found: list[Neighbour] = []
    if tables[CDP_CACHE]:
        if_names = _names(tables[IF_DESCR]) | _names(tables[IF_NAME])
        found += _cdp(tables[CDP_CACHE], if_names)
        statuses.append(NeighbourStatus("cdp", "read"))
    if tables[LLDP_REM] or tables[LLDP_REM_MAN_ADDR]:
        local = _names(tables[LLDP_LOC_PORT], "4") | _names(tables[LLDP_LOC_PORT], "3")
        found += _lldp(tables[LLDP_REM], tables[LLDP_REM_MAN_ADDR], local)
        statuses.append(NeighbourStatus("lldp", "read"))
    if len(found) > MAX_ENTRIES:
        raise ParseError(platform, command, f"more than {MAX_ENTRIES} neighbour rows: not a neighbour table")
    return found, statuses
