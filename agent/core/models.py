"""The record schema: one typed model per thing ibagent knows.

Every stage speaks these types and nothing else, so a collector, a parser, the store and
the reports can be written and tested apart.  ``collectors`` and ``parsers`` may import
this module (and ``agent.core.platforms``); nothing else in ``agent`` is visible to them.

Plain frozen dataclasses rather than pydantic: they cost nothing at import (CLI start-up
matters when cron runs us every few minutes) and there are 10^5..10^6 of them per scan.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, TypedDict

from agent.core.hostkeys import HostKeyPolicy
from agent.core.secret import Secret, conceal, reveal

# Transports a collector can speak.  telnet is opt-in per host or group (agent.collect.inventory).
TRANSPORTS = ("ssh", "netconf", "snmp", "telnet")

# Component classes (DESIGN.md "Records").
COMPONENT_CLASSES = (
    "chassis",
    "stack-member",
    "supervisor",
    "linecard",
    "module",
    "psu",
    "fan",
    "optic",
    "fex",
    "other",
)

# Why a device ended without records.  Stable strings: reports and exit summaries group on them.
ERROR_KINDS = (
    "hostkey",  # the server's host key is not the one trusted for it: possible impostor, nothing was sent
    "auth",  # login refused
    "connect",  # TCP refused / unreachable / SSH handshake failed
    "timeout",  # connect or command did not finish inside its deadline
    "disconnect",  # peer closed the session mid-output
    "garbage",  # output that is not a CLI answer (no prompt, binary noise)
    "parse",  # output captured but no parser could read it
    "command",  # device rejected a command (% Invalid input ...)
    "config",  # inventory / credential problem for this host
    "cancelled",  # scan interrupted before this device finished
    "internal",  # a bug in ibagent: reported, never a traceback to the user
)


# Target.options keys that hold secrets: kept as agent.core.secret.Secret, revealed by the collector.
SECRET_OPTIONS = ("snmp_community", "snmp_auth_key", "snmp_priv_key")


@dataclass(frozen=True, slots=True)
class Credential:
    """Resolved login secrets, each a :class:`~agent.core.secret.Secret` (a plain string given is
    wrapped): no repr, str, log line or traceback shows them; collectors ``reveal()`` them at connect
    time."""

    username: str
    password: Secret = field(repr=False)
    enable: Secret | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "password", conceal(self.password))
        object.__setattr__(self, "enable", conceal(self.enable))

    def secrets(self) -> tuple[str, ...]:
        """The values themselves, for the redactor that scrubs them from every text we write."""
        return tuple(reveal(s) for s in (self.password, self.enable) if s)


@dataclass(frozen=True, slots=True)
class Target:
    """One device to collect, fully resolved from the inventory (defaults and groups applied)."""

    name: str  # inventory key, unique
    host: str  # address to connect to
    platform: str  # cisco_xe | cisco_ios | cisco_nxos | cisco_xr | cisco_asa
    port: int = 22
    site: str = ""
    transports: tuple[str, ...] = ("ssh",)
    credential: Credential | None = field(default=None, repr=False, compare=False)
    groups: tuple[str, ...] = ()
    # Per-transport settings (ports, SNMP community/v3 names...), secrets already resolved.
    options: dict[str, Any] = field(default_factory=dict, compare=False)
    # Contract install-site ids that map to this target's site (reconcile scope).
    contract_site_ids: tuple[str, ...] = ()
    # How old this device's last good collection may be before its items rest on stale evidence
    # (the inventory's data.max_age_days; None: the command's --max-age).
    max_age_days: int | None = None
    # Which server host keys a connection may accept (agent.core.hostkeys), set by the scan engine
    # or the SLP round trip from the store and the known_hosts files.  None (a collector used on
    # its own, as the tests do): any key is accepted and nothing is recorded.
    host_keys: HostKeyPolicy | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Secrets among the options (SECRET_OPTIONS) become Secret, whoever built the target.
        if any(isinstance(self.options.get(k), str) for k in SECRET_OPTIONS):
            object.__setattr__(self, "options", {k: conceal(v) if k in SECRET_OPTIONS else v
                                                 for k, v in self.options.items()})


@dataclass(slots=True)
class Capture:
    """Exactly what one request to one device returned, kept raw for evidence and re-parsing."""

    device: str
    platform: str
    transport: str
    command: str  # CLI command, NETCONF filter name or SNMP table name
    output: str  # raw text / XML / snmprec-style lines, never altered
    started: float  # epoch seconds
    ended: float
    error: str | None = None  # set when the request itself failed; output may still be partial
    error_kind: str | None = None
    id: int | None = None  # store row id once saved: components point back to it as evidence
    # The exact bytes received for this request (echo and prompt included), when the collector
    # keeps them: the store's evidence hash is over these, ``output`` is the cleaned text parsed.
    raw: bytes | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


# ---------------------------------------------------------------- parser output (as read)


@dataclass(slots=True)
class RawComponent:
    """One ``show inventory`` / entPhysical row exactly as the device printed it."""

    name: str
    descr: str = ""
    pid: str = ""
    vid: str = ""
    serial: str = ""
    # Only SNMP/NETCONF give these; CLI leaves them empty.
    physical_class: str = ""  # entPhysicalClass or model's class
    parent_ref: str = ""  # containedIn / parent name as the source states it
    source_index: str = ""  # entPhysicalIndex / XML path, for evidence


class _StackMemberRow(TypedDict):
    switch: str  # '2' (no leading zeros)
    pid: str
    serial: str
    sw_version: str
    role: str  # 'Active' or '' (this command does not say)


class StackMember(_StackMemberRow, total=False):
    """One member of an IOS / IOS XE stack, StackWise Virtual or VSS, as ``show version`` lists it."""

    mb_serial: str  # motherboard serial, when printed


class Facts(TypedDict, total=False):
    """What one capture says of the device as a whole (``ParseResult.facts``).

    Every key is optional: a parser sets it only when the output states it; values are as printed
    (canonical forms are the normaliser's).  The meaning of each key is documented in
    ``parsers.__doc__``; the fixture and conformance suites hold every parser to this shape.
    """

    hostname: str
    os_version: str  # raw, as printed
    versions_seen: list[str]  # every version string printed
    uptime: str
    chassis_pid: str
    chassis_serial: str
    serials: list[str]  # every unit serial printed
    motherboard_serials: list[str]
    processor_board_id: str
    models: list[str]  # every model / PID string printed
    model: str  # descriptive model text
    hardware: list[str]  # IOS XR: every 'cisco <X> (...)' model string
    chassis_descr: str
    roles: list[str]  # 'Switch 2 Active', 'Failover unit', ...
    stack_members: list[StackMember]
    running_image: str
    software_image: str
    label: str  # IOS XR
    bios_version: str
    last_reboot_reason: str
    supervisor: str  # NX-OS
    # ASA 'show version' / 'show license all' (activation keys)
    model_id: str
    fxos_version: str
    asdm_version: str
    license_mode: str
    license_state: str
    ssp_slot: str
    failover_uptime: str
    multiple_context: bool
    license_serial: str
    platform_license: str
    # Engineering builds: the build label printed where the release goes (IOS XE)
    build_label: str
    # Classic licensing levels in 'show version' (IOS 15 Catalyst, IOS XE 3.x/16.x RTU)
    license_level: str
    license_type: str
    next_reload_license_level: str
    # NETCONF (IOS XE device-hardware, openconfig-platform)
    software_version: str
    boot_time: str
    rommon_version: str
    chassis_software_version: str
    # SNMP (SNMPv2-MIB system group)
    sys_descr: str
    sys_object_id: str
    sys_name: str


@dataclass(slots=True)
class ParseResult:
    """What one capture yields.  Facts are partial: several captures make one device."""

    facts: Facts = field(default_factory=Facts)
    components: list[RawComponent] = field(default_factory=list)
    licenses: list["LicenseUsage"] = field(default_factory=list)
    license_status: "LicenseStatus | None" = None
    # CDP / LLDP neighbour commands and MIB tables only (issue 17): the entries, and whether the
    # table was read at all (a device with CDP off answers, it does not fail).
    neighbours: list["Neighbour"] = field(default_factory=list)
    neighbour_status: list["NeighbourStatus"] = field(default_factory=list)  # one per protocol read


# ---------------------------------------------------------------- normalised records


@dataclass(slots=True)
class DeviceFacts:
    device: str  # inventory name
    platform: str
    hostname: str = ""  # as the device calls itself
    os_version: str = ""  # raw, as printed
    version: str = ""  # canonical comparable form
    chassis_pid: str = ""
    chassis_serial: str = ""
    uptime: str = ""
    roles: list[str] = field(default_factory=list)  # stack / HA roles, e.g. "Switch 1 Active"
    transport: str = ""


@dataclass(slots=True)
class Component:
    device: str
    name: str
    descr: str
    pid: str  # as read
    base_pid: str  # trailing '=' stripped
    vid: str
    serial_raw: str  # as read
    serial: str  # canonical
    cls: str  # one of COMPONENT_CLASSES
    parent: str = ""  # name of the parent component on the same device, "" for roots
    contractable: bool = True
    reason: str = ""  # why not contractable, or how the class was decided
    refurbished: bool = False
    transport: str = ""
    capture_id: int | None = None  # evidence: the capture row it came from

    @property
    def identity(self) -> tuple[str, str]:
        """Identity of a physical item: (canonical serial, base PID), per DESIGN.md."""
        return (self.serial, self.base_pid)


@dataclass(slots=True)
class LicenseUsage:
    device: str
    license: str  # feature name, e.g. network-advantage
    entitlement_tag: str = ""  # as printed, may be truncated ("C9300-48 Network Advan...")
    count: int | None = None
    status: str = ""  # IN USE, NOT IN USE, AUTHORIZED ...
    enforcement: str = ""
    license_type: str = ""  # Perpetual / Subscription / Generic
    udi_pid: str = ""
    udi_serial: str = ""
    description: str = ""
    transport: str = ""


@dataclass(slots=True)
class LicenseStatus:
    device: str
    slp_enabled: bool | None = None  # None = classic Smart Licensing / unknown
    smart_licensing_enabled: bool | None = None
    transport_type: str = ""
    transport_address: str = ""
    registration_status: str = ""  # classic
    authorization_status: str = ""  # classic
    reservation: str = ""  # SLR / PLR state when reported
    policy_name: str = ""
    policy_installed: str = ""
    ack_required: str = ""
    # license class -> {"first_report_days": (int|None, source), "reporting_frequency_days": ..., "report_on_change_days": ...}
    policy: dict[str, dict[str, Any]] = field(default_factory=dict)
    last_ack_received: str = ""  # raw timestamp text with its zone abbreviation, "" for <none>
    next_ack_deadline: str = ""
    reporting_push_interval: str = ""
    next_report_push: str = ""
    last_report_push: str = ""
    last_report_file_write: str = ""
    # [{"role": "Active", "udi_pid": ..., "udi_serial": ..., "installed": "<timestamp>"}]
    trust_codes: list[dict[str, str]] = field(default_factory=list)
    udi_pid: str = ""
    udi_serial: str = ""
    ha_udis: list[dict[str, str]] = field(default_factory=list)  # [{"role", "udi_pid", "udi_serial"}]
    transport: str = ""
    # Classic Cisco Software Licensing (CSL: IOS 15 Catalyst / ISR G2, before Smart Licensing).
    # Set only from such output, which also sets smart_licensing_enabled False: it is recorded,
    # and SLP reads it as 'not Smart Licensing'.
    licensing: str = ""  # "classic" for CSL output, "" otherwise
    license_level: str = ""  # technology level running now: ipbase, ipservicesk9 ...
    license_type: str = ""  # the running level's licence: Permanent, Evaluation, RightToUse ...
    next_reload_level: str = ""
    # [{"feature", "type", "state", "count", "priority", "period_left"}], as printed
    classic_licenses: list[dict[str, str]] = field(default_factory=list)


@dataclass(slots=True)
class DeviceRecords:
    """Everything one device yields in one scan, after normalisation."""

    facts: DeviceFacts
    components: list[Component] = field(default_factory=list)
    licenses: list[LicenseUsage] = field(default_factory=list)
    license_status: LicenseStatus | None = None
    # Non-fatal problems (a capture no parser could read...): kept beside the records.
    problems: list[str] = field(default_factory=list)
    # CDP / LLDP (issue 17): what the device's neighbours announce, each with ``local_device`` set
    # to this device, and per protocol whether its table was read (a refusal is not a failure).
    neighbours: list["Neighbour"] = field(default_factory=list)
    neighbour_status: list["NeighbourStatus"] = field(default_factory=list)


# ---------------------------------------------------------------- neighbours (CDP / LLDP), issue 17
# What a device's neighbours announce of themselves: the way to find Cisco gear that is on the
# network but in no inventory.  Parsers fill them from 'show cdp|lldp neighbors detail' and the
# CDP / LLDP MIB tables; matching them against the known devices is a later stage's job.

NEIGHBOUR_PROTOCOLS = ("cdp", "lldp")
# Whether a neighbour table was read.  'read': it was (no entries is an answer too); 'not-enabled':
# the device says the protocol is off ('% CDP is not enabled'); 'not-supported': the command was
# refused ('% Invalid input': an ASA has neither command, NX-OS without 'feature lldp' has no
# 'show lldp').  Neither of the last two is a failure: issue 17, "commands a platform or release
# refuses are not failures"; the device's own line is kept as ``detail``.
NEIGHBOUR_STATES = ("read", "not-enabled", "not-supported")


@dataclass(frozen=True, slots=True)
class NeighbourStatus:
    """One neighbour command's (or MIB table's) outcome on one device: read, or why not."""

    protocol: str  # one of NEIGHBOUR_PROTOCOLS
    state: str  # one of NEIGHBOUR_STATES
    detail: str = ""  # the device's refusal line; '' when read


# 'name(SERIAL)': NX-OS announces its CDP device id so by default (and IOS XR shows it so); the
# serial is the chassis's.  Letters and digits only, 8..14 of them: Cisco serials are 11.
_SERIAL_SUFFIX = re.compile(r"\(([A-Za-z0-9]{8,14})\)\Z")
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}\Z")
_MAC_DIGITS = re.compile(r"[0-9A-Fa-f]{12}\Z")
# The cisco rule's words and PID shapes.  The word 'Cisco' in the platform ('cisco WS-C2960X-48FPD-L',
# 'Cisco IP Phone 8845'), the software text ('Cisco IOS Software', 'Cisco Nexus Operating System')
# or the LLDP-MED manufacturer; else a platform string shaped like a Cisco PID, which NX-OS and
# access points announce without the word ('N9K-C93180YC-EX', 'AIR-AP2802I-E-K9').
_CISCO_WORD = re.compile(r"(?<![A-Za-z])cisco(?![A-Za-z])", re.I)
_CISCO_PID = re.compile(
    r"(?:WS-C|N[2-9]K-|C9[2-8]\d\d|C8[0-5]\d\d|ISR\d|ASR\d|ASR-|NCS-?\d|AIR-|CP-\d|IE-\d|IR\d{3}|"
    r"CISCO\d|ASA\d|FPR-?\d|MDS|DS-C\d|CBS\d{3})", re.I)


def mac_oui(text: str) -> str:
    """The OUI (six upper-case hex digits) of a MAC written any usual way ('0000.0c12.3456',
    '00:00:0c:12:34:56', '00-00-0C-12-34-56'), or '' when ``text`` is no MAC."""
    digits = str(text).strip().replace(".", "").replace(":", "").replace("-", "")
    return digits[:6].upper() if _MAC_DIGITS.match(digits) else ""


@lru_cache(maxsize=1)
def cisco_ouis() -> frozenset[str]:
    """Cisco Systems' OUIs (IEEE MA-L registry, agent/core/cisco_oui.txt), read once."""
    text = (Path(__file__).with_name("cisco_oui.txt")).read_text()
    return frozenset(ln.strip().upper() for ln in text.splitlines() if ln.strip() and not ln.startswith("#"))


