"""Smart Licensing Using Policy on lab devices: the offline RUM / ACK round trip, simulated.

Per device, in memory for the life of the lab (``state(device)``):

* a flash file system (``bootflash:`` on IOS XE / NX-OS, ``flash:`` on IOS, ``disk0:`` on XR
  and ASA) with ``dir``, ``more``, ``delete`` (``[confirm]`` prompts, ``/force``, NX-OS
  ``no-prompt``) and an SCP server (``lab.flash_scp``, asyncssh ``allow_scp``) that reads and writes it; turn
  the server off per device (``state(d).scp_server = False``) to model a box without
  ``ip scp server enable``;
* RUM reports (id ~ epoch at creation, one per licence per reporting cycle) with states
  ``OPEN`` / ``CLOSED`` / ``ACK`` (``show license rum id all``);
* last ACK received / next ACK deadline, seeded from the profile's ``show license status`` and
  rewritten in it once they change.

Commands (SLP profiles only; the others refuse them with their own ``% Invalid input``, as
classic IOS, IOS XR 7.x and ASA do):

``license smart save usage {unreported|all|days N|rum-id ID} file <fs:name>``
    writes a RUM file in the ``<smartLicense><RUMReport>`` shape of FORMATS.md 2.9: JSON
    payloads as escaped strings, each signed (HMAC-SHA256 with a lab key standing in for the
    device's SUDI key); ``Last report file write`` is updated.
``license smart import <fs:name>``
    checks the file is an ACK (``<smartLicenseRumAck>``), that CSSM's signature verifies and
    that it names this product instance; then marks the acknowledged reports ``ACK``, sets
    last ACK = now and next ACK deadline = now + reporting frequency, opens the next cycle's
    reports, and prints ``Import Data Successful``.  Anything else prints a ``% Error`` line
    and changes nothing.

``cssm_ack(rum_bytes)`` plays CSSM's *Upload Usage Data* -> ACK download: it verifies every
report's signature over the exact payload bytes (a re-serialised file fails, as at Cisco) and
returns the ACK file.  The ACK's inner JSON is this lab's invention: the real layout is not
public (FORMATS.md 2.9, UNVERIFIED); ibagent only relies on it naming UDIs.

Reporting frequency used for the new deadline: the policy's subscription reporting frequency
when the device uses a subscription (or NX-OS generic) licence, else the perpetual first-report
requirement; both read from the profile's own ``show license status`` text (90 / 365 days in the
Cisco default policy), matching the deadlines the profiles print.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import uuid
import weakref
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from .commands import Command

if TYPE_CHECKING:  # the CLI session imports this module: no import cycle at run time
    from .cli import Session
    from .device import RunningDevice
    from .profiles import Profile

# Stand-ins for the device's SUDI signing key and CSSM's key.  Lab only, not secrets of anything.
_DEVICE_KEY = b"ibagent-lab device SUDI signing key"
_CSSM_KEY = b"ibagent-lab CSSM acknowledgement key"

KEY_PREFIX = "slp:"
SAVE, IMPORT, DIR, MORE, DELETE, RUM_IDS = (KEY_PREFIX + k for k in ("save", "import", "dir", "more", "delete", "rum"))
STATUS = "show license status"

FILESYSTEMS = {"cisco_xe": "bootflash:", "cisco_nxos": "bootflash:", "cisco_ios": "flash:",
               "cisco_xr": "disk0:", "cisco_asa": "disk0:"}
_FS_SIZE = 7_194_652_672
_USAGE_LINES = {"last ack received": "last_ack", "next ack deadline": "deadline",
                "last report file write": "file_write"}
_TS_RX = re.compile(r"([A-Z][a-z]{2})\s+(\d{1,2})\s+(\d{1,2}):(\d{2}):(\d{2})\s+(\d{4})\s+UTC")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def cli_time(dt: datetime) -> str:
    """'Nov 22 14:36:39 2026 UTC', as IOS XE prints its clock in licensing output."""
    return f"{_MONTHS[dt.month - 1]} {dt.day:02d} {dt:%H:%M:%S %Y} UTC"


def _parse_cli_time(text: str) -> datetime | None:
    m = _TS_RX.search(text)
    if not m:
        return None
    mon, d, h, mi, s, y = m.groups()
    return datetime(int(y), _MONTHS.index(mon) + 1, int(d), int(h), int(mi), int(s), tzinfo=timezone.utc)


def _sign(key: bytes, payload: str) -> str:
    return base64.b64encode(hmac.new(key, payload.encode("utf-8"), hashlib.sha256).digest()).decode()


def _compact(obj) -> str:
    return json.dumps(obj, separators=(",", ":"))


# ------------------------------------------------------------------ per-device state


@dataclass(slots=True)
class Report:
    report_id: int
    license: str
    tag: str  # regid.* entitlement tag
    count: int
    state: str  # OPEN | CLOSED | ACK
    start: int  # epoch
    end: int


@dataclass(slots=True)
class DeviceSlp:
    fs: str
    slp: bool
    files: dict[str, bytes] = field(default_factory=dict)
    mtimes: dict[str, float] = field(default_factory=dict)
    reports: list[Report] = field(default_factory=list)
    last_ack: datetime | None = None
    deadline: datetime | None = None
    file_write: datetime | None = None
    changed: set[str] = field(default_factory=set)  # status lines to rewrite
    frequency_days: int = 90
    scp_server: bool = True
    udis: list[tuple[str, str, str]] = field(default_factory=list)  # (role, pid, serial); [0] = product instance
    ha: list[tuple[str, str, str]] = field(default_factory=list)  # HA UDI list (stack / SVL members)
    imports: int = 0  # successful imports, for tests

    def put(self, name: str, data: bytes) -> None:
        self.files[name] = bytes(data)
        self.mtimes[name] = time.time()


_STATES: "weakref.WeakKeyDictionary[RunningDevice, DeviceSlp]" = weakref.WeakKeyDictionary()


def state(device: "RunningDevice") -> DeviceSlp:
    st = _STATES.get(device)
    if st is None:
        st = _STATES[device] = _initial(device)
    return st


def _policy_days(status_text: str) -> tuple[int, int]:
    """(subscription reporting frequency, perpetual first report) from a status output."""
    def pick(section: str, attr: str, default: int) -> int:
        m = re.search(section + r"[^\n]*\n(?:[^\n]*\n){0,3}?\s*" + attr + r"[^:]*:\s*(\d+)", status_text)
        return int(m.group(1)) if m else default
    return pick("Subscription Attributes", "Reporting frequency", 90), pick("Perpetual Attributes", "First report", 365)


def _initial(device: "RunningDevice") -> DeviceSlp:
    profile: Profile = device.profile_def
    st = DeviceSlp(fs=FILESYSTEMS.get(profile.platform, "flash:"), slp=profile.licensing == "slp")
    st.put("packages.conf" if profile.platform == "cisco_xe" else "licensing-notes.txt",
           b"#! /usr/binos/bin/packages_conf.sh\n" if profile.platform == "cisco_xe" else b"lab device flash\n")
    truth = device.truth
    st.ha = [(u.role, u.pid, u.serial) for u in truth.ha_udis]
    own = truth.udi or (truth.ha_udis[0] if truth.ha_udis else None)
    st.udis = [("", own.pid, own.serial)] if own else [("", truth.chassis_pid, truth.chassis_serial)]
    st.udis += [u for u in st.ha if u[1:] != st.udis[0][1:]]
    if not st.slp:
        return st
    text = (device.output(STATUS) or "").replace("\r\n", "\n")
    sub_days, perp_first = _policy_days(text)
    subscription = any(lic.license_type.lower() in ("subscription", "generic") for lic in truth.licenses)
    st.frequency_days = sub_days if subscription else perp_first
    for line in text.split("\n"):
        key, _, value = line.strip().partition(":")
        if key.lower() == "last ack received":
            st.last_ack = _parse_cli_time(value)
        elif key.lower() == "next ack deadline":
            st.deadline = _parse_cli_time(value)
    now = int(time.time())
    for i, lic in enumerate(truth.licenses):
        tag = _regid(lic.entitlement_tag or lic.license)
        count = lic.count or 1
        if st.last_ack is not None:
            acked = int(st.last_ack.timestamp()) - 3600 + i
            st.reports.append(Report(acked, lic.license, tag, count, "ACK", acked, acked + 3000))
        start = now - 7 * 86400 + i
        st.reports.append(Report(start, lic.license, tag, count, "CLOSED", start, now - 3600))
    return st


def _regid(tag: str) -> str:
    word = re.sub(r"[^A-Za-z0-9_.-]+", "_", tag.replace("...", "")).strip("_")
    return f"regid.2017-05.com.cisco.{word},1.0_{uuid.uuid5(uuid.NAMESPACE_URL, 'ibagent-lab/' + tag)}"


# ------------------------------------------------------------------ CLI hooks (lab/cli.py)


def commands(profile: "Profile") -> list[Command]:
    """What this module adds to a profile's privileged EXEC command table."""
    table = [Command.of("dir", DIR, takes_args=True), Command.of("more", MORE, takes_args=True),
             Command.of("delete", DELETE, takes_args=True)]
    if profile.licensing == "slp":
        table += [Command.of("license smart save usage", SAVE, takes_args=True),
                  Command.of("license smart import", IMPORT, takes_args=True),
                  Command.of("show license rum id all", RUM_IDS, output=True)]
    return table


