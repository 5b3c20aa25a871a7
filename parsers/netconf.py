"""NETCONF captures: a raw ``<rpc-reply>`` -> :class:`ParseResult`.

The reply is read by YANG namespace, not by the capture's name, so one ``<get>`` holding
several models (NAPALM asks for inventory, interfaces and system-time at once) yields all of
them.  Models read:

``Cisco-IOS-XE-device-hardware-oper``
    ``device-inventory`` rows -> components (``dev-name``, ``hw-description``, ``part-number``,
    ``version``, ``serial-number``; ``physical_class`` = ``hw-type``); ``device-system-data``
    ``software-version`` -> ``os_version``, ``last-reboot-reason``, ``boot-time``.
``Cisco-IOS-XE-native``
    ``native/hostname`` -> ``hostname``.
``Cisco-IOS-XE-licensing-oper``
    ``usage`` rows -> licences (short name, licence name, count, enforcement mode); UDI,
    registration and authorisation state -> ``license_status``.
``Cisco-IOS-XR-invmgr-oper``
    every entity carrying an ``inv-basic-bag`` (or ``basic-info``) -> a component; the rack's
    ``software-revision`` -> ``os_version`` (as NAPALM reads it).
``Cisco-IOS-XR-shellutil-oper``
    ``system-time/uptime/host-name`` -> ``hostname``.
``openconfig-platform`` / ``ietf-hardware``
    components (``physical_class`` = the type without its prefix, ``parent_ref`` = ``parent``);
    an ``OPERATING_SYSTEM`` component's ``software-version`` -> ``os_version``.
``openconfig-system``
    ``system/state/hostname``.
``cisco-nx-os-device``
    ``System/name`` -> ``hostname``, ``showversion-items/nxosVersion`` -> ``os_version``.

An ``<rpc-error>`` reply (the device refused the filter) raises :class:`ParseError` with the
device's own error tag and message.  Parsing never resolves entities or fetches anything.
"""
from __future__ import annotations

import re

from lxml import etree

from agent.core.models import Facts, LicenseStatus, LicenseUsage, ParseResult, RawComponent

from . import netconf_neighbours as _neighbours
from ._util import ParseError, to_int

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
XE_HW = "http://cisco.com/ns/yang/Cisco-IOS-XE-device-hardware-oper"
XE_LIC = "http://cisco.com/ns/yang/Cisco-IOS-XE-licensing-oper"
XE_NATIVE = "http://cisco.com/ns/yang/Cisco-IOS-XE-native"
XR_INV = "http://cisco.com/ns/yang/Cisco-IOS-XR-invmgr-oper"
XR_SHELL = "http://cisco.com/ns/yang/Cisco-IOS-XR-shellutil-oper"
OC_PLATFORM = "http://openconfig.net/yang/platform"
OC_SYSTEM = "http://openconfig.net/yang/system"
IETF_HW = "urn:ietf:params:xml:ns:yang:ietf-hardware"
NXOS = "http://cisco.com/ns/yang/cisco-nx-os-device"

# Hardening: a reply is data from the network, never a reason to read files or the network.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True)
# Linear in the text (a device's own string): 'IOS XE Software' is looked for once and committed to
# (a later occurrence could only find the same 'Version' again; retrying from each was quadratic).
# A release starts '<major>.<minor>': an engineering build's label where the release goes
# ('Version 2019-10-31_17.49_<user>') is skipped for the next 'Version' (the IOS line's release).
_XE_VERSION = (re.compile(r"\A(?>.*?IOS[ -]XE Software),?.*?Version\s+(\d{1,3}\.\d[^\s,]*)", re.S),
               re.compile(r"Version\s+(\d{1,3}\.\d[^\s,]*)"))
_RACK = re.compile(r"^rack\s*+\d+$", re.I)
# openconfig / ietf types that name software or logical things, not hardware.
_NOT_HARDWARE = {"OPERATING_SYSTEM", "OPERATING_SYSTEM_UPDATE", "BOOT_LOADER", "SOFTWARE_MODULE", "PORT", "SENSOR",
                 "STORAGE", "CPU", "INTEGRATED_CIRCUIT", "WIFI_ACCESS_POINT"}
_OC_STRUCTURE = {"CHASSIS", "LINECARD", "CONTROLLER_CARD", "FABRIC", "MODULE", "BACKPLANE", "POWER_SUPPLY", "FAN",
                 "chassis", "module", "backplane", "power-supply", "fan"}


