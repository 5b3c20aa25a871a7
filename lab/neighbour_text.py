"""What a lab device prints for ``show cdp|lldp neighbors detail``, and the CDP / LLDP MIB rows its
SNMP agent serves, from its links (``lab.neighbours``).

Three layouts, as the platforms print them: IOS / IOS XE (``style: ios``), NX-OS and IOS XR
(``lab/data/neighbours.yaml`` names each platform's).  The lab never reads these texts back: the
truth is ``lab.neighbours``' data; ``tests/test_neighbour_lab.py`` parses what is printed here with
ibagent's parsers and compares it to that data.
"""
from __future__ import annotations

import ipaddress

from .neighbours import Box, Link, data

CDP_COMMAND = "show cdp neighbors detail"
LLDP_COMMAND = "show lldp neighbors detail"
COMMANDS = {CDP_COMMAND: "cdp", LLDP_COMMAND: "lldp"}
_OFF = {"cdp": "% CDP is not enabled", "lldp": "% LLDP is not enabled"}
_LLDP_LEGEND = ["Capability codes:", "    (R) Router, (B) Bridge, (T) Telephone, (C) DOCSIS Cable Device",
                "    (W) WLAN Access Point, (P) Repeater, (S) Station, (O) Other"]


def _v6(a: str) -> bool:
    return ":" in a


def _ios_cdp(links: list[Link]) -> list[str]:
    out: list[str] = []
    for link in links:
        r = link.remote
        out += ["-------------------------", f"Device ID: {r.device_id}", "Entry address(es): "]
        out += [f"  IPv6 address: {a.upper()}  (global unicast)" if _v6(a) else f"  IP address: {a}" for a in r.addresses]
        if r.platform:
            out.append(f"Platform: {r.platform},  Capabilities: {r.caps_cdp} ")
        out += [f"Interface: {link.local_port},  Port ID (outgoing port): {link.remote_port}", "Holdtime : 141 sec", "",
                "Version :", *r.software, "", "advertisement version: 2", "Duplex: full", "Management address(es): "]
        out += [f"  IPv6 address: {a.upper()}  (global unicast)" if _v6(a) else f"  IP address: {a}" for a in r.addresses]
        out.append("")
    return out + ["", f"Total cdp entries displayed : {len(links)}"]


def _nxos_cdp(links: list[Link]) -> list[str]:
    out: list[str] = []
    for link in links:
        r = link.remote
        out += ["----------------------------------------", f"Device ID:{r.device_id}", f"System Name: {r.system_name}", "",
                f"Interface address(es): {len(r.addresses)}"]
        out += [f"    {'IPv6' if _v6(a) else 'IPv4'} Address: {a}" for a in r.addresses]
        out += [f"Platform: {r.platform}, Capabilities: {r.caps_cdp}",
                f"Interface: {link.local_port}, Port ID (outgoing port): {link.remote_port}", "Holdtime: 166 sec", "",
                "Version:", *r.software, "", "Advertisement Version: 2", "", "Native VLAN: 1", "Duplex: full", ""]
        if r.addresses:
            out += ["Mgmt address(es):", *(f"    {'IPv6' if _v6(a) else 'IPv4'} Address: {a}" for a in r.addresses)]
        out.append("")
    return out


def _xr_cdp(links: list[Link]) -> list[str]:
    out: list[str] = [""]
    for link in links:
        r = link.remote
        out += ["-------------------------", f"Device ID: {r.device_id}", f"SysName : {r.system_name}", "Entry address(es): "]
        out += [f"  {'IPv6' if _v6(a) else 'IPv4'} address: {a}" for a in r.addresses]
        out += [f"Platform: {r.platform},  Capabilities: {r.caps_cdp} ", f"Interface: {link.local_port}",
                f"Port ID (outgoing port): {link.remote_port}", "Holdtime : 157 sec", "", "Version :",
                *(" " + s for s in r.software), "", "advertisement version: 2", "Duplex: full", ""]
    return out


def _med(r: Box) -> list[str]:
    if not r.serial or not r.model:
        return []
    return ["", "MED Information:", "", "    H/W revision: 1", f"    S/W revision: {r.software[0].split(', ')[-1]}",
            f"    Serial number: {r.serial}", "    Manufacturer: Cisco Systems, Inc.", f"    Model: {r.model}",
            "    Capabilities: NP, PD, IN", "    Device type: Endpoint Class III"]


