"""Platform definitions as data (``platform_defs/<name>.yaml``), loaded once.

Adding a platform is adding a YAML file; code asks this module, never ``if platform == ...``.
Every platform fact lives in its file and is read here into typed fields of :class:`Platform`:
the names it is also known by (``aliases``, resolved by :func:`lookup`), how its releases are
numbered (``version_scheme``, the rule set ``agent.normalize`` applies), the file system files are
written to (``flash``), the SSH session (prompt, enable, setup, commands and which datum each
command answers), the NETCONF and SNMP sections the collectors read, the lines with which a
device refuses a command (``refusals``, read by the one detector :func:`refusal`), and how its
``show version`` names it (``detect``, read by :func:`detect` for outputs saved by hand).
``platform_defs/_shared.yaml`` holds what every platform shares (the refusal wording); a platform
file adds to it.

Each file is checked against :data:`SCHEMA` (a JSON Schema, of which :func:`validate` checks the
subset it uses: type, required, properties, additionalProperties, enum, items, minItems) when it
is loaded, and by ``tests/test_platform_defs.py``; :func:`problems` adds the checks a schema cannot
state (every optional command is a command, every command says what it provides...).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import yaml

_DEFS = Path(__file__).with_name("platform_defs")
_SHARED = "_shared"  # platform_defs/_shared.yaml: not a platform, what every platform inherits

# The data a collection can answer for (a command, a NETCONF filter, an SNMP table): the scan
# plans and merges transports on these (agent/collect/scan.py).  'neighbours': the CDP / LLDP tables
# (issue 17), answered by a read table or by the device saying the protocol is off or unknown.
DATA = ("inventory", "version", "licenses", "license_status", "neighbours")
# Version numbering rule sets; agent.core.versions implements one function per name.
VERSION_SCHEMES = ("ios", "nxos", "ios_xr", "asa")


# ------------------------------------------------------------------ schema

_STR = {"type": "string"}
_STRS = {"type": "array", "items": _STR}
_DATA_LIST = {"type": "array", "items": {"type": "string", "enum": list(DATA)}}

SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name", "description", "netmiko_device_type", "ntc_platform", "aliases", "version_scheme",
                 "flash", "ssh", "snmp"],
    "additionalProperties": False,
    "properties": {
        "name": _STR,
        "description": _STR,
        "netmiko_device_type": _STR,
        "ntc_platform": _STR,  # the key ntc-templates files this platform's templates under
        "aliases": _STRS,  # other names accepted for the platform (lookup())
        "version_scheme": {"type": "string", "enum": list(VERSION_SCHEMES)},
        "flash": _STR,  # file system files are written to ('bootflash:')
        "refusals": _STRS,  # added to _shared.yaml's
        # the licence state it may answer instead of Smart Licensing: classic IOS CSL blocks
        # ('csl'), or the ASA's 'show license all' (serial, platform licence) ('asa')
        "classic_licensing": {"type": "string", "enum": ["csl", "asa"]},
        # how its 'show version' names it (detect()): captures saved by hand name no platform
        "detect": {"type": "object", "additionalProperties": False,
                   "properties": {"show_version": _STRS, "unless": _STRS}},
        # how a CDP / LLDP neighbour running it announces it (from_announced()): regular expressions
        # searched in its announced software line and platform, for the gap report's inventory
        "announced": _STRS,
        "ssh": {
            "type": "object",
            "required": ["prompt", "commands", "provides"],
            "additionalProperties": False,
            "properties": {
                "prompt": _STR,
                "enable": {"type": "string", "enum": ["never", "when_user_exec", "always"]},
                "setup": _STRS,
                "commands": {"type": "array", "items": _STR, "minItems": 1},
                "optional": _STRS,
                "provides": {"type": "object", "additionalProperties": _DATA_LIST},
            },
        },
        "netconf": {
            "type": "object",
            "required": ["port", "device_params", "collect", "provides", "filters"],
            "additionalProperties": False,
            "properties": {
                "port": {"type": "integer"},
                "device_params": _STR,
                "collect": {"type": "array", "items": _STR, "minItems": 1},
                "optional": _STRS,
                "provides": {"type": "object", "additionalProperties": _DATA_LIST},
                "filters": {"type": "object", "additionalProperties": _STR},
            },
        },
        "snmp": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "port": {"type": "integer"},
                "version": {"type": "string", "enum": ["1", "2c", "3"]},
                "max_repetitions": {"type": "integer"},
                # CDP / LLDP MIB tables the SNMP collector walks (collectors.snmp.NEIGHBOUR_WALKS's keys)
                "neighbour_tables": {"type": "array", "items": {"type": "string",
                                                               "enum": ["cdpCacheTable", "lldpRemTable"]}},
            },
        },
    },
}

SHARED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["refusals"],
    "additionalProperties": False,
    "properties": {"refusals": {"type": "array", "items": _STR, "minItems": 1}},
}

_TYPES = {"object": dict, "array": list, "string": str, "integer": int, "boolean": bool}


def validate(data: Any, schema: dict[str, Any], where: str = "") -> list[str]:
    """Where ``data`` breaks ``schema`` (the JSON Schema subset SCHEMA uses), one line each."""
    at = where or "top level"
    want = schema.get("type")
    if want is not None:
        ok = isinstance(data, _TYPES[want]) and not (want == "integer" and isinstance(data, bool))
        if not ok:
            return [f"{at}: expected {want}, got {type(data).__name__}"]
    if "enum" in schema and data not in schema["enum"]:
        return [f"{at}: {data!r} is not one of {', '.join(map(str, schema['enum']))}"]
    out: list[str] = []
    if isinstance(data, dict):
        props = schema.get("properties", {})
        out += [f"{at}: missing required key {k!r}" for k in schema.get("required", ()) if k not in data]
        extra = schema.get("additionalProperties", True)
        for key, value in data.items():
            path = f"{where}.{key}" if where else str(key)
            if key in props:
                out += validate(value, props[key], path)
            elif extra is False:
                out.append(f"{at}: unknown key {key!r}")
            elif isinstance(extra, dict):
                out += validate(value, extra, path)
    if isinstance(data, list):
        if len(data) < schema.get("minItems", 0):
            out.append(f"{at}: needs at least {schema['minItems']} item(s)")
        if "items" in schema:
            for i, item in enumerate(data):
                out += validate(item, schema["items"], f"{where}[{i}]")
    return out


def problems(data: Any, file_name: str) -> list[str]:
    """Everything wrong with one platform file's data: the schema, then the cross-field rules."""
    out = validate(data, SCHEMA)
    if out:
        return out
    if data["name"] != file_name:
        out.append(f"name {data['name']!r} differs from the file name {file_name!r}")
    ssh = data["ssh"]
    commands = ssh["commands"]
    out += [f"ssh.optional: {c!r} is not in ssh.commands" for c in ssh.get("optional", ()) if c not in commands]
    out += [f"ssh.provides: {c!r} is not in ssh.commands" for c in ssh["provides"] if c not in commands]
    out += [f"ssh.provides: says nothing of {c!r}" for c in commands if c not in ssh["provides"]]
    nc = data.get("netconf")
    if nc:
        for key in ("optional", "provides"):
            out += [f"netconf.{key}: {n!r} is not in netconf.collect" for n in nc.get(key, ()) if n not in nc["collect"]]
        out += [f"netconf.collect: {n!r} has no filter" for n in nc["collect"] if n not in nc["filters"]]
    for i, rx in enumerate(data.get("refusals", ())):
        out += _regex_problem(rx, f"refusals[{i}]")
    out += _regex_problem(ssh["prompt"], "ssh.prompt")
    for i, rx in enumerate(data.get("announced") or ()):
        out += _regex_problem(rx, f"announced[{i}]")
    for key, patterns in (data.get("detect") or {}).items():
        for i, rx in enumerate(patterns):
            out += _regex_problem(rx, f"detect.{key}[{i}]")
    return out


