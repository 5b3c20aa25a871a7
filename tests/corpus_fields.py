"""Which value of a source's expected file is compared with which field of ibagent's parse, and why
the others are not (issue 13: "compare every field the sources state").

Every key of every expected file of the CLI corpus is either

* **compared**: :data:`RULES` names its rule (``source:schema`` first, then the source, then ``*``),
  and :func:`check` holds it to one field of ours: the chassis PID, stack member N's PID from its own
  ``Model number`` line, the running release, the inventory row with the same PID and serial, the
  licence block with the same name..., not "somewhere in the capture"; or
* **not recorded by ibagent**: :data:`NOT_RECORDED` gives the reason (interface counts, memory sizes,
  compile dates: not what an installed-base record holds).

``tests/test_conformance.py`` fails on a key that is neither, so a field a source adds cannot slip
past unnoticed.  Rule names: ``serial``, ``pid``, ``pair``, ``model``, ``version``, ``hostname``,
``license``, ``status`` (the older set-wide kinds, kept for values that name no single field), and
the field-specific ones checked by :func:`check`.
"""
from __future__ import annotations

import re
from typing import Any

# ------------------------------------------------------------------ compared

# key -> rule, per 'source:schema', per source, then for every source ('*').  None: not compared here
# (the key means something else in that schema; NOT_RECORDED must then say why).
RULES: dict[str, dict[str, str | None]] = {
    "*": {},
    "ntc": {
        "sn": "serial", "serial": "serial", "pid": "pid", "hardware": "pid", "version": "running_version",
        "hostname": "hostname", "feature": "license", "license": "license", "license_pid": "license",
        "last_ack_received": "status", "next_ack_deadline": "status", "last_rpt_push": "status",
        "next_rpt_push": "status", "rpt_push_interval": "status", "transport_type": "status",
        "reg_status": "status", "registration_status": "status", "auth_status": "status",
        "name": "row:name", "descr": "row:descr", "vid": "row:vid",
        "uptime": "fact:uptime", "running_image": "image_path", "software_image": "fact:software_image",
        "sl_enabled": "smart_enabled", "license_auth": "st:authorization_status", "url": "st:transport_address",
    },
    "genie": {
        # genie's chassis_sn is what the 'Processor board ID' line says (on a StackWise Virtual pair
        # that is not the local switch's System Serial Number)
        "sn": "serial", "serial_number": "serial", "chassis_sn": "fact:processor_board_id",
        "processor_board_id": "fact:processor_board_id", "system_sn": "member:serial", "mb_sn": "member:mb_serial",
        "pid": "pid", "rtr_type": "pid", "model_num": "member:pid", "chassis": "fact:hardware",
        "version": "version", "xe_version": "running_version", "system_version": "running_version",
        "kickstart_version": "version", "software_version": "running_version", "hostname": "hostname",
        "device_name": "hostname", "license": "license", "entitlement": "license", "feature_name": "license",
        "last_ack_received": "status", "next_ack_deadline": "status", "last_report_push": "status",
        "next_report_push": "status", "reporting_push_interval": "status", "policy_name": "status",
        "build_label": "fact:build_label", "uptime": "fact:uptime", "system_image": "fact:running_image",
        "image_id": "fact:software_image", "license_level": "fact:license_level",
        "license_type": "fact:license_type", "next_reload_license_level": "fact:next_reload_license_level",
        "name": "row:name", "descr": "row:descr", "description": "row:descr", "vid": "row:vid",
        # Smart Licensing Using Policy: the policy per licence class, its ACK requirement, when installed
        "reporting_ack_required": "st:ack_required", "policy_in_use": "st:policy_installed",
        "first_report_requirement_days": "policy", "reporting_frequency_days": "policy",
        "report_on_change_days": "policy",
    },
    "napalm": {"serial_number": "serial", "model": "model", "os_version": "version", "hostname": "hostname"},
    "ttp": {"serial": "serial", "module": "pid", "description": "row:descr"},
    # Schema-specific: the same key names another field there.
    "ntc:cisco_nxos_show_version": {"platform": "model", "os": "running_version", "serial": "serial",
                                    "boot_image": None, "bios": "fact:bios_version",
                                    "last_reboot_reason": "fact:last_reboot_reason"},
    "ntc:cisco_xr_show_version": {"hardware": "model", "label": "fact:label"},
    "ntc:cisco_asa_show_version": {"hardware": "model", "serial": "serial", "version": "running_version",
                                   "image": "fact:running_image", "device_mgr_version": "fact:asdm_version",
                                   "license_mode": "fact:license_mode", "license_state": "fact:license_state",
                                   "model": "fact:model_id"},
    # ntc's cisco_ios template reads the IOS line's version (on IOS XE 3.x the IOSd 15.x one)
    "ntc:cisco_ios_show_version": {"hardware": "sv_pid", "version": "version"},
    "ntc:cisco_ios_show_license": {"feature": "csl:feature", "license_type": "csl:type", "license_state": "csl:state",
                                   "license_count": "csl:count", "license_priority": "csl:priority",
                                   "period_left": "csl:period_left"},
    "genie:iosxe:ShowLicense": {"feature": "csl:feature", "license_type": "csl:type", "license_state": "csl:state",
                                "count": "csl:count", "license_priority": "csl:priority", "period_left": "csl:period_left"},
    # genie's generic parser takes the first version-looking line (the switch table's on an engineering build)
    "genie:generic/rv1:ShowVersion": {"pid": "sv_pid", "version": "version"},
    "genie:nxos:ShowVersion": {"chassis": "model", "model": "model", "system_image_file": "fact:running_image",
                               "bios_version": "fact:bios_version", "reason": "fact:last_reboot_reason",
                               "rp": "fact:supervisor", "processor_board_id": "fact:processor_board_id",
                               "name": None},
    "genie:asa:ShowVersion": {"platform": "sv_pid", "asa_model": "sv_pid", "version": None, "entitlement": None,
                              "asdm_version": "fact:asdm_version", "license_mode": "fact:license_mode",
                              "license_state": "fact:license_state", "uptime": "fact:uptime",
                              "system_image": "fact:running_image", "ssp_slot_number": "fact:ssp_slot",
                              "serial_number": "fact:chassis_serial"},
    "genie:iosxr:ShowVersion": {"uptime": "fact:uptime"},
    "genie:iosxe/cat9k/c9500:ShowVersion": {"license_level": None, "next_reload_license_level": None},
    "genie:ios/cat6k:ShowVersion": {"chassis": "sv_pid", "system_image": "fact:running_image", "name": None},
    "genie:ios/cat7k/c7600:ShowVersion": {"chassis": "sv_pid", "system_image": "fact:running_image",
                                          "name": None, "serial": None, "reason": None},
    # 'version' inside a licence block is the licence's version (1.0), not software; per block:
    "genie:iosxe:ShowLicenseUsage": {"version": None, "count": "lic:count", "status": "lic:status",
                                     "enforcement_type": "lic:enforcement", "license_type": "lic:license_type",
                                     "description": "lic:description", "feature_description": "lic:description"},
    "genie:iosxe:ShowLicenseAll": {"version": None, "count": "lic:count", "enforcement_type": "lic:enforcement",
                                   "license_type": "lic:license_type", "description": "lic:description",
                                   "feature_description": "lic:description"},
    "genie:iosxe:ShowLicenseSummary": {"count": "lic:count", "status": "lic:status"},
    "genie:iosxe:ShowLicenseUdi": {"udi": None},
    # The legacy NX-OS table's Ins / Expiry / Comments columns go to the licence's description.
    "ntc:cisco_nxos_show_license_usage": {"status": "lic:status", "license_count": "lic:count",
                                          "installed": "lic:installed", "expiry_date": "lic:expiry",
                                          "comments": "lic:comments"},
}

