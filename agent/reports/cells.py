"""Flattening a row into report cells, and keeping spreadsheet cells inert."""
from __future__ import annotations

from datetime import date
from typing import Any

from agent.reconcile import ReconRow
from agent.tabular import neutralise

# Columns of the flat (CSV / XLSX) form, in order.
COLUMNS = (
    "status", "serial", "base_pid", "pid", "hostname", "device", "site", "slot", "class", "name",
    "contract_number", "service_level", "coverage_start", "coverage_end", "contract_site_id", "ldos",
    "match", "swap_with", "blocking_devices", "scan_id", "capture_id", "contract_file", "contract_row",
    "other_lines", "reasons",
)

def row_record(row: ReconRow) -> dict[str, Any]:
    """Structured form (JSON): lists stay lists, dates are ISO strings."""
    return {
        "status": row.status, "serial": row.serial, "base_pid": row.base_pid, "pid": row.pid,
        "seen": row.seen, "hostname": row.hostname, "device": row.device, "site": row.site,
        "slot": row.slot, "class": row.cls, "name": row.name,
        "contract_number": row.contract_number, "service_level": row.service_level,
        "coverage_start": _iso(row.coverage_start), "coverage_end": _iso(row.coverage_end),
        "contract_site_id": row.contract_site_id, "ldos": _iso(row.ldos), "match": row.match,
        "swap_with": row.swap_with, "blocking_devices": list(row.blocking_devices),
        "evidence": {"scan_id": row.scan_id, "capture_id": row.capture_id,
                     "contract_file": row.contract_file, "contract_row": row.contract_row,
                     "other_lines": list(row.other_lines)},
        "reasons": list(row.reasons),
    }


def row_cells(row: ReconRow) -> list[Any]:
    """Flat form (CSV / XLSX), neutralised; dates stay ``date`` for the writer to format."""
    values = (
        row.status, row.serial, row.base_pid, row.pid, row.hostname, row.device, row.site, row.slot,
        row.cls, row.name, row.contract_number, row.service_level, row.coverage_start, row.coverage_end,
        row.contract_site_id, row.ldos, row.match, row.swap_with, " ".join(row.blocking_devices),
        row.scan_id, row.capture_id, row.contract_file, row.contract_row, " ".join(row.other_lines),
        "; ".join(row.reasons),
    )
    return [neutralise(v) for v in values]


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None
