"""Smart Licensing output, hand-parsed line by line.

``show license status|summary|usage|udi|all`` print nested ``Section:`` / ``  Key: value``
blocks whose meaning depends on the section (``Status:`` appears in five of them), policy
sub-blocks per license class, trust codes per stack member and one block per license.  A
TextFSM template for that is a state per section and still loses the nesting, so this is a
small line parser instead: one pure function, no I/O, tolerant of the mangled captures seen
in the wild (missing blank lines, lost indentation, two lines glued together, CRLF).

One parser serves every variant met in the corpus and the Cisco guides:
IOS XE Smart Licensing Using Policy (17.3.2+), classic Smart Licensing (IOS XE 16.x-17.3.1,
IOS XR 7.x, ASA / ASAv ``show license all``), NX-OS 10.x SLP (``(NAME):`` blocks, no
indentation) and the ``show license udi`` table of older IOS XE routers.  NX-OS's legacy
``show license usage`` feature table goes to ntc-templates' template (see ``nxos_usage``).
"""
from __future__ import annotations

import re
from typing import Any

from agent.core.models import LicenseStatus, LicenseUsage
from agent.core.platforms import get as platform_def

from . import _fsm
from ._util import none_to_empty, split_udi

_SECTIONS = {
    "smart licensing status", "utility", "smart licensing using policy", "account information",
    "data privacy", "transport", "registration", "license authorization", "export authorization key",
    "policy", "miscellaneous", "usage reporting", "trust code installed", "license conversion",
    "license usage", "product information", "agent version", "license authorizations",
    "usage report summary", "reservation info", "device telemetry report summary", "ha udi list",
    "overall status", "purchased licenses", "device enforcement state",
    "product analytics report summary", "smart licensing usage report", "license reservation info",
    "evaluation period", "license summary",
}
# Every pattern here runs on device text and must take time linear in the line's length: a device
# printing 4,000 blanks must not stall the scan (issue 12).  No two adjacent quantifiers may both
# match the same characters (``\s*(.*?)\s*$`` is cubic on a line of blanks); where a pattern had
# them, the shape below says how it was made linear.  tests/hostile/test_parsing_regex.py checks
# every pattern of parsers/ on long hostile lines and compares each rewrite with its old form.
_TITLE_RULE = re.compile(r"^\s*+=+\s*$")
# ``name (TAG):``.  Possessive blanks, and the name cannot hold '(' (the old lazy name stopped at
# the first '(' anyway); name and tag are stripped by the caller.
_BLOCK = re.compile(r"^\s*+(?P<name>[^:(]*+)\((?P<tag>[^:]*)\):\s*$")
_TABLE_HEAD = re.compile(r"^\s*License\s+Entitlement\s+[Tt]ag\s+Count\s+Status\s*$")
# 'show license summary' row: 'Network Advantage   (C9300-24 Network Advan...)  1  AUTHORIZED'.
# The licence name grows by whole words (blanks then a non-blank) so the blanks before ' (' are
# scanned once, and is fixed at the first '(' that can open the tag (atomic: a later '(' could only
# succeed if the first one does); the status is the rest of the line up to its last non-blank.
_TABLE_ROW = re.compile(
    r"^\s*+(?>(?P<lic>\S(?:\s*+\S)*?)\s+\()(?P<tag>.*)\)\s+(?P<count>\d+)\s+(?P<status>\S(?:.*\S)?)\s*$")
