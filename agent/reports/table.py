"""Plain aligned text for a terminal."""
from __future__ import annotations

from typing import Callable, Iterable, Sequence

from agent.reconcile import ReconRow, count_by_status
from agent.reports.lists import renew_groups
from agent.reports.tabular import aligned_line, column_widths, terminal_cells

# (heading, getter, max width).  The last reason is the verdict ("covered until ...", "drop
# candidate"), the most useful single line on a terminal.
Column = tuple[str, Callable[[ReconRow], object], int]
DEFAULT_COLUMNS: tuple[Column, ...] = (
    ("STATUS", lambda r: r.status, 14),
    ("SERIAL", lambda r: r.serial, 20),
    ("PID", lambda r: r.base_pid, 22),
    ("HOST", lambda r: r.hostname or r.device, 24),
    ("SITE", lambda r: r.site, 18),
    ("CONTRACT", lambda r: r.contract_number, 14),
    ("END", lambda r: r.coverage_end or "", 10),
    ("WHY", lambda r: r.reasons[-1] if r.reasons else "", 90),
)


def render_table(rows: Iterable[ReconRow], columns: Sequence[Column] = DEFAULT_COLUMNS,
                 group_by_contract: bool = False, totals: bool = True) -> str:
    """Rows as aligned columns; ``group_by_contract`` puts a heading per (contract, end date)."""
    rows = list(rows)
    getters = [get for _, get, _ in columns]
    caps = [cap for _, _, cap in columns]
    cells = [terminal_cells([get(r) for get in getters], caps) for r in rows]
    widths = column_widths([h for h, _, _ in columns], cells)

    def line(values: Sequence[str]) -> str:
        return aligned_line(values, widths)

    out = [line([h for h, _, _ in columns]), line(["-" * w for w in widths])]
    if group_by_contract:
        index = {id(r): i for i, r in enumerate(rows)}
        for contract, end, group in renew_groups(rows):
            out.append(f"# contract {contract or '(none)'}, coverage ends {end or '?'}: {len(group)} item(s)")
            out.extend(line(cells[index[id(r)]]) for r in group)
    else:
        out.extend(line(c) for c in cells)
    if totals:
        counts = {k: v for k, v in count_by_status(rows).items() if v}
        out.append("")
        out.append(f"{len(rows)} row(s)" + (": " + ", ".join(f"{v} {k}" for k, v in counts.items())
                                            if counts else ""))
    return "\n".join(out) + "\n"
