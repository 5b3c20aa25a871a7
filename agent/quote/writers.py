"""The quote out: a terminal table, CSV, JSON and an XLSX workbook (the reports stage's streaming
writer, as it is).

JSON document (keys stable; amounts are strings holding the exact decimal, e.g. "960.00", so no
reader turns them into binary floats; dates ISO; absent values null):

  {"quote": {"as_of", "coterm" (null: per contract), "currency" (the --currency filter or null),
             "prices", "contracts", "eox", "store"},
   "lines": [{COLUMNS as below}, ...],            # every line, priced or not, in quote order
   "totals": {"by_currency": [{"currency", "cost_list", "cost", "saving", "lines"}],
              "by_contract": [{"contract_number", "currency", ...}],
              "by_site": [{"site", "currency", ...}]},
   "counts": [{"kind", "state", "lines"}]}

``cost`` is the net of the priced renew/reinstate/add lines, ``cost_list`` their list price,
``saving`` the net of the priced drop lines.  Totals are per currency only: never summed across.
"""
from __future__ import annotations

import csv
import json
import textwrap
from datetime import date
from decimal import Decimal
from operator import attrgetter
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from agent.quote.lines import KINDS, STATES, QuoteLine
from agent.quote.totals import Total, Totals
from agent.reports.tabular import (
    aligned_line, atomic_write, column_widths, json_array_lines, neutralise, terminal_cells,
)
from agent.reports.xlsx import Sheet, write_workbook

COLUMNS = (
    "kind", "state", "serial", "base_pid", "pid", "hostname", "site", "contract_number", "service_level", "sku",
    "coverage_end", "start", "end", "days", "leap_days", "factor", "currency", "unit_price", "duration",
    "list_price", "discount_pct", "net_price", "basis", "milestone", "recertification", "why", "price_row",
)
_ORDER = {k: i for i, k in enumerate(KINDS)}
_STATE_ORDER = {s: i for i, s in enumerate(STATES)}


def ordered(lines: Iterable[QuoteLine]) -> list[QuoteLine]:
    """Quote order: by kind, then priced before the rest, then contract, site, serial."""
    return sorted(lines, key=lambda q: (_ORDER[q.kind], _STATE_ORDER[q.state], q.contract_number, q.site,
                                        q.serial, q.base_pid))


_GET = attrgetter(*COLUMNS)
_WHY = COLUMNS.index("why")


def _values(line: QuoteLine) -> list[Any]:
    values = list(_GET(line))
    values[_WHY] = "; ".join(values[_WHY])
    return values


def _json_value(value: Any) -> Any:
    kind = type(value)
    if kind is Decimal:
        return str(value)
    if kind is date:
        return value.isoformat()
    if kind is tuple:
        return list(value)
    return value


def line_record(line: QuoteLine) -> dict[str, Any]:
    return dict(zip(COLUMNS, map(_json_value, _GET(line))))


def _total_record(total: Total) -> dict[str, Any]:
    return {"currency": total.currency, "cost_list": str(total.cost_list), "cost": str(total.cost),
            "saving": str(total.saving), "lines": total.lines}


def to_json(lines: Sequence[QuoteLine], sums: Totals, meta: Mapping[str, Any]) -> str:
    # One line per quote line, written by json's C encoder (``indent`` would switch to the pure-Python
    # one: ten times slower at 10^5 lines) and as easy to diff and grep as an indented dump.
    def dumps(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    totals = {
        "by_currency": [_total_record(t) for t in sums.by_currency.values()],
        "by_contract": [{"contract_number": c, **_total_record(t)} for (c, _), t in sums.by_contract.items()],
        "by_site": [{"site": s, **_total_record(t)} for (s, _), t in sums.by_site.items()],
    }
    counts = [{"kind": k, "state": s, "lines": n} for (k, s), n in sorted(
        sums.states.items(), key=lambda kv: (_ORDER[kv[0][0]], _STATE_ORDER[kv[0][1]]))]
    return (f'{{"quote": {dumps(dict(meta))},\n"lines": '
            + json_array_lines(map(line_record, lines), ensure_ascii=False)
            + f',\n"totals": {{\n "by_currency": {json_array_lines(totals["by_currency"], ensure_ascii=False)},'
            + f'\n "by_contract": {json_array_lines(totals["by_contract"], ensure_ascii=False)},'
            + f'\n "by_site": {json_array_lines(totals["by_site"], ensure_ascii=False)}}},'
            + f'\n"counts": {json_array_lines(counts, ensure_ascii=False)}}}\n')


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    return neutralise(value) if isinstance(value, str) else value


def to_csv_rows(lines: Sequence[QuoteLine]) -> list[list[Any]]:
    return [list(COLUMNS)] + [list(map(_csv_cell, _values(q))) for q in lines]


def write_csv(path: Path, lines: Sequence[QuoteLine]) -> None:
    def write(tmp: Path) -> None:
        with tmp.open("w", newline="", encoding="utf-8-sig") as fh:  # BOM: Excel reads it as UTF-8
            csv.writer(fh).writerows(to_csv_rows(lines))
    atomic_write(path, write)


def write_json(path: Path, lines: Sequence[QuoteLine], sums: Totals, meta: Mapping[str, Any]) -> None:
    text = to_json(lines, sums, meta)
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _xlsx_value(value: Any) -> Any:
    # The workbook writer knows str, numbers, bools and dates: an amount becomes a number (the
    # nearest double of a 2-decimal amount prints back as the same amount), text is kept inert.
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, str):
        return neutralise(value)
    return value


