"""Classification: which class (chassis, stack member, PSU, optic...) an inventory row is, and why.

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
"""
from __future__ import annotations

import re
from functools import lru_cache

from agent.core.identity import has_pid as _has_pid
from agent.core.models import RawComponent


_VIRTUAL_STACK = re.compile(r"^c\d+\w*\s+stack$", re.I)
_SWITCH_ROW = re.compile(r"^switch\s*(\d+)$", re.I)
_SWITCH_PREFIX = re.compile(r"^switch\s*(\d+)\b(?!/)", re.I)
_FEX_CHASSIS = re.compile(r"^fex\s*(\d+)\s+chassis$", re.I)
_FEX_PREFIX = re.compile(r"^fex\s*(\d+)\b", re.I)
_CHASSIS_NAME = re.compile(r"^(?:chassis(?:\s+\d+)?|rack\s*\d+|chassis\s+\S+|switch\s*\d+\s+(?:chassis|system)|\d+\s+chassis|switch\s+system)$", re.I)
# An interface name: a word holding a port keyword, then 'N/N[/N...]'.  Names are device text, so the
# pattern is linear in them (issue 12).  The keyword ends its word ('Te', 'GigabitEthernet') or starts
# a speed word ('TenGigE', 'HundredGigE'): the word is read once (possessive) and checked from the
# side (lookahead / lookbehind).  It was '(?:[A-Za-z]+[- ]?)?(?:Ethernet|...|TenGig\w*|...)\s*\d+
# (?:/\d+)+\S*$', where the leading letters, the keyword's '\w*' and the digits could trade
# characters: 7 s on a 32,000-character name.  (The speed words' tail is letters now, not '\w*'.)
_SPEED_WORDS = r"TenGig|TwentyFiveGig|FortyGig|FiftyGig|HundredGig|FourHundredGig|TwoHundredGig"
_PORT_WORDS = ("Ethernet", "GigE", "Gig", "Te", "Gi", "Fa", "Fo", "Hu", "Twe", "Tw", "FastEthernet", "mgmt", "Serial",
               "POS", "Cellular", "Optics", "dwdm")
_INTERFACE = re.compile(
    r"^(?:transceiver\s+)?(?:"
    # 'Transceiver-Te1/1/1': a word, one '-' or ' ', then the keyword's own word.
    rf"(?>[A-Za-z]+[- ](?=[A-Za-z]))(?:(?:{_SPEED_WORDS})[A-Za-z]*+|{'|'.join(_PORT_WORDS)})"
    # 'TenGigabitEthernet1/0/1', 'Gi1/0/1': one word ending in the keyword or holding a speed word.
    rf"|(?=[A-Za-z]*?(?:{_SPEED_WORDS}))[A-Za-z]*+"
    rf"|[A-Za-z]*+(?:{'|'.join(f'(?<={w})' for w in _PORT_WORDS)}))"
    r"\s*+\d++(?:/\d++)++\S*+$", re.I)
_OPTIC_PID = re.compile(r"^(?:SFP|QSFP|GLC|XFP|X2|CFP|CPAK|ONS-|DWDM-|CVR-|QDD-|OSFP|SFP28|XENPAK|CWDM-|GBIC|WS-G54)", re.I)
_OPTIC_WORDS = re.compile(r"transceiver|\bsfp|qsfp|xfp\b|pluggable optic|\boptics?\b|\b\d+g?base-|1000base|10gbase|gbase|\bgbic\b|\bmau\b|aoc\d|\bcu\d+(?:\.\d)?m\b|direct.attach", re.I)
_PSU = re.compile(r"power[\s-]*supply|power[\s-]*module|\bpsu\b|\bpem\b|\bpwr\b|power entry|\bps\s*\d", re.I)
_PSU_PID = re.compile(r"(?:^|-)(?:PWR|PAC|PDC|PSU|PEM|CAC|CDC)(?:-|\d|$)|^N\dK-(?:AC|DC)-|-AC-\d|PWR-", re.I)
_FAN = re.compile(r"\bfan|fantray|fan[\s-]*tray|\bblower\b|/FT\d|^FT\d", re.I)
_SUP = re.compile(r"supervisor|route\s*(?:switch\s*)?processor|\bRSP\d*\b|\bRP\d*\b|/RP\d|/RSP\d|^module\s+R\d+$|\bSUP\d*|-SUP", re.I)
# 'port ... module|card ... rev' on one line: each step committed to its first occurrence (atomic: a
# later one could only leave less text for the next step), one try per line start.  The unanchored
# 'port.*(?:module|card)\b.*rev' rescanned the line from every 'port' in it (quadratic).
_LINECARD = re.compile(r"line\s*card|linecard|\bLC\b|ethernet module|\bfc module|\blc\d|/LC\d"
                       r"|^(?>.*?port)(?>.*?(?:module|card)\b).*?rev", re.I | re.M)
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
    if len(raw.name) + len(raw.descr) + len(raw.pid) > _MEMO_TEXT:
        return _from_source_class(raw, stacked) or _by_name(raw, stacked)
    return _classify_memo(raw.physical_class, raw.name, raw.descr, raw.pid, stacked)


# A fleet repeats the same rows (a model's PSU, fan and slot names) on every device of that model: the
# class is a function of the row's text alone, so each distinct row is judged once per process (about
# a third of a device's normalisation).  Bounded in entries, and rows with long text (hostile names)
# are not kept: the cache holds at most _MEMO_SIZE short rows.
_MEMO_SIZE = 4096
_MEMO_TEXT = 512


@lru_cache(maxsize=_MEMO_SIZE)
def _classify_memo(physical_class: str, name: str, descr: str, pid: str, stacked: bool) -> tuple[str, str]:
    raw = RawComponent(name, descr, pid, physical_class=physical_class)
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
