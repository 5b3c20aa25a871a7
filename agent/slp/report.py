"""The SLP usage report: pure function of scan history, ACK imports and an as-of date.

Three views of one computation:

``rows``          one per (device, entitlement tag): the device's current count, min / max over
                  the window, first / last seen, and the device's reporting status.  Devices with
                  no licence row get one row with an empty licence so every device is accounted for.
``entitlements``  one per (site, entitlement tag): the devices and stack members using it, the
                  site total now, its min / max over the window's scans, first / last seen.
``devices``       one per device: transport, policy with its source, last ACK, next deadline,
                  last report push, trust codes, reservation, reporting status and reason.

Counts: a licence row's ``Count`` is the number of stack / HA members consuming it.  A scan's
picture of a device is its latest clean collection as of that scan (a device that failed
tonight keeps yesterday's licences), as everywhere else in ibagent.  An ACK imported with
``ibagent slp import-ack`` after the device's last scan overrides that scan's usage-reporting
fields (the import re-reads ``show license status``).
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from agent.core.models import LicenseStatus, LicenseUsage

from .clock import day, iso, parse_cli_time
from .status import DUE_DAYS, STATUSES, members, members_text, policy_summary, policy_text, reporting_state


@dataclass(frozen=True, slots=True)
class Observation:
    """One device as collected (cleanly) in one scan."""

    device: str
    hostname: str
    platform: str
    scan_id: int
    at: float  # scan start, epoch seconds
    licenses: tuple[LicenseUsage, ...] = ()
    status: LicenseStatus | None = None
    # Derived once (a report reads each observation in many scans): tag key per licence, in
    # order, and the count per tag key.
    keys: tuple[str, ...] = field(default=(), compare=False)
    counts: dict[str, int] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.licenses and not self.keys:
            keys = tuple(tag_key(lic) for lic in self.licenses)
            counts: dict[str, int] = defaultdict(int)
            for key, lic in zip(keys, self.licenses):
                counts[key] += lic.count or 0
            object.__setattr__(self, "keys", keys)
            object.__setattr__(self, "counts", dict(counts))


@dataclass(frozen=True, slots=True)
class Presence:
    """A device in one scan: its site then, and its latest clean collection (None if never)."""

    site: str
    obs: Observation | None
    scan_status: str = "ok"  # ok | failed: how that scan went for the device
    error: str = ""
    # False when that scan did not attempt the device (a partial or interrupted scan): the fleet
    # keeps it at what was known, and the report says it was not in that scan.
    attempted: bool = True


@dataclass(slots=True)
class ReportInputs:
    as_of: date
    window_days: int
    # Scans considered, ascending (scan id, start epoch); the last one is "now".
    scans: list[tuple[int, float]] = field(default_factory=list)
    snapshots: dict[int, dict[str, Presence]] = field(default_factory=dict)
    # (device, tag key) -> (first, last) scan start over all history up to as_of
    seen: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)
    # device -> (when, status re-read after the newest successful ACK import up to as_of)
    acks: dict[str, tuple[float, LicenseStatus | None]] = field(default_factory=dict)
    site: str | None = None


@dataclass(slots=True)
class SlpReport:
    as_of: date
    window_days: int
    site: str | None
    scan_id: int | None
    scan_at: float | None
    window_scans: int
    rows: list[dict[str, Any]]
    entitlements: list[dict[str, Any]]
    devices: list[dict[str, Any]]

    def counts(self) -> dict[str, int]:
        c = Counter(d["reporting_status"] for d in self.devices)
        return {s: c.get(s, 0) for s in STATUSES}

    def meta(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(), "window_days": self.window_days, "site": self.site,
                "scan_id": self.scan_id, "scan_date": day(self.scan_at), "window_scans": self.window_scans,
                "status_counts": self.counts()}


ROW_COLUMNS = (
    "site", "hostname", "device", "udi_pid", "udi_serial", "members", "license", "entitlement_tag", "license_type",
    "count", "min_count", "max_count", "first_seen", "last_seen", "last_ack", "next_ack_deadline",
    "days_to_deadline", "reporting_status", "reason",
)
DEVICE_COLUMNS = (
    "site", "hostname", "device", "platform", "udi_pid", "udi_serial", "members", "transport", "policy",
    "last_ack", "last_ack_device", "next_ack_deadline", "next_ack_deadline_device", "days_to_deadline",
    "last_report_push", "trust_codes", "reservation", "reporting_status", "reason", "collected", "latest_scan",
)
ENTITLEMENT_COLUMNS = (
    "site", "entitlement_tag", "license", "license_type", "device_count", "devices", "members", "current",
    "min_count", "max_count", "first_seen", "last_seen",
)

# Fields a successful ACK import refreshes (the device re-read its 'show license status').
_ACK_FIELDS = ("last_ack_received", "next_ack_deadline", "reporting_push_interval", "next_report_push",
               "last_report_push", "last_report_file_write", "policy", "policy_name", "policy_installed",
               "ack_required", "trust_codes")


def tag_key(lic: LicenseUsage) -> str:
    return (lic.entitlement_tag or lic.license).strip().rstrip(".").strip().lower()


def effective_status(obs: Observation | None, ack: tuple[float, LicenseStatus | None] | None) -> LicenseStatus | None:
    """The scan's licence status, refreshed by an ACK import made after that scan."""
    st = obs.status if obs else None
    if ack is None or ack[1] is None or (obs is not None and obs.at >= ack[0]):
        return st
    if st is None:
        return ack[1]
    st = replace(st)
    for name in _ACK_FIELDS:
        value = getattr(ack[1], name)
        if value not in ("", None, [], {}):
            setattr(st, name, value)
        elif name in ("last_ack_received", "next_ack_deadline"):
            setattr(st, name, value)
    return st