# The lines a buyer must look at before sending the sheet: light fills, readable in grey print.
STATE_FILLS = {"blocked": "F4CCCC", "flagged": "FCE4D6", "unpriced": "FFF2CC"}


def write_xlsx(path: Path, lines: Sequence[QuoteLine], sums: Totals, meta: Mapping[str, Any]) -> None:
    """Sheets: quote (every line), totals (per currency, contract, site), about (the inputs)."""
    body = [list(map(_xlsx_value, _values(q))) for q in lines]
    head = ("by", "key", "currency", "cost_list", "cost", "saving", "lines")
    sums_rows = ([["currency", t.currency, t.currency, float(t.cost_list), float(t.cost), float(t.saving), t.lines]
                  for t in sums.by_currency.values()]
                 + [["contract", neutralise(c), t.currency, float(t.cost_list), float(t.cost), float(t.saving),
                     t.lines] for (c, _), t in sums.by_contract.items()]
                 + [["site", neutralise(s), t.currency, float(t.cost_list), float(t.cost), float(t.saving), t.lines]
                    for (s, _), t in sums.by_site.items()])
    about = [[neutralise(str(k)), neutralise(", ".join(map(str, v)) if isinstance(v, list) else str(v))]
             for k, v in meta.items()]
    sheets = [Sheet("quote", COLUMNS, body, len(body), fill_column=COLUMNS.index("state"), fills=STATE_FILLS),
              Sheet("totals", head, sums_rows, len(sums_rows)),
              Sheet("about", None, about, len(about), width=2)]
    atomic_write(path, lambda tmp: write_workbook(tmp, sheets))


# Terminal table: the columns a buyer reads first; the reason is the last, cut to fit.
_TABLE = (
    ("KIND", lambda q: q.kind, 9), ("STATE", lambda q: q.state, 9), ("SERIAL", lambda q: q.serial, 16),
    ("PID", lambda q: q.base_pid, 20), ("SITE", lambda q: q.site, 10), ("CONTRACT", lambda q: q.contract_number, 10),
    ("START", lambda q: q.start or "", 10), ("END", lambda q: q.end or "", 10),
    ("NET", lambda q: f"{q.net_price} {q.currency}" if q.net_price is not None else "", 16),
    ("WHY", lambda q: q.milestone if q.state == "blocked" else (q.why[-1] if q.why else ""), 60),
)


# Columns a narrow terminal gives up first (the files keep them all): where and when before what.
_DROP_ORDER = ("SITE", "CONTRACT", "START", "STATE", "END", "PID")
_WHY_MIN = 16


def render_table(lines: Sequence[QuoteLine], sums: Totals, width: int = 200) -> str:
    """Lines as aligned columns no wider than ``width``: the reason (last column) gives way down
    to 16 characters, then whole columns in ``_DROP_ORDER``; the files (CSV, JSON, XLSX) keep
    every column and every reason whole."""
    table = list(_TABLE)
    rows = [[get(q) for _, get, _ in table] for q in lines]
    while True:
        heads = [h for h, _, _ in table]
        caps = [cap for _, _, cap in table]
        fixed = column_widths(heads[:-1], [terminal_cells(r[:-1], caps[:-1]) for r in rows]) if rows else \
            [len(h) for h in heads[:-1]]
        room = width - sum(fixed) - 2 * (len(fixed))
        drop = next((h for h in _DROP_ORDER if h in heads), None)
        if room >= _WHY_MIN or drop is None:
            break
        i = heads.index(drop)
        del table[i]
        rows = [r[:i] + r[i + 1:] for r in rows]
    caps[-1] = max(min(caps[-1], room), _WHY_MIN)
    cells = [terminal_cells(r, caps) for r in rows]
    widths = column_widths(heads, cells)
    out = [aligned_line(heads, widths), aligned_line(["-" * w for w in widths], widths)]
    out += [aligned_line(c, widths)[:width] for c in cells]
    out.append("")
    out.append(totals_text(sums, width))
    return "\n".join(out) + "\n"


def totals_text(sums: Totals, width: int = 10_000) -> str:
    out = []
    for title, table in (("currency", {(t.currency,): t for t in sums.by_currency.values()}),
                         ("contract", sums.by_contract), ("site", sums.by_site)):
        out.append(f"totals by {title}:")
        if not table:
            out.append("  (nothing priced)")
        for key, t in table.items():
            name = " ".join(terminal_cells([key[0]])) if title != "currency" else ""
            out.append(textwrap.fill(f"  {name + '  ' if name else ''}{t.currency}: cost {t.cost} (list "
                                     f"{t.cost_list}), saving {t.saving}, {t.lines} priced line(s)", width,
                                     subsequent_indent="    ", drop_whitespace=False))
    counts = ", ".join(f"{n} {k} {s}" for (k, s), n in sorted(
        sums.states.items(), key=lambda kv: (_ORDER[kv[0][0]], _STATE_ORDER[kv[0][1]])))
    out.append(textwrap.fill(f"lines: {counts or 'none'}", width, subsequent_indent="  "))
    if sums.unpriced:
        out.append(textwrap.fill("unpriced (no price row; not in the totals): " + ", ".join(
            f"{' '.join(terminal_cells([pid]))} x{n}" for pid, n in sorted(sums.unpriced.items())),
            width, subsequent_indent="  ", break_on_hyphens=False))
    return "\n".join(out)
