"""``show version`` for every platform: TextFSM templates (parsers/templates) + fact assembly.

Each function takes cleaned text and returns its :class:`Facts` (keys documented in
``parsers.__doc__``); an empty dict means nothing recognisable was found.
"""
from __future__ import annotations

import re

from agent.core.models import Facts, StackMember

from . import _fsm


def _uniq(values) -> list[str]:
    seen: dict[str, None] = {}
    for v in values:
        v = (v or "").strip()
        if v and v not in seen:
            seen[v] = None
    return list(seen)


def _rows(platform: str, command: str, text: str) -> list[dict]:
    path = _fsm.template_path(platform, command)
    if path is None:  # pragma: no cover - index and dispatch table disagree
        return []
    return _fsm.parse_rows(path, text)


# ------------------------------------------------------------------ IOS / IOS XE

# A release number starts '<major>.<minor>' ('17.09.04a', '03.06.07E', '15.2(2)E8'); a build label
# does not ('2012-10-15_19.37_user', 'BLD_V1710_THROTTLE_LATEST_...').
_RELEASE = re.compile(r"\d{1,3}\.\d")


def ios(text: str) -> Facts:
    rows = _rows("cisco_xe", "show version", text)
    if not rows:
        return {}
    main, blocks = rows[0], rows[1:]
    facts: Facts = {}
    xe, iosv = main["xe_version"], main["ios_version"]
    # Engineering builds print a build label where the release goes ('IOS XE Version:
    # 2012-10-15_19.37_<user>', 'Version BLD_POLARIS_DEV_LATEST_...'): it names a build, not a
    # release, so it is kept as build_label and the version comes from the IOS line, or stays unknown.
    if xe and not _RELEASE.match(xe):
        facts["build_label"] = xe
        xe = ""
    if iosv and not _RELEASE.match(iosv):  # 'Experimental Version [mcp_dev-user 101]': no release
        iosv = ""
    if xe:
        facts["os_version"] = xe
    elif iosv:
        facts["os_version"] = iosv
    versions = _uniq([facts.get("os_version", ""), xe, iosv])
    if main["software_image"]:
        facts["software_image"] = main["software_image"]
    if main["running_image"]:
        facts["running_image"] = main["running_image"].strip()
    if main["hostname"]:
        facts["hostname"] = main["hostname"]
    if main["uptime"]:
        facts["uptime"] = main["uptime"]
    # The orderable PID is each switch's own 'Model number' line (licence suffix included:
    # WS-C3750G-48TS-S); the processor line and the 'Switch Ports Model' table drop the suffix on
    # classic IOS switches (WS-C3750G-48TS), so they are used only where no Model number is printed.
    chassis = main["model_number"] or main["chassis"]
    if chassis:
        facts["chassis_pid"] = chassis
    if main["chassis"]:
        facts["hardware"] = [main["chassis"]]
    serial = main["system_serial"] or main["board_id"]
    if serial:
        facts["chassis_serial"] = serial
    if main["board_id"]:
        facts["processor_board_id"] = main["board_id"]
    for key in ("license_level", "license_type", "next_reload_license_level"):
        if main[key]:
            facts[key] = main[key]  # type: ignore[literal-required]  # keys of Facts

    # Stack / StackWise Virtual / VSS: the 'Switch Ports Model' table and 'Switch 0N' blocks.
    table = list(zip(main["table_mark"], main["table_switch"], main["table_model"], main["table_version"]))
    members: dict[str, StackMember] = {}
    for mark, num, model, ver in table:
        members[str(int(num))] = {"switch": str(int(num)), "pid": model, "serial": "", "sw_version": ver,
                                  "role": "Active" if mark == "*" else ""}
    block_nums = []
    for b in blocks:
        if not b["switch_num"]:
            continue
        num = str(int(b["switch_num"]))
        block_nums.append(num)
        m = members.setdefault(num, {"switch": num, "pid": "", "serial": "", "sw_version": "", "role": ""})
        m["pid"] = b["model_number"] or m["pid"]
        m["serial"] = b["system_serial"]
        if b["mb_serial"]:
            m["mb_serial"] = b["mb_serial"]
    # The first block (no 'Switch 0N' header) is the switch whose console we are on.
    local = next((n for n, m in members.items() if m["role"] == "Active"), None)
    if local is None and block_nums:
        used = {int(n) for n in block_nums}
        local = str(next(i for i in range(1, len(used) + 2) if i not in used))
    if local is not None and (len(members) > 1 or block_nums):
        m = members.setdefault(local, {"switch": local, "pid": "", "serial": "", "sw_version": "", "role": ""})
        m["pid"] = main["model_number"] or m["pid"] or main["chassis"]
        m["serial"] = m["serial"] or main["system_serial"] or main["board_id"]
        if main["mb_serial"]:
            m["mb_serial"] = main["mb_serial"]
    facts["versions_seen"] = _uniq(versions + [m["sw_version"] for m in members.values()
                                               if _RELEASE.match(m["sw_version"])])
    if len(members) > 1:
        facts["stack_members"] = [members[k] for k in sorted(members, key=int)]
        facts["roles"] = [f"Switch {m['switch']} {m['role']}".strip() for m in facts["stack_members"]]
    facts["models"] = _uniq([main["chassis"], main["model_number"]]
                            + [m["pid"] for m in members.values()])
    facts["serials"] = _uniq([facts.get("chassis_serial", ""), main["board_id"]]
                             + [m["serial"] for m in members.values()])
    mb = _uniq([main["mb_serial"]] + [b["mb_serial"] for b in blocks])
    if mb:
        facts["motherboard_serials"] = mb
    return _compact(facts)