def cisco_rule(platform: str = "", description: str = "", manufacturer: str = "", chassis_id: str = "") -> bool:
    """Whether a neighbour is Cisco gear, from what it announces: the one rule (issue 17).

    True when the platform, the software / system description or the LLDP-MED manufacturer
    names Cisco; or the platform is shaped like a Cisco PID; or, for a neighbour that announces
    only a MAC chassis id (LLDP), that MAC's OUI is one of Cisco's.  CDP is Cisco's protocol but
    not only Cisco speaks it (VMware ESXi, Linux lldpd/ladvd, some phones): speaking CDP proves
    nothing, so the protocol is not a fact here.
    """
    for text in (platform, description, manufacturer):
        if text and _CISCO_WORD.search(text):
            return True
    if platform and _CISCO_PID.match(platform.strip()):
        return True
    oui = mac_oui(chassis_id) if chassis_id else ""
    return bool(oui) and oui in cisco_ouis()


def neighbour_names(device_id: str) -> tuple[str, str, str]:
    """(name, hostname, serial) from an announced device id.

    ``name``: lower-case, the '(SERIAL)' suffix taken off, domain kept; ``hostname``: ``name`` up
    to its first dot (an address stays whole); ``serial``: the suffix, upper-case, when it holds
    letters and digits both (a serial, not '(backup)').  The known devices are matched on either
    form, since one device's ``ip domain-name`` is not another's.  An address or a MAC is kept whole.
    """
    text = str(device_id).strip()
    serial = ""
    m = _SERIAL_SUFFIX.search(text)
    if m and m.start() > 0:
        cand = m.group(1)
        if any(c.isdigit() for c in cand) and any(c.isalpha() for c in cand):
            serial, text = cand.upper(), text[: m.start()].rstrip()
    name = text.lower()
    # An address or a MAC (an LLDP neighbour that announces only its chassis id) stays whole.
    hostname = name if (_IPV4.match(name) or ":" in name or mac_oui(name)) else name.split(".", 1)[0]
    return name, hostname, serial