def output(device: "RunningDevice", command: str) -> str | None:
    """The profile's output for ``command``, with this module's live state folded in."""
    if command == RUM_IDS:
        return _rum_table(state(device))
    text = device.output(command)
    if command != STATUS or text is None:
        return text
    st = _STATES.get(device)
    if st is None or not st.changed:
        return text
    lines = text.split("\r\n")
    for i, line in enumerate(lines):
        key, sep, _ = line.strip().partition(":")
        attr = _USAGE_LINES.get(key.lower())
        if sep and attr in st.changed:
            value = getattr(st, attr)
            indent = line[: len(line) - len(line.lstrip())]
            lines[i] = f"{indent}{key}: {cli_time(value) if value else '<none>'}"
    return "\r\n".join(lines)


def _rum_table(st: DeviceSlp) -> str:
    lines = ["Smart Licensing Usage Report:", "====================================",
             "Report Id,          State,    Flag, Feature Name"]
    lines += [f"{r.report_id:<20}{r.state:<10}{'N':<6}{r.license}" for r in st.reports]
    return "\r\n".join(lines) + "\r\n"


async def execute(session: "Session", key: str, line: str) -> bool:
    """Run one SLP / file-system command typed as ``line``; the session goes on (True)."""
    words = line.split()
    n = {SAVE: 4, IMPORT: 3}.get(key, 1)
    args = words[n:]
    st = state(session.device)
    if key == SAVE:
        text = _save(session, st, args)
    elif key == IMPORT:
        text = _import(session, st, args)
    elif key == DIR:
        text = _dir(session, st, args)
    elif key == MORE:
        text = _more(st, args)
    else:
        text = await _delete(session, st, args)
        if text is None:
            return False
    await session._latency()
    if text:
        session._write(text if text.endswith("\r\n") or key == MORE else text + "\r\n")
    session._write_prompt()
    return True


