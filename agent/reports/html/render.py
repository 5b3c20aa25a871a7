"""The whole report: what the caller hands in (``ReportInputs``), the context the template reads,
the page, the file.

``render_report(inputs, store)`` reads only the evidence (captures, scans) and the CDP / LLDP gap list from ``store``; the
rows, the contract lines, a quote and an SLP report come from the caller, which already has
them (``ibagent report``, the demo).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Sequence

from agent.reconcile import ReconRow
from agent.reconcile.neighbours_store import gap_report
from agent.reports import neighbours as nb_out
from agent.reports.html import columns, evidence, model
from agent.reports.html import money as money_mod
from agent.reports.html.env import render
from agent.reports.tabular import atomic_write

# SLP statuses that ask for action (agent.slp.status's vocabulary: a report is handed in).
SLP_ACTION = ("overdue", "due", "never-acked")


@dataclass
class ReportInputs:
    as_of: date
    window_days: int
    rows: Sequence[ReconRow]
    store: str  # the store's path, as the header names it
    contracts: Sequence[str] = ()
    eox: Sequence[str] = ()
    contract_lines: Sequence[Any] = ()  # agent.contracts ContractLine: the evidence section shows those rows name
    prices: str | None = None  # the price list's file, when the report is priced
    coterm: date | None = None
    quote_lines: Sequence[Any] | None = None  # agent.quote QuoteLines (ordered)
    quote_totals: Any = None  # agent.quote Totals
    slp: Any = None  # agent.slp SlpReport
    scope: list[str] = field(default_factory=list)  # filters applied (--site, --status), said in the header
    max_capture: int = evidence.MAX_CAPTURE


def context(inputs: ReportInputs, store) -> dict[str, Any]:
    rows = list(inputs.rows)
    ev = evidence.gather(store, rows, inputs.contract_lines, inputs.max_capture)
    lines = list(inputs.quote_lines) if inputs.quote_lines is not None else None
    priced = lines is not None
    timeline = model.eol_timeline(rows, inputs.as_of, inputs.window_days)
    slp = inputs.slp
    gaps = gap_report(store)
    return {
        "as_of": inputs.as_of, "window_days": inputs.window_days, "store": inputs.store,
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "latest_scan": evidence.latest_scan(store),
        "inputs": {"contracts": list(inputs.contracts), "eox": list(inputs.eox), "prices": inputs.prices},
        "coterm": inputs.coterm, "scope": inputs.scope,
        "statuses": model.statuses_of(rows), "total": len(rows), "counts": Counter(r.status for r in rows),
        "sites": sorted({r.site for r in rows if r.site}),
        "by_site": model.coverage_summary(rows, model.site_of, money_mod.by_site(lines) if priced else None),
        "by_contract": model.coverage_summary(rows, model.contract_of,
                                              money_mod.by_contract(lines) if priced else None),
        "cost_kinds": money_mod.COST_KINDS, "priced": priced,
        "calendar": model.renewal_calendar(rows, inputs.as_of,
                                           amount=money_mod.renewal_amounts(lines) if priced else None),
        "timeline": timeline, "events": model.upcoming_events(timeline, inputs.as_of),
        "milestones": model.MILESTONES,
        "lists": columns.list_views(rows, ev.targets, ev.line_ids),
        "quote": money_mod.quote_view(lines, inputs.quote_totals) if priced else None,
        "quote_numeric": money_mod.NUMERIC, "quote_nowrap": money_mod.NOWRAP,
        "list_numeric": columns.NUMERIC, "list_nowrap": columns.NOWRAP,
        "slp": slp, "slp_counts": slp.counts() if slp is not None else {},
        "slp_action": [d for d in slp.devices if d.get("reporting_status") in SLP_ACTION] if slp is not None else [],
        "evidence": ev, "max_capture": inputs.max_capture,
        # CDP / LLDP (issue 17): the Cisco neighbours that match no device of the fleet
        "neighbours": nb_out.rows(gaps), "neighbours_summary": nb_out.summary(gaps),
    }


def render_report(inputs: ReportInputs, store) -> str:
    return render("report.html.j2", **context(inputs, store))


def write_report(path: str | Path, inputs: ReportInputs, store) -> tuple[Path, int]:
    """Render and write the page (aside, then renamed into place); (path, bytes written)."""
    path = Path(path)
    data = render_report(inputs, store).encode("utf-8")
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: tmp.write_bytes(data))
    return path, len(data)
