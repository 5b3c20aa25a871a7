"""Normalisation: raw parser output -> comparable, classified, de-duplicated records.

This module is the ONE place where serials, PIDs and versions are canonicalised and where
inventory rows are classified; a scan and ``ibagent parse FILE`` both go through
:func:`records_from_captures`.

Rules (FORMATS.md section 4)
============================
Serials (:func:`canonical_serial`)
    trim; upper-case; strip ``SN:`` / ``S/N:`` / ``S:`` / ``Serial Number:`` prefixes,
    surrounding quotes and trailing padding/commas; placeholders (``N/A``, ``NA``, ``None``,
    ``-``, ``Unknown``, ``<empty>``, all zeros...) become ``""``.  Characters are never
    substituted: ``O`` and ``0`` stay as printed (virtual UDIs such as ``9NZ7O74FICQ`` carry a
    real letter O); hyphen suffixes (``INL24374088-A``) are kept.
PIDs (:func:`base_pid`, :func:`is_refurbished`)
    the PID is kept as read on the record; ``base_pid`` trims it, drops trailing ``=``
    (spare SKU marker) and a trailing ``-RF`` (Cisco Refresh SKU, flagged ``refurbished``).
    ``/K9``, ``-E``/``-A`` and every other suffix are significant and kept.
Versions (:func:`canonical_version`, :func:`version_key`)
    IOS XE ``17.09.04a`` == ``17.9.4a``: dotted integers without leading zeros plus a
    lower-case rebuild letter; ``prdNN``, ``[Default]``, ``- SMU-PATCHED`` and other trailing
    words dropped; 3.x trains keep their letters (``03.06.07E`` -> ``3.6.7E``).  NX-OS
    ``10.2(3)`` == ``10.2.3`` (``[Feature Release]`` / ``[build ...]`` dropped) but train
    releases keep their form (``7.0(3)I7(9)``).  IOS XR dotted (``7.5.2``, ``24.1.1``,
    ``6.1.4.10I``), ``[Default]`` / ``LNT`` dropped.  ASA ``9.14(2)15`` (``9.14.2.15`` is read
    as the same release).  Classic IOS keeps its train letters (``15.2(2)E8``).  The form is
    recognised by shape, so an IOS XE box collected as ``cisco_ios`` still compares.
    ``version_key`` gives a tuple that sorts releases in numeric order.

Components
==========
SNMP and NETCONF rows state a class of their own (``RawComponent.physical_class``:
entPhysicalClass, IOS XE ``hw-type``, openconfig type); where it is unambiguous it decides
(``stack`` -> virtual row, ``container``/``sensor`` -> ``other``, power supply -> ``psu``, fan ->
``fan``, transceiver / a port naming a PID -> ``optic``, ``chassis`` -> chassis, stack member or
FEX by name); every other row goes by the name rules below.
Classes (first rule that matches, the reason names it): virtual stack row ``c93xx Stack``
-> ``other``; FEX chassis -> ``fex``; ``Chassis`` / ``Rack N`` / ``Switch N Chassis`` /
``SwitchN System`` / a row whose description says Chassis -> ``chassis``; ``Switch N`` on a
stack -> ``stack-member`` (``chassis`` when alone); power -> ``psu``; fans -> ``fan``;
transceivers / ports / ``mau`` -> ``optic``; route/switch processors and supervisors ->
``supervisor``; line cards -> ``linecard``; modules, NIMs, SPAs, MPAs, sub-modules ->
``module``; anything else ``other``.

Parents (best effort, by name): ``... sub-module of X`` -> X; ``FEX n ...`` and FEX host
ports -> the FEX chassis; ``Switch N ...`` / ``SwitchN ...`` -> that switch's root; slot
paths (``0/1/0/0``, ``TenGigabitEthernet2/1/4``, ``subslot 0/0 transceiver 2``) -> the
container whose path is the longest prefix; otherwise the device's single chassis.

Not contractable (``contractable=False``, reason says which): the virtual stack row; rows
without a serial; rows without a Cisco PID (empty / ``N/A`` / ``Unspecified``: third-party
optics); a non-root row repeating the chassis serial under another PID (ISR built-in NIMs) or
repeating its root's PID under another serial (built-in RP/FP/NIM controller of a fixed
chassis, the FEX's own module board); duplicates - the same (serial, base PID) twice on a
device keeps the first root-like row contractable and marks the rest; when two captures list
the same item (XR ``show inventory`` and ``admin show inventory``) only the first is kept.
StackWise Virtual / VSS keep both chassis; stack members and FEX units are separate items.

Device facts
============
Chassis PID/serial: the active stack member (``show version``) when there is a stack, else
the first contractable chassis row of the inventory, else ``show version``'s own values
(ASA ``show version`` prints the board serial, so the inventory wins).  ``version`` is
``canonical_version(os_version)``.  Roles come from ``show version`` and are completed with
Smart Licensing's HA UDI roles (Active / Standby / Member) matched by serial.
Licenses: one :class:`LicenseUsage` per (entitlement tag, UDI); a truncated summary tag
(``C9300-48 Network Advan...``) merges into the full tag of ``show license usage``; UDI
from the licensing output, else the chassis.  ``transport`` on every record is the capture's.
"""
from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, Iterable, Sequence