# ------------------------------------------------------------------ not recorded, and why

_INTERFACES = "interface counts, MACs and IRQs: not hardware identity, ibagent records no interfaces"
_MEMORY = "memory, flash and disk sizes: not part of an installed-base record"
_BUILD = "compile date, compiler, build host, image type: describe the build, not which release runs"
_BOOT = "boot loader, ROM and configuration-register details: not recorded"
_RELOAD = "uptime parts, restart times and reload reasons (the uptime line itself is compared)"
_CPU = "CPU type and load: not recorded"
_SLP_DETAIL = ("Smart Licensing detail ibagent does not record (privacy flags, accounts, proxies, URLs, "
               "conversion, report counters): reporting state rests on the ACK and push fields, which are compared")
_LIC_EXTRA = "licence block detail not recorded (export status, licence version 1.0, period used)"
_INV_EXTRA = "inventory structure the source derives (slot keys, stack flags): ibagent keeps the row's own NAME"
_DERIVED = "a value the source derives or abbreviates (os family, short version, platform family): not printed as such"
_ASA_LIC = ("ASA Smart Licensing detail (dates of registration, authorization and renewal, errors, reservation, "
            "privacy, agent version, export flags): not recorded; status and transport are compared")
_TECH_PKG = ("IOS XE technology-package table (one row per package): Smart Licensing reports the same "
             "levels through 'show license usage/summary', which ibagent reads and compares")

