"""Parsers: one raw capture in, one :class:`agent.core.models.ParseResult` out.

Pure functions of the text; may import only the kernel (``agent.core``) of ibagent, plus
textfsm, ntc-templates and lxml.

Public API
==========
``parse(platform, command, text) -> ParseResult``
    ``platform``: ``cisco_ios``, ``cisco_xe``, ``cisco_nxos``, ``cisco_xr``, ``cisco_asa``
    (short aliases ``ios``, ``iosxe``, ``nxos``, ``iosxr``, ``asa`` accepted).
    ``command``: as sent to the device, abbreviations allowed (``sh ver``) and corpus slugs
    too (``show_inventory``).  Supported: ``show version``, ``show inventory``,
    ``admin show inventory`` (XR), ``show license [summary|usage|status|udi|all]``, and on NX-OS
    ``show version | json`` and ``show inventory | json``; ``show cdp neighbors detail`` and
    ``show lldp neighbors detail`` (IOS, IOS XE, NX-OS also ``| json``, IOS XR; issue 17).
    Pure function: no I/O, no state between calls, safe from many threads.

    Structured captures: a ``command`` starting ``netconf:`` (raw ``<rpc-reply>`` XML, see
    ``parsers.netconf``) or ``snmp:`` (snmprec ``OID|type|value`` lines, see ``parsers.snmp``)
    yields the same ``ParseResult`` shape as the CLI commands.

``ParseError``
    The only exception ``parse`` raises (a fuzz test holds it to that): unknown platform or
    command, a device refusal (``% Invalid input``), or text in which nothing of the
    command's answer is recognisable.  The message names platform and command.

What a capture yields
=====================
``show inventory``: ``components`` (``RawComponent`` rows exactly as printed, padding
stripped; ``N/A`` serials kept as read - canonicalisation is ``agent.normalize``'s job).
License commands: ``licenses`` (one ``LicenseUsage`` per usage block or summary-table row,
``device`` left ``""``) and ``license_status`` (``LicenseStatus`` with what that command
shows; ``None`` when it shows none of it).  Classic licensing (CSL, IOS 15 Catalyst / ISR G2:
``Index 1 Feature:`` blocks, ``License Level: ipbase  Type: Permanent``, the CSL ``show license
status`` lists) is not an error: a ``LicenseStatus`` with ``licensing="classic"``,
``smart_licensing_enabled=False``, the level, its type and every feature block
(``parsers.csl``).  ``show version``: ``facts``.  Neighbour commands (and CDP / LLDP MIB rows in an ``snmp:``
capture): ``neighbours`` (``Neighbour`` per entry) and ``neighbour_status`` (read, or
``not-enabled`` / ``not-supported`` with the device's line: a refusal is an answer there).

Facts keys (present only when the output states them)
-----------------------------------------------------
The shape is :class:`agent.core.models.Facts` (a TypedDict: every key, its type); the fixture and
conformance suites fail on a key it does not list or a value of another type.

``hostname``            name in the ``<host> uptime is`` / ``Device name:`` / ``<host> up`` line;
                        else from the echoed prompt when the capture kept it (IOS XR 64-bit
                        ``show version`` prints no host name: ``RP/0/RSP0/CPU0:pe1#``)
``os_version``          the OS version as printed (raw; canonical form is the normaliser's):
                        IOS XE ``Cisco IOS XE Software, Version`` (else the IOS line; a build
                        label there is no version: see ``build_label``), NX-OS
                        ``NXOS:/system: version``, XR ``Version`` incl. ``[Default]``/``LNT``,
                        ASA ``Software Version``
``versions_seen``       every version string printed (IOS XE prints the XE and the IOSd one)
``uptime``              uptime text as printed
``build_label``         IOS XE engineering builds: the label printed where the release goes
                        (``IOS XE Version: 2012-10-15_19.37_<user>``); never taken as the version
``license_level``, ``license_type``, ``next_reload_license_level``
                        classic licence level lines (``License Level: ipbase``)
``chassis_pid``         chassis PID: IOS the switch's own ``Model number`` (the orderable PID,
                        licence suffix included: ``WS-C3750G-48TS-S``), else ``cisco <PID> (...)
                        processor``; XR PID from the processor line (with or without the CPU in
                        brackets: ``cisco N540X-6Z18G-SYS-A processor with 8GB``) or derived from
                        the chassis description
                        (``ASR 9006 ... Chassis`` -> ``ASR-9006``); ASA ``Hardware:``; NX-OS
                        only when the chassis line carries one (``N5K-C5548P``)
``chassis_serial``      IOS ``System Serial Number`` else ``Processor board ID``; NX-OS
                        ``Processor Board ID``; ASA first ``Serial Number:`` (on ASA 5500-X
                        hardware that is the board serial, ``show inventory`` has the chassis')
``serials``             every unit serial ``show version`` prints (stack members, ASA units)
``motherboard_serials`` IOS XE ``Motherboard Serial Number`` values
``processor_board_id``  as printed (IOS, NX-OS)
``models``              every model/PID string printed (processor line, ``Model Number``,
                        stack table)
``model``               descriptive model text: NX-OS ``Nexus9000 C9396PX Chassis``, XR
                        ``ASR9K Series``
``hardware``            XR: every ``cisco <X> (...)`` model string; IOS: the processor line's
                        model (``WS-C3750G-48TS``, the PID without licence suffix)
``chassis_descr``       XR chassis description line
``roles``               stack / HA roles: ``Switch 2 Active``, ``Switch 1`` (role unknown from
                        this command), ASA ``Failover unit``, ``Multiple-context``
``stack_members``       [{switch, pid, serial, sw_version, role[, mb_serial]}] (IOS / IOS XE
                        stacks, StackWise Virtual, VSS); pid from each member's own ``Model
                        number`` line, else the ``Switch Ports Model`` table
``running_image``, ``software_image``, ``label`` (XR), ``bios_version``,
``last_reboot_reason``, ``supervisor`` (NX-OS), ``model_id``, ``fxos_version``,
``asdm_version``, ``license_mode``, ``license_state``, ``ssp_slot``, ``failover_uptime``,
``multiple_context`` (ASA), ``license_serial``/``platform_license`` (ASA activation-key
``show license all``).  Structured captures add ``software_version``, ``boot_time``,
``rommon_version``, ``chassis_software_version`` (NETCONF) and ``sys_descr``, ``sys_object_id``,
``sys_name`` (SNMP).

Templates
=========
Own TextFSM templates live in ``parsers/templates`` with an ntc-style ``index``; each has
fixtures under ``fixtures/parsers/<platform>/<command_slug>/``.  ntc-templates is used where
it is right (NX-OS legacy ``show license usage`` table).  Smart Licensing blocks are parsed
by a hand-written line parser (``parsers.licensing``).
"""
from __future__ import annotations