import parsers
from parsers import ParseError

from agent.core.identity import PLACEHOLDERS, base_pid, canonical_serial, has_pid as _has_pid, is_refurbished, pid_key  # noqa: F401  (re-exported)
from agent.core.models import Capture, Component, DeviceFacts, DeviceRecords, LicenseStatus, LicenseUsage, ParseResult, RawComponent

__all__ = [
    "canonical_serial",
    "base_pid",
    "is_refurbished",
    "canonical_version",
    "version_key",
    "classify",
    "records_from_captures",
]

# ------------------------------------------------------------------ versions

_FAMILY = {
    "cisco_ios": "ios", "ios": "ios", "cisco_xe": "ios", "iosxe": "ios", "ios_xe": "ios",
    "cisco_nxos": "nxos", "nxos": "nxos", "cisco_xr": "xr", "iosxr": "xr", "xr": "xr",
    "cisco_asa": "asa", "asa": "asa",
}
_CLASSIC = re.compile(r"^(\d+)\.(\d+)\(([\d.]+[a-z]*)\)([A-Za-z]*\d*[a-z]?)")
_DOTTED = re.compile(r"^0*(\d+)\.0*(\d+)(?:\.0*(\d+))?(?:\.0*(\d+))?([A-Za-z]+\d*)?")
_NXOS_TRAIN = re.compile(r"^(\d+)\.(\d+)\((\d+[a-z]*)\)([A-Z]+\d*)\((\d+[a-z]*)\)")
_NXOS_PLAIN = re.compile(r"^(\d+)\.(\d+)\((\d+)([a-z]*)\)")
_ASA = re.compile(r"^(\d+)\.(\d+)\((\d+)\)(\d+)?")
_ASA_DOTTED = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:\.(\d+))?$")


def _first_token(raw: str) -> str:
    s = str(raw or "").strip()
    m = re.search(r"\bVersion\s+(\S+)", s)  # a whole banner line: '... Software (X), Version 15.0(2)SE4, ...'
    if m:
        s = m.group(1)
    s = re.sub(r"\s*\[.*?\]", "", s)  # [Default], [build ...], [Feature Release]
    s = s.split(" - ")[0]  # - SMU-PATCHED, - Extended Support Release
    s = s.strip().split()[0] if s.strip() else ""
    return s.strip(",;")


def _xe(tok: str) -> str:
    m = _DOTTED.match(tok)
    if not m:
        return tok
    nums = [str(int(g)) for g in m.group(1, 2, 3, 4) if g is not None]
    suffix = m.group(5) or ""
    if re.fullmatch(r"prd\d*", suffix, re.I):
        suffix = ""
    elif re.fullmatch(r"[A-Za-z]", suffix) and len(nums) >= 3 and int(nums[0]) >= 16:
        suffix = suffix.lower()  # 17.9.4a: rebuild letter
    elif not re.fullmatch(r"[A-Za-z]+", suffix):
        suffix = re.sub(r"\d+$", "", suffix) if suffix.lower().startswith("prd") else suffix
    rest = tok[m.end():]
    if suffix == "" and rest.startswith(".") and re.match(r"^\.[A-Z]+\d*$", rest):
        suffix = rest[1:]  # 03.04.06.SG
    return ".".join(nums) + suffix


def canonical_version(platform: str, raw: str | None) -> str:
    """Comparable version string for ``platform`` (see module docstring); '' for no version."""
    tok = _first_token(raw or "")
    if not tok:
        return ""
    family = _FAMILY.get(str(platform).lower(), "ios")
    if family == "ios":
        m = _CLASSIC.match(tok)
        if m:
            return tok[: m.end()]
        return _xe(tok)
    if family == "nxos":
        m = _NXOS_TRAIN.match(tok)
        if m:
            return f"{m.group(1)}.{m.group(2)}({m.group(3)}){m.group(4)}({m.group(5)})"
        m = _NXOS_PLAIN.match(tok)
        if m:
            return f"{m.group(1)}.{m.group(2)}.{m.group(3)}{m.group(4)}"
        m = _DOTTED.match(tok)
        if m:
            nums = [str(int(g)) for g in m.group(1, 2, 3) if g is not None]
            return ".".join(nums) + (m.group(5) or "" if (m.group(5) or "").islower() else "")
        return tok
    if family == "xr":
        m = re.match(r"^(\d+(?:\.\d+)*[A-Z]?)", tok)
        if m:
            return ".".join(str(int(p)) if p.isdigit() else p for p in m.group(1).split("."))
        return tok
    # asa
    m = _ASA.match(tok)
    if m:
        return f"{m.group(1)}.{m.group(2)}({m.group(3)})" + (m.group(4) or "")
    m = _ASA_DOTTED.match(tok)
    if m:
        return f"{m.group(1)}.{m.group(2)}({m.group(3)})" + (m.group(4) or "")
    return tok


