"""The lab's NETCONF server: the asyncssh ``netconf`` subsystem on a port of its own per device.

RFC 6241/6242 as far as a collector needs it: the hello exchange (both sides announce
``base:1.0`` and ``base:1.1``; with both present the session switches from ``]]>]]>`` framing to
chunked framing after the hellos), ``<get>`` with a subtree filter (RFC 6241 section 6:
containment, selection and content-match nodes), ``<close-session>``, and an ``<rpc-error>``
(``operation-not-supported``) for any other operation, ``malformed-message`` for XML that does
not parse.

What a device answers comes from ``lab.entities`` (the same truth its SSH outputs come from),
in the model its platform really offers: IOS XE ``Cisco-IOS-XE-device-hardware-oper`` (+
``Cisco-IOS-XE-licensing-oper`` and the native ``hostname``), IOS XR
``Cisco-IOS-XR-invmgr-oper`` + ``Cisco-IOS-XR-shellutil-oper``, NX-OS ``openconfig-platform`` +
the ``cisco-nx-os-device`` ``System`` tree.  ASA and classic IOS have no NETCONF agent, so the
lab starts no NETCONF listener for them (a connection is refused, as on the real box).

Faults, mirroring the SSH ones: ``auth_fail`` refuses the password; ``hang_after_login`` opens
the subsystem and never says hello; ``disconnect_mid_output`` drops the connection halfway
through the first ``<get>`` reply; ``garbage`` answers ``<get>`` with binary noise;
``slow_output`` dribbles replies out in small chunks.  ``latency`` (with ``jitter``) delays each
``<get>`` reply as it delays each ``show`` command.
"""
from __future__ import annotations

import asyncio
import itertools
import random
import re
from copy import deepcopy
from functools import partial

import asyncssh
from lxml import etree

from . import entities, faults
from .device import RunningDevice

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
BASE_10 = "urn:ietf:params:netconf:base:1.0"
BASE_11 = "urn:ietf:params:netconf:base:1.1"
EOM = b"]]>]]>"
XE_HW = "http://cisco.com/ns/yang/Cisco-IOS-XE-device-hardware-oper"
XE_LIC = "http://cisco.com/ns/yang/Cisco-IOS-XE-licensing-oper"
XE_NATIVE = "http://cisco.com/ns/yang/Cisco-IOS-XE-native"
XR_INV = "http://cisco.com/ns/yang/Cisco-IOS-XR-invmgr-oper"
XR_SHELL = "http://cisco.com/ns/yang/Cisco-IOS-XR-shellutil-oper"
OC_PLATFORM = "http://openconfig.net/yang/platform"
OC_TYPES = "http://openconfig.net/yang/platform-types"
NXOS = "http://cisco.com/ns/yang/cisco-nx-os-device"
MAX_MESSAGE = 4 * 1024 * 1024

_MODULES = {
    "xe-device-hardware": [
        ("Cisco-IOS-XE-device-hardware-oper", XE_HW, "2023-07-01"), ("Cisco-IOS-XE-native", XE_NATIVE, "2023-07-01"),
        ("Cisco-IOS-XE-cdp-oper", "http://cisco.com/ns/yang/Cisco-IOS-XE-cdp-oper", "2023-07-01"),
        ("Cisco-IOS-XE-lldp-oper", "http://cisco.com/ns/yang/Cisco-IOS-XE-lldp-oper", "2023-07-01")],
    "xr-invmgr": [
        ("Cisco-IOS-XR-invmgr-oper", XR_INV, "2022-03-01"), ("Cisco-IOS-XR-shellutil-oper", XR_SHELL, "2021-01-01"),
        ("openconfig-lldp", "http://openconfig.net/yang/lldp", "2018-11-21")],
    "openconfig": [
        ("openconfig-platform", OC_PLATFORM, "2022-12-20"), ("cisco-nx-os-device", NXOS, "2024-03-26"),
        ("openconfig-lldp", "http://openconfig.net/yang/lldp", "2018-11-21")],
}
_XE_HW_TYPE = {"chassis": "hw-type-chassis", "powerSupply": "hw-type-pem", "fan": "hw-type-fantray",
               "port": "hw-type-transceiver", "module": "hw-type-pim", "cpu": "hw-type-cpu"}
