"""The hardware of a lab device as an entity table: what its SNMP agent and NETCONF server answer.

Built from the same sources as its SSH outputs, never from a second copy of the facts: the
profile's inventory templates give each row's description, PID, VID and serial token (on a
Cisco box ``show inventory`` *is* the ENTITY-MIB table printed as text), ``lab/data/peers/
<profile>.yaml`` adds what the CLI does not print (entPhysicalClass, containment, containers,
sysDescr, sysObjectID), and the device's own values fill the tokens.  So one device shows the
same serials over SSH, SNMP and NETCONF, and a test can compare the three item by item.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from . import profiles
from .templates import TOKEN, render_text

PEERS_DIR = Path(__file__).resolve().parent / "data" / "peers"  # package data

# The two inventory layouts the profiles print (IOS/XE/NX-OS/XR/ASA 'NAME:' and XR admin 'Name:').
_ROW_QUOTED = re.compile(
    r'^[ \t]*NAME:[ \t]*"(?P<name>[^"]*)",?[ \t]*DESCR:[ \t]*"(?P<descr>[^"]*)"[ \t]*\r?\n'
    r'[ \t]*PID:[ \t]*(?P<pid>[^,\n]*?)[ \t]*,[ \t]*VID:[ \t]*(?P<vid>[^,\n]*?)[ \t]*,[ \t]*SN:[ \t]*(?P<sn>[^\s,]*)',
    re.M | re.I,
)
_ROW_ADMIN = re.compile(
    r'^[ \t]*Name:[ \t]*(?P<name>.+?)[ \t]+Descr:[ \t]*(?P<descr>[^\n]*?)[ \t]*\r?\n'
    r'[ \t]*PID:[ \t]*(?P<pid>\S*)[ \t]+VID:[ \t]*(?P<vid>\S*)[ \t]+SN:[ \t]*(?P<sn>[^\s,]*)',
    re.M,
)
# entPhysicalClass values (RFC 6933).
CLASS_NUMBERS = {
    "other": 1, "unknown": 2, "chassis": 3, "backplane": 4, "container": 5, "powerSupply": 6, "fan": 7,
    "sensor": 8, "module": 9, "port": 10, "stack": 11, "cpu": 12,
}


@dataclass(frozen=True, slots=True)
class CliRow:
    command: str
    name: str
    descr: str
    pid: str
    vid: str
    serial: str  # template expression: '{{sw1}}', '{{svl1}}-A', 'N/A' or ''


@dataclass(frozen=True, slots=True)
class EntityTemplate:
    index: int
    cls: str
    parent: int  # entPhysicalContainedIn, 0 = top
    name: str
    descr: str
    pid: str
    vid: str
    serial: str  # template expression
    cli: bool  # printed by the CLI too


@dataclass(frozen=True, slots=True)
class Entity:
    index: int
    cls: str
    parent: int
    name: str
    descr: str
    pid: str
    vid: str
    serial: str
    cli: bool

    @property
    def fru(self) -> bool:
        return self.cls in ("chassis", "powerSupply", "fan", "module") or (self.cls == "port" and bool(self.serial))


@dataclass(frozen=True, slots=True)
class PeerProfile:
    profile: str
    sys_object_id: str
    sys_descr: str
    netconf: dict[str, Any]
    entities: tuple[EntityTemplate, ...]


def _template_text(template) -> str:
    # Templates keep literal text and token names apart; put the tokens back as '{{name}}'.
    return "".join(p if i % 2 == 0 else "{{" + p + "}}" for i, p in enumerate(template.parts))


def cli_rows(profile_name: str) -> list[CliRow]:
    """Every row of the profile's inventory commands, in print order, serials as token expressions."""
    profile = profiles.load(profile_name)
    rows: list[CliRow] = []
    for command, template in profile.commands.items():
        if "inventory" not in command:
            continue
        text = _template_text(template).replace("\r\n", "\n")
        found = list(_ROW_QUOTED.finditer(text)) or list(_ROW_ADMIN.finditer(text))
        for m in found:
            rows.append(CliRow(command, m["name"].strip(), m["descr"].strip(), m["pid"].strip(),
                               m["vid"].strip(), m["sn"].strip()))
    return rows


@cache
def load(profile_name: str) -> PeerProfile:
    path = PEERS_DIR / f"{profile_name}.yaml"
    if not path.is_file():
        raise KeyError(f"no SNMP/NETCONF view for lab profile {profile_name!r} ({path} missing)")
    meta = yaml.safe_load(path.read_text())
    by_name: dict[str, CliRow] = {}
    for row in cli_rows(profile_name):
        # 'show inventory' names win over 'admin show inventory' ones (XR prints the cards in both).
        if row.name not in by_name or row.command == "show inventory":
            by_name.setdefault(row.name, row)
    index_of: dict[str, int] = {}
    entities = []
    for i, entry in enumerate(meta["entities"], start=1):
        name, cls, parent = (str(x) for x in entry[:3])
        if cls not in CLASS_NUMBERS:
            raise ValueError(f"{path}: unknown entPhysicalClass {cls!r} for {name!r}")
        if parent and parent not in index_of:
            raise ValueError(f"{path}: {name!r} is contained in {parent!r}, which is not listed before it")
        row = by_name.get(name)
        index_of[name] = i
        entities.append(EntityTemplate(
            index=i, cls=cls, parent=index_of[parent] if parent else 0, name=name,
            descr=row.descr if row else name, pid=row.pid if row else "", vid=row.vid if row else "",
            serial=row.serial if row else "", cli=row is not None,
        ))
    return PeerProfile(
        profile=profile_name, sys_object_id=str(meta["sys_object_id"]), sys_descr=str(meta["sys_descr"]),
        netconf=dict(meta.get("netconf") or {}), entities=tuple(entities),
    )


def _serial(expr: str, values: dict[str, str]) -> str:
    if expr.upper() in ("N/A", "NA"):
        return ""
    return render_text(expr, values) if TOKEN.search(expr) else expr


def device_entities(profile_name: str, values: dict[str, str]) -> list[Entity]:
    return [
        Entity(t.index, t.cls, t.parent, t.name, t.descr, t.pid, t.vid, _serial(t.serial, values), t.cli)
        for t in load(profile_name).entities
    ]