import re
from functools import lru_cache

from agent.core.models import Facts, LicenseStatus, ParseResult
from agent.core.platforms import get as get_platform, lookup, refusal as refusal_line

from . import csl as _csl
from . import inventory as _inventory
from . import licensing as _licensing
from . import neighbours as _neighbours
from . import neighbours_json as _neighbours_json
from . import netconf as _netconf
from . import nxos_json as _nxos_json
from . import snmp as _snmp
from . import version as _version
from ._util import ParseError, clean, prompt_hostname

__all__ = ["parse", "ParseError", "PLATFORMS", "COMMANDS", "PROMPT", "canonical_command", "canonical_platform"]

# Pseudo-command under which the SSH collector records the device's prompt: the only place
# 64-bit IOS XR names its host.  Kept as a capture so the hostname has evidence like any fact.
PROMPT = "prompt"

# The platforms these parsers read (each has its show-version entry in _VERSION below); the names
# and aliases a caller may use are platform data (agent/core/platform_defs, agent.core.platforms.lookup).
PLATFORMS = ("cisco_ios", "cisco_xe", "cisco_nxos", "cisco_xr", "cisco_asa")

# Canonical commands, with the abbreviations a device accepts ('[[..]]' = optional tail).
_COMMAND_SPECS = (
    ("admin show inventory", "adm[[in]] sh[[ow]] inv[[entory]]"),
    ("show inventory", "sh[[ow]] inv[[entory]]"),
    ("show version", "sh[[ow]] ver[[sion]]"),
    ("show license summary", "sh[[ow]] lic[[ense]] sum[[mary]]"),
    ("show license usage", "sh[[ow]] lic[[ense]] usa[[ge]]"),
    ("show license status", "sh[[ow]] lic[[ense]] stat[[us]]"),
    ("show license udi", "sh[[ow]] lic[[ense]] udi"),
    ("show license all", "sh[[ow]] lic[[ense]] all"),
    ("show license", "sh[[ow]] lic[[ense]]"),  # classic licensing (CSL) feature list
    ("show cdp neighbors detail", "sh[[ow]] cdp nei[[ghbors]] det[[ail]]"),
    ("show lldp neighbors detail", "sh[[ow]] lldp nei[[ghbors]] det[[ail]]"),
)
# Neighbour commands (issue 17) -> protocol: parsers.neighbours (text), parsers.neighbours_json (NX-OS).
_NEIGHBOURS = {"show cdp neighbors detail": "cdp", "show lldp neighbors detail": "lldp"}
COMMANDS = tuple(c for c, _ in _COMMAND_SPECS)