NOT_RECORDED: dict[str, str] = {
    **dict.fromkeys(("interface", "interface_list", "interfaces", "intf_irq", "mac_addr", "mac_address",
                     "Virtual Ethernet", "Gigabit Ethernet", "Ten Gigabit Ethernet",
                     "Forty/Hundred Gigabit Ethernet", "Hundred Gigabit Ethernet", "Four Hundred Gigabit Ethernet",
                     "2.5 Gigabit Ethernet", "gigabit_ethernet", "virtual_ethernet", "virtual_ethernet_interfaces",
                     "forty_gigabit_ethernet_interfaces", "hundred_gigabit_ethernet_interfaces", "max_intf",
                     "max_vlans", "fqdn", "vendor"), _INTERFACES),
    **dict.fromkeys(("disk_size", "type_of_disk", "main_mem", "mem_size", "physical", "non-volatile configuration",
                     "non_volatile_memory", "non_volatile_conf", "physical_memory", "processor_board_flash",
                     "flash_internal_SIMM", "memory", "bootflash", "slot0", "flash", "bios_flash", "mem_allocation",
                     "packet_buffer", "l2_cache", "data_base", "text_base", "counts", "slots"), _MEMORY),
    **dict.fromkeys(("compiled_by", "compiled_date", "compile_date", "copyright_years", "image_type", "built_by",
                     "built_host", "built_on", "build_host", "build", "location", "system_compile_time",
                     "kickstart_compile_time", "bios_compile_time", "label", "sum_version", "code_name",
                     "last_modified_by", "last_modified_date", "last_mod"), _BUILD),
    **dict.fromkeys(("bootldr", "bootldr_version", "rom", "rom_version", "rommon", "curr_config_register",
                     "next_config_register", "config_register", "boot_config_file", "boot_microcode",
                     "ipsec_microcode", "ssl_ike_microcode", "system_fpga_version", "encryption_device",
                     "key_version", "kickstart_image_file", "installation_mode", "running_default_software",
                     "firepower_version"), _BOOT),
    **dict.fromkeys(("days", "hours", "minutes", "seconds", "uptime_days", "uptime_hours", "uptime_minutes",
                     "uptime_weeks", "uptime_years", "uptime_this_cp", "control_processor_uptime", "restarted",
                     "system_restarted_at", "returned_to_rom_by", "last_reset", "last_reload_reason",
                     "reload_reason", "time_remaining", "failover", "cluster", "operating_mode",
                     "router_operating_mode"), _RELOAD),
    **dict.fromkeys(("cpu", "cpu_type", "processor_type", "core_count", "cpu_count", "implementation", "rev",
                     "revision", "speed", "load_time", "one_minute", "five_minutes", "load_for_five_secs",
                     "ntp_time", "time_source_is_ntp"), _CPU),
    **dict.fromkeys(("os", "os_flavor", "platform", "version_short", "device_family",
                     "operating_system", "release", "model", "asa_version", "image", "system_image",
                     "context", "softwares"), _DERIVED),
    # Keys that name different things per schema; where one is compared a rule above says so.
    "name": "a CPU or platform family name in 'show version' (genie's cpu.name, platform.name); inventory names are compared",
    "type": ("SMU, controller and reload types in 'show version'; the Smart Licensing transport type is compared"
             " (status)"),
    "state": "an installed SMU's state: SMUs are not recorded",
    "supervisor": "the supervisor generation printed in a 4500's processor line ('8-E'): the supervisor is an inventory row",
    "status": ("ASA 'licensed features' on/off and the Smart Licensing utility status: not recorded; licence block"
               " and registration states are compared"),
    **dict.fromkeys(("mb_assembly_num", "mb_rev_num", "model_rev_num", "top_assembly_part_num",
                     "top_assembly_rev_num"), "assembly and revision numbers: not part of the item's identity (PID, serial)"),
    **dict.fromkeys(("air_license_level", "next_reload_air_license_level", "smart_licensing_status"),
                    _TECH_PKG),
    **dict.fromkeys(("automatic_conversion_enabled", "available_to_report", "callhome_hostname_privacy",
                     "collecting_data", "next_ack_push_check", "proxy", "purchased_licenses", "purged",
                     "sending_hostname", "smart_account", "smart_acct", "smart_agent_for_licensing",
                     "smart_licensing_hostname_privacy", "total", "total_acknowledged_received", "version_privacy",
                     "virtual_account", "virt_acct", "waiting_for_ack", "vrf", "proxy_address", "proxy_port",
                     "slotid", "udi", "export_status"), _SLP_DETAIL),
    **dict.fromkeys(("version", "period_used", "period_minutes", "period_seconds",
                     "license_description", "license_count", "license_status", "license_version",
                     "license_export_status"), _LIC_EXTRA),
    **dict.fromkeys(("chassis_type", "swstack", "slot"), _INV_EXTRA),  # ('stack' in genie's show version too)
    **dict.fromkeys(("auth_date", "auth_deadline", "auth_fail_error", "auth_last_communication",
                     "auth_last_communication_date", "auth_next_communication_date", "eval_remaining",
                     "export_controlled", "license_reservation", "privacy_callhome_hostname_privacy",
                     "privacy_sending_hostname", "privacy_smart_licensing_hostname_privacy",
                     "privacy_version_privacy", "registration_expiration_date", "registration_initial_date",
                     "registration_initial_status", "registration_last_renewal", "registration_last_renewal_date",
                     "registration_last_renewal_error", "registration_next_renewal_date", "smart_agent_version",
                     "smart_status", "utility_status"), _ASA_LIC),
    **dict.fromkeys(("count_in_use", "count_violation"), "genie's split of the CSL count ('0/0 (In-use/Violation)'),"
                    " compared whole as the block's count"),
    "boot_image": ("ntc's NX-OS boot_image is the kickstart image where one is printed (NX-OS 5-7), else the"
                   " system image: ibagent records the system image (genie's system_image_file, compared)"),
    **dict.fromkeys(("license_level", "next_reload_license_level"),
                    "genie's c9500 parser stores the 'AIR License Level' (wireless) lines under these keys:"
                    " ibagent reads the switch's own level lines only (compared under the other schemas)"),
    "file_name": "installed SMU / package file names: not recorded (the running image is compared)",
    "reason": "the reason of the last reload: not recorded on IOS (NX-OS's is compared)",
    "uptime": "NAPALM's uptime is seconds computed from the text at its run time: the text is compared elsewhere",
    "kickstart_version": "the kickstart release (NX-OS 6/7); the system release is compared",
    "entitlement": "ASA 'show version' entitlement text: not recorded",
    "serial": "a serial ntc/genie took from a line that names no unit (compared as serial elsewhere)",
    "hardware": "descriptive hardware text (compared as model elsewhere)",
}