_UDI_TABLE_HEAD = re.compile(r"^\s*SlotID\s+PID\s+SN\s+UDI\s*$")
_UDI_TABLE_ROW = re.compile(r"^\s*(?P<slot>\S+)\s+(?P<pid>\S+)\s+(?P<sn>\S+)\s+(?P<udi>\S+)\s*$")
_SL_ENABLED = re.compile(r"^\s*Smart\s+Licensing\s+is\s+(ENABLED|DISABLED)", re.I)
_RESERVATION = re.compile(r"^\s*License\s+Reservation\s+is\s+(ENABLED|DISABLED)", re.I)
_TS = re.compile(
    r"[A-Z][a-z]{2}\s+\d{1,2}\s+(?:\d{4}\s+)?\d{1,2}:\d{2}:\d{2}(?:\s+\d{4})?(?:\s+[A-Za-z][\w+\-]*)?"
)
_INSTALLED = re.compile(r"^\s*INSTALLED\s+on\s+(?P<ts>.*)$", re.I)
_POLICY_VALUE = re.compile(r"^(?P<n>\d+|<none>|<empty>|None)?\s*+(?:\((?P<src>[^)]*+)\))?\s*$")
# 'Status: AUTHORIZED on Mar 01 2024 ...': the split point.  Tried only where a run of blanks
# starts (the lookbehind), so a long run is not rescanned from each of its characters.
_ON_DATE = re.compile(r"(?<!\s)\s+on\s+(?=[A-Z][a-z]{2}\s)")
_LICENSE_KEYS = {
    "description", "count", "version", "status", "export status", "feature name",
    "feature description", "enforcement type", "license type", "entitlement tag", "handle",
    "status time", "request time", "soft enforced", "measurements", "entitlement", "reservation",
    "feature list", "period used", "tag", "reserved", "measurement",
}
_POLICY_CLASSES = (
    ("non-export perpetual", "perpetual"),
    ("non-export subscription", "subscription"),
    ("enforced", "enforced"),
    ("export", "export"),
)
_POLICY_ATTRS = {
    "first report requirement (days)": "first_report_days",
    "reporting frequency (days)": "reporting_frequency_days",
    "report on change (days)": "report_on_change_days",
}
_USAGE_KEYS = {
    "last ack received": "last_ack_received",
    "next ack deadline": "next_ack_deadline",
    "next report push": "next_report_push",
    "last report push": "last_report_push",
    "last report file write": "last_report_file_write",
}


def _kv(line: str) -> tuple[int, str, str] | None:
    r"""``(indent, key, value)`` of a ``  Key: value`` line, or None when it has no ':' after a key.

    What the pattern ``^(\s*)([^:]+?)\s*:\s*(.*?)\s*$`` matched (key and value stripped), read with
    ``str.partition`` instead: that pattern took cubic time on a line of blanks (22 s at 4,000)."""
    head, colon, rest = line.partition(":")
    if not colon or not head:
        return None
    key = head.strip()
    indent = len(head) - len(head.lstrip())
    if not key:  # all blanks before the ':': the pattern's key was the last blank
        indent -= 1
    return indent, key, rest.strip()


def _policy_class(title: str) -> str:
    t = title.lower()
    for needle, key in _POLICY_CLASSES:
        if needle in t:
            return key
    return re.sub(r"\W+", "_", t.replace(" attributes", "")).strip("_") or "other"


def _policy_value(raw: str) -> tuple[int | None, str]:
    m = _POLICY_VALUE.match(raw.strip())
    if not m:
        return None, raw.strip()
    n = m.group("n")
    return (int(n) if n and n.isdigit() else None), (m.group("src") or "").strip()


def _timestamp(raw: str) -> str:
    m = _TS.search(raw)
    return m.group(0) if m else none_to_empty(raw)


def _to_int(raw: str) -> int | None:
    raw = raw.strip()
    return int(raw) if raw.isdigit() else None


class _State:
    __slots__ = ("st", "licenses", "recognised", "touched", "block", "udi_table", "table")

    def __init__(self) -> None:
        self.st = LicenseStatus(device="")
        self.licenses: list[LicenseUsage] = []
        self.recognised = False
        self.touched = False  # some LicenseStatus field was set
        self.block: LicenseUsage | None = None
        self.udi_table = False
        self.table = False