def version_key(platform: str, raw: str | None) -> tuple:
    """Sort key: numbers compare as numbers, letters as text, shorter prefix first."""
    canon = canonical_version(platform, raw)
    key = []
    for tok in re.findall(r"\d+|[A-Za-z]+", canon):
        key.append((1, int(tok), "") if tok.isdigit() else (0, 0, tok.lower()))
    return tuple(key)


# ------------------------------------------------------------------ classification

_VIRTUAL_STACK = re.compile(r"^c\d+\w*\s+stack$", re.I)
_SWITCH_ROW = re.compile(r"^switch\s*(\d+)$", re.I)
_SWITCH_PREFIX = re.compile(r"^switch\s*(\d+)\b(?!/)", re.I)
_FEX_CHASSIS = re.compile(r"^fex\s*(\d+)\s+chassis$", re.I)
_FEX_PREFIX = re.compile(r"^fex\s*(\d+)\b", re.I)
_CHASSIS_NAME = re.compile(r"^(?:chassis(?:\s+\d+)?|rack\s*\d+|chassis\s+\S+|switch\s*\d+\s+(?:chassis|system)|\d+\s+chassis|switch\s+system)$", re.I)
_INTERFACE = re.compile(
    r"^(?:transceiver\s+)?(?:[A-Za-z]+[- ]?)?(?:Ethernet|GigE|Gig|TenGig\w*|Te|Gi|Fa|Fo|Hu|Twe|Tw|TwentyFiveGig\w*|"
    r"FortyGig\w*|FiftyGig\w*|HundredGig\w*|FourHundredGig\w*|TwoHundredGig\w*|FastEthernet|mgmt|Serial|POS|"
    r"Cellular|Optics|dwdm)\s*\d+(?:/\d+)+\S*$", re.I)
_OPTIC_PID = re.compile(r"^(?:SFP|QSFP|GLC|XFP|X2|CFP|CPAK|ONS-|DWDM-|CVR-|QDD-|OSFP|SFP28|XENPAK|CWDM-|GBIC|WS-G54)", re.I)
_OPTIC_WORDS = re.compile(r"transceiver|\bsfp|qsfp|xfp\b|pluggable optic|\boptics?\b|\b\d+g?base-|1000base|10gbase|gbase|\bgbic\b|\bmau\b|aoc\d|\bcu\d+(?:\.\d)?m\b|direct.attach", re.I)
_PSU = re.compile(r"power[\s-]*supply|power[\s-]*module|\bpsu\b|\bpem\b|\bpwr\b|power entry|\bps\s*\d", re.I)
_PSU_PID = re.compile(r"(?:^|-)(?:PWR|PAC|PDC|PSU|PEM|CAC|CDC)(?:-|\d|$)|^N\dK-(?:AC|DC)-|-AC-\d|PWR-", re.I)
_FAN = re.compile(r"\bfan|fantray|fan[\s-]*tray|\bblower\b|/FT\d|^FT\d", re.I)
_SUP = re.compile(r"supervisor|route\s*(?:switch\s*)?processor|\bRSP\d*\b|\bRP\d*\b|/RP\d|/RSP\d|^module\s+R\d+$|\bSUP\d*|-SUP", re.I)
_LINECARD = re.compile(r"line\s*card|linecard|\bLC\b|ethernet module|\bfc module|port.*(?:module|card)\b.*rev|\blc\d|/LC\d", re.I)
_MODULE = re.compile(r"module|subslot|\bNIM\b|\bSPA\b|\bMPA\b|\bEPA\b|sub-module|daughter|\bslot\b|adapter|uplink|\bcard\b|processor|\bcontroller\b|\bFB\d", re.I)

_BARE_SWITCH_PID = re.compile(r"^(?:WS-C\d|C\d{4}[A-Z]?-|C1000-|IE-\d|CDB-|ME-\d)", re.I)

CONTAINER_CLASSES = ("chassis", "stack-member", "supervisor", "linecard", "module", "fex")