def _name(st: DeviceSlp, path: str | None) -> tuple[str | None, str]:
    """('file', '') for 'bootflash:file' / 'bootflash:/file'; (None, error) otherwise."""
    if not path:
        return None, "% Incomplete command."
    fs, sep, rest = path.partition(":")
    if not sep or fs.lower() + ":" != st.fs:
        return None, f"%Error opening {path} (Invalid file system)"
    name = rest.lstrip("/")
    if not name or "/" in name:
        return None, f"%Error opening {path} (Invalid argument)"
    return name, ""


def _missing(st: DeviceSlp, name: str) -> str:
    return f"%Error opening {st.fs}/{name} (No such file or directory)"


_SAVE_WORDS = ("unreported", "all", "days", "rum-id", "file")


def _save(session: "Session", st: DeviceSlp, args: list[str]) -> str:
    # Keywords may be abbreviated as on IOS ('unrep'); values (numbers, the path) are kept as typed.
    low = [next((w for w in _SAVE_WORDS if a.lower() and w.startswith(a.lower())), a.lower()) for a in args]
    if "file" not in low or low.index("file") + 1 >= len(args):
        return session.dialect.incomplete
    mode, target = low[: low.index("file")], args[low.index("file") + 1]
    now = int(time.time())
    if mode == ["unreported"]:
        chosen = [r for r in st.reports if r.state != "ACK"]
    elif mode == ["all"]:
        chosen = list(st.reports)
    elif len(mode) == 2 and mode[0] == "days" and mode[1].isdigit():
        chosen = [r for r in st.reports if r.start >= now - int(mode[1]) * 86400]
    elif len(mode) == 2 and mode[0] == "rum-id" and mode[1].isdigit():
        chosen = [r for r in st.reports if r.report_id == int(mode[1])]
    else:
        return session.dialect.invalid
    name, error = _name(st, target)
    if name is None:
        return error
    for r in chosen:
        if r.state == "OPEN":  # saving closes the measurement window being reported
            r.state, r.end = "CLOSED", now
    st.put(name, rum_file(session.device, st, chosen))
    st.file_write = datetime.now(timezone.utc).replace(microsecond=0)
    st.changed.add("file_write")
    return ""