def _spec_regex(spec: str) -> re.Pattern[str]:
    def opt(m: re.Match[str]) -> str:
        word = m.group(1)
        return "".join(f"(?:{re.escape(ch)}" for ch in word) + ")?" * len(word)

    parts = [re.sub(r"\[\[(\w+)\]\]", opt, tok) for tok in spec.split()]
    return re.compile(r"^" + r"\s+".join(parts) + r"$")


_COMMAND_RES = tuple((c, _spec_regex(s)) for c, s in _COMMAND_SPECS)
# Tried only where a run of blanks starts (the leftmost match starts there anyway): linear.
_JSON_PIPE = re.compile(r"(?<!\s)\s*+\|\s*+json(?:-pretty)?\s*$")


@lru_cache(maxsize=1024)
def canonical_platform(platform: str) -> str | None:
    plat = lookup(str(platform))
    return plat.name if plat is not None and plat.name in PLATFORMS else None


@lru_cache(maxsize=1024)
def canonical_command(command: str) -> tuple[str, bool] | None:
    """('show version', is_json) for any accepted spelling; None if unsupported."""
    c = " ".join(str(command).replace("_", " ").split()).lower()
    is_json = False
    if c.endswith(" json") and "|" not in c:  # slug form 'show inventory json'
        c, is_json = c[: -len(" json")], True
    m = _JSON_PIPE.search(c)
    if m:
        c, is_json = c[: m.start()].strip(), True
    for canon, rx in _COMMAND_RES:
        if rx.match(c):
            return canon, is_json
    return None


def parse(platform: str, command: str, text: str) -> ParseResult:
    """Parse one capture.  Raises only :class:`ParseError`."""
    try:
        return _parse(platform, command, text)
    except ParseError:
        raise
    except Exception as exc:  # noqa: BLE001 - the contract: nothing but ParseError escapes
        raise ParseError(str(platform), str(command), f"internal parser error: {type(exc).__name__}: {exc}") from exc