# The class an SNMP / NETCONF source states, where it settles the question better than the row's
# name: entPhysicalClass names (parsers.snmp), IOS XE device-hardware hw-type, openconfig /
# ietf-hardware component types.  Anything else (module, LINECARD, hw-type-pim...) is decided by
# the name rules below, which tell a supervisor from a line card from a module.
_SOURCE_CLASS = {
    "stack": ("other", "virtual stack row (entPhysicalClass stack)"),
    "container": ("other", "empty container (source class container)"),
    "sensor": ("other", "sensor (source class)"), "SENSOR": ("other", "sensor (source class)"),
    "backplane": ("other", "backplane (source class)"),
    "powerSupply": ("psu", "power supply (source class)"), "POWER_SUPPLY": ("psu", "power supply (source class)"),
    "power-supply": ("psu", "power supply (source class)"), "hw-type-pem": ("psu", "power supply (hw-type-pem)"),
    "fan": ("fan", "fan (source class)"), "FAN": ("fan", "fan (source class)"),
    "hw-type-fantray": ("fan", "fan (hw-type-fantray)"),
    "TRANSCEIVER": ("optic", "transceiver (source class)"), "hw-type-transceiver": ("optic", "transceiver (hw-type)"),
}
_SOURCE_CHASSIS = {"chassis", "CHASSIS", "hw-type-chassis"}


def _from_source_class(raw: RawComponent, stacked: bool) -> tuple[str, str] | None:
    src = raw.physical_class.strip()
    if not src:
        return None
    if src in _SOURCE_CHASSIS:
        cls, why = _by_name(raw, stacked)  # a stack member, a FEX or a lone chassis: the name says which
        return (cls, why) if cls in ("chassis", "stack-member", "fex") else ("chassis", f"source class {src}")
    if src == "port":
        # entPhysicalClass port: a transceiver when it names a part, else a bare port.
        return ("optic", "transceiver (entPhysicalClass port with a PID)") if _has_pid(raw.pid) else None
    return _SOURCE_CLASS.get(src)


def classify(raw: RawComponent, stacked: bool = False) -> tuple[str, str]:
    """(class, reason) for one inventory row.  ``stacked``: the device has several 'Switch N' rows.

    A class stated by an SNMP / NETCONF source is used where it is unambiguous (``_SOURCE_CLASS``);
    CLI rows carry none and go by their name, description and PID.
    """
    return _from_source_class(raw, stacked) or _by_name(raw, stacked)


def _by_name(raw: RawComponent, stacked: bool = False) -> tuple[str, str]:
    name = raw.name.strip()
    descr = raw.descr.strip()
    pid = raw.pid.strip()
    text = f"{name} {descr}"
    if _VIRTUAL_STACK.match(name) or _VIRTUAL_STACK.match(descr):
        return "other", "virtual stack row"
    if _FEX_CHASSIS.match(name) or (re.search(r"fabric extender", descr, re.I) and re.search(r"chassis", text, re.I)):
        return "fex", "FEX chassis"
    if _CHASSIS_NAME.match(name):
        return "chassis", f"name '{name}'"
    m = _SWITCH_ROW.match(name) or (_BARE_SWITCH_PID.match(pid) and re.match(r"^(\d+)$", name))
    if m:  # 'Switch 2', or classic Catalyst 'NAME: "2", DESCR: "WS-C3750X-48P"'
        return ("stack-member", f"stack member Switch {m.group(1)}") if stacked else ("chassis", f"name '{name}' (single switch)")
    if _PSU.search(name) or _PSU.search(descr) or _PSU_PID.search(pid):
        return "psu", "power supply (name/descr/PID)"
    if _FAN.search(name) or _FAN.search(descr) or re.search(r"FAN", pid, re.I):
        return "fan", "fan (name/descr/PID)"
    if _INTERFACE.match(name) or re.match(r"^module\s+mau\b", name, re.I) or re.search(r"transceiver", name, re.I) \
            or _OPTIC_PID.match(pid):
        return "optic", "transceiver / port (name/PID)"
    if re.match(r"^fex\s*\d+\s+module\b", name, re.I):
        return "module", "FEX module board"
    if re.match(r"^stack\s*port", name, re.I) or re.match(r"^STACK-", pid, re.I):
        return "other", "stack cable"
    if re.search(r"\b(?:NIM|SPA|EPA|MPA)\b|subslot|sub-module", name, re.I):
        return "module", "module / adapter (name)"
    if _SUP.search(name) or _SUP.search(descr) or re.search(r"(?:^|-)(?:SUP|RSP|RP)\d*(?:-|$)", pid, re.I):
        return "supervisor", "supervisor / route processor"
    if _OPTIC_WORDS.search(descr) and not re.search(r"module\b|adapter|card|chassis|router|switch", descr, re.I) \
            and not _MODULE.search(name) and not re.search(r"/(?:RP|RSP|LC|FT|PM|FB)\d", name, re.I) \
            and not re.match(r"^\d+$", name) and not re.match(r"^WS-X", pid, re.I):
        return "optic", "transceiver (descr)"
    if re.search(r"\bchassis\b", descr, re.I) and not re.search(r"chassis\s+(?:fan|power|module)", descr, re.I) \
            and not re.search(r"/", name):
        return "chassis", "description says Chassis"
    if _LINECARD.search(name) or _LINECARD.search(descr) or re.match(r"^\d+$", name) \
            or re.match(r"^(?:\d+/\d+|module\s+\d+/\d+/CPU\d+|\d+/\d+/CPU\d+)$", name, re.I):
        return "linecard", "line card / slot"
    if _MODULE.search(name) or _MODULE.search(descr):
        return "module", "module / adapter"
    return "other", "no class rule matched"


