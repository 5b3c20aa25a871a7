"""IOS XE's CDP / LLDP operational models over NETCONF -> :class:`agent.core.models.Neighbour`
entries (issue 17), called by ``parsers.netconf`` on any reply.

* Cisco-IOS-XE-cdp-oper ``cdp-neighbor-details/cdp-neighbor-detail``: ``device-name`` (the CDP
  Device ID), ``local-intf-name``, ``port-id``, ``platform-name``, ``version``, ``capability``
  (empty leaves named after each capability), ``ip-address`` (entry) and ``mgmt-address``.
* Cisco-IOS-XE-lldp-oper ``lldp-entries/lldp-intf-details`` (``if-name``, the local port) with
  its ``lldp-neighbor-details``: ``chassis-id``, ``port-id``, ``port-desc``, ``system-name``,
  ``system-desc``, ``mgmt-addrs/mgmt-addr``, ``enabled-capabilities`` (empty leaves).

* openconfig-lldp ``lldp/interfaces/interface`` (``name``, the local port) with
  ``neighbors/neighbor/state``: ``system-name``, ``system-description``, ``chassis-id``,
  ``port-id``, ``port-description``, ``management-address`` (IOS XR and NX-OS serve it).

The element names follow the models' YANG (lldp-oper as published for 16.11; cdp-oper as its
RESTCONF users read it); IOS XR's Cisco-IOS-XR-cdp-oper is not read yet (XR's CDP: SSH or SNMP).
Same bounds and printable-text rule as the CLI and SNMP readers.
"""
from __future__ import annotations

from agent.core.models import Neighbour, NeighbourStatus

from ._util import ParseError
from .neighbours import MAX_ENTRIES, MAX_FIELD, MAX_TEXT, printable

XE_CDP = "http://cisco.com/ns/yang/Cisco-IOS-XE-cdp-oper"
XE_LLDP = "http://cisco.com/ns/yang/Cisco-IOS-XE-lldp-oper"
OC_LLDP = "http://openconfig.net/yang/lldp"
# The NETCONF collector's neighbour captures (platform data: netconf.collect) -> the protocol they read.
FILTERS = {"netconf:cdp": "cdp", "netconf:lldp": "lldp"}
_ADDRESSES = 64


def _text(el, ns: str, tag: str, limit: int = MAX_FIELD) -> str:
    child = el.find(f"{{{ns}}}{tag}")
    if child is None or child.text is None:
        return ""
    lines = child.text.replace("\r\n", "\n").replace("\r", "\n").strip()[: limit * 2].split("\n")
    return "\n".join(printable(line.strip(), limit) for line in lines[:24])[:limit].strip()


def _flags(el, ns: str, tag: str) -> tuple[str, ...]:
    box = el.find(f"{{{ns}}}{tag}")
    if box is None:
        return ()
    return tuple(printable(str(k.tag).rsplit("}", 1)[-1], 64) for k in box if isinstance(k.tag, str))[:16]


def _cdp(top) -> list[Neighbour]:
    out = []
    for d in top.iter(f"{{{XE_CDP}}}cdp-neighbor-detail"):
        description = _text(d, XE_CDP, "version", MAX_TEXT)
        entry = _text(d, XE_CDP, "ip-address").lower()
        mgmt = _text(d, XE_CDP, "mgmt-address").lower()
        out.append(Neighbour(
            protocol="cdp", local_port=_text(d, XE_CDP, "local-intf-name"), device_id=_text(d, XE_CDP, "device-name"),
            remote_port=_text(d, XE_CDP, "port-id"), platform=_text(d, XE_CDP, "platform-name"),
            capabilities=_flags(d, XE_CDP, "capability"), software=description.split("\n", 1)[0],
            description=description, addresses=(entry,) if entry else (), mgmt_addresses=(mgmt,) if mgmt else ()))
    return out


def _lldp(top) -> list[Neighbour]:
    out = []
    for intf in top.iter(f"{{{XE_LLDP}}}lldp-intf-details"):
        local = _text(intf, XE_LLDP, "if-name")
        for d in intf.iter(f"{{{XE_LLDP}}}lldp-neighbor-details"):
            name, chassis = _text(d, XE_LLDP, "system-name"), _text(d, XE_LLDP, "chassis-id")
            description = _text(d, XE_LLDP, "system-desc", MAX_TEXT)
            mgmt = []
            for m in d.iter(f"{{{XE_LLDP}}}mgmt-addrs"):
                a = _text(m, XE_LLDP, "mgmt-addr").lower()
                if a and a not in mgmt and len(mgmt) < _ADDRESSES:
                    mgmt.append(a)
            out.append(Neighbour(
                protocol="lldp", local_port=local, device_id=name or chassis, remote_port=_text(d, XE_LLDP, "port-id"),
                capabilities=_flags(d, XE_LLDP, "enabled-capabilities"), software=description.split("\n", 1)[0],
                description=description, mgmt_addresses=tuple(mgmt), chassis_id=chassis,
                port_description=_text(d, XE_LLDP, "port-desc"), system_name=name))
    return out


def _oc_lldp(top) -> list[Neighbour]:
    out = []
    for intf in top.iter(f"{{{OC_LLDP}}}interface"):
        local = _text(intf, OC_LLDP, "name")
        for nb in intf.iter(f"{{{OC_LLDP}}}neighbor"):
            st = nb.find(f"{{{OC_LLDP}}}state")
            if st is None:
                continue
            name, chassis = _text(st, OC_LLDP, "system-name"), _text(st, OC_LLDP, "chassis-id")
            description = _text(st, OC_LLDP, "system-description", MAX_TEXT)
            mgmt = _text(st, OC_LLDP, "management-address").lower()
            caps = tuple(_text(c, OC_LLDP, "name").rsplit(":", 1)[-1] for c in nb.iter(f"{{{OC_LLDP}}}capability")
                         if (s := c.find(f"{{{OC_LLDP}}}state")) is not None and _text(s, OC_LLDP, "enabled") == "true")
            out.append(Neighbour(
                protocol="lldp", local_port=local, device_id=name or chassis, remote_port=_text(st, OC_LLDP, "port-id"),
                capabilities=caps[:16], software=description.split("\n", 1)[0], description=description,
                mgmt_addresses=(mgmt,) if mgmt else (), chassis_id=chassis,
                port_description=_text(st, OC_LLDP, "port-description"), system_name=name))
    return out


def parse(data, platform: str = "?", command: str = "netconf") -> tuple[list[Neighbour], list[NeighbourStatus]]:
    """Neighbours and one 'read' status per protocol whose model the reply holds; a reply to a
    neighbour filter that holds nothing (no neighbour: IOS XE sends no empty list) is a table read
    with no entry."""
    found: list[Neighbour] = []
    statuses: list[NeighbourStatus] = []
    for ns, tag, protocol, read in ((XE_CDP, "cdp-neighbor-details", "cdp", _cdp), (XE_LLDP, "lldp-entries", "lldp", _lldp),
                                    (OC_LLDP, "lldp", "lldp", _oc_lldp)):
        tops = list(data.iter(f"{{{ns}}}{tag}"))
        if tops:
            for top in tops:
                found += read(top)
            if protocol not in {s.protocol for s in statuses}:
                statuses.append(NeighbourStatus(protocol, "read"))
    if not statuses and command in FILTERS:
        statuses.append(NeighbourStatus(FILTERS[command], "read"))
    if len(found) > MAX_ENTRIES:
        raise ParseError(platform, command, f"more than {MAX_ENTRIES} neighbour entries: not a neighbour table")
    return found, statuses