def rum_file(device: "RunningDevice", st: DeviceSlp, reports: list[Report]) -> bytes:
    """A RUM usage file as IOS XE writes it (FORMATS.md 2.9), signed per report."""
    _, pid, serial = st.udis[0]
    sudi = {"udi_pid": pid, "udi_serial_number": serial}
    ha = [{"role": role, "sudi": {"udi_pid": p, "udi_serial_number": s}} for role, p, s in st.ha]
    now = time.time()
    info = {"sudi": sudi, "hostname": device.hostname,
            "software_tag_identifier": _regid(f"{device.platform}/{pid}"),
            "timestamp": int(now * 1000), "nonce": str(int(now * 1000) % 10**9)}
    out = ["<smartLicense>", f"<smartLicenseSystemInfo><data>{escape(_compact(info))}</data></smartLicenseSystemInfo>"]
    for r in reports:
        payload = _compact({
            "asset_identification": {"asset": {"name": info["software_tag_identifier"]},
                                     "instance": {"sudi": sudi}},
            "meta": {"entitlement_tag": r.tag, "report_id": r.report_id,
                     "software_version": device.profile_def.os_version, "ha_udi": ha},
            "measurements": [{"log_time": r.end, "metric_name": "ENTITLEMENT", "start_time": r.start,
                              "end_time": r.end, "sample_interval": max(1, r.end - r.start), "num_samples": 2,
                              "meta": {"termination_reason": "CurrentUsageRequested"},
                              "value": {"type": "COUNT", "value": str(r.count)}}],
        })
        doc = _compact({"payload": payload, "header": {"type": "rum"},
                        "signature": {"sudi": sudi, "signing_type": "builtin", "key": "lab-sudi",
                                      "value": _sign(_DEVICE_KEY, payload)}})
        out.append(f"<RUMReport><![CDATA[{doc}]]></RUMReport>")
    out.append("</smartLicense>")
    # No newline at the end, as the CLI leaves it: 'more' glues the prompt to the last line.
    return "\n".join(out).encode()


def _dir(session: "Session", st: DeviceSlp, args: list[str]) -> str:
    target = args[0] if args else st.fs
    fs, _, rest = target.partition(":")
    if fs.lower() + ":" != st.fs:
        return f"%Error opening {target} (Invalid file system)"
    wanted = rest.lstrip("/")
    names = [n for n in sorted(st.files) if not wanted or n == wanted]
    if wanted and not names:
        return _missing(st, wanted)
    nxos = session.device.platform == "cisco_nxos"
    lines = [] if nxos else [f"Directory of {st.fs}/{wanted}", ""]
    for i, n in enumerate(names, start=11):
        when = datetime.fromtimestamp(st.mtimes.get(n, 0), timezone.utc)
        if nxos:
            lines.append(f"{len(st.files[n]):>11}    {when:%b %d %H:%M:%S %Y}  {n}")
        else:
            lines.append(f"{i:>5}  -rw-{len(st.files[n]):>18}  {when:%b %d %Y %H:%M:%S} +00:00  {n}")
    used = sum(len(v) for v in st.files.values())
    if nxos:
        lines += ["", f"Usage for {st.fs}//sup-local", f"{used:>11} bytes used",
                  f"{_FS_SIZE - used:>11} bytes free", f"{_FS_SIZE:>11} bytes total"]
    else:
        lines += ["", f"{_FS_SIZE} bytes total ({_FS_SIZE - used} bytes free)"]
    return "\r\n".join(lines)


def _more(st: DeviceSlp, args: list[str]) -> str:
    name, error = _name(st, args[-1] if args else None)
    if name is None:
        return error + "\r\n"
    if name not in st.files:
        return _missing(st, name) + "\r\n"
    return st.files[name].decode("utf-8", "replace").replace("\r\n", "\n").replace("\n", "\r\n")


async def _delete(session: "Session", st: DeviceSlp, args: list[str]) -> str | None:
    low = [a.lower() for a in args]
    force = "/force" in low or "no-prompt" in low
    paths = [a for a in args if a.lower() not in ("/force", "no-prompt")]
    name, error = _name(st, paths[0] if paths else None)
    if name is None:
        return error
    if name not in st.files:
        return _missing(st, name)
    if not force:
        questions = ([f'Do you want to delete "/{name}" ? (yes/no/abort)   [y] ']
                     if session.device.platform == "cisco_nxos"
                     else [f"Delete filename [{name}]? ", f"Delete {st.fs}/{name}? [confirm]"])
        for q in questions:
            session._write(q)
            answer = await session.read_line()
            if answer is None:
                return None
            if answer.strip().lower() in ("n", "no", "abort"):
                return ""
    del st.files[name]
    st.mtimes.pop(name, None)
    return ""