# ------------------------------------------------------------------ parent links

def _path(name: str) -> tuple[str, ...] | None:
    """Slot path of a row from its name: ('0', '1', '0', '0'), ('R0',), ('2', '1', '4')..."""
    n = name.strip()
    m = re.match(r"^module\s+([A-Z]?\d+)$", n, re.I)  # IOS XE 'module 0', 'module R0', 'module F0'
    if m:
        return (m.group(1).upper(),)
    m = re.match(r"^(?:NIM\s+|SPA\s+|EPA\s+)?subslot\s+(\d+)/(\d+)(?:\s+transceiver\s+(\d+))?", n, re.I)
    if m:
        return tuple(g for g in (m.group(1), m.group(2), ("t" + m.group(3)) if m.group(3) else None) if g)
    m = re.match(r"^slot\s+(\d+)\b", n, re.I)
    if m:
        return (m.group(1),)
    m = re.match(r"^(\d+)$", n)
    if m:
        return (m.group(1),)
    tok = next((t for t in re.split(r"[\s\"]+", n) if "/" in t), None)
    if tok is None:
        return None
    tok = re.sub(r"^[A-Za-z\-]+(?=\d)", "", tok)  # TenGigE0/1/0/0 -> 0/1/0/0
    parts = [p for p in tok.split("/") if p and not re.fullmatch(r"CPU\d+|SP|NPU\d+", p, re.I)]
    if not parts or not re.match(r"^\w+$", parts[0]):
        return None
    return tuple(p.upper() for p in parts)


def _switch_num(name: str) -> str | None:
    m = _SWITCH_PREFIX.match(name.strip())
    if m:
        return str(int(m.group(1)))
    m = re.match(r"^stackport\s*(\d+)/", name.strip(), re.I)
    return str(int(m.group(1))) if m else None


def _assign_parents(comps: list[Component], stacked: bool) -> None:
    by_name = {c.name: c for c in comps}
    roots = {id(c) for c in comps if c.cls in ("chassis", "stack-member", "fex") or c.reason.startswith("virtual stack")}
    chassis = [c for c in comps if c.cls == "chassis"]
    switch_root: dict[str, Component] = {}  # switch number -> 'Switch N' / 'Switch N Chassis' / 'SwitchN System'
    fex_root: dict[str, Component] = {}
    paths: dict[int, tuple[str, ...] | None] = {}
    for c in comps:
        paths[id(c)] = _path(c.name)
        n = _switch_num(c.name)
        if n and c.cls in ("chassis", "stack-member"):
            switch_root.setdefault(n, c)
        elif n:  # 'Switch 1 Slot 2 Linecard' -> ('1', '2'); 'Switch 1 - Power Supply A' -> ('1',)
            m = re.search(r"(?:slot|linecard|supervisor|module)\s+(\d+)", c.name, re.I)
            paths[id(c)] = (n, m.group(1)) if m else (n,)
        m = _FEX_CHASSIS.match(c.name)
        if m and c.cls == "fex":
            fex_root[str(int(m.group(1)))] = c
    for n, root in switch_root.items():
        paths[id(root)] = (n,)
    multi_switch = stacked or len(switch_root) > 1
    containers = [c for c in comps if c.cls in CONTAINER_CLASSES]

    def by_path(c: Component, pool: Iterable[Component]) -> Component | None:
        """The container whose slot path is the longest proper prefix of ``c``'s."""
        p = paths[id(c)]
        if not p:
            return None
        best, best_len = None, 0
        for o in pool:
            q = paths[id(o)]
            if o is c or not q or len(q) >= len(p) or p[: len(q)] != q:
                continue
            if len(q) > best_len:
                best, best_len = o, len(q)
        return best

    real_roots = [r for r in comps if r.cls in ("chassis", "stack-member")]
    for c in comps:
        if id(c) in roots:
            continue
        parent: Component | None = None
        m = re.search(r"sub-module of\s+(.+)$", c.name, re.I)  # Catalyst 6500: 'msfc sub-module of 1'
        if m and m.group(1).strip() in by_name:
            parent = by_name[m.group(1).strip()]
        if parent is None and fex_root:  # 'FEX 106 Fan 1', FEX host ports 'Ethernet106/1/1'
            m = _FEX_PREFIX.match(c.name) or re.match(r"^Ethernet(\d{3})/", c.name)
            if m and str(int(m.group(1))) in fex_root:
                parent = fex_root[str(int(m.group(1)))]
        if parent is None and switch_root:
            n = _switch_num(c.name)
            p = paths[id(c)]
            if n is None and p and multi_switch and p[0] in switch_root:
                n = p[0]  # 'TenGigabitEthernet2/1/4' on a stack / SVL / VSS: switch 2
            if n in switch_root:
                pool = [o for o in containers if paths[id(o)] and paths[id(o)][0] == n]
                parent = by_path(c, pool) or switch_root[n]
        if parent is None:
            parent = by_path(c, containers)
        if parent is None:
            if len(chassis) == 1:
                parent = chassis[0]
            elif len(real_roots) == 1:
                parent = real_roots[0]
        if parent is not None and parent is not c:
            c.parent = parent.name