# Where a key means something else by where it sits: (source:schema, field-path pattern) -> rule.
PATH_RULES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("genie:iosxe:ShowLicenseUsage", re.compile(r"^license_authorization\.status$"), "status"),
    ("genie:iosxe:ShowLicenseAll", re.compile(r"^license_usage\..*\.status$"), "lic:status"),
    ("genie:iosxe:ShowLicenseAll", re.compile(r"(?:^|\.)transport\.type$"), "status"),
    ("genie:iosxe:ShowLicenseStatus", re.compile(r"(?:^|\.)transport\.type$"), "status"),
    ("genie:iosxe:ShowLicenseAll", re.compile(r"(?:^|\.)smart_licensing_using_policy\.status$"), "slp_enabled"),
    ("genie:iosxe:ShowLicenseStatus", re.compile(r"(?:^|\.)smart_licensing_using_policy\.status$"), "slp_enabled"),
    ("genie", re.compile(r"(?:^|\.)trust_code_installed\.[^.]+\.info$"), "trust_installed"),
    ("genie", re.compile(r"(?:^|\.)transport\.url$"), "st:transport_address"),
)
# Whole sub-trees not recorded, with why.
PATH_NOT_RECORDED: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?:^|\.)license_package\."), _TECH_PKG),
)


def rule_for(source: str, schema: str, key: str, fpath: str = "") -> str | None:
    """The rule comparing ``key`` (at ``fpath``) of this source's expected file, or None
    (NOT_RECORDED / PATH_NOT_RECORDED say why)."""
    for table, pattern, rule in PATH_RULES:
        if table in (f"{source}:{schema}", source) and pattern.search(fpath):
            return rule
    if any(pattern.search(fpath) for pattern, _ in PATH_NOT_RECORDED):
        return None
    for table in (f"{source}:{schema}", source, "*"):
        rules = RULES.get(table, {})
        if key in rules:
            return rules[key]
    return None


