"""NX-OS ``show cdp neighbors detail | json`` and ``show lldp neighbors detail | json`` (NX-API
envelopes too) -> :class:`agent.core.models.Neighbour` entries.

NX-OS answers ``| json`` as it does for ``show inventory`` (``parsers.inventory.json_rows``):
a ``TABLE_<x>`` holding ``ROW_<x>``, one object when there is one row, a list when more.  A value
that may repeat (an address, a capability) is a string when there is one and a list when more.
"""
from __future__ import annotations

import json
from typing import Any

from agent.core.models import Neighbour

from .neighbours import MAX_ENTRIES, MAX_FIELD, MAX_TEXT, _cut, address

_TABLES = {"cdp": ("TABLE_cdp_neighbor_detail_info", "ROW_cdp_neighbor_detail_info"),
           "lldp": ("TABLE_nbor_detail", "ROW_nbor_detail")}
_ENVELOPE = ("ins_api", "outputs", "output", "result", "body")


def _rows(obj: Any, table: str, row: str, depth: int = 0) -> list[dict] | None:
    if depth > 8:
        return None
    if isinstance(obj, list):
        for item in obj:
            found = _rows(item, table, row, depth + 1)
            if found is not None:
                return found
        return None
    if not isinstance(obj, dict):
        return None
    if table in obj:
        t = obj[table]
        rows = t.get(row, []) if isinstance(t, dict) else t if isinstance(t, list) else []
        if isinstance(rows, dict):
            rows = [rows]
        return [r for r in rows if isinstance(r, dict)]
    for key in _ENVELOPE:
        if key in obj:
            return _rows(obj[key], table, row, depth + 1)
    return None


def _values(v: Any) -> list[str]:
    items = v if isinstance(v, list) else [v]
    return [str(x).strip() for x in items if x is not None and not isinstance(x, (dict, list))]


def _one(v: Any, limit: int = MAX_FIELD) -> str:
    vals = _values(v)
    return _cut(vals[0], limit) if vals else ""


def _addresses(*values: Any) -> tuple[str, ...]:
    out: list[str] = []
    for v in values:
        for x in _values(v):
            a = address(x)
            if a and a not in out:
                out.append(a)
    return tuple(out[:64])


def _caps(v: Any) -> tuple[str, ...]:
    parts = [p for x in _values(v) for p in x.replace(",", " ").split()]
    return tuple(p[:32] for p in parts if _cut(p))[:32]


def _cdp(r: dict) -> Neighbour:
    description = _one(r.get("version"), MAX_TEXT)
    return Neighbour(
        protocol="cdp", local_port=_one(r.get("intf_id")), device_id=_one(r.get("device_id")),
        remote_port=_one(r.get("port_id")), platform=_one(r.get("platform_id")),
        capabilities=_caps(r.get("capability")),
        software=description.split("\n", 1)[0][:MAX_FIELD], description=description,
        addresses=_addresses(r.get("v4addr"), r.get("v6addr")),
        mgmt_addresses=_addresses(r.get("v4mgmtaddr"), r.get("v6mgmtaddr")),
        system_name=_one(r.get("sysname")))


def _lldp(r: dict) -> Neighbour:
    description = _one(r.get("sys_desc"), MAX_TEXT)
    name, chassis = _one(r.get("sys_name")), _one(r.get("chassis_id"))
    return Neighbour(
        protocol="lldp", local_port=_one(r.get("l_port_id")), device_id=name or chassis,
        remote_port=_one(r.get("port_id")), capabilities=_caps(r.get("enabled_capability")),
        software=description.split("\n", 1)[0][:MAX_FIELD], description=description,
        mgmt_addresses=_addresses(r.get("mgmt_addr"), r.get("mgmt_addr_ipv6")),
        chassis_id=chassis, port_description=_one(r.get("port_desc")), system_name=name)


def parse(protocol: str, text: str) -> list[Neighbour] | None:
    """Entries of an NX-OS JSON answer; None when the text is not JSON holding that table.

    An empty JSON answer (NX-OS prints nothing, or ``{}``, when a table has no rows) is no
    entries.  More than MAX_ENTRIES rows: None (the caller refuses it by name).
    """
    start = text.find("{")
    if start < 0:
        return None
    try:
        data = json.loads(text[start:])
    except (ValueError, RecursionError):  # RecursionError: '[[[[...' nested past the interpreter's limit
        return None
    if data == {}:
        return []
    table, row = _TABLES[protocol]
    rows = _rows(data, table, row)
    if rows is None or len(rows) > MAX_ENTRIES:
        return None
    build = _cdp if protocol == "cdp" else _lldp
    return [build(r) for r in rows]