def _ios_lldp(links: list[Link]) -> list[str]:
    out = _LLDP_LEGEND + [""]
    for link in links:
        r = link.remote
        out += ["------------------------------------------------", f"Local Intf: {link.local_port}",
                f"Chassis id: {r.mac}", f"Port id: {link.remote_port}", f"Port Description: {link.remote_port}",
                f"System Name: {r.system_name}", "", "System Description: ", *r.software, "",
                "Time remaining: 101 seconds", f"System Capabilities: {r.caps_lldp}", f"Enabled Capabilities: {r.caps_lldp}",
                "Management Addresses:"]
        out += [f"    {'IPV6' if _v6(a) else 'IP'}: {a}" for a in r.addresses] or ["    - not advertised"]
        out += ["Auto Negotiation - not supported", "Physical media capabilities - not advertised",
                "Media Attachment Unit type - not advertised", "Vlan ID: - not advertised", *_med(r), ""]
    return out + ["", f"Total entries displayed: {len(links)}"]


def _nxos_lldp(links: list[Link]) -> list[str]:
    out = [*_LLDP_LEGEND, "Device ID            Local Intf      Hold-time  Capability  Port ID  ", ""]
    for link in links:
        r = link.remote
        v4 = next((a for a in r.addresses if not _v6(a)), "not advertised")
        v6 = next((a for a in r.addresses if _v6(a)), "not advertised")
        caps = ", ".join(r.caps_lldp.split(","))
        out += [f"Chassis id: {r.mac}", f"Port id: {link.remote_port}", f"Local Port id: {link.local_port}",
                f"Port Description: {link.remote_port}", f"System Name: {r.system_name or 'null'}",
                f"System Description: {r.software[0]}", *r.software[1:], "Time remaining: 97 seconds",
                f"System Capabilities: {caps}", f"Enabled Capabilities: {caps}", f"Management Address: {v4}",
                f"Management Address IPV6: {v6}", "Vlan ID: not advertised", "", ""]
    return out + [f"Total entries displayed: {len(links)}"]


def _xr_lldp(links: list[Link]) -> list[str]:
    out = ["Capability codes:", "\t(R) Router, (B) Bridge, (T) Telephone, (C) DOCSIS Cable Device",
           "\t(W) WLAN Access Point, (P) Repeater, (S) Station, (O) Other", ""]
    for link in links:
        r = link.remote
        out += ["-" * 78, f"Local Interface: {link.local_port}", f"Chassis id: {r.mac}", f"Port id: {link.remote_port}",
                f"Port Description: {link.remote_port}", f"System Name: {r.system_name}", "", "System Description: ",
                *r.software, "", "Time remaining: 108 seconds", "Hold Time: 120 seconds",
                f"System Capabilities: {r.caps_lldp}", f"Enabled Capabilities: {r.caps_lldp}", "Management Addresses:"]
        out += [f"  {'IPv6' if _v6(a) else 'IPv4'} address: {a}" for a in r.addresses]
        out.append("")
    return out + ["", f"Total entries displayed: {len(links)}", ""]


_LAYOUTS = {("ios", "cdp"): _ios_cdp, ("ios", "lldp"): _ios_lldp, ("nxos", "cdp"): _nxos_cdp,
            ("nxos", "lldp"): _nxos_lldp, ("xr", "cdp"): _xr_cdp, ("xr", "lldp"): _xr_lldp}


def style(platform: str) -> str | None:
    spec = data()["platforms"].get(platform)
    return spec["style"] if spec else None


def supports(platform: str) -> bool:
    """Does the platform have the neighbour commands at all (the ASA has neither)?"""
    return style(platform) is not None


def output(device, command: str) -> str | None:
    """The device's answer to a neighbour command; None for any other command (or a platform
    without them).  A lab started without its topology prints empty tables."""
    protocol = COMMANDS.get(command)
    kind = style(device.platform)
    if protocol is None or kind is None:
        return None
    if protocol in (getattr(device, "neighbour_off", None) or ()):
        return _OFF[protocol] + "\r\n"
    links = [link for link in (getattr(device, "neighbour_links", None) or ()) if link.protocol == protocol]
    return "\r\n".join(_LAYOUTS[(kind, protocol)](links)) + "\r\n"


