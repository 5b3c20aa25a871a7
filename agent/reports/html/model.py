"""Reconcile rows -> the views a person reads first: the coverage summary by site and by
contract, the renewal calendar of the next 24 months and the end-of-life timeline per PID.

Pure functions of the rows (and, for money, of a quote's lines handed in: ``money``).  Statuses
are reconcile's vocabulary, in its order; a status another stage adds later gets a column too.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Callable, Iterable, Mapping, Sequence

from agent.reconcile import COVERED, EXPIRING, STATUSES, ReconRow

NO_CONTRACT = "(no contract)"
NO_SITE = "(no site)"
MONTHS = 24
# (ReconRow field, label): the EoX milestones a row may carry, in the order they fall.
MILESTONES = (("end_of_sale", "End of Sale"), ("last_attach", "End of Service Attach"),
              ("last_renewal", "End of Service Contract Renewal"), ("ldos", "Last Date of Support"))


def statuses_of(rows: Iterable[ReconRow]) -> list[str]:
    """Reconcile's statuses in order, then any other a row carries (sorted)."""
    seen = {r.status for r in rows}
    return [s for s in STATUSES if s in seen] + sorted(seen - set(STATUSES))


def site_of(row: ReconRow) -> str:
    return row.site or NO_SITE


def contract_of(row: ReconRow) -> str:
    return row.contract_number or NO_CONTRACT


@dataclass
class Group:
    name: str
    counts: Counter = field(default_factory=Counter)
    total: int = 0
    money: dict[str, dict[str, Any]] = field(default_factory=dict)  # kind -> currency -> amount


def coverage_summary(rows: Sequence[ReconRow], key: Callable[[ReconRow], str],
                     money: Mapping[str, dict[str, dict[str, Any]]] | None = None) -> list[Group]:
    """One group per key value (site or contract), counts per status, money per kind and
    currency when a quote was given (``money``: group name -> kind -> currency -> amount)."""
    groups: dict[str, Group] = {}
    for r in rows:
        name = key(r)
        g = groups.get(name)
        if g is None:
            g = groups[name] = Group(name)
        g.counts[r.status] += 1
        g.total += 1
    for name, kinds in (money or {}).items():
        groups.setdefault(name, Group(name)).money = kinds
    return [groups[k] for k in sorted(groups)]


@dataclass
class Month:
    start: date
    rows: list[ReconRow] = field(default_factory=list)
    contracts: list[dict[str, Any]] = field(default_factory=list)  # per contract: rows, sites, money
    money: dict[str, Any] = field(default_factory=dict)  # currency -> amount (renewals priced)

    @property
    def label(self) -> str:
        return self.start.strftime("%Y-%m")


def _month_start(d: date, ahead: int = 0) -> date:
    y, m = divmod(d.month - 1 + ahead, 12)
    return date(d.year + y, m + 1, 1)


def renewal_calendar(rows: Sequence[ReconRow], as_of: date, months: int = MONTHS,
                     amount: Callable[[ReconRow], tuple[str, Any] | None] | None = None) -> list[Month]:
    """The next ``months`` months from ``as_of``'s month: per month, the covered and expiring
    rows whose coverage ends in it (from ``as_of`` on), grouped by contract; ``amount(row)``
    gives the priced renewal ``(currency, amount)`` of a row, or None."""
    cal = [Month(_month_start(as_of, i)) for i in range(months)]
    end = _month_start(as_of, months)
    for r in rows:
        e = r.coverage_end
        if e is None or r.status not in (COVERED, EXPIRING) or not (as_of <= e < end):
            continue
        cal[(e.year - as_of.year) * 12 + e.month - as_of.month].rows.append(r)
    for month in cal:
        month.rows.sort(key=lambda r: (r.coverage_end, contract_of(r), r.site, r.serial))
        by_contract: dict[str, dict[str, Any]] = {}
        for r in month.rows:
            c = by_contract.setdefault(contract_of(r), {"contract": contract_of(r), "count": 0, "sites": set(),
                                                         "ends": set(), "money": {}})
            c["count"] += 1
            c["sites"].add(site_of(r))
            c["ends"].add(r.coverage_end)
            priced = amount(r) if amount else None
            if priced:
                cur, value = priced
                c["money"][cur] = c["money"].get(cur, 0) + value
                month.money[cur] = month.money.get(cur, 0) + value
        month.contracts = [dict(c, sites=sorted(c["sites"]), ends=sorted(c["ends"]))
                           for _, c in sorted(by_contract.items())]
        month.money = dict(sorted(month.money.items()))
    return cal


@dataclass
class Milestone:
    label: str
    when: date
    passed: bool
    soon: bool  # upcoming inside the window


@dataclass
class PidLife:
    base_pid: str
    items: int  # seen items of this PID
    sites: list[str]
    milestones: dict[str, Milestone]  # field -> milestone (only those known)

    @property
    def next(self) -> date:
        upcoming = [m.when for m in self.milestones.values() if not m.passed]
        return min(upcoming) if upcoming else date.max


def eol_timeline(rows: Sequence[ReconRow], as_of: date, window_days: int) -> list[PidLife]:
    """Per base PID with at least one EoX milestone: the milestones (the first row that carries
    each), passed or upcoming (``soon``: inside the window), the items seen; PIDs whose next
    milestone comes first lead, PIDs with every milestone passed last."""
    found: dict[str, dict[str, date]] = {}
    items: Counter = Counter()
    sites: dict[str, set[str]] = {}
    for r in rows:
        marks = found.setdefault(r.base_pid, {})
        for name, _ in MILESTONES:
            value = getattr(r, name, None)
            if value is not None and name not in marks:
                marks[name] = value
        if r.seen:
            items[r.base_pid] += 1
            sites.setdefault(r.base_pid, set()).add(site_of(r))
    soon = as_of + timedelta(days=window_days)
    out = []
    for pid, marks in found.items():
        if not marks:
            continue
        stones = {name: Milestone(label, marks[name], marks[name] < as_of, as_of <= marks[name] <= soon)
                  for name, label in MILESTONES if name in marks}
        out.append(PidLife(pid, items[pid], sorted(sites.get(pid, ())), stones))
    out.sort(key=lambda p: (p.next, -p.items, p.base_pid))
    return out


def upcoming_events(timeline: Sequence[PidLife], as_of: date, months: int = MONTHS) -> list[dict[str, Any]]:
    """Every milestone from ``as_of`` to ``months`` ahead, in date order: the timeline itself."""
    end = _month_start(as_of, months)
    events = [{"when": m.when, "label": m.label, "base_pid": p.base_pid, "items": p.items, "soon": m.soon}
              for p in timeline for m in p.milestones.values() if not m.passed and m.when < end]
    return sorted(events, key=lambda e: (e["when"], e["base_pid"], e["label"]))