def _q(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


def _local(el) -> str:
    tag = el.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _text(el, *path: str) -> str:
    """Text of the first descendant along ``path`` (local names, any namespace), stripped."""
    cur = el
    for step in path:
        nxt = None
        for child in cur:
            if _local(child) == step:
                nxt = child
                break
        if nxt is None:
            return ""
        cur = nxt
    return (cur.text or "").strip()


def _strip_prefix(value: str) -> str:
    return value.rsplit(":", 1)[-1].strip()


def _errors(root) -> list[str]:
    out = []
    for err in root.iter(_q(NC, "rpc-error")):
        tag = _text(err, "error-tag")
        msg = _text(err, "error-message")
        out.append(": ".join(p for p in (tag, msg) if p) or "rpc-error")
    return out


# ------------------------------------------------------------------ models


def _xe_hardware(data, facts: Facts, comps: list[RawComponent]) -> None:
    for row in data.iter(_q(XE_HW, "device-inventory")):
        hw_type = _text(row, "hw-type")
        index = _text(row, "hw-dev-index")
        descr = _text(row, "hw-description")
        comps.append(RawComponent(
            name=_text(row, "dev-name") or descr or f"{hw_type} {index}".strip(),
            descr=descr, pid=_text(row, "part-number"), vid=_text(row, "version"),
            serial=_text(row, "serial-number"), physical_class=hw_type,
            source_index=f"device-inventory[{hw_type}][{index}]",
        ))
    for sysdata in data.iter(_q(XE_HW, "device-system-data")):
        sw = _text(sysdata, "software-version")
        if sw:
            for rx in _XE_VERSION:
                m = rx.search(sw)
                if m:
                    facts.setdefault("os_version", m.group(1))
                    facts.setdefault("versions_seen", []).append(m.group(1))
                    break
            facts.setdefault("software_version", sw)
        for key, leaf in (("last_reboot_reason", "last-reboot-reason"), ("boot_time", "boot-time"),
                          ("rommon_version", "rommon-version")):
            value = _text(sysdata, leaf)
            if value:
                facts.setdefault(key, value)


def _xe_licensing(data) -> tuple[list[LicenseUsage], LicenseStatus | None]:
    licenses: list[LicenseUsage] = []
    status: LicenseStatus | None = None
    for top in data.iter(_q(XE_LIC, "licensing")):
        state = next((c for c in top if _local(c) == "state"), top)
        info = next((c for c in state if _local(c) == "state-info"), state)
        for usage in info.iter(_q(XE_LIC, "usage")):
            short = _text(usage, "short-name")
            name = _text(usage, "license-name")
            licenses.append(LicenseUsage(
                device="", license=short or name or _text(usage, "entitlement-tag"),
                entitlement_tag=name or _text(usage, "entitlement-tag"),
                count=to_int(_text(usage, "count")), enforcement=_text(usage, "enforcement-mode"),
                description=_text(usage, "description"),
            ))
        smart = _text(state, "smart-enabled")
        status = LicenseStatus(
            device="",
            smart_licensing_enabled=None if not smart else smart.lower() == "true",
            registration_status=_text(info, "registration", "registration-state"),
            authorization_status=_text(info, "authorization", "authorization-state"),
            udi_pid=_text(info, "udi", "pid"), udi_serial=_text(info, "udi", "sn"),
            transport_type=_text(info, "transport", "transport-type"),
        )
        if not any((status.registration_status, status.authorization_status, status.udi_serial,
                    status.smart_licensing_enabled is not None)):
            status = None
    return licenses, status


def _owner_name(bag) -> tuple[str, str]:
    """(entity name, path) of the inventory node an attribute bag belongs to."""
    names = []
    node = bag.getparent()
    own = ""
    while node is not None and _local(node) not in ("inventory", "data"):
        name = next((c.text or "" for c in node if _local(c) == "name" and len(c) == 0), "").strip()
        if name:
            names.append(name)
            if not own and _local(node) == "entity":
                own = name
        node = node.getparent()
    path = "/".join(reversed(names))
    # The flat 'entities' list names each item as 'show inventory' does; the rack/slot/card tree
    # only numbers its levels, so there the path is the name.
    return own or path, path


def _xr_inventory(data, facts: Facts, comps: list[RawComponent]) -> None:
    seen: set[tuple[str, str, str]] = set()
    for bag in data.iter(_q(XR_INV, "inv-basic-bag"), _q(XR_INV, "basic-info")):
        name, path = _owner_name(bag)
        name = name or _text(bag, "name")
        descr = _text(bag, "description")
        pid = _text(bag, "model-name")
        serial = _text(bag, "serial-number")
        key = (name, pid, serial)
        if key in seen or not (name or pid or serial):
            continue
        seen.add(key)
        comps.append(RawComponent(
            name=name or descr, descr=descr, pid=pid, vid=_text(bag, "hardware-revision"), serial=serial,
            physical_class=_text(bag, "vendor-type"), source_index=path or name,
        ))
        sw = _text(bag, "software-revision")
        if sw and _RACK.match(name):
            facts.setdefault("os_version", sw.split()[0])
            facts.setdefault("versions_seen", []).append(sw.split()[0])
    for uptime in data.iter(_q(XR_SHELL, "uptime")):
        host = _text(uptime, "host-name")
        if host:
            facts.setdefault("hostname", host)


def _oc_components(data, ns: str, facts: Facts, comps: list[RawComponent]) -> None:
    for comp in data.iter(_q(ns, "component")):
        if ns == OC_PLATFORM:
            state = next((c for c in comp if _local(c) == "state"), None)
            src = state if state is not None else comp
            name = _text(comp, "name") or _text(src, "name")
            ctype = _strip_prefix(_text(src, "type"))
            descr, pid, serial = _text(src, "description"), _text(src, "part-no"), _text(src, "serial-no")
            vid, parent, sw = _text(src, "hardware-version"), _text(src, "parent"), _text(src, "software-version")
        else:  # ietf-hardware
            name = _text(comp, "name")
            ctype = _strip_prefix(_text(comp, "class"))
            descr, pid, serial = _text(comp, "description"), _text(comp, "model-name"), _text(comp, "serial-num")
            vid, parent, sw = _text(comp, "hardware-rev"), _text(comp, "parent"), _text(comp, "software-rev")
        if ctype in ("OPERATING_SYSTEM",) and sw:
            facts.setdefault("os_version", sw)
            facts.setdefault("versions_seen", []).append(sw)
        if ctype in _NOT_HARDWARE and not (pid or serial):
            continue
        if not (pid or serial or descr or ctype in _OC_STRUCTURE):
            continue
        if ctype.upper() == "CHASSIS" and sw:
            facts.setdefault("chassis_software_version", sw)
        comps.append(RawComponent(
            name=name or descr, descr=descr, pid=pid, vid=vid, serial=serial,
            physical_class=ctype, parent_ref=parent, source_index=f"component[{name}]",
        ))


def _xe_native(data, facts: Facts) -> None:
    for native in data.iter(_q(XE_NATIVE, "native")):
        host = _text(native, "hostname")
        if host:
            facts.setdefault("hostname", host)


def _oc_system(data, facts: Facts) -> None:
    for system in data.iter(_q(OC_SYSTEM, "system")):
        host = _text(system, "state", "hostname") or _text(system, "config", "hostname")
        if host:
            facts.setdefault("hostname", host)


def _nxos_device(data, facts: Facts) -> None:
    for system in data.iter(_q(NXOS, "System")):
        host = _text(system, "name")
        if host:
            facts.setdefault("hostname", host)
        version = _text(system, "showversion-items", "nxosVersion")
        if version:
            facts.setdefault("os_version", version)
            facts.setdefault("versions_seen", []).append(version)
        serial = _text(system, "serial")
        if serial:
            facts.setdefault("chassis_serial", serial)
        model = _text(system, "ch-items", "model")
        if model:
            facts.setdefault("chassis_pid", model)


# ------------------------------------------------------------------ entry point


def parse(platform: str, command: str, text: str) -> ParseResult:
    if isinstance(text, str):
        raw = text.encode("utf-8", errors="surrogateescape")
    elif isinstance(text, (bytes, bytearray)):
        raw = bytes(text)
    else:
        raise ParseError(platform, command, f"capture is {type(text).__name__}, not text")
    if not raw.strip():
        raise ParseError(platform, command, "empty reply")
    try:
        root = etree.fromstring(raw.strip(), parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise ParseError(platform, command, f"not XML: {exc}") from None
    if root is None:
        raise ParseError(platform, command, "empty reply")
    errors = _errors(root)
    data = root.find(_q(NC, "data")) if _local(root) == "rpc-reply" else root
    if data is None:
        data = root
    facts: Facts = {}
    comps: list[RawComponent] = []
    _xe_hardware(data, facts, comps)
    _xe_native(data, facts)
    licenses, status = _xe_licensing(data)
    _xr_inventory(data, facts, comps)
    _oc_components(data, OC_PLATFORM, facts, comps)
    _oc_components(data, IETF_HW, facts, comps)
    _oc_system(data, facts)
    _nxos_device(data, facts)
    if "versions_seen" in facts:
        facts["versions_seen"] = list(dict.fromkeys(facts["versions_seen"]))
    # CDP / LLDP operational models (issue 17): parsers.netconf_neighbours; an rpc-error is no table.
    neighbours, neighbour_status = _neighbours.parse(data, platform, command) if not errors else ([], [])
    if not (facts or comps or licenses or status or neighbour_status):
        if errors:
            raise ParseError(platform, command, "device answered rpc-error: " + "; ".join(errors))
        namespaces = sorted({el.tag.split("}", 1)[0][1:] for el in data.iter() if isinstance(el.tag, str)
                             and el.tag.startswith("{") and not el.tag.startswith("{" + NC)})
        found = ", ".join(namespaces[:5]) or "no data"
        raise ParseError(platform, command, f"no hardware, version or licensing model in the reply ({found})")
    return ParseResult(facts=facts, components=comps, licenses=licenses, license_status=status,
                       neighbours=neighbours, neighbour_status=neighbour_status)