def _counts(obs: Observation | None) -> dict[str, int]:
    return obs.counts if obs else {}


def build_report(inputs: ReportInputs, due_days: int = DUE_DAYS) -> SlpReport:
    """Rows, entitlements and devices for ``inputs``.  Pure: no store, no clock."""
    scans = inputs.scans
    if not scans:
        return SlpReport(inputs.as_of, inputs.window_days, inputs.site, None, None, 0, [], [], [])
    current_id, current_at = scans[-1]

    def wanted(p: Presence) -> bool:
        return inputs.site is None or p.site == inputs.site

    snaps = [(sid, {d: p for d, p in inputs.snapshots.get(sid, {}).items() if wanted(p)}) for sid, _ in scans]
    current = snaps[-1][1]
    # Devices known in the window: the current scan's, plus any seen earlier in it (removed since).
    last_presence: dict[str, Presence] = {}
    for _, snap in snaps:
        last_presence.update(snap)

    devices: list[dict[str, Any]] = []
    state_of: dict[str, dict[str, Any]] = {}
    for name in sorted(last_presence):
        pres = current.get(name) or last_presence[name]
        obs = pres.obs
        st = effective_status(obs, inputs.acks.get(name))
        state = reporting_state(st, inputs.as_of, due_days)
        if obs is None and pres.error:
            state.reason += f" (latest scan failed: {pres.error})"
        in_latest = name in current and current[name].attempted
        if not in_latest:
            state.reason += " (not in the latest scan)"
        rec = {
            "site": pres.site,
            "hostname": (obs.hostname if obs else "") or name,
            "device": name,
            "platform": obs.platform if obs else "",
            "udi_pid": st.udi_pid if st else "",
            "udi_serial": st.udi_serial if st else "",
            "members": members_text(st),
            "member_list": members(st),
            "transport": (st.transport_type if st else "") or "",
            "transport_address": (st.transport_address if st else "") or "",
            "policy": policy_text(st),
            "policy_detail": policy_summary(st),
            "ack_required": st.ack_required if st else "",
            "last_ack": iso(state.last_ack),
            "last_ack_device": st.last_ack_received if st else "",
            "next_ack_deadline": iso(state.deadline),
            "next_ack_deadline_device": st.next_ack_deadline if st else "",
            "days_to_deadline": state.days,
            "last_report_push": iso(parse_cli_time(st.last_report_push)) if st else "",
            "reporting_push_interval": st.reporting_push_interval if st else "",
            "trust_codes": _trust_text(st),
            "reservation": (st.reservation if st else "") or "",
            "reporting_status": state.status,
            "reason": state.reason,
            "collected": day(obs.at) if obs else "",
            "latest_scan": pres.scan_status if in_latest else "absent",
        }
        devices.append(rec)
        state_of[name] = rec

    rows = _usage_rows(snaps, current, last_presence, state_of, inputs)
    entitlements = _entitlements(snaps, rows, state_of)
    devices.sort(key=lambda d: (d["site"], d["hostname"], d["device"]))
    return SlpReport(inputs.as_of, inputs.window_days, inputs.site, current_id, current_at, len(scans),
                     rows, entitlements, devices)


def _trust_text(st: LicenseStatus | None) -> str:
    if st is None:
        return ""
    parts = []
    for t in st.trust_codes:
        who = " ".join(x for x in (t.get("role", ""), t.get("udi_serial", "")) if x)
        when = parse_cli_time(t.get("installed"))
        parts.append(f"{who + ': ' if who else ''}{iso(when)[:10] if when else t.get('installed', '') or 'installed'}")
    return "; ".join(parts)


