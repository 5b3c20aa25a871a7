"""Stale evidence: a device whose last good collection is older than its evidence age limit.

The fleet keeps every device at its last good collection until it is retired (a failed or
skipped scan never removes what was known), so what a row says can rest on old evidence.  The
rules, stated (docs/ARCHITECTURE.md, "The fleet"):
- a device is *stale* when its last good collection is more than ``max_age_days`` days before the
  as-of date (the device's own limit, from its inventory group's ``data.max_age_days``, or
  reconcile's ``--max-age``, 30 days by default);
- a stale device's items keep their status, with ``evidence_age_days`` set, the stale-evidence
  flag and a reason saying how old the evidence is and what happened to the device since;
- a stale device never proves an absence: a contract serial last seen on it is ``unverified``
  naming it, never ``not-seen``.
"""
from __future__ import annotations

from datetime import date
from typing import Sequence

from agent.core.models import DeviceScanState
from agent.reconcile.context import as_day
from agent.reconcile.rows import FLAG_STALE, ReconRow

DEFAULT_MAX_AGE_DAYS = 30


def stale_devices(devices: Sequence[DeviceScanState], as_of: date, max_age_days: int) -> dict[str, tuple[int, str]]:
    """device -> (age in days of its last good collection, reason) for every stale device."""
    stale: dict[str, tuple[int, str]] = {}
    for d in devices:
        if d.last_ok_at is None:
            continue  # never collected: it has no items, and proves nothing either way
        limit = d.max_age_days or max_age_days
        age = (as_of - as_day(d.last_ok_at)).days
        if age > limit:
            since = f"; its latest attempt failed ({d.latest_error})" if d.latest_error else (
                "; not attempted since" if d.latest_status == "ok" else "")
            stale[d.device] = (age, f"rests on evidence {age} days old: {d.device} was last collected on "
                                    f"{as_day(d.last_ok_at)} (limit {limit} days){since}")
    return stale


def mark_stale(rows: list[ReconRow], stale: dict[str, tuple[int, str]]) -> None:
    """Seen rows of stale devices: the age in its column and the reason beside the others."""
    for row in rows:
        if row.seen and row.device in stale:
            age, why = stale[row.device]
            row.evidence_age_days = age  # rows are built for this stage and not shared yet
            row.reasons = row.reasons + (why,)
            row.flags = row.flags + (FLAG_STALE,)