_OC_TYPE = {"chassis": "CHASSIS", "powerSupply": "POWER_SUPPLY", "fan": "FAN", "port": "TRANSCEIVER",
            "module": "LINECARD", "backplane": "BACKPLANE", "cpu": "CPU", "sensor": "SENSOR"}
_NOT_ITEMS = {"container", "stack"}  # structure the models below do not list as hardware

_SECURE = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_blank_text=True)


def hardware_model(device: RunningDevice) -> str | None:
    """The YANG model this device answers hardware with; None when the platform has no NETCONF."""
    try:
        return entities.load(device.profile).netconf.get("hardware")
    except KeyError:
        return None


# ------------------------------------------------------------------ device data


def _sub(parent, ns: str, tag: str, text: object | None = None):
    # A model's top element declares its namespace as the default one, as devices print it.
    nsmap = {None: ns} if etree.QName(parent).namespace != ns else None
    el = etree.SubElement(parent, f"{{{ns}}}{tag}", nsmap=nsmap)
    if text is not None:
        el.text = str(text)
    return el


def _xe_software_version(device: RunningDevice) -> str:
    v = device.truth.os_version
    return (f"Cisco IOS XE Software, Version {v}\nCisco IOS Software, Version {v}, RELEASE SOFTWARE\n"
            f"Copyright (c) 1986-2024 by Cisco Systems, Inc.")


def _full_license_names(device: RunningDevice) -> dict[str, str]:
    # 'show license usage' prints the full entitlement name that 'show license summary' truncates.
    text = device.output("show license usage") or ""
    return {m.group(1): m.group(2) for m in re.finditer(r"^(\S+) \((.+)\):\s*$", text.replace("\r", ""), re.M)}


def _xe(device: RunningDevice, data, ents: list[entities.Entity], licensing: bool) -> None:
    top = _sub(data, XE_HW, "device-hardware-data")
    hw = _sub(top, XE_HW, "device-hardware")
    for e in ents:
        if e.cls in _NOT_ITEMS or not e.pid:
            continue
        row = _sub(hw, XE_HW, "device-inventory")
        _sub(row, XE_HW, "hw-type", _XE_HW_TYPE.get(e.cls, "hw-type-unknown"))
        _sub(row, XE_HW, "hw-dev-index", e.index)
        _sub(row, XE_HW, "version", e.vid)
        _sub(row, XE_HW, "part-number", e.pid)
        _sub(row, XE_HW, "serial-number", e.serial)
        _sub(row, XE_HW, "hw-description", e.descr)
        _sub(row, XE_HW, "dev-name", e.name)
        _sub(row, XE_HW, "field-replaceable", "true" if e.fru else "false")
        _sub(row, XE_HW, "hw-class", "hw-class-physical")
    system = _sub(hw, XE_HW, "device-system-data")
    _sub(system, XE_HW, "software-version", _xe_software_version(device))
    _sub(system, XE_HW, "rommon-version", "17.6.1r")
    _sub(system, XE_HW, "last-reboot-reason", "Reload Command")
    native = _sub(data, XE_NATIVE, "native")
    _sub(native, XE_NATIVE, "hostname", device.hostname)
    _xe_neighbours(device, data)
    truth = device.truth
    if licensing and truth.licenses:
        lic = _sub(data, XE_LIC, "licensing")
        state = _sub(lic, XE_LIC, "state")
        _sub(state, XE_LIC, "smart-enabled", "true")
        info = _sub(state, XE_LIC, "state-info")
        if truth.udi:
            udi = _sub(info, XE_LIC, "udi")
            _sub(udi, XE_LIC, "pid", truth.udi.pid)
            _sub(udi, XE_LIC, "sn", truth.udi.serial)
        names = _full_license_names(device)
        for t in truth.licenses:
            usage = _sub(info, XE_LIC, "usage")
            full = names.get(t.license, t.entitlement_tag)
            _sub(usage, XE_LIC, "entitlement-tag", f"regid.lab.com.cisco.{t.license},1.0")
            _sub(usage, XE_LIC, "short-name", t.license)
            _sub(usage, XE_LIC, "license-name", full)
            _sub(usage, XE_LIC, "description", full)
            _sub(usage, XE_LIC, "count", t.count if t.count is not None else 0)
            _sub(usage, XE_LIC, "enforcement-mode", t.enforcement or "")
            _sub(usage, XE_LIC, "post-paid", "false")


