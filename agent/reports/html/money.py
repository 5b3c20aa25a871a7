"""A quote (``agent.quote``'s lines and totals, handed in by the caller) -> the money the report
shows: per site and per contract by kind and currency, each row's priced renewal for the
calendar, and the quote section itself.

Duck-typed on purpose: ``agent.quote`` imports ``agent.reports`` (its table helpers and workbook
writer), so the reports stage never imports it back.  The attribute names read here are the
quote line's (kind, state, serial, base_pid, site, contract_number, currency, net_price, amount,
...); ``tests/test_html_report.py`` renders a real ``build_quote`` so a rename breaks a test.
Amounts stay Decimal and are never summed across currencies.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from agent.reports.html.model import NO_CONTRACT, NO_SITE

# The kinds that cost money, as the report's money columns show them; drop is the saving.
COST_KINDS = ("renew", "reinstate", "add")
SAVING_KIND = "drop"
# Quote line attributes shown in the quote section's table, in order ("why" last: it wraps).
LINE_COLUMNS = ("kind", "state", "serial", "base_pid", "hostname", "site", "contract_number", "sku", "start", "end",
                "days", "currency", "list_price", "discount_pct", "net_price", "milestone", "why")
NUMERIC = frozenset({"days", "list_price", "discount_pct", "net_price"})
NOWRAP = frozenset({"kind", "state", "serial", "start", "end", "days", "currency", "list_price", "net_price"})


def money_by(lines: Sequence[Any], key: Callable[[Any], str]) -> dict[str, dict[str, dict[str, Any]]]:
    """group -> kind -> currency -> amount, over the priced lines (``amount`` is None otherwise)."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for q in lines:
        amount = q.amount
        if amount is None:
            continue
        per_cur = out.setdefault(key(q), {}).setdefault(q.kind, {})
        per_cur[q.currency] = per_cur.get(q.currency, 0) + amount
    return {g: {k: dict(sorted(c.items())) for k, c in kinds.items()} for g, kinds in out.items()}


def by_site(lines: Sequence[Any]):
    return money_by(lines, lambda q: q.site or NO_SITE)


def by_contract(lines: Sequence[Any]):
    return money_by(lines, lambda q: q.contract_number or NO_CONTRACT)


def renewal_amounts(lines: Sequence[Any]) -> Callable[[Any], tuple[str, Any] | None]:
    """row -> (currency, amount) of its priced renew line, for the renewal calendar."""
    priced = {(q.serial, q.base_pid): (q.currency, q.amount) for q in lines
              if q.kind == "renew" and q.amount is not None}
    return lambda row: priced.get((row.serial, row.base_pid))


@dataclass
class QuoteView:
    totals: list[Any]  # per currency: Total(currency, cost_list, cost, saving, lines)
    by_contract: list[tuple[str, Any]]  # (contract, Total)
    by_site: list[tuple[str, Any]]
    states: list[tuple[str, str, int]]  # (kind, state, lines)
    unpriced: list[tuple[str, int]]  # (base PID, lines)
    lines: list[dict[str, Any]] = field(default_factory=list)
    columns: tuple[str, ...] = LINE_COLUMNS


def quote_view(lines: Sequence[Any], sums: Any) -> QuoteView:
    records = [{c: getattr(q, c, None) for c in LINE_COLUMNS} for q in lines]
    # A column no line fills (SKU when the price list names products) is left out: width for "why".
    used = tuple(c for c in LINE_COLUMNS if c in ("kind", "why") or any(r[c] not in (None, "", ()) for r in records))
    return QuoteView(
        totals=list(sums.by_currency.values()),
        by_contract=[(contract, t) for (contract, _cur), t in sums.by_contract.items()],
        by_site=[(site, t) for (site, _cur), t in sums.by_site.items()],
        states=sorted((kind, state, n) for (kind, state), n in sums.states.items()),
        unpriced=sorted(sums.unpriced.items(), key=lambda kv: (-kv[1], kv[0])),
        lines=records, columns=used,
    )