def _usage_rows(snaps, current, last_presence, state_of, inputs: ReportInputs) -> list[dict[str, Any]]:
    # Per device and tag: its count in every window scan where the device was present (0 before it
    # appeared or after it went: min / max say the licence came or went inside the window).
    tags_of: dict[str, set[str]] = defaultdict(set)
    latest_lic: dict[tuple[str, str], LicenseUsage] = {}
    seen_obs: set[int] = set()
    for _, snap in snaps:
        for name, pres in snap.items():
            if pres.obs is None or id(pres.obs) in seen_obs:  # carried forward: already read
                continue
            seen_obs.add(id(pres.obs))
            for key, lic in zip(pres.obs.keys, pres.obs.licenses):
                tags_of[name].add(key)
                latest_lic[(name, key)] = lic
    history: dict[tuple[str, str], list[int]] = defaultdict(list)
    for _, snap in snaps:
        for name, pres in snap.items():
            counts = _counts(pres.obs)
            for key in tags_of.get(name, ()):
                history[(name, key)].append(counts.get(key, 0))
    rows = []
    for (name, key), series in history.items():
        lic = latest_lic[(name, key)]
        dev = state_of[name]
        pres = current.get(name)
        has_now = bool(pres and pres.obs and key in pres.obs.counts)
        now = pres.obs.counts[key] if has_now else None
        first, last = inputs.seen.get((name, key), (None, None))
        rows.append(_row(dev, lic, now, min(series), max(series), first, last))
    licensed = {name for name, _ in history}
    for name, dev in state_of.items():
        if name not in licensed:
            rows.append(_row(dev, None, None, None, None, None, None))
    rows.sort(key=lambda r: (r["site"], r["entitlement_tag"].lower(), r["hostname"], r["device"]))
    return rows


def _row(dev, lic: LicenseUsage | None, count, lo, hi, first, last) -> dict[str, Any]:
    return {
        "site": dev["site"],
        "hostname": dev["hostname"],
        "device": dev["device"],
        "udi_pid": (lic.udi_pid if lic and lic.udi_pid else dev["udi_pid"]),
        "udi_serial": (lic.udi_serial if lic and lic.udi_serial else dev["udi_serial"]),
        "members": dev["members"],
        "license": lic.license if lic else "",
        "entitlement_tag": (lic.entitlement_tag or lic.license) if lic else "",
        "license_type": lic.license_type if lic else "",
        "license_status": lic.status if lic else "",
        "count": count,
        "min_count": lo,
        "max_count": hi,
        "first_seen": day(first),
        "last_seen": day(last),
        "last_ack": dev["last_ack"],
        "next_ack_deadline": dev["next_ack_deadline"],
        "days_to_deadline": dev["days_to_deadline"],
        "reporting_status": dev["reporting_status"],
        "reason": dev["reason"],
    }


def _entitlements(snaps, rows, state_of) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if r["entitlement_tag"]:
            groups[(r["site"], r["entitlement_tag"].strip().rstrip(".").strip().lower())].append(r)
    # Site totals per window scan, counted over the scans in which the site had devices at all.
    per_scan: list[tuple[set[str], dict[tuple[str, str], int]]] = []
    for _, snap in snaps:
        sites: set[str] = set()
        totals_here: dict[tuple[str, str], int] = defaultdict(int)
        for pres in snap.values():
            sites.add(pres.site)
            for key, n in _counts(pres.obs).items():
                totals_here[(pres.site, key)] += n
        per_scan.append((sites, totals_here))
    out = []
    for (site, key), members_rows in groups.items():
        totals = [t.get((site, key), 0) for sites, t in per_scan if site in sites]
        using = [r for r in members_rows if r["count"]]
        member_serials = []
        for r in using:
            listed = state_of[r["device"]]["member_list"]
            member_serials += [m["udi_serial"] for m in listed] or [r["udi_serial"]]
        firsts = [r["first_seen"] for r in members_rows if r["first_seen"]]
        lasts = [r["last_seen"] for r in members_rows if r["last_seen"]]
        sample = members_rows[0]
        current = sum(r["count"] for r in using) if using else None
        out.append({
            "site": site,
            "entitlement_tag": sample["entitlement_tag"],
            "license": sample["license"],
            "license_type": sample["license_type"],
            "device_count": len(using),
            "devices": ", ".join(sorted({r["hostname"] for r in using})),
            "members": ", ".join(member_serials),
            "current": current,
            "min_count": min(totals) if totals else None,
            "max_count": max(totals) if totals else None,
            "first_seen": min(firsts) if firsts else "",
            "last_seen": max(lasts) if lasts else "",
        })
    out.sort(key=lambda e: (e["site"], e["entitlement_tag"].lower()))
    return out
