"""Quote totals per currency, per contract and per site: never summed across currencies (there
is no exchange rate in a price list).  ``cost`` is what the priced renew / reinstate / add lines
come to (net); ``saving`` what the priced drop lines would save; list totals beside them."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Iterable

from agent.quote.lines import ADD, DROP, PRICED, REINSTATE, RENEW, UNPRICED, QuoteLine, money

COST_KINDS = (RENEW, REINSTATE, ADD)
NO_CONTRACT = "(new)"  # add lines: no contract yet
NO_SITE = "(no site)"


@dataclass(slots=True)
class Total:
    currency: str
    cost_list: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)
    saving: Decimal = Decimal(0)
    lines: int = 0

    def add(self, line: QuoteLine) -> None:
        self.lines += 1
        if line.kind in COST_KINDS:
            self.cost_list += line.list_price
            self.cost += line.net_price
        elif line.kind == DROP:
            self.saving += line.net_price


@dataclass(slots=True)
class Totals:
    by_currency: dict[str, Total] = field(default_factory=dict)
    by_contract: dict[tuple[str, str], Total] = field(default_factory=dict)
    by_site: dict[tuple[str, str], Total] = field(default_factory=dict)
    states: Counter = field(default_factory=Counter)  # (kind, state) -> lines
    unpriced: Counter = field(default_factory=Counter)  # base PID -> unpriced lines


def totals(lines: Iterable[QuoteLine]) -> Totals:
    out = Totals()
    for line in lines:
        out.states[(line.kind, line.state)] += 1
        if line.state == UNPRICED:
            out.unpriced[line.base_pid] += 1
        if line.state != PRICED:
            continue
        cur = line.currency
        for table, key in ((out.by_currency, cur), (out.by_contract, (line.contract_number or NO_CONTRACT, cur)),
                           (out.by_site, (line.site or NO_SITE, cur))):
            total = table.get(key)
            if total is None:
                total = table[key] = Total(cur)
            total.add(line)
    for table in (out.by_currency, out.by_contract, out.by_site):
        for t in table.values():  # 0 -> 0.00 (or 0 in JPY): every amount in its currency's places
            t.cost_list, t.cost, t.saving = (money(v, t.currency) for v in (t.cost_list, t.cost, t.saving))
    # Stable order for every writer: sorted keys.
    out.by_currency = dict(sorted(out.by_currency.items()))
    out.by_contract = dict(sorted(out.by_contract.items()))
    out.by_site = dict(sorted(out.by_site.items()))
    return out
