"""The demo's sample price list and its quote.

The prices are invented (round numbers, USD, no Cisco price is reproduced) for the demo fleet's
major items, so the quote shows every kind of line: renewals, the lapsed router's
reinstatement, adds, the retired ISR's saving, the RMA transfer, the 2960-X blocked past its
Last Date of Support, and the minor items left unpriced on purpose (stack cables, DAC cables,
SSDs), which the quote must list rather than price at 0.  One row carries a 3-year price
(duration 3) and one a discount, so both paths run in every demo.
"""
from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

HEADER = ("Product ID", "Service Level", "Annual List Price", "Currency", "Discount %", "Duration (years)")

PRICES = (
    ("C9300-48UXM", "SNT", "1450.00", "USD", "", ""),
    ("C9300-NM-8X", "SNT", "180.00", "USD", "", ""),
    ("C9500-48Y4C", "SNT", "4200.00", "USD", "10", ""),
    ("N9K-C93180YC-FX3", "SNT", "9600.00", "USD", "", "3"),
    ("N2K-C2248TP-E-1GE", "SNT", "640.00", "USD", "", ""),
    ("ASR-9006", "SNT", "5200.00", "USD", "", ""),
    ("A9K-RSP880-SE", "SNT", "3100.00", "USD", "", ""),
    ("A9K-MOD80-SE", "SNT", "2400.00", "USD", "", ""),
    ("A9K-MPA-20X1GE", "SNT", "900.00", "USD", "", ""),
    ("A9K-MPA-4X10GE", "SNT", "1300.00", "USD", "", ""),
    ("A9K-24X10GE-1G-TR", "SNT", "2800.00", "USD", "", ""),
    ("ASAV30", "SNT", "700.00", "USD", "", ""),
    ("ISR4331/K9", "SNT", "560.00", "USD", "", ""),
    ("ISR4321/K9", "SNT", "420.00", "USD", "", ""),
    ("C8000V", "SNT", "380.00", "USD", "", ""),
    ("WS-C2960X-48FPD-L", "SNT", "310.00", "USD", "", ""),
    ("PWR-C1-1100WAC", "SNT", "45.00", "USD", "", ""),
    ("PWR-3KW-AC-V2", "SNT", "120.00", "USD", "", ""),
    ("NXA-PAC-650W-PI", "SNT", "40.00", "USD", "", ""),
    ("N2200-PAC-400W", "SNT", "30.00", "USD", "", ""),
    ("C9K-PWR-650WAC-R", "SNT", "60.00", "USD", "", ""),
    ("SFP-10G-SR", "SNT", "25.00", "USD", "", ""),
    ("SFP-10G-LR", "SNT", "40.00", "USD", "", ""),
    ("GLC-SX-MMD", "SNT", "12.00", "USD", "", ""),
    ("GLC-LH-SMD", "SNT", "14.00", "USD", "", ""),
)


def write_prices(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerows(PRICES)
    return path


def demo_quote(out: Path, rows, contract_lines, eox_index, as_of: date, meta: dict):
    """Write sample-prices.csv and quote.csv/json/xlsx/txt; ``(the lines the demo prints, the
    quote's lines in quote order, its totals, the price list's path)``: the HTML report shows
    the same quote."""
    from agent.quote import PRICED, QuoteOptions, build_quote, load_prices, ordered, totals, write_quote

    prices_path = write_prices(out / "sample-prices.csv")
    prices = load_prices(prices_path)
    lines = ordered(build_quote(rows, prices, contract_lines, eox_index, QuoteOptions(as_of)))
    written = write_quote(lines, out, ("csv", "json", "xlsx", "table"),
                          {**meta, "coterm": None, "currency": None, "prices": str(prices_path)})
    sums = totals(lines)
    priced = sum(1 for q in lines if q.state == PRICED)
    money = "; ".join(f"{t.currency} cost {t.cost}, saving {t.saving}" for t in sums.by_currency.values())
    said = [f"demo: quote from {prices_path.name}: {len(lines)} lines ({priced} priced; {money}) -> "
            + ", ".join(p.name for p in written)]
    return said, lines, sums, prices_path