def _regex_problem(pattern: str, where: str) -> list[str]:
    try:
        re.compile(pattern)
    except re.error as exc:
        return [f"{where}: not a regular expression ({exc})"]
    return []


class PlatformDefError(ValueError):
    """A platform file that does not fit the schema."""


def _load(name: str, schema_check) -> dict[str, Any]:
    path = _DEFS / f"{name}.yaml"
    data = yaml.safe_load(path.read_text())
    found = schema_check(data)
    if found:
        raise PlatformDefError(f"{path.name}: " + "; ".join(found))
    return data


# ------------------------------------------------------------------ typed view


@dataclass(frozen=True, slots=True)
class SshProfile:
    prompt: re.Pattern[str]
    enable: str  # never | when_user_exec | always
    setup: tuple[str, ...]
    commands: tuple[str, ...]
    optional: frozenset[str]
    provides: Mapping[str, tuple[str, ...]]  # command -> the DATA it answers ('show license udi': none)


@dataclass(frozen=True, slots=True)
class Platform:
    name: str
    description: str
    netmiko_device_type: str
    ntc_platform: str  # ntc-templates' key (IOS XE is filed under cisco_ios): parsers' fallback templates
    aliases: tuple[str, ...]
    version_scheme: str  # one of VERSION_SCHEMES
    flash: str  # file system for files we write on the device ('bootflash:')
    refusal_patterns: tuple[str, ...]  # _shared.yaml's refusal lines, then the platform's own
    refusals: re.Pattern[str]  # the same, one alternation
    ssh: SshProfile
    netconf: Mapping[str, Any] | None  # the 'netconf:' section (collectors/netconf.py); None: no agent
    snmp: Mapping[str, Any]  # the 'snmp:' section (collectors/snmp.py)
    # detect(): 'show version' lines that name the platform, and lines that say it is another one
    detect: re.Pattern[str] | None = None
    detect_unless: re.Pattern[str] | None = None
    classic_licensing: str | None = None  # 'csl' | 'asa' | None: which classic licence reader applies
    announced: re.Pattern[str] | None = None  # from_announced(): a neighbour's software / platform naming it


class UnknownPlatform(ValueError):
    pass