def _parse(platform: str, command: str, text: str) -> ParseResult:
    plat = canonical_platform(platform) if isinstance(platform, str) else None
    if plat is None:
        raise ParseError(str(platform), str(command), f"unknown platform (known: {', '.join(PLATFORMS)})")
    if command == PROMPT:
        host = prompt_hostname(text) if isinstance(text, str) else ""
        if not host:
            raise ParseError(plat, command, "not a CLI prompt")
        return ParseResult(facts={"hostname": host})
    # Structured transports name their captures 'netconf:<filter>' / 'snmp:<table>'.
    if isinstance(command, str) and command.startswith(STRUCTURED):
        return _STRUCTURED[command.split(":", 1)[0] + ":"](plat, command, text)
    cmd = canonical_command(command) if isinstance(command, str) else None
    if cmd is None:
        raise ParseError(plat, str(command), f"unsupported command (supported: {', '.join(COMMANDS)})")
    canon, is_json = cmd
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", errors="replace")
    if not isinstance(text, str):
        raise ParseError(plat, canon, f"capture is {type(text).__name__}, not text")
    body = clean(text)
    if not body.strip():
        raise ParseError(plat, canon, "empty output")
    refusal = refusal_line(body, plat)

    if canon in _NEIGHBOURS:
        return _neighbour_table(plat, canon, _NEIGHBOURS[canon], body, refusal, is_json)

    if is_json:
        if plat != "cisco_nxos" or canon not in ("show version", "show inventory"):
            raise ParseError(plat, canon + " | json", "JSON output is parsed for NX-OS show version/inventory only")
        result = _nxos_json.parse(canon, body)
        if result is None:
            raise ParseError(plat, canon + " | json", refusal or "not NX-OS JSON")
        return result

    if canon in ("show inventory", "admin show inventory"):
        rows = _inventory.text_rows(plat, body)
        if not rows and plat == "cisco_nxos":
            rows = _inventory.json_rows(body) or []
        if not rows:
            raise ParseError(plat, canon, refusal or "no inventory rows (NAME:/PID: lines) found")
        return ParseResult(components=rows)

    if canon == "show version":
        facts = _VERSION[plat](body)
        if facts and not facts.get("hostname"):
            host = prompt_hostname(text)  # IOS XR 64-bit: only the prompt names the host
            if host:
                facts["hostname"] = host
        if not (facts.get("os_version") or facts.get("hostname") or facts.get("chassis_pid")):
            if plat == "cisco_nxos":
                json_result = _nxos_json.parse("show version", body)
                if json_result is not None:
                    return json_result
            raise ParseError(plat, canon, refusal or "no version, hostname or chassis line recognised")
        return ParseResult(facts=facts)

    # Licensing.
    if plat == "cisco_nxos" and canon == "show license usage" and _licensing.nxos_legacy(body):
        licenses = _licensing.nxos_usage_table(plat, body)
        if not licenses:
            raise ParseError(plat, canon, "feature table header without rows")
        return ParseResult(licenses=licenses)
    licenses, status, recognised = _licensing.parse(body)
    if not recognised:
        # IOS 15 Catalyst / ISR G2 (and IOS XE RTU) answer with classic licensing (CSL), the ASA with
        # its own licence listing: not Smart Licensing, but the device's licence state all the same,
        # recorded as such.  Which reader applies is platform data ('classic_licensing').
        kind = get_platform(plat).classic_licensing
        classic = _csl.parse(body) if kind == "csl" else None
        if classic is not None:
            return ParseResult(license_status=classic)
        if kind == "asa" and canon == "show license all":
            asa = _licensing.asa_classic(body)
            if asa:
                facts: Facts = {}
                if "serial" in asa:
                    facts["license_serial"] = asa["serial"]
                if "platform_license" in asa:
                    facts["platform_license"] = asa["platform_license"]
                return ParseResult(facts=facts, license_status=LicenseStatus(
                    device="", smart_licensing_enabled=False, udi_serial=asa.get("serial", "")))
        raise ParseError(plat, canon, refusal or "no Smart Licensing section, table or UDI, nor classic licence, recognised")
    return ParseResult(licenses=licenses, license_status=status)


def _neighbour_table(plat: str, canon: str, protocol: str, body: str, refusal: str | None,
                     is_json: bool) -> ParseResult:
    """A neighbour command's answer.  A device that says the protocol is off, or refuses the
    command (an ASA has neither; NX-OS has no 'show lldp' without 'feature lldp'), answered: the
    result says so (``neighbour_status``), it is no ParseError (issue 17)."""
    off = _neighbours.not_enabled(body)
    if off:
        return ParseResult(neighbour_status=[_neighbours.status(protocol, "not-enabled", off)])
    if refusal:
        return ParseResult(neighbour_status=[_neighbours.status(protocol, "not-supported", refusal)])
    if is_json or body.lstrip().startswith("{"):
        if plat != "cisco_nxos":
            raise ParseError(plat, canon + " | json", "JSON neighbour tables are parsed for NX-OS only")
        entries = _neighbours_json.parse(protocol, body)
        if entries is None:
            raise ParseError(plat, canon + " | json", f"not an NX-OS {protocol.upper()} neighbour table in JSON")
    else:
        entries = _neighbours.parse(protocol, plat, canon, body)
    return ParseResult(neighbours=entries, neighbour_status=[_neighbours.status(protocol)])


STRUCTURED = ("netconf:", "snmp:")
_STRUCTURED = {"netconf:": _netconf.parse, "snmp:": _snmp.parse}

_VERSION = {
    "cisco_ios": _version.ios,
    "cisco_xe": _version.ios,
    "cisco_nxos": _version.nxos,
    "cisco_xr": _version.xr,
    "cisco_asa": _version.asa,
}
