"""Reconcile's output: the status vocabulary (DESIGN.md) and one ``ReconRow`` per item or unmatched
contract key, with its reasons and evidence."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import date
from typing import Iterable

from agent.core.identity import Key


COVERED = "covered"
EXPIRING = "expiring"
LAPSED = "lapsed"
UNCOVERED = "uncovered"
NOT_SEEN = "not-seen"
UNVERIFIED = "unverified"
RMA_SWAP = "rma-swap"
END_OF_SUPPORT = "end-of-support"
STATUSES = (COVERED, EXPIRING, LAPSED, UNCOVERED, NOT_SEEN, UNVERIFIED, RMA_SWAP, END_OF_SUPPORT)

# Flags a row may carry (``ReconRow.flags``), beside its status.
FLAG_COVERAGE_GAP = "coverage-gap"  # days without coverage before a future-dated line starts (gap_days)
FLAG_SALE_SOON = "end-of-sale-soon"
FLAG_RENEWAL_SOON = "last-renewal-soon"  # End of Service Contract Renewal inside the window
FLAG_ATTACH_SOON = "last-attach-soon"
FLAG_LDOS_SOON = "ldos-soon"
FLAG_ATTACH_PASSED = "cannot-attach"  # past End of Service Attach: cannot be added to a contract
FLAG_RECERT = "needs-recertification"  # lapsed: reinstating needs Cisco's re-certification
FLAG_VIA_PARENT = "covered-via-parent"
FLAG_WEAK_EVIDENCE = "weak-evidence"  # a contract cell it rests on was unreadable (kept, flagged)
FLAG_STALE = "stale-evidence"
FLAGS = (FLAG_COVERAGE_GAP, FLAG_SALE_SOON, FLAG_RENEWAL_SOON, FLAG_ATTACH_SOON, FLAG_LDOS_SOON,
         FLAG_ATTACH_PASSED, FLAG_RECERT, FLAG_VIA_PARENT, FLAG_WEAK_EVIDENCE, FLAG_STALE)

MATCH_EXACT = "serial+pid"
MATCH_SERIAL = "serial-only"


# ------------------------------------------------------------------ output


@dataclass(slots=True)
class ReconRow:
    """One reconciliation verdict.  Built positionally in the hot paths: keep the field order.
    Not frozen only for build speed (see ContractLine): treat as read-only."""

    status: str
    serial: str
    base_pid: str
    pid: str = ""
    seen: bool = True  # in the latest snapshot
    device: str = ""  # for unseen rows: where history last saw it, if anywhere
    hostname: str = ""
    site: str = ""
    cls: str = ""
    name: str = ""
    slot: str = ""
    contract_number: str = ""
    service_level: str = ""
    coverage_start: date | None = None
    coverage_end: date | None = None
    contract_site_id: str = ""
    ldos: date | None = None
    match: str = ""  # MATCH_EXACT / MATCH_SERIAL / "" (no line)
    swap_with: str = ""  # rma-swap partner as "SERIAL PID"
    blocking_devices: tuple[str, ...] = ()  # unverified: the devices that stand in the way
    scan_id: int | None = None
    capture_id: int | None = None
    contract_file: str = ""
    contract_row: int | None = None
    other_lines: tuple[str, ...] = ()  # further contract lines considered, as "file:row"
    reasons: tuple[str, ...] = ()
    evidence_age_days: int | None = None  # set when the row rests on a stale collection (reconcile.stale)
    # Issue 14 (safe lists): the contract's own install site name beside ``site`` (the inventory's,
    # the one vocabulary every list groups by); every EoX milestone, not only LDoS; flags that a
    # list reader must see (FLAGS); the days a coverage gap lasts; major/minor and the parent.
    contract_site: str = ""
    end_of_sale: date | None = None
    last_renewal: date | None = None  # End of Service Contract Renewal
    last_attach: date | None = None  # End of Service Attach
    flags: tuple[str, ...] = ()
    gap_days: int | None = None  # coverage-gap: the days without coverage before the future line starts
    major: bool | None = None  # chassis, stack member, supervisor, line card; None: class unknown
    parent_serial: str = ""  # a minor item's parent (the chassis or member it sits in)
    parent_status: str = ""  # that parent's status: a minor item is "covered via parent" by it
    # Where the EoX milestones above come from ("EoX <bulletin> [file:row]" or "contract file
    # [file:row]"), "" when the row has none: part of the evidence a list row names.
    milestone_source: str = ""

    @property
    def key(self) -> Key:
        return (self.serial, self.base_pid)


def with_changes(row: ReconRow, **changes) -> ReconRow:
    return replace(row, **changes)


def count_by_status(rows: Iterable[ReconRow]) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for status, n in Counter([row.status for row in rows]).items():  # in order of first appearance
        counts[status] = counts.get(status, 0) + n
    return counts