XE_CDP = "http://cisco.com/ns/yang/Cisco-IOS-XE-cdp-oper"
XE_LLDP = "http://cisco.com/ns/yang/Cisco-IOS-XE-lldp-oper"
_LLDP_CAPS = {"B": "bridge", "R": "router", "W": "access-point", "T": "telephone", "P": "repeater", "S": "station",
              "C": "docsis", "O": "other"}


def _xe_neighbours(device: RunningDevice, data) -> None:
    """Its CDP / LLDP tables (lab.neighbours) as Cisco-IOS-XE-cdp-oper / lldp-oper; a protocol that is
    off, or has no neighbour, sends nothing (IOS XE prints no empty list)."""
    links = getattr(device, "neighbour_links", None) or []
    off = getattr(device, "neighbour_off", None) or ()
    cdp = [lk for lk in links if lk.protocol == "cdp" and "cdp" not in off]
    if cdp:
        top = _sub(data, XE_CDP, "cdp-neighbor-details")
        for i, lk in enumerate(cdp, start=1):
            r, d = lk.remote, _sub(top, XE_CDP, "cdp-neighbor-detail")
            _sub(d, XE_CDP, "device-id", i)
            _sub(d, XE_CDP, "device-name", r.device_id)
            _sub(d, XE_CDP, "local-intf-name", lk.local_port)
            _sub(d, XE_CDP, "port-id", lk.remote_port)
            caps = _sub(d, XE_CDP, "capability")
            for word in r.caps_cdp.lower().split():
                _sub(caps, XE_CDP, word)
            _sub(d, XE_CDP, "platform-name", r.platform)
            _sub(d, XE_CDP, "version", "\n".join(r.software))
            if r.addresses:
                _sub(d, XE_CDP, "ip-address", r.addresses[0])
                _sub(d, XE_CDP, "mgmt-address", r.addresses[0])
    lldp = [lk for lk in links if lk.protocol == "lldp" and "lldp" not in off]
    if lldp:
        top = _sub(data, XE_LLDP, "lldp-entries")
        by_port: dict[str, list] = {}
        for lk in lldp:
            by_port.setdefault(lk.local_port, []).append(lk)
        for port, group in by_port.items():
            intf = _sub(top, XE_LLDP, "lldp-intf-details")
            _sub(intf, XE_LLDP, "if-name", port)
            for i, lk in enumerate(group, start=1):
                r, d = lk.remote, _sub(intf, XE_LLDP, "lldp-neighbor-details")
                _sub(d, XE_LLDP, "identifier", i)
                _sub(d, XE_LLDP, "chassis-id", r.mac)
                _sub(d, XE_LLDP, "port-id", lk.remote_port)
                _sub(d, XE_LLDP, "port-desc", lk.remote_port)
                _sub(d, XE_LLDP, "system-name", r.system_name)
                _sub(d, XE_LLDP, "system-desc", "\n".join(r.software))
                for a in r.addresses:
                    m = _sub(d, XE_LLDP, "mgmt-addrs")
                    _sub(m, XE_LLDP, "mgmt-addr", a)
                    _sub(m, XE_LLDP, "mgmt-addr-type", "mgmt-ipv6" if ":" in a else "mgmt-ip")
                caps = _sub(d, XE_LLDP, "enabled-capabilities")
                for letter in r.caps_lldp.split(","):
                    if letter.strip() in _LLDP_CAPS:
                        _sub(caps, XE_LLDP, _LLDP_CAPS[letter.strip()])


OC_LLDP = "http://openconfig.net/yang/lldp"
_OC_LLDP_CAPS = {"B": "MAC_BRIDGE", "R": "ROUTER", "W": "WLAN_ACCESS_POINT", "T": "TELEPHONE", "P": "REPEATER",
                 "S": "STATION_ONLY", "C": "DOCSIS_CABLE_DEVICE", "O": "OTHER"}