def _import(session: "Session", st: DeviceSlp, args: list[str]) -> str:
    name, error = _name(st, args[0] if args else None)
    if name is None:
        return error
    if name not in st.files:
        return _missing(st, name)
    try:
        acked = verify_ack(st, st.files[name])
    except AckRejected as exc:
        return f"% Error: Import Data Failed: {exc}"
    now = datetime.now(timezone.utc).replace(microsecond=0)
    for r in st.reports:
        if r.report_id in acked:
            r.state = "ACK"
    st.last_ack, st.deadline = now, now + timedelta(days=st.frequency_days)
    st.changed |= {"last_ack", "deadline"}
    st.imports += 1
    # The next reporting cycle starts measuring now.
    base = max([int(now.timestamp())] + [r.report_id + 1 for r in st.reports])
    for i, lic in enumerate(session.device.truth.licenses):
        st.reports.append(Report(base + i, lic.license, _regid(lic.entitlement_tag or lic.license),
                                 lic.count or 1, "OPEN", base + i, base + i))
    return "Import Data Successful"


class AckRejected(ValueError):
    pass


def verify_ack(st: DeviceSlp, data: bytes) -> set[int]:
    """The report ids an ACK acknowledges for this device; AckRejected says why not."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError:
        raise AckRejected("the file is not a valid acknowledgement (XML is damaged)") from None
    acks = root.findall("smartLicenseRumAck") if root.tag == "smartLicense" else []
    if not acks:
        raise AckRejected("the file holds no usage acknowledgement")
    mine = {s for _, _, s in st.udis}
    acked: set[int] = set()
    matched = False
    for ack in acks:
        try:
            doc = json.loads(ack.findtext("data") or "")
            payload_text = doc["payload"]
            signature = doc["signature"]["value"]
            payload = json.loads(payload_text)
        except (ValueError, KeyError, TypeError):
            raise AckRejected("the acknowledgement data cannot be read") from None
        if not hmac.compare_digest(signature, _sign(_CSSM_KEY, payload_text)):
            raise AckRejected("signature verification failed")
        if payload.get("sudi", {}).get("udi_serial_number") in mine:
            matched = True
            acked |= {int(a["report_id"]) for a in payload.get("rum_acks", []) if "report_id" in a}
    if not matched:
        raise AckRejected(f"the acknowledgement is not for this product instance (UDI {st.udis[0][1]}:{st.udis[0][2]})")
    return acked


# ------------------------------------------------------------------ the CSSM side


class CssmRejected(ValueError):
    pass


def cssm_ack(rum: bytes) -> bytes:
    """What CSSM gives back for an uploaded usage file: the ACK, after checking every signature."""
    try:
        root = ET.fromstring(rum)
    except ET.ParseError:
        raise CssmRejected("usage file is not readable XML") from None
    info = json.loads(root.findtext("smartLicenseSystemInfo/data") or "{}")
    sudi = info.get("sudi") or {}
    ids = []
    for el in root.findall("RUMReport"):
        doc = json.loads(el.text or "")
        payload = doc["payload"]
        if not hmac.compare_digest(doc["signature"]["value"], _sign(_DEVICE_KEY, payload)):
            raise CssmRejected("usage file rejected: a report's signature does not verify (was the file altered?)")
        ids.append(json.loads(payload)["meta"]["report_id"])
    return make_ack(sudi, ids, hostname=info.get("hostname"))


def make_ack(sudi: dict, report_ids: list[int], hostname: str | None = None, signed: bool = True) -> bytes:
    """An ACK file for one product instance; ``signed=False`` forges the signature (tests)."""
    payload = _compact({"version": "1.0", "ack_id": str(uuid.uuid4()), "sudi": sudi, "hostname": hostname,
                        "timestamp": int(time.time()), "rum_acks": [{"report_id": i, "status": "ACK"} for i in report_ids]})
    value = _sign(_CSSM_KEY if signed else b"not the CSSM key", payload)
    data = _compact({"payload": payload, "signature": {"signing_type": "CSSM", "key": "lab-cssm", "value": value}})
    return f"<smartLicense><smartLicenseRumAck><data>{escape(data)}</data></smartLicenseRumAck></smartLicense>".encode()
