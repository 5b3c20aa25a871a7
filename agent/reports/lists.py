"""Which reconciliation rows go on which list, in which order.

The lists are what procurement buys from, so each says what can be done with its rows:
renew (covered, expiring), reinstate (lapsed items still on the network: re-certification
first), add (not covered today and attachable: on no contract, a line the file marks not
covered, or a coverage gap before a future-dated line), cannot-attach (not covered and past End
of Service Attach: no new contract can be bought), coverage-gap (a view: every row with days
uncovered before a booked line starts, covered ones included), drop, transfer, refresh (past
Last Date of Support or End of Service Contract Renewal: replace the hardware), unverified.
A row may be on more than one list (coverage-gap is a view over add and renew)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Callable, Iterable, Sequence

from agent.reconcile import (
    COVERED,
    END_OF_SUPPORT,
    EXPIRING,
    LAPSED,
    NOT_SEEN,
    RMA_SWAP,
    UNCOVERED,
    UNVERIFIED,
    ReconRow,
)
from agent.reconcile.rows import FLAG_ATTACH_PASSED, FLAG_COVERAGE_GAP, FLAG_VIA_PARENT


@dataclass(frozen=True)
class ReportList:
    name: str
    title: str
    wants: Callable[[ReconRow], bool]
    order: Callable[[ReconRow], tuple]
    status: str | None = None  # wants() holds only for rows of this status: only those are asked


def _place(r: ReconRow) -> tuple:
    return (r.site, r.hostname or r.device, r.name, r.serial)


def _grouped(r: ReconRow) -> tuple:
    """The add list: per site and device, each major item followed by the minor items inside it
    (grouped by the parent's serial, the parent's own row first), unknown-rank rows last."""
    minor = r.major is False and bool(r.parent_serial)
    return (r.site, r.hostname or r.device, r.parent_serial if minor else r.serial,
            1 if minor else 0 if r.major else 2, r.name, r.serial)


def _renewal(r: ReconRow) -> tuple:
    return (r.contract_number, r.coverage_end or date.max, r.site, r.serial)


def _gap(r: ReconRow) -> tuple:
    return (r.gap_days if r.gap_days is not None else 1 << 30, r.site, r.serial)


def _add(r: ReconRow) -> bool:
    return r.status == UNCOVERED and FLAG_ATTACH_PASSED not in r.flags


def _cannot_attach(r: ReconRow) -> bool:
    return r.status == UNCOVERED and FLAG_ATTACH_PASSED in r.flags


LISTS: tuple[ReportList, ...] = (
    ReportList("deployed", "Deployed items (seen in the latest snapshot)", lambda r: r.seen, _place),
    # An item covered via its parent is on no contract line of its own: renewing the parent's line
    # renews it, so its serial is not one to quote (the deployed list and the quote's notes show it).
    ReportList("renew", "Renew: covered and expiring, by contract and end date (flags: milestones inside the "
               "window, coverage gaps; items covered via their parent are renewed with it)",
               lambda r: r.status in (COVERED, EXPIRING) and FLAG_VIA_PARENT not in r.flags, _renewal),
    ReportList("reinstate", "Reinstate: lapsed and still on the network; reinstating needs re-certification",
               lambda r: r.status == LAPSED and r.seen, _renewal, LAPSED),
    ReportList("add", "Add: seen and not covered today (on no contract, marked not covered, or a gap before a "
               "future-dated line), can still be attached; each major item first, the minor items inside it under it", _add, _grouped,
               UNCOVERED),
    ReportList("cannot-attach", "Cannot attach: not covered and past End of Service Attach, no contract can be "
               "added; replace the hardware or accept the risk", _cannot_attach, _place, UNCOVERED),
    ReportList("coverage-gap", "Coverage gap: days without coverage before a booked future-dated line starts; "
               "bridge or accept the gap", lambda r: FLAG_COVERAGE_GAP in r.flags, _gap),
    ReportList("drop", "Drop: on contract, collected cleanly, not there", lambda r: r.status == NOT_SEEN,
               _renewal, NOT_SEEN),
    ReportList("transfer", "Transfer: RMA swaps, contract moves to the replacement serial",
               lambda r: r.status == RMA_SWAP, lambda r: (r.device, r.slot, r.seen, r.serial), RMA_SWAP),
    ReportList("refresh", "Refresh: replace the hardware, past Last Date of Support or End of Service Contract "
               "Renewal", lambda r: r.status == END_OF_SUPPORT, _place, END_OF_SUPPORT),
    ReportList("unverified", "Unverified: on contract, not seen, scope not collected cleanly",
               lambda r: r.status == UNVERIFIED, _renewal, UNVERIFIED),
)
LIST_NAMES = tuple(lst.name for lst in LISTS)


def select_lists(rows: Iterable[ReconRow], names: Sequence[str] | None = None) -> dict[str, list[ReconRow]]:
    wanted = [lst for lst in LISTS if names is None or lst.name in names]
    unknown = set(names or ()) - set(LIST_NAMES)
    if unknown:
        raise ValueError(f"unknown report list(s) {', '.join(sorted(unknown))}; known: {', '.join(LIST_NAMES)}")
    rows = list(rows)
    by_status: dict[str, list[ReconRow]] = {}  # each in the rows' order: the sorts below are stable
    for r in rows:
        by_status.setdefault(r.status, []).append(r)
    return {lst.name: sorted(filter(lst.wants, rows if lst.status is None else by_status.get(lst.status, ())),
                             key=lst.order) for lst in wanted}


def renew_groups(rows: Iterable[ReconRow]) -> list[tuple[str, date | None, list[ReconRow]]]:
    """Renew-list rows grouped by (contract number, coverage end): one quote line group each."""
    groups: dict[tuple[str, date | None], list[ReconRow]] = {}
    for r in rows:
        groups.setdefault((r.contract_number, r.coverage_end), []).append(r)
    return [(c, e, g) for (c, e), g in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or date.max))]


def title_of(name: str) -> str:
    return next(lst.title for lst in LISTS if lst.name == name)