def _oc_lldp(device: RunningDevice, data) -> None:
    """Its LLDP table (lab.neighbours) as openconfig-lldp, which IOS XR and NX-OS serve; nothing
    when LLDP is off or it has no LLDP neighbour."""
    links = [lk for lk in (getattr(device, "neighbour_links", None) or []) if lk.protocol == "lldp"]
    if not links or "lldp" in (getattr(device, "neighbour_off", None) or ()):
        return
    top = _sub(data, OC_LLDP, "lldp")
    interfaces = _sub(top, OC_LLDP, "interfaces")
    by_port: dict[str, list] = {}
    for lk in links:
        by_port.setdefault(lk.local_port, []).append(lk)
    for port, group in by_port.items():
        intf = _sub(interfaces, OC_LLDP, "interface")
        _sub(intf, OC_LLDP, "name", port)
        neighbors = _sub(intf, OC_LLDP, "neighbors")
        for lk in group:
            r, nb = lk.remote, _sub(neighbors, OC_LLDP, "neighbor")
            _sub(nb, OC_LLDP, "id", r.mac)
            st = _sub(nb, OC_LLDP, "state")
            _sub(st, OC_LLDP, "id", r.mac)
            _sub(st, OC_LLDP, "system-name", r.system_name)
            _sub(st, OC_LLDP, "system-description", "\n".join(r.software))
            _sub(st, OC_LLDP, "chassis-id", r.mac)
            _sub(st, OC_LLDP, "chassis-id-type", "MAC_ADDRESS")
            _sub(st, OC_LLDP, "port-id", lk.remote_port)
            _sub(st, OC_LLDP, "port-description", lk.remote_port)
            if r.addresses:
                _sub(st, OC_LLDP, "management-address", r.addresses[0])
            caps = _sub(nb, OC_LLDP, "capabilities")
            for letter in r.caps_lldp.split(","):
                if letter.strip() in _OC_LLDP_CAPS:
                    cap = _sub(caps, OC_LLDP, "capability")
                    _sub(cap, OC_LLDP, "name", _OC_LLDP_CAPS[letter.strip()])
                    cst = _sub(cap, OC_LLDP, "state")
                    _sub(cst, OC_LLDP, "name", _OC_LLDP_CAPS[letter.strip()])
                    _sub(cst, OC_LLDP, "enabled", "true")


def _xr(device: RunningDevice, data, ents: list[entities.Entity]) -> None:
    inv = _sub(data, XR_INV, "inventory")
    listed = _sub(inv, XR_INV, "entities")
    for e in ents:
        if e.cls in _NOT_ITEMS:
            continue
        entity = _sub(listed, XR_INV, "entity")
        _sub(entity, XR_INV, "name", e.name)
        bag = _sub(_sub(entity, XR_INV, "attributes"), XR_INV, "inv-basic-bag")
        _sub(bag, XR_INV, "description", e.descr)
        _sub(bag, XR_INV, "name", e.name)
        _sub(bag, XR_INV, "hardware-revision", e.vid)
        _sub(bag, XR_INV, "software-revision", device.truth.os_version if e.cls == "chassis" else "")
        _sub(bag, XR_INV, "serial-number", e.serial)
        _sub(bag, XR_INV, "manufacturer-name", "Cisco Systems, Inc." if e.pid else "")
        _sub(bag, XR_INV, "model-name", e.pid)
        _sub(bag, XR_INV, "is-field-replaceable-unit", "true" if e.fru else "false")
    uptime = _sub(_sub(data, XR_SHELL, "system-time"), XR_SHELL, "uptime")
    _sub(uptime, XR_SHELL, "host-name", device.hostname)
    _sub(uptime, XR_SHELL, "uptime", 8_640_000)


