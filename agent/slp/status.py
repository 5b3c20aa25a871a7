"""One device's Smart Licensing reporting state, from its parsed ``LicenseStatus``: pure.

Statuses (stable strings, reports group on them):

``ok``           an ACK is on file and the next deadline is more than ``due_days`` away, or the
                 policy asks for no periodic report / no ACK, or a reservation (SLR/PLR) is installed
``due``          the next ACK deadline is within ``due_days`` (default 30) days, today included
``overdue``      the deadline has passed (``days`` says by how many days); a device that never
                 received an ACK and whose first-report deadline passed is overdue too, not merely
                 never-acked: missing a deadline is what an operator must see first
``never-acked``  SLP device with no ACK received yet and no passed deadline
``not-slp``      classic Smart Licensing (IOS XR 7.x, ASA, IOS XE before 17.3.2), activation-key
                 licensing, classic (CSL) licensing of IOS 15 Catalyst / ISR G2, or no licence
                 status collected at all

Day arithmetic is on UTC calendar dates: ``days = deadline_date_utc - as_of``.  Deadline today
is ``due`` with days 0; yesterday is ``overdue`` by 1; ``due_days`` ahead is still ``due``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from agent.core.models import LicenseStatus

from .clock import CliTime, parse_cli_time

STATUSES = ("ok", "due", "overdue", "never-acked", "not-slp")
DUE_DAYS = 30

# Policy classes as the parser names them, in the order devices print them.
POLICY_CLASSES = ("perpetual", "subscription", "enforced", "export")


@dataclass(slots=True)
class ReportingState:
    status: str  # one of STATUSES
    reason: str
    days: int | None = None  # days to the deadline (negative: overdue by -days)
    last_ack: CliTime | None = None
    deadline: CliTime | None = None
    notes: list[str] = field(default_factory=list)  # time-zone readings that may be off


def _plural(n: int, word: str = "day") -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _classic_reason(st: LicenseStatus) -> str:
    bits = []
    if st.registration_status:
        bits.append(f"registration {st.registration_status}")
    if st.authorization_status:
        bits.append(f"authorization {st.authorization_status}")
    if st.reservation and st.reservation.upper() not in ("DISABLED", ""):
        bits.append(f"reservation {st.reservation}")
    if st.licensing == "classic":  # CSL (IOS 15 Catalyst / ISR G2): recorded, never Smart Licensing
        level = ", ".join(v for v in (st.license_level, st.license_type) if v)
        return "not Smart Licensing, classic licence state recorded" + (f" ({level})" if level else "")
    if st.smart_licensing_enabled is False:
        return "no Smart Licensing (activation-key licensing)"
    what = "classic Smart Licensing" if st.smart_licensing_enabled or st.registration_status else "no Smart Licensing Using Policy status"
    return what + (f" ({', '.join(bits)})" if bits else "")


def reservation_installed(st: LicenseStatus) -> bool:
    r = (st.reservation or "").upper()
    return "RESERVATION" in r or r in ("ENABLED", "INSTALLED")


def reporting_state(st: LicenseStatus | None, as_of: date, due_days: int = DUE_DAYS) -> ReportingState:
    """The reporting status of one device as of a date.  Pure."""
    if st is None:
        return ReportingState("not-slp", "no licence status collected")
    if st.slp_enabled is not True:
        if st.slp_enabled is False:
            return ReportingState("not-slp", "Smart Licensing Using Policy is disabled")
        return ReportingState("not-slp", _classic_reason(st))
    last = parse_cli_time(st.last_ack_received)
    deadline = parse_cli_time(st.next_ack_deadline)
    notes = []
    for label, raw, parsed in (("last ACK", st.last_ack_received, last), ("deadline", st.next_ack_deadline, deadline)):
        if parsed is not None and parsed.note and parsed.note not in notes:
            notes.append(parsed.note)
        elif parsed is None and raw:
            notes.append(f"{label} {raw!r} is not a timestamp")
    state = _decide(st, last, deadline, as_of, due_days)
    state.last_ack, state.deadline = last, deadline
    state.notes = notes
    if notes:
        state.reason += " (" + "; ".join(notes) + ")"
    return state


def _decide(st: LicenseStatus, last: CliTime | None, deadline: CliTime | None, as_of: date, due_days: int) -> ReportingState:
    if reservation_installed(st):
        return ReportingState("ok", f"licence reservation installed ({st.reservation}): no usage reporting needed")
    if (st.ack_required or "").strip().lower().startswith("no"):
        return ReportingState("ok", f"policy requires no ACK ({st.ack_required})")
    if deadline is not None:
        days = (deadline.when.date() - as_of).days
        when = f"{deadline.text}"
        if days < 0:
            what = "first-report deadline" if last is None else "ACK deadline"
            prefix = "never acknowledged; " if last is None else ""
            return ReportingState("overdue", f"{prefix}{what} {when} passed {_plural(-days)} ago", days)
        if last is None:
            return ReportingState("never-acked", f"no ACK received yet; first report due by {when} "
                                  + ("(today)" if days == 0 else f"(in {_plural(days)})"), days)
        if days == 0:
            return ReportingState("due", f"ACK deadline today ({when})", days)
        if days <= due_days:
            return ReportingState("due", f"ACK deadline {when} in {_plural(days)}", days)
        return ReportingState("ok", f"next ACK deadline {when} in {_plural(days)}", days)
    if last is None:
        if (st.reporting_push_interval or "").startswith("0"):
            return ReportingState("never-acked", "no ACK received yet; device sets no deadline "
                                  f"(reporting push interval {st.reporting_push_interval})")
        return ReportingState("never-acked", "no ACK received yet and no deadline shown")
    return ReportingState("ok", f"ACK received {last.text}; no next deadline set (policy asks for no periodic report)")


# ------------------------------------------------------------------ display helpers


def members(st: LicenseStatus | None) -> list[dict[str, str]]:
    """Stack / HA members as the licensing output names them: HA UDI list, else trust codes."""
    if st is None:
        return []
    rows = [u for u in st.ha_udis if u.get("udi_serial")] or [u for u in st.trust_codes if u.get("udi_serial")]
    return [{"role": u.get("role", ""), "udi_pid": u.get("udi_pid", ""), "udi_serial": u.get("udi_serial", "")} for u in rows]


def members_text(st: LicenseStatus | None) -> str:
    return "; ".join(f"{m['role'] + ' ' if m['role'] else ''}{m['udi_pid']} {m['udi_serial']}".strip() for m in members(st))


def policy_summary(st: LicenseStatus | None) -> dict[str, Any]:
    """{class: {first_report_days, reporting_frequency_days, report_on_change_days, source}}."""
    out: dict[str, Any] = {}
    if st is None:
        return out
    for cls, attrs in st.policy.items():
        entry: dict[str, Any] = {}
        sources = set()
        for key, value in attrs.items():
            n, src = (list(value) + [None, ""])[:2] if isinstance(value, (list, tuple)) else (value, "")
            entry[key] = n
            if src:
                sources.add(src)
        entry["source"] = ", ".join(sorted(sources))
        out[cls] = entry
    return out


def policy_text(st: LicenseStatus | None) -> str:
    """'Custom Policy (Customer Policy): subscription 90/90/90, perpetual 365/0/90' (first/frequency/on change)."""
    if st is None or not (st.policy or st.policy_name or st.policy_installed):
        return ""
    summary = policy_summary(st)
    sources = sorted({v["source"] for v in summary.values() if v.get("source")})
    name = st.policy_name or ("Cisco default" if any("cisco" in s.lower() for s in sources) else "")
    head = name + (f" ({', '.join(sources)})" if sources else "")
    parts = []
    for cls in POLICY_CLASSES + tuple(c for c in summary if c not in POLICY_CLASSES):
        v = summary.get(cls)
        if v:
            nums = "/".join("-" if v.get(k) is None else str(v.get(k))
                            for k in ("first_report_days", "reporting_frequency_days", "report_on_change_days"))
            parts.append(f"{cls} {nums}")
    return (head + ": " if head else "") + ", ".join(parts)