def accounted(source: str, schema: str, key: str, fpath: str = "") -> bool:
    return (rule_for(source, schema, key, fpath) is not None or key in NOT_RECORDED
            or any(pattern.search(fpath) for pattern, _ in PATH_NOT_RECORDED))


# ------------------------------------------------------------------ the field-specific checks

_SWITCH = re.compile(r"(?:^|\.)switch_num\.(\d+)\.")


def _ws(v: Any) -> str:
    return "" if v is None else " ".join(str(v).split())


def _member(facts: dict, fpath: str) -> dict | None:
    m = _SWITCH.search(fpath)
    if not m:
        return None
    return next((s for s in facts.get("stack_members", []) if s.get("switch") == str(int(m.group(1)))), None)


def check(rule: str, exp, result, platform: str) -> bool:
    """Does ``result`` (a ParseResult) state ``exp.value`` in the field ``rule`` names?"""
    from agent.normalize import canonical_serial, canonical_version

    f, v = result.facts, exp.value
    if rule == "running_version":
        # The running release (canonical), or an engineering build's label, which is no release.
        return (canonical_version(platform, v) == canonical_version(platform, f.get("os_version", ""))
                or _ws(v) == _ws(f.get("build_label")))
    st = result.license_status
    state = {"ENABLED": True, "DISABLED": False}.get(v.strip().upper())  # for the on/off rules
    if rule.startswith("st:"):  # one field of the licence status
        return st is not None and _ws(v) == _ws(getattr(st, rule[3:]))
    if rule == "policy":  # '<class>_attributes.first_report_requirement_days: 365 (CISCO default)'
        return _policy_field(exp, result)
    if rule == "trust_installed":  # 'INSTALLED on Nov 22 11:34:47 2023 PDT' of the UDI beside it
        when = re.split(r"\s+Valid\s+on\s", re.sub(r"^\s*INSTALLED\s+on\s+", "", v, flags=re.I))[0]
        pid, sn = exp.group.get("pid", "").rstrip(","), exp.group.get("sn", "")
        return st is not None and any(_ws(t.get("installed")) == _ws(when) and t.get("udi_serial") == sn
                                      and t.get("udi_pid") == pid for t in st.trust_codes)
    if rule == "smart_enabled":  # ntc's sl_enabled: Smart Licensing, classic or Using Policy, is on
        return st is not None and state is not None and bool(st.smart_licensing_enabled or st.slp_enabled) is state
    if rule == "slp_enabled":  # 'Smart Licensing Using Policy: Status: ENABLED'
        return st is not None and state is not None and st.slp_enabled is state
    if rule == "image_path":  # ntc keeps the path without its file system ('flash:')
        ours = f.get("running_image", "")
        return _ws(v) in (_ws(ours), _ws(ours.partition(":")[2]))
    if rule == "sv_pid":  # a PID 'show version' prints: chassis, processor line, a stack member
        return v.strip() in ({f.get("chassis_pid", "")} | set(f.get("hardware", [])) | set(f.get("models", [])))
    if rule.startswith("fact:"):
        ours = f.get(rule[5:])
        if isinstance(ours, list):
            return _ws(v) in {_ws(x) for x in ours}
        if rule in ("fact:chassis_serial", "fact:processor_board_id"):
            return canonical_serial(v) == canonical_serial(ours)
        return _ws(v) == _ws(ours)
    if rule.startswith("member:"):
        # 'switch_num.N.<key>': stack member N's own block; a key outside any switch_num is the
        # block of the switch whose console this is (the chassis fields).
        what = rule[7:]
        member = _member(f, exp.field)
        if member is None and _SWITCH.search(exp.field) and f.get("stack_members"):
            return False  # a switch number this stack does not have
        if what == "pid":
            return v.strip() == (member["pid"] if member else f.get("chassis_pid", ""))
        if what == "serial":
            ours = member["serial"] if member else f.get("chassis_serial", "")
            return canonical_serial(v) == canonical_serial(ours)
        ours_mb = member.get("mb_serial", "") if member else (f.get("motherboard_serials") or [""])[0]
        return canonical_serial(v) == canonical_serial(ours_mb)
    if rule.startswith("row:"):
        return _row_field(rule[4:], exp, result)
    if rule.startswith("lic:"):
        return _licence_field(rule[4:], exp, result)
    if rule.startswith("csl:"):
        return _classic_field(rule[4:], exp, result)
    raise KeyError(rule)