def _openconfig(device: RunningDevice, data, ents: list[entities.Entity]) -> None:
    by_index = {e.index: e for e in ents}
    comps = _sub(data, OC_PLATFORM, "components")
    for e in ents:
        if e.cls in _NOT_ITEMS:
            continue
        parent = by_index.get(e.parent)
        while parent is not None and parent.cls in _NOT_ITEMS:  # openconfig has no container components
            parent = by_index.get(parent.parent)
        comp = _sub(comps, OC_PLATFORM, "component")
        _sub(comp, OC_PLATFORM, "name", e.name)
        _sub(_sub(comp, OC_PLATFORM, "config"), OC_PLATFORM, "name", e.name)
        state = _sub(comp, OC_PLATFORM, "state")
        _sub(state, OC_PLATFORM, "name", e.name)
        ctype = etree.SubElement(state, f"{{{OC_PLATFORM}}}type", nsmap={"oc-platform-types": OC_TYPES})
        ctype.text = "oc-platform-types:" + _OC_TYPE.get(e.cls, "FRU")
        _sub(state, OC_PLATFORM, "description", e.descr)
        _sub(state, OC_PLATFORM, "mfg-name", "Cisco Systems, Inc.")
        _sub(state, OC_PLATFORM, "hardware-version", e.vid)
        _sub(state, OC_PLATFORM, "serial-no", e.serial)
        _sub(state, OC_PLATFORM, "part-no", e.pid)
        _sub(state, OC_PLATFORM, "removable", "true" if e.fru else "false")
        if parent is not None:
            _sub(state, OC_PLATFORM, "parent", parent.name)
    system = _sub(data, NXOS, "System")
    _sub(system, NXOS, "name", device.hostname)
    versions = _sub(system, NXOS, "showversion-items")
    _sub(versions, NXOS, "nxosVersion", device.truth.os_version)
    _sub(versions, NXOS, "hostName", device.hostname)


def device_data(device: RunningDevice):
    """The device's whole operational tree as ``<data>``; filters select from it."""
    data = etree.Element(f"{{{NC}}}data", nsmap={None: NC})
    model = hardware_model(device)
    ents = entities.device_entities(device.profile, device.values)
    if model == "xe-device-hardware":
        _xe(device, data, ents, bool(entities.load(device.profile).netconf.get("licensing")))
    elif model == "xr-invmgr":
        _xr(device, data, ents)
        _oc_lldp(device, data)
    elif model == "openconfig":
        _openconfig(device, data, ents)
        _oc_lldp(device, data)
    return data


def capabilities(device: RunningDevice) -> list[str]:
    caps = [BASE_10, BASE_11]
    for module, ns, revision in _MODULES.get(hardware_model(device) or "", []):
        caps.append(f"{ns}?module={module}&revision={revision}")
    return caps


# ------------------------------------------------------------------ subtree filtering (RFC 6241 section 6)


def _same(data_el, filter_el) -> bool:
    if data_el.tag == filter_el.tag:
        return True
    # A filter element without a namespace matches on the local name.
    return isinstance(filter_el.tag, str) and not filter_el.tag.startswith("{") and \
        etree.QName(data_el).localname == filter_el.tag


def _select(data_el, filter_el):
    """The part of ``data_el`` that ``filter_el`` selects, or None if it selects nothing."""
    kids = [k for k in filter_el if isinstance(k.tag, str)]
    if not kids:
        return deepcopy(data_el)  # selection node at this level: the whole subtree
    matches = [k for k in kids if len(k) == 0 and (k.text or "").strip()]
    selections = [k for k in kids if len(k) == 0 and not (k.text or "").strip()]
    containments = [k for k in kids if len(k) > 0]
    for m in matches:  # every content-match node must hold for this instance
        if not any(_same(c, m) and (c.text or "").strip() == m.text.strip() for c in data_el):
            return None
    if not selections and not containments:
        return deepcopy(data_el)  # only content matches: the instance with all its siblings
    out = etree.Element(data_el.tag, attrib=dict(data_el.attrib), nsmap=data_el.nsmap)
    out.text = data_el.text
    found = False
    for child in data_el:
        if any(_same(child, m) for m in matches) or any(_same(child, s) for s in selections):
            out.append(deepcopy(child))
            found = True
            continue
        for f in containments:
            if _same(child, f):
                part = _select(child, f)
                if part is not None:
                    out.append(part)
                    found = True
                break
    return out if found else None


def apply_filter(data, filter_el):
    """``<data>`` reduced by a subtree filter; a missing filter returns everything."""
    if filter_el is None:
        return deepcopy(data)
    out = etree.Element(f"{{{NC}}}data", nsmap={None: NC})
    for f in filter_el:
        if not isinstance(f.tag, str):
            continue
        for top in data:
            if _same(top, f):
                part = _select(top, f)
                if part is not None:
                    out.append(part)
    return out