# ------------------------------------------------------------------ components

_CLASS_RANK = {"chassis": 0, "stack-member": 1, "fex": 2, "supervisor": 3, "linecard": 4, "module": 5,
               "psu": 6, "fan": 7, "optic": 8, "other": 9}


def _root_of(c: Component, by_name: dict[str, Component]) -> Component:
    seen = set()
    while c.parent and c.parent in by_name and c.name not in seen:
        seen.add(c.name)
        c = by_name[c.parent]
    return c


def _components(device: str, rows: list[tuple[RawComponent, Capture]]) -> list[Component]:
    names = [r.name for r, _ in rows]
    switch_rows = sum(1 for r, _ in rows if _SWITCH_ROW.match(r.name)
                      or (re.match(r"^\d+$", r.name) and _BARE_SWITCH_PID.match(r.pid)))
    stacked = switch_rows > 1 or (switch_rows >= 1 and any(_VIRTUAL_STACK.match(n) for n in names))
    out: list[Component] = []
    for raw, cap in rows:
        cls, why = classify(raw, stacked=stacked)
        out.append(Component(
            device=device, name=raw.name, descr=raw.descr, pid=raw.pid, base_pid=base_pid(raw.pid),
            vid=raw.vid, serial_raw=raw.serial, serial=canonical_serial(raw.serial), cls=cls,
            reason=why, refurbished=is_refurbished(raw.pid), transport=cap.transport, capture_id=cap.id,
        ))
    _assign_parents(out, stacked)
    by_name = {c.name: c for c in out}

    def off(c: Component, why: str) -> None:
        if c.contractable:
            c.contractable = False
            c.reason = f"{why}; class: {c.reason}"

    for c in out:
        if c.cls == "other" and c.reason.startswith("virtual stack"):
            off(c, "virtual stack row repeating a member's serial")
    for c in out:
        if not c.contractable:
            continue
        if not c.serial:
            off(c, "no serial")
        elif not _has_pid(c.pid):
            off(c, "no Cisco PID (third-party or unidentified part)")
    for c in out:
        if not c.contractable or c.cls in ("chassis", "stack-member", "fex"):
            continue
        root = _root_of(c, by_name)
        if root is c:
            continue
        if not _has_pid(root.pid):
            continue  # 'Switch System' without PID: the child carrying its serial is the real identity
        if c.serial and c.serial == root.serial and c.base_pid != root.base_pid:
            off(c, f"built-in part repeating the chassis serial of '{root.name}'")
        elif c.base_pid and c.base_pid == root.base_pid and c.serial != root.serial:
            off(c, f"built-in part of fixed chassis '{root.name}' (repeats its PID)")
    # Duplicates inside the device: same (serial, base PID) -> root-like row first.
    groups: dict[tuple[str, str], list[Component]] = {}
    for c in out:
        if c.serial and c.base_pid:
            groups.setdefault((c.serial, c.base_pid.upper()), []).append(c)
    for key, group in groups.items():
        live = [c for c in group if c.contractable]
        if len(live) > 1:
            keep = min(live, key=lambda c: (_CLASS_RANK.get(c.cls, 9), out.index(c)))
            for c in live:
                if c is not keep:
                    off(c, f"duplicate of '{keep.name}' (same serial and base PID)")
    return out


# ------------------------------------------------------------------ licenses

def _tag_key(tag: str) -> str:
    return tag.strip().rstrip(".").strip().lower()