# genie's policy class keys -> ours (parsers.licensing's _POLICY_CLASSES)
_POLICY_CLASS = (("unenforced_non_export_perpetual", "perpetual"), ("unenforced_non_export_subscription", "subscription"),
                 ("enforced", "enforced"), ("export", "export"))
_POLICY_KEY = {"first_report_requirement_days": "first_report_days",
               "reporting_frequency_days": "reporting_frequency_days", "report_on_change_days": "report_on_change_days"}


def _policy_field(exp, result) -> bool:
    st = result.license_status
    parent = exp.field.rsplit(".", 2)[-2] if exp.field.count(".") >= 1 else ""
    cls = next((ours for theirs, ours in _POLICY_CLASS if parent.startswith(theirs)), None)
    if st is None or cls is None:
        return False
    days, source = st.policy.get(cls, {}).get(_POLICY_KEY[exp.key], (None, ""))
    m = re.match(r"^\s*(\d+)\s*(?:\((.*)\))?\s*$", exp.value)
    return bool(m) and days == int(m.group(1)) and _ws(source) == _ws(m.group(2))


def _row_field(what: str, exp, result) -> bool:
    """The inventory row the source's record names (same PID and serial, else same name) has it."""
    from agent.normalize import canonical_serial

    pid, sn, name = exp.group.get("pid", ""), exp.group.get("sn", ""), exp.group.get("name", "")
    rows = [c for c in result.components
            if (pid or sn) and c.pid.strip() == pid.strip() and canonical_serial(c.serial) == canonical_serial(sn)]
    if not rows and name:
        rows = [c for c in result.components if _ws(c.name) == _ws(name)]
    attr = {"name": "name", "descr": "descr", "vid": "vid"}[what]
    # casefold: genie's generic parser lower-cases every description and name
    return any(_ws(getattr(c, attr)).casefold() == _ws(exp.value).casefold() for c in rows)


def _licence_field(what: str, exp, result) -> bool:
    """The licence block of the same name (feature name, tag or the block's title) has it."""
    names = {_ws(exp.group.get(k)) for k in ("feature_name", "entitlement", "license", "feature", "title")} - {""}
    lics = [x for x in result.licenses
            if names & {_ws(x.license), _ws(x.entitlement_tag), _ws(f"{x.license} ({x.entitlement_tag})")}]
    if what in ("installed", "expiry", "comments"):
        notes = [[n.strip() for n in x.description.split(";")] for x in lics]
        if what == "comments" and exp.value.strip() == "-":  # '-': no comment, so no note beyond the columns
            return any(all(n.startswith(("installed: ", "expiry: ")) for n in ns if n) for ns in notes)
        note = exp.value.strip() if what == "comments" else f"{what}: {exp.value.strip()}"
        return any(note in ns for ns in notes)
    attr = {"count": "count", "status": "status", "enforcement": "enforcement", "license_type": "license_type",
            "description": "description"}[what]
    value = "" if (what == "count" and exp.value.strip() == "-") else exp.value  # '-': no count
    return any(_ws(getattr(x, attr)) == _ws(value) for x in lics)


def _classic_field(what: str, exp, result) -> bool:
    st = result.license_status
    if st is None or st.licensing != "classic":
        return False
    if what == "feature":
        return any(b.get("feature") == exp.value.strip() for b in st.classic_licenses)
    feature = exp.group.get("feature", "")
    return any(b.get("feature") == feature and _ws(b.get(what)) == _ws(exp.value) for b in st.classic_licenses)