# ------------------------------------------------------------------ framing and session


class _Framing:
    """Reads NETCONF messages from an asyncssh stream, in EOM (1.0) or chunked (1.1) framing."""

    def __init__(self, stdin: asyncssh.SSHReader) -> None:
        self._stdin = stdin
        self._buf = bytearray()
        self.chunked = False

    async def _fill(self) -> bool:
        data = await self._stdin.read(65536)
        if not data:
            return False
        self._buf += data
        if len(self._buf) > MAX_MESSAGE:
            raise ValueError("message too large")
        return True

    async def read(self) -> bytes | None:
        if not self.chunked:
            while True:
                end = self._buf.find(EOM)
                if end >= 0:
                    msg = bytes(self._buf[:end])
                    del self._buf[: end + len(EOM)]
                    return msg
                if not await self._fill():
                    return None
        msg = bytearray()
        while True:
            while True:
                m = re.match(rb"\n#(\d+|#)\n", self._buf)
                if m:
                    break
                if len(self._buf) >= 16 and not self._buf.startswith(b"\n#"):
                    raise ValueError("bad chunk header")
                if not await self._fill():
                    return None
            if m.group(1) == b"#":
                del self._buf[: m.end()]
                return bytes(msg)
            size = int(m.group(1))
            while len(self._buf) < m.end() + size:
                if not await self._fill():
                    return None
            msg += self._buf[m.end() : m.end() + size]
            del self._buf[: m.end() + size]

    def frame(self, message: bytes) -> bytes:
        if self.chunked:
            return b"\n#%d\n%s\n##\n" % (len(message), message)
        return message + EOM


def _reply(rpc, body) -> bytes:
    reply = etree.Element(f"{{{NC}}}rpc-reply", nsmap={None: NC})
    for key, value in (rpc.attrib.items() if rpc is not None else ()):
        reply.set(key, value)  # RFC 6241 4.2: every attribute of <rpc> comes back unchanged
    reply.append(body)
    return etree.tostring(reply, encoding="UTF-8", xml_declaration=True)


def _error(tag: str, message: str, error_type: str = "protocol"):
    err = etree.Element(f"{{{NC}}}rpc-error")
    etree.SubElement(err, f"{{{NC}}}error-type").text = error_type
    etree.SubElement(err, f"{{{NC}}}error-tag").text = tag
    etree.SubElement(err, f"{{{NC}}}error-severity").text = "error"
    msg = etree.SubElement(err, f"{{{NC}}}error-message")
    msg.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    msg.text = message
    return err