def _merge_licenses(items: list[LicenseUsage]) -> list[LicenseUsage]:
    """One record per (entitlement tag, UDI); truncated 'Foo Advan...' tags fold into full ones."""
    full = [i for i in items if not i.entitlement_tag.rstrip().endswith("...")]
    trunc = [i for i in items if i.entitlement_tag.rstrip().endswith("...")]
    merged: dict[tuple[str, str, str, str], LicenseUsage] = {}
    order: list[tuple[str, str, str, str]] = []

    def key(i: LicenseUsage) -> tuple[str, str, str, str]:
        return (_tag_key(i.entitlement_tag), i.license.lower(), i.udi_pid, canonical_serial(i.udi_serial))

    for i in full:
        k = key(i)
        if k in merged:
            _fill(merged[k], i)
        else:
            merged[k] = replace(i)
            order.append(k)
    for i in trunc:
        prefix = _tag_key(i.entitlement_tag)
        target = next((merged[k] for k in order if k[0].startswith(prefix) and k[1] == i.license.lower()
                       and k[2] == i.udi_pid and k[3] == canonical_serial(i.udi_serial)), None)
        if target is not None:
            _fill(target, i)
            continue
        k = key(i)
        if k in merged:
            _fill(merged[k], i)
        else:
            merged[k] = replace(i)
            order.append(k)
    return [merged[k] for k in order]


def _fill(target: Any, other: Any) -> None:
    for f in target.__dataclass_fields__:
        cur = getattr(target, f)
        if cur in ("", None, [], {}):
            val = getattr(other, f)
            if val not in ("", None, [], {}):
                setattr(target, f, val)


# ------------------------------------------------------------------ device records

def records_from_captures(device: str, platform: str, captures: Sequence[Capture]) -> DeviceRecords:
    """Parse every capture of one device and normalise the lot into :class:`DeviceRecords`.

    A capture with ``error`` set is skipped (noted in ``problems``); a capture no parser can
    read becomes a ``problems`` entry.  Raises :class:`parsers.ParseError` only when no
    capture yields anything usable.
    """
    problems: list[str] = []
    parsed: list[tuple[Capture, str, ParseResult]] = []
    failures: list[str] = []
    try:
        optional = _optional_commands(platform)
    except Exception:  # noqa: BLE001 - unknown platform: parse() will say so per capture
        optional = frozenset()
    for cap in captures:
        if cap.error is not None:
            problems.append(f"{cap.command}: capture failed ({cap.error_kind or 'error'}): {cap.error}")
            continue
        try:
            result = parsers.parse(platform, cap.command, cap.output)
        except ParseError as exc:
            kind = "optional command" if cap.command in optional else "command"
            problems.append(f"{cap.command}: not parsed ({kind}): {exc.reason}")
            failures.append(str(exc))
            continue
        canon = parsers.canonical_command(cap.command)
        parsed.append((cap, canon[0] if canon else cap.command, result))
    usable = [(c, cmd, r) for c, cmd, r in parsed if r.facts or r.components or r.licenses or r.license_status]
    # A prompt alone (everything else unreadable) is not a collected device.
    if not any(cmd != parsers.PROMPT for _, cmd, _ in usable):
        reason = "; ".join(failures) if failures else "no capture to parse"
        raise ParseError(platform, ", ".join(c.command for c in captures) or "-", f"no capture yielded anything usable ({reason})")

    # Facts: show version first, other captures fill gaps.
    vf: dict[str, Any] = {}
    vcap: Capture | None = None
    for cap, cmd, r in usable:
        if cmd == "show version" and r.facts:
            if vcap is None:
                vcap = cap
            for k, v in r.facts.items():
                vf.setdefault(k, v)
    for cap, cmd, r in usable:
        if cmd != "show version":
            for k, v in r.facts.items():
                vf.setdefault(k, v)

    # Components from every inventory capture, classified and linked together (XR's admin
    # chassis is the parent of the cards 'show inventory' lists); an item a later capture
    # lists again (same serial and base PID, or same name and PID when serial-less) is kept once.
    rows: list[tuple[RawComponent, Capture]] = []
    seen: set[tuple[str, str]] = set()
    for cap, cmd, r in usable:
        keys = set()
        for raw in r.components:
            sn, bp = canonical_serial(raw.serial), pid_key(raw.pid)
            key = (sn, bp) if sn and bp else ("", f"{raw.name}|{bp}")
            if key in seen:
                continue
            keys.add(key)
            rows.append((raw, cap))
        seen |= keys
    comps: list[Component] = _components(device, rows) if rows else []
    if not comps and vcap is not None:
        comps = _components_from_version(device, vf, vcap)

    # License status: merge every capture's view.
    status: LicenseStatus | None = None
    for cap, cmd, r in usable:
        if r.license_status is None:
            continue
        st = replace(r.license_status, device=device, transport=cap.transport)
        if status is None:
            status = st
        else:
            _fill(status, st)

    facts = _device_facts(device, platform, vf, comps, status, vcap or usable[0][0])

    licenses: list[LicenseUsage] = []
    udi_pid, udi_sn = facts.chassis_pid, facts.chassis_serial
    if status is not None:
        active = next((u for u in list(status.ha_udis) + list(status.trust_codes)
                       if u.get("role", "").lower() == "active" and u.get("udi_serial")), None)
        if status.udi_serial:
            udi_pid, udi_sn = status.udi_pid, status.udi_serial
        elif active is not None:
            udi_pid, udi_sn = active.get("udi_pid", ""), active["udi_serial"]
    for cap, cmd, r in usable:
        for lic in r.licenses:
            licenses.append(replace(lic, device=device, transport=cap.transport,
                                    udi_pid=lic.udi_pid or udi_pid, udi_serial=lic.udi_serial or udi_sn))
    licenses = _merge_licenses(licenses)
    if status is not None and not status.udi_pid and not status.udi_serial:
        status.udi_pid, status.udi_serial = udi_pid, udi_sn
    return DeviceRecords(facts=facts, components=comps, licenses=licenses, license_status=status, problems=problems)