@cache
def names() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in _DEFS.glob("*.yaml") if not p.stem.startswith("_")))


@cache
def _shared() -> dict[str, Any]:
    return _load(_SHARED, lambda d: validate(d, SHARED_SCHEMA) + [
        p for i, rx in enumerate((d or {}).get("refusals") or ()) for p in _regex_problem(rx, f"refusals[{i}]")])


def _refusal_regex(patterns: tuple[str, ...]) -> re.Pattern[str]:
    # Each pattern is matched at the start of a line; one alternation keeps the detector one pass.
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.I)


@cache
def get(name: str) -> Platform:
    if name not in names():
        raise UnknownPlatform(f"unknown platform {name!r} (known: {', '.join(names())})")
    data = _load(name, lambda d: problems(d, name))
    ssh = data["ssh"]
    refusals = tuple(_shared()["refusals"]) + tuple(data.get("refusals", ()))
    return Platform(
        name=data["name"],
        description=data["description"],
        netmiko_device_type=data["netmiko_device_type"],
        ntc_platform=data["ntc_platform"],
        aliases=tuple(data["aliases"]),
        version_scheme=data["version_scheme"],
        flash=data["flash"],
        refusal_patterns=refusals,
        refusals=_refusal_regex(refusals),
        ssh=SshProfile(
            prompt=re.compile(ssh["prompt"]),
            enable=ssh.get("enable", "never"),
            setup=tuple(ssh.get("setup", ())),
            commands=tuple(ssh["commands"]),
            optional=frozenset(ssh.get("optional", ())),
            provides=MappingProxyType({c: tuple(d) for c, d in ssh["provides"].items()}),
        ),
        netconf=MappingProxyType(data["netconf"]) if data.get("netconf") else None,
        snmp=MappingProxyType(data["snmp"]),
        detect=_any_of((data.get("detect") or {}).get("show_version")),
        detect_unless=_any_of((data.get("detect") or {}).get("unless")),
        classic_licensing=data.get("classic_licensing"),
        announced=_any_of(data.get("announced")),
    )


def _any_of(patterns: list[str] | None) -> re.Pattern[str] | None:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.M) if patterns else None


# ------------------------------------------------------------------ look-ups


@cache
def _by_name() -> dict[str, str]:
    """Every accepted spelling (lower case) -> platform name."""
    table: dict[str, str] = {}
    for name in names():
        for key in (name, *get(name).aliases):
            key = key.strip().lower()
            if table.setdefault(key, name) != name:
                raise PlatformDefError(f"{key!r} names both {table[key]} and {name}")
    return table


def lookup(name: object) -> Platform | None:
    """The platform a name or alias (``iosxe``, ``NX-OS``, ``cisco_xr``...) stands for, else None."""
    if not isinstance(name, str):
        return None
    key = _by_name().get(name.strip().lower())
    return get(key) if key is not None else None


@cache
def _any_refusal() -> re.Pattern[str]:
    """Every platform's refusal lines: for text whose platform is not known."""
    return _refusal_regex(tuple(dict.fromkeys(rx for n in names() for rx in get(n).refusal_patterns)))


DETECT_CHARS = 4000  # every platform names itself in the first lines of 'show version'


def detect(show_version: str) -> list[str]:
    """The platforms whose 'show version' wording (``detect:`` in their files) the text has: one
    name when it says which it is, none or several when it cannot tell (the caller asks the user).
    Only the first :data:`DETECT_CHARS` characters are read."""
    head = show_version[:DETECT_CHARS]
    found = []
    for name in names():
        plat = get(name)
        if plat.detect is not None and plat.detect.search(head) and not (
                plat.detect_unless is not None and plat.detect_unless.search(head)):
            found.append(name)
    return found


REFUSAL_LINES = 8  # a device prints its refusal at once (under the echoed command's caret line)


def refusal(text: str, platform: str | None = None) -> str | None:
    """The device's own line refusing the command (``% Invalid input detected at '^' marker.``), or
    None when ``text`` is an answer.  The one detector for collectors and parsers alike: a line among
    the first :data:`REFUSAL_LINES` that starts with one of the platform's refusal patterns.  An
    unknown or absent ``platform`` is checked against every platform's patterns.
    """
    plat = lookup(platform) if platform is not None else None
    rx = plat.refusals if plat is not None else _any_refusal()
    for ln in text.split("\n", REFUSAL_LINES)[:REFUSAL_LINES]:
        if rx.match(ln):
            return ln.strip()
    return None


ANNOUNCED_CHARS = 512  # a software line and a platform: what a neighbour says of itself


def from_announced(software: str, platform: str = "") -> str | None:
    """Our platform for a CDP / LLDP neighbour, from what it announces (its software line, its
    platform string): the one platform whose ``announced:`` patterns match, else None (none, or
    several: a guess would put the wrong commands in an inventory)."""
    text = f"{software[:ANNOUNCED_CHARS]}\n{platform[:ANNOUNCED_CHARS]}"
    found = [n for n in names() if (p := get(n).announced) is not None and p.search(text)]
    return found[0] if len(found) == 1 else None
