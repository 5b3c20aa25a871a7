"""Stage: quote. ``ibagent quote``: the renewal quote from reconcile's rows and a user price list,
co-terminated with Cisco's formula (``agent.reconcile.coterm``) in Decimal.

``prices`` reads the price list (CSV/XLSX, the contracts stage's hostile-input guards),
``lines`` turns reconcile rows into quote lines (renew, reinstate, add, drop, transfer; blocked
by EoX milestones, unpriced when no price matches), ``totals`` sums per currency, contract and
site (never across currencies), ``writers`` writes table / CSV / JSON / XLSX.

May import: ``agent.core``, ``agent.contracts``, ``agent.reconcile``, ``agent.reports``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from agent.quote.lines import (  # noqa: F401  (the stage's public names)
    ADD, BLOCKED, DROP, FLAGGED, KINDS, NO_CHARGE, PRICED, REINSTATE, RENEW, STATES, TRANSFER, UNPRICED,
    QuoteLine, QuoteOptions, build_quote,
)
from agent.quote.prices import PriceList, PriceListError, load_prices  # noqa: F401
from agent.quote.totals import Totals, totals  # noqa: F401
from agent.reports.tabular import atomic_write
from agent.quote.writers import ordered, render_table, write_csv, write_json, write_xlsx

FILES = {"csv": "quote.csv", "json": "quote.json", "xlsx": "quote.xlsx", "table": "quote.txt"}


def write_quote(lines: Sequence[QuoteLine], out_dir: str | Path, formats: Sequence[str],
                meta: Mapping[str, Any]) -> list[Path]:
    """Write the quote in each format under ``out_dir`` (quote.csv / .json / .xlsx / .txt)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lines = ordered(lines)
    sums = totals(lines)
    written = []
    for fmt in formats:
        path = out / FILES[fmt]
        if fmt == "csv":
            write_csv(path, lines)
        elif fmt == "json":
            write_json(path, lines, sums, meta)
        elif fmt == "xlsx":
            write_xlsx(path, lines, sums, meta)
        else:
            text = render_table(lines, sums, width=10_000)
            atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        written.append(path)
    return written