# ------------------------------------------------------------------ SNMP (snmprec rows)

_CDP = (1, 3, 6, 1, 4, 1, 9, 9, 23, 1, 2, 1, 1)
_LLDP_REM = (1, 0, 8802, 1, 1, 2, 1, 4, 1, 1)
_LLDP_MAN = (1, 0, 8802, 1, 1, 2, 1, 4, 2, 1)
_LLDP_LOC_PORT = (1, 0, 8802, 1, 1, 2, 1, 3, 7, 1)
_IF_NAME = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 1)
_CDP_CAPS = ("Router", "Trans-Bridge", "Source-Route-Bridge", "Switch", "Host", "IGMP", "Repeater", "Phone")
_LLDP_CAPS = ("O", "P", "B", "W", "R", "T", "C", "S")


def _hex(raw: bytes) -> tuple[str, str]:
    return "4x", raw.hex()


def _octets(text: str) -> tuple[str, str]:
    ok = all(32 <= ord(c) < 127 for c in text) and "|" not in text
    return ("4", text) if ok else _hex(text.encode())


def snmp_rows(device) -> list[tuple[tuple[int, ...], str, str]]:
    """(OID, type tag, value) rows of cdpCacheTable, lldpRemTable, lldpRemManAddrTable and the port
    names (IF-MIB ifName, lldpLocPortId) the device's links give; none for a protocol it has off."""
    links = getattr(device, "neighbour_links", None) or []
    offs = getattr(device, "neighbour_off", None) or ()
    rows: list[tuple[tuple[int, ...], str, str]] = []
    ports: dict[str, int] = {}
    for link in links:
        ports.setdefault(link.local_port, len(ports) + 1)
    cdp_rows = [lk for lk in links if lk.protocol == "cdp" and "cdp" not in offs]
    lldp_rows = [lk for lk in links if lk.protocol == "lldp" and "lldp" not in offs]
    for i, link in enumerate(cdp_rows, start=1):
        r, idx = link.remote, (ports[link.local_port], i)
        caps = sum(1 << n for n, name in enumerate(_CDP_CAPS) if name in r.caps_cdp.split())
        v4 = [a for a in r.addresses if not _v6(a)]
        first = r.addresses[0] if r.addresses else ""
        cols: dict[int, tuple[str, str]] = {
            5: _octets("\n".join(r.software)), 6: _octets(r.device_id), 7: _octets(link.remote_port),
            8: _octets(r.platform), 9: _hex(caps.to_bytes(4, "big")), 17: _octets(r.system_name),
        }
        if first:
            cols[3] = ("2", "20" if _v6(first) else "1")
            cols[4] = _hex(ipaddress.ip_address(first).packed)
        if v4:
            cols[19], cols[20] = ("2", "1"), _hex(ipaddress.ip_address(v4[0]).packed)
        rows += [(_CDP + (c,) + idx, *v) for c, v in cols.items()]
    for i, link in enumerate(lldp_rows, start=1):
        r, idx = link.remote, (0, ports[link.local_port], i)
        caps = bytes([sum(0x80 >> n for n, name in enumerate(_LLDP_CAPS) if name in r.caps_lldp.split(",")), 0])
        cols = {4: ("2", "4"), 5: _hex(bytes.fromhex(r.mac.replace(".", ""))), 6: ("2", "5"),
                7: _octets(link.remote_port), 8: _octets(link.remote_port), 9: _octets(r.system_name),
                10: _octets("\n".join(r.software)), 12: _hex(caps)}
        rows += [(_LLDP_REM + (c,) + idx, *v) for c, v in cols.items()]
        for a in r.addresses:
            packed = ipaddress.ip_address(a).packed
            rows.append((_LLDP_MAN + (3,) + idx + (2 if _v6(a) else 1, len(packed), *packed), "2", "2"))
    for name, n in ports.items():
        rows.append((_IF_NAME + (n,), *_octets(name)))
        rows.append((_LLDP_LOC_PORT + (3, n), *_octets(name)))
    return rows