# ------------------------------------------------------------------ NX-OS

_NXOS_PID = re.compile(r"\b((?:N\dK|N77|N2K|DS)-[A-Z0-9][A-Z0-9\-+]*)\b")


def nxos(text: str) -> Facts:
    rows = _rows("cisco_nxos", "show version", text)
    if not rows:
        return {}
    r = rows[0]
    facts: Facts = {}
    if r["os"]:
        facts["os_version"] = r["os"]
    elif r["kickstart"]:
        facts["os_version"] = r["kickstart"]
    facts["versions_seen"] = _uniq([r["os"], r["kickstart"]])
    for key, col in (("hostname", "hostname"), ("uptime", "uptime"), ("running_image", "boot_image"),
                     ("chassis_serial", "board_id"), ("processor_board_id", "board_id"),
                     ("last_reboot_reason", "last_reboot_reason"), ("bios_version", "bios")):
        if r[col]:
            facts[key] = r[col]
    if r["chassis_line"]:
        facts["model"] = r["chassis_line"]
        m = _NXOS_PID.search(r["chassis_line"])
        if m:
            facts["chassis_pid"] = m.group(1)
    elif r["chassis_pid"]:  # ACI mode: 'cisco N9K-C9396PX ("supervisor")'
        facts["model"] = facts["chassis_pid"] = r["chassis_pid"]
    if r["rp"]:
        facts["supervisor"] = r["rp"]
    facts["serials"] = _uniq([r["board_id"]])
    facts["models"] = _uniq([facts.get("chassis_pid", "")])
    return _compact(facts)


# ------------------------------------------------------------------ IOS XR

# A PID-like token holding a digit: the part before its first digit holds none, so the two runs
# cannot trade characters ('X*\dX*' retried every digit of a long run: quadratic).
_PIDISH = re.compile(r"^[A-Z0-9][A-Za-z\-/+.]*+\d[A-Za-z0-9\-/+.]*+$")
_XR_DESCR_PID = re.compile(r"^(ASR|NCS|CRS)[ -]?(\d{3,4}[A-Z]?)\b")
_FOR_PID = re.compile(r"\bfor\s++(\S++)\s*$")


def xr(text: str) -> Facts:
    rows = _rows("cisco_xr", "show version", text)
    if not rows:
        return {}
    r = rows[0]
    facts: Facts = {}
    line = r["version_line"]
    if line:
        facts["os_version"] = line
    facts["versions_seen"] = _uniq([line, r["build_version"]])
    if r["label"]:
        facts["label"] = r["label"]
    for key in ("hostname", "uptime", "running_image"):
        if r[key]:
            facts[key] = r[key]
    models = [m.strip() for m in r["models"]]
    if models:
        facts["hardware"] = models
    if r["chassis_descr"]:
        facts["chassis_descr"] = r["chassis_descr"]
    pid = ""
    # 'cisco 8202-32FH-M (...) processor', 'cisco CRS-16/S-B (...)': a PID.  'ASR9K Series': not.
    for m in reversed(models):
        if " " not in m and _PIDISH.match(m):
            pid = m
            break
    if not pid and r["chassis_descr"]:
        d = _XR_DESCR_PID.match(r["chassis_descr"])
        if d:
            pid = f"{d.group(1)}-{d.group(2)}"
        else:
            f = _FOR_PID.search(r["chassis_descr"])
            if f and _PIDISH.match(f.group(1)):
                pid = f.group(1)
    if pid:
        facts["chassis_pid"] = pid
    if models:
        facts["model"] = models[-1]
    facts["models"] = _uniq([pid] + models)
    return _compact(facts)


# ------------------------------------------------------------------ ASA


def asa(text: str) -> Facts:
    rows = _rows("cisco_asa", "show version", text)
    if not rows:
        return {}
    r = rows[0]
    facts: Facts = {}
    for key, col in (("os_version", "version"), ("hostname", "hostname"), ("uptime", "uptime"),
                     ("running_image", "running_image"), ("chassis_pid", "hardware"),
                     ("model_id", "model_id"), ("fxos_version", "fxos_version"),
                     ("asdm_version", "asdm_version"), ("license_mode", "license_mode"),
                     ("license_state", "license_state"), ("ssp_slot", "ssp_slot")):
        if r[col]:
            facts[key] = r[col]
    serials = _uniq(r["serials"])
    if serials:
        facts["chassis_serial"] = serials[0]
        facts["serials"] = serials
    facts["versions_seen"] = _uniq([r["version"]])
    roles = []
    if r["failover_uptime"]:
        facts["failover_uptime"] = r["failover_uptime"]
        roles.append("Failover unit")
    if r["context"]:
        facts["multiple_context"] = True
        roles.append("Multiple-context")
    if roles:
        facts["roles"] = roles
    facts["models"] = _uniq([r["hardware"], r["model_id"]])
    return _compact(facts)


def _compact(facts: Facts) -> Facts:
    return {k: v for k, v in facts.items() if v not in ("", [], None)}  # type: ignore[return-value]  # a subset of facts