def parse_smart(text: str) -> tuple[list[LicenseUsage], LicenseStatus | None, bool]:
    """(licenses, status or None, recognised) for any Smart Licensing text output."""
    s = _State()
    st = s.st
    lines = text.split("\n")
    section = ""
    sub = ""  # policy class / 'proxy' / trust-code owner
    sub_indent = -1
    for i, raw in enumerate(lines):
        line = raw.rstrip()
        stripped = line.strip()
        if not stripped:
            s.block = None
            s.table = False
            s.udi_table = False
            continue
        if _TITLE_RULE.match(line):
            continue
        # 'Smart Licensing Status' over a '=====' rule: a title.
        if i + 1 < len(lines) and _TITLE_RULE.match(lines[i + 1]) and ":" not in stripped:
            section, sub, s.block = stripped.lower(), "", None
            s.recognised = True
            continue
        m = _SL_ENABLED.match(line)
        if m:
            st.smart_licensing_enabled = m.group(1).upper() == "ENABLED"
            s.recognised = s.touched = True
            continue
        m = _RESERVATION.match(line)
        if m:
            st.reservation = m.group(1).upper()
            s.recognised = s.touched = True
            continue
        if stripped.lower().startswith("no licenses in use"):
            s.recognised = True
            continue
        # Tables: 'show license summary' usage table and the old 'show license udi' table.
        if _TABLE_HEAD.match(line):
            s.table, s.block = True, None
            s.recognised = True
            continue
        if _UDI_TABLE_HEAD.match(line):
            s.udi_table = True
            s.recognised = True
            continue
        if s.table or s.udi_table:
            if set(stripped) <= set("-= "):
                continue
            if s.table:
                m = _TABLE_ROW.match(line)
                if m:
                    s.licenses.append(LicenseUsage(
                        device="", license=m.group("lic"), entitlement_tag=m.group("tag").strip(),
                        count=int(m.group("count")), status=m.group("status")))
                    continue
                s.table = False
            else:
                m = _UDI_TABLE_ROW.match(line)
                if m:
                    slot = m.group("slot")
                    role = "Active" if slot == "*" else f"Slot {slot}"
                    entry = {"role": role, "udi_pid": m.group("pid"), "udi_serial": m.group("sn")}
                    st.ha_udis.append(entry)
                    if not st.udi_pid or m.group("slot") == "*":
                        st.udi_pid, st.udi_serial = m.group("pid"), m.group("sn")
                    s.touched = True
                    continue
                s.udi_table = False
        # One block per license: 'name (TAG):', NX-OS '(TAG):'.
        m = _BLOCK.match(line)
        if m and section != "policy" and m.group("tag").strip().lower() != "days":
            tag = m.group("tag").strip()
            name = m.group("name").strip()
            s.block = LicenseUsage(device="", license=name or tag, entitlement_tag=tag)
            s.licenses.append(s.block)
            s.recognised = True
            continue
        if section == "trust code installed":
            m = _INSTALLED.match(line)
            if m:
                if st.trust_codes:
                    st.trust_codes[-1]["installed"] = _timestamp(m.group("ts"))
                continue
        kv = _kv(line)
        if kv is None:
            continue
        indent, key, value = kv
        lkey = key.lower()
        # Section header (known names only: 'Virtual Account: X' can lose its indentation).
        if lkey in _SECTIONS and (not value or lkey == "trust code installed"):
            section, sub, sub_indent, s.block = lkey, "", -1, None
            s.recognised = True
            if lkey == "trust code installed":
                s.touched = True
                if value and _TS.search(value) and not value.lower().startswith("trust code type"):
                    st.trust_codes.append({"role": "", "udi_pid": "", "udi_serial": "", "installed": _timestamp(value)})
            continue
        if s.block is not None and lkey in _LICENSE_KEYS:
            _license_field(s.block, lkey, value)
            continue
        s.block = None
        if lkey == "udi":
            st.udi_pid, st.udi_serial = split_udi(value)
            s.recognised = s.touched = True
            continue
        if sub and indent <= sub_indent:
            sub, sub_indent = "", -1
        _section_field(s, section, sub, lkey, value)
        # Sub-blocks: policy class titles, transport proxy, trust-code owner lines.
        if section == "policy" and not value and lkey.endswith("attributes"):
            sub, sub_indent = _policy_class(key), indent
        elif section == "transport" and lkey == "proxy" and not value:
            sub, sub_indent = "proxy", indent
    status = s.st if s.touched else None
    return s.licenses, status, s.recognised


def _license_field(block: LicenseUsage, key: str, value: str) -> None:
    v = value.strip()
    if key == "description":
        block.description = v
    elif key == "count":
        block.count = _to_int(v)
    elif key == "status":
        block.status = v
    elif key == "enforcement type":
        block.enforcement = v
    elif key == "license type":
        block.license_type = v
    elif key == "feature name" and v and block.license == block.entitlement_tag:
        block.license = v