@dataclass(frozen=True, slots=True)
class Neighbour:
    """One CDP or LLDP neighbour as one device saw it (one entry of its table).

    Announced values are kept as printed (padding off); ``name``, ``hostname`` and ``cisco`` are
    derived here, once, from them, so every source (CLI, JSON, SNMP) gets the same forms.
    Serials: CDP has no serial TLV, but NX-OS announces its device id as ``name(SERIAL)``
    (``serial_source`` 'device-id'); LLDP-MED's inventory TLVs carry one ('Serial number:',
    'lldp-med', phones and access points).  Nothing else announces one.
    """

    protocol: str  # 'cdp' | 'lldp'
    local_port: str  # the port of the device that saw it, as that device names it
    device_id: str  # as announced: CDP Device ID; LLDP System Name, else the chassis id
    remote_port: str = ""  # CDP 'Port ID (outgoing port)'; LLDP Port id
    platform: str = ""  # CDP Platform; LLDP-MED Model
    capabilities: tuple[str, ...] = ()  # as announced: 'Router', 'Switch' / LLDP 'B', 'R'
    software: str = ""  # the release line: first line of CDP Version / LLDP System Description
    description: str = ""  # that whole announced text, lines joined by newlines
    addresses: tuple[str, ...] = ()  # CDP entry / interface addresses, IPv4 and IPv6, as printed (lower case)
    mgmt_addresses: tuple[str, ...] = ()  # CDP management / LLDP management addresses
    chassis_id: str = ""  # LLDP chassis id (a MAC, an address or a name)
    port_description: str = ""  # LLDP Port Description
    system_name: str = ""  # LLDP System Name; NX-OS CDP 'System Name', IOS XR 'SysName', cdpCacheSysName
    manufacturer: str = ""  # LLDP-MED inventory
    serial: str = ""  # announced serial (see above); '' when none
    serial_source: str = ""  # 'device-id' | 'lldp-med' | ''
    local_device: str = ""  # inventory name of the device that saw it: the normaliser's to set, parsers leave ''
    # The command (or SNMP table capture) it was read from, the normaliser's to set: with the device
    # row's scan it names the capture that is its evidence (agent/store/neighbours.py), and unlike a
    # capture id it is the same in every scan, so an unchanged table is stored once.
    source: str = ""
    name: str = field(init=False)  # device id, lower case, '(SERIAL)' off, domain kept
    hostname: str = field(init=False)  # name without its domain
    cisco: bool = field(init=False)  # cisco_rule() of what it announced

    def __post_init__(self) -> None:
        name, hostname, serial = neighbour_names(self.device_id)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "hostname", hostname)
        if serial and not self.serial:
            object.__setattr__(self, "serial", serial)
            object.__setattr__(self, "serial_source", "device-id")
        object.__setattr__(self, "cisco", cisco_rule(self.platform, self.description, self.manufacturer,
                                                     self.chassis_id))