def _optional_commands(platform: str) -> frozenset[str]:
    from agent.core.platforms import get  # local: platforms loads YAML

    return get(platform).ssh.optional


def _components_from_version(device: str, vf: dict[str, Any], cap: Capture) -> list[Component]:
    """No inventory: the chassis (and stack members) as ``show version`` states them."""
    rows: list[RawComponent] = []
    members = vf.get("stack_members") or []
    if members:
        for m in members:
            rows.append(RawComponent(name=f"Switch {m['switch']}", descr="from show version", pid=m.get("pid", ""),
                                     serial=m.get("serial", "")))
    elif vf.get("chassis_pid") or vf.get("chassis_serial"):
        rows.append(RawComponent(name="Chassis", descr=vf.get("chassis_descr") or vf.get("model") or "from show version",
                                 pid=vf.get("chassis_pid", ""), serial=vf.get("chassis_serial", "")))
    comps = _components(device, [(r, cap) for r in rows])
    for c in comps:
        c.reason = f"{c.reason} (from show version: no inventory)"
    return comps


def _device_facts(device: str, platform: str, vf: dict[str, Any], comps: list[Component],
                  status: LicenseStatus | None, cap: Capture) -> DeviceFacts:
    pid, serial = "", ""
    members = vf.get("stack_members") or []
    active = next((m for m in members if m.get("role") == "Active"), None)
    if active and active.get("serial"):
        pid, serial = active.get("pid", ""), active["serial"]
    if not serial and status is not None:  # stack without show version: the licensing Active member
        act = next((u for u in list(status.ha_udis) + list(status.trust_codes)
                    if u.get("role", "").lower() == "active" and u.get("udi_serial")), None)
        member = next((c for c in comps if act and c.cls == "stack-member" and c.serial == canonical_serial(act["udi_serial"])), None)
        if member is not None:
            pid, serial = member.pid, member.serial_raw
    if not serial:
        roots = [c for c in comps if c.cls == "chassis" and c.contractable] or \
                [c for c in comps if c.cls == "stack-member" and c.contractable] or \
                [c for c in comps if c.cls in ("chassis", "stack-member") and c.serial]
        if roots:
            pid, serial = roots[0].pid, roots[0].serial_raw
            if not _has_pid(pid):  # 'Switch System' without PID: a row with the same serial names it
                twin = next((c for c in comps if c.serial == roots[0].serial and _has_pid(c.pid)), None)
                pid = twin.pid if twin else ""
    if not serial:
        serial = vf.get("chassis_serial", "")
    if not pid:
        pid = vf.get("chassis_pid", "")
    roles = list(vf.get("roles") or [])
    if status and members:
        by_sn = {canonical_serial(u.get("udi_serial")): u.get("role", "") for u in (status.ha_udis or status.trust_codes)}
        roles = []
        for m in members:
            role = m.get("role") or by_sn.get(canonical_serial(m.get("serial")), "")
            roles.append(f"Switch {m['switch']} {role}".strip())
        roles += [r for r in (vf.get("roles") or []) if not r.startswith("Switch ")]
    os_version = vf.get("os_version", "")
    return DeviceFacts(
        device=device, platform=platform, hostname=vf.get("hostname", ""), os_version=os_version,
        version=canonical_version(platform, os_version), chassis_pid=pid, chassis_serial=canonical_serial(serial),
        uptime=vf.get("uptime", ""), roles=roles, transport=cap.transport,
    )