def _section_field(s: _State, section: str, sub: str, key: str, value: str) -> None:
    st = s.st
    v = value.strip()
    if section == "smart licensing using policy":
        if key == "status":
            st.slp_enabled = v.upper().startswith("ENABLED")
            s.recognised = s.touched = True
    elif section == "transport":
        s.recognised = s.touched = True
        if sub == "proxy":
            return
        if key == "type":
            st.transport_type = none_to_empty(v)
        elif key in ("url", "cslu address", "address", "smart url", "on-prem address", "cslu url"):
            st.transport_address = none_to_empty(v)
    elif section == "registration":
        s.recognised = s.touched = True
        if key == "status":
            st.registration_status = v
            if "RESERVATION" in v.upper():
                st.reservation = v.split("-", 1)[-1].strip() if "-" in v else v
    elif section == "license authorization":
        s.recognised = s.touched = True
        if key == "status":
            st.authorization_status = _ON_DATE.split(v, maxsplit=1)[0].strip()
    elif section == "policy":
        s.recognised = s.touched = True
        if key == "policy in use":
            st.policy_installed = v
        elif key == "policy name":
            st.policy_name = none_to_empty(v)
        elif key == "reporting ack required":
            st.ack_required = v
        elif key in _POLICY_ATTRS and sub:
            st.policy.setdefault(sub, {})[_POLICY_ATTRS[key]] = _policy_value(v)
    elif section == "usage reporting":
        s.recognised = s.touched = True
        if key in _USAGE_KEYS:
            setattr(st, _USAGE_KEYS[key], _timestamp(v))
        elif key == "reporting push interval":
            st.reporting_push_interval = " ".join(v.split())
    elif section == "trust code installed":
        if v.upper().startswith(("PID:", "P:")) or "SN:" in v.upper():
            pid, sn = split_udi(v)
            st.trust_codes.append({"role": key.title(), "udi_pid": pid, "udi_serial": sn, "installed": ""})
        s.recognised = True
    elif section == "ha udi list":
        pid, sn = split_udi(v)
        if pid or sn:
            st.ha_udis.append({"role": key.title(), "udi_pid": pid, "udi_serial": sn})
            s.recognised = s.touched = True
    elif section in ("reservation info", "license reservation info"):
        if key == "license reservation":
            st.reservation = v
            s.recognised = s.touched = True
    elif section in ("account information", "data privacy", "utility", "miscellaneous",
                     "agent version", "usage report summary", "export authorization key",
                     "license conversion", "product information", "license authorizations",
                     "overall status", "purchased licenses"):
        s.recognised = True


def parse(text: str) -> tuple[list[LicenseUsage], LicenseStatus | None, bool]:
    return parse_smart(text)


# ------------------------------------------------------------------ NX-OS legacy usage table

_NXOS_LEGACY = re.compile(r"^\s*Feature\s+Ins\s+Lic\s+Status", re.M)


def nxos_legacy(text: str) -> bool:
    return bool(_NXOS_LEGACY.search(text))


def nxos_usage_table(platform: str, text: str) -> list[LicenseUsage]:
    """NX-OS 6-9.x ``show license usage`` feature table, via ntc-templates' template (filed under the
    platform's ``ntc_platform``)."""
    path = _fsm.template_path(platform, "show license usage", platform_def(platform).ntc_platform)
    if path is None:
        return []
    out = []
    for r in _fsm.parse_rows(path, text):
        if not r.get("feature"):
            continue
        comments = r.get("comments", "").strip()
        expiry = r.get("expiry_date", "").strip()
        notes = [f"installed: {r['installed']}"] if r.get("installed") else []
        if expiry:
            notes.append(f"expiry: {expiry}")
        if comments and comments != "-":
            notes.append(comments)
        out.append(LicenseUsage(
            device="",
            license=r["feature"],
            entitlement_tag=r["feature"],
            count=_to_int(r.get("license_count", "")),
            status=r.get("status", "").strip(),
            license_type=("Perpetual" if expiry.lower() == "never" else ""),
            description="; ".join(notes),
        ))
    return out


_ASA_SERIAL = re.compile(r"^\s*Serial\s+Number:\s+(\S+)", re.M)
# The licence name grows by whole words (blanks then a non-blank, on its own line as '.+?' was), so
# the blanks before ' license.' are scanned once per run, not once per character of the name
# ('(.+?)\s+license' was quadratic).
_ASA_PLATFORM_LICENSE = re.compile(r"^\s*This\s+platform\s+has\s+an?\s++(\S(?:[^\S\n]*+\S)*?)\s+license\.", re.M)


def asa_classic(text: str) -> dict[str, Any]:
    """ASA activation-key licensing ('show license all' without Smart Licensing)."""
    out: dict[str, Any] = {}
    m = _ASA_SERIAL.search(text)
    if m:
        out["serial"] = m.group(1)
    m = _ASA_PLATFORM_LICENSE.search(text)
    if m:
        out["platform_license"] = m.group(1)
    return out