def to_dict(record: Any) -> dict[str, Any]:
    """A record as plain JSON-able data (``cls`` is spelled ``class`` outside Python)."""
    data = asdict(record)
    if "cls" in data:
        data["class"] = data.pop("cls")
    return data


# ------------------------------------------------------------------ the fleet, as reconcile reads it
# Built by the store's fleet reads, consumed by reconcile: they live here so neither stage imports
# the other.


@dataclass(slots=True)
class FleetItem:
    """One contractable physical item in the latest snapshot."""

    serial: str
    base_pid: str
    pid: str = ""
    device: str = ""
    hostname: str = ""
    site: str = ""
    cls: str = ""
    name: str = ""
    parent: str = ""
    scan_id: int | None = None
    capture_id: int | None = None
    slot: str = ""  # position in the device ("Switch 2", "slot 3", "PS1"): rma-swap pairs on it


@dataclass(slots=True)
class DeviceScanState:
    device: str
    site: str = ""
    contract_site_ids: tuple[str, ...] = ()
    last_clean_scan_at: datetime | date | None = None
    latest_scan_clean: bool = False  # the device's latest attempt read its inventory in full
    latest_scan_id: int | None = None  # the scan of that latest attempt
    # Since the fleet model: when the device was last collected at all (its items rest on that),
    # its own evidence age limit (None: reconcile's --max-age), and its latest attempt's outcome.
    last_ok_at: datetime | date | None = None
    max_age_days: int | None = None
    latest_status: str = ""
    latest_error: str = ""


@dataclass(slots=True)
class SeenHistory:
    first_seen: datetime | date | None = None
    last_seen: datetime | date | None = None
    last_device: str = ""
    last_slot: str = ""