class NetconfServer:
    """Per-lab NETCONF service: one listener per device, data trees built once per device."""

    def __init__(self, lab) -> None:
        self._lab = lab
        self._data: dict[str, object] = {}
        self._sessions = itertools.count(1)
        self.acceptors: list[asyncssh.SSHAcceptor] = []

    def data_for(self, device: RunningDevice):
        tree = self._data.get(device.name)
        if tree is None:
            tree = self._data[device.name] = device_data(device)
        return tree

    async def listen(self, device: RunningDevice, server_factory, host_key) -> None:
        from .server import check_loopback

        check_loopback(device.host)
        acceptor = await asyncssh.listen(
            device.host, 0, server_host_keys=[host_key], server_factory=server_factory,
            process_factory=partial(self._serve, device), encoding=None, line_editor=False,
            x11_forwarding=False, agent_forwarding=False, allow_scp=False,
        )
        self.acceptors.append(acceptor)
        device.netconf_port = acceptor.sockets[0].getsockname()[1]

    async def _serve(self, device: RunningDevice, process: asyncssh.SSHServerProcess) -> None:
        try:
            if process.subsystem != "netconf":
                process.stderr.write(b"this port speaks the NETCONF subsystem only\r\n")
                process.exit(1)
                return
            await self._session(device, process)
            process.exit(0)
        except (BrokenPipeError, ConnectionError, asyncssh.Error, ValueError):
            pass  # the client went away, or sent something we will not read further

    async def _session(self, device: RunningDevice, process: asyncssh.SSHServerProcess) -> None:
        spec = device.spec
        session_id = next(self._sessions)
        rng = random.Random(f"{spec.seed}/{device.name}/netconf/{session_id}")
        framing = _Framing(process.stdin)
        if faults.HANG in spec.faults:
            while await process.stdin.read(65536):
                pass  # logged in, subsystem open, and never a word: the client's timeout must fire
            return
        hello = etree.Element(f"{{{NC}}}hello", nsmap={None: NC})
        caps = etree.SubElement(hello, f"{{{NC}}}capabilities")
        for cap in capabilities(device):
            etree.SubElement(caps, f"{{{NC}}}capability").text = cap
        etree.SubElement(hello, f"{{{NC}}}session-id").text = str(session_id)
        process.stdout.write(etree.tostring(hello, encoding="UTF-8", xml_declaration=True) + EOM)
        raw = await framing.read()
        if raw is None:
            return
        try:
            client = etree.fromstring(raw.strip(), parser=_SECURE)
        except etree.XMLSyntaxError:
            return  # RFC 6241 8.1: a bad hello ends the session
        client_caps = {(c.text or "").strip() for c in client.iter(f"{{{NC}}}capability")}
        framing.chunked = BASE_11 in client_caps
        gets = 0
        while True:
            raw = await framing.read()
            if raw is None:
                return
            try:
                rpc = etree.fromstring(raw.strip(), parser=_SECURE)
            except etree.XMLSyntaxError as exc:
                process.stdout.write(framing.frame(_reply(None, _error("malformed-message", f"not XML: {exc}", "rpc"))))
                continue
            op = next((c for c in rpc if isinstance(c.tag, str)), None)
            if rpc.tag != f"{{{NC}}}rpc" or op is None:
                body = _error("malformed-message", "expected <rpc> holding one operation", "rpc")
            elif op.tag == f"{{{NC}}}close-session":
                process.stdout.write(framing.frame(_reply(rpc, etree.Element(f"{{{NC}}}ok"))))
                await process.stdout.drain()
                return
            elif op.tag == f"{{{NC}}}get":
                gets += 1
                filt = op.find(f"{{{NC}}}filter")
                if filt is not None and filt.get("type", "subtree") != "subtree":
                    body = _error("operation-not-supported", f"filter type {filt.get('type')!r} is not supported",
                                  "application")
                else:
                    await self._delay(spec, rng)
                    body = apply_filter(self.data_for(device), filt)
                    if await self._faulty_reply(device, process, framing, _reply(rpc, body), gets, rng):
                        return
                    continue
            else:
                body = _error("operation-not-supported", f"<{etree.QName(op).localname}> is not supported here")
            process.stdout.write(framing.frame(_reply(rpc, body)))

    async def _delay(self, spec, rng: random.Random) -> None:
        if spec.latency > 0:
            await asyncio.sleep(spec.latency * (1 + rng.uniform(-spec.jitter, spec.jitter)))

    async def _faulty_reply(self, device, process, framing: _Framing, reply: bytes, gets: int,
                            rng: random.Random) -> bool:
        """Write one <get> reply, as the device's faults would; True if the session is over."""
        spec = device.spec
        data = framing.frame(reply)
        if faults.DISCONNECT in spec.faults and gets == 1:
            process.stdout.write(data[: len(data) // 2])
            await process.stdout.drain()
            process.channel.get_connection().abort()
            return True
        if faults.GARBAGE in spec.faults:
            process.stdout.write(faults.noise(rng))
            return False
        if faults.SLOW in spec.faults:
            # About 40 pauses per reply however long it is: a NETCONF client's timeout bounds the whole
            # reply (ncclient's does), not the silence between bytes as the SSH reader's does.
            chunk = max(spec.slow_chunk, len(data) // 40 + 1)
            for i in range(0, len(data), chunk):
                process.stdout.write(data[i : i + chunk])
                await process.stdout.drain()
                await asyncio.sleep(spec.slow_pause)
            return False
        process.stdout.write(data)
        return False

    async def close(self) -> None:
        for acceptor in self.acceptors:
            acceptor.close()
        await asyncio.gather(*(a.wait_closed() for a in self.acceptors), return_exceptions=True)
        self.acceptors.clear()
