"""Flattening a row into report cells, and keeping spreadsheet cells inert."""
from __future__ import annotations

import re
from datetime import date
from operator import attrgetter, itemgetter
from typing import Any

from agent.reconcile import ReconRow
from agent.reports.tabular import FORMULA_START, neutralise

# Columns of the flat (CSV / XLSX) form, in order.
COLUMNS = (
    "status", "serial", "base_pid", "pid", "hostname", "device", "site", "slot", "class", "name",
    "contract_number", "service_level", "coverage_start", "coverage_end", "contract_site_id", "ldos",
    "match", "swap_with", "blocking_devices", "scan_id", "capture_id", "contract_file", "contract_row",
    "other_lines", "reasons", "evidence_age_days",
    "flags", "contract_site", "end_of_sale", "last_renewal", "last_attach", "gap_days", "major",
    "parent_serial", "parent_status", "evidence",
)
_DATES = ("coverage_start", "coverage_end", "ldos", "end_of_sale", "last_renewal", "last_attach")
_NUMBERS = ("scan_id", "capture_id", "contract_row", "evidence_age_days", "gap_days")

def row_record(row: ReconRow, evidence: str | None = None) -> dict[str, Any]:
    """Structured form (JSON): lists stay lists, dates are ISO strings.  ``evidence``: the row's
    ``evidence_text`` when the caller has it already."""
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
        # Beside the evidence object (kept as it was): its one-line form, as the lists print it,
        # and where the EoX milestones come from.
        "evidence_text": evidence_text(row) if evidence is None else evidence, "milestone_source": row.milestone_source,
        "reasons": list(row.reasons),
        "evidence_age_days": row.evidence_age_days,
        "flags": list(row.flags), "contract_site": row.contract_site,
        "end_of_sale": _iso(row.end_of_sale), "last_renewal": _iso(row.last_renewal),
        "last_attach": _iso(row.last_attach), "gap_days": row.gap_days, "major": row.major,
        "parent_serial": row.parent_serial, "parent_status": row.parent_status,
    }


# ReconRow fields behind COLUMNS, in order (tuples are joined into one cell below).
_FLAT = attrgetter(
    "status", "serial", "base_pid", "pid", "hostname", "device", "site", "slot", "cls", "name",
    "contract_number", "service_level", "coverage_start", "coverage_end", "contract_site_id", "ldos",
    "match", "swap_with", "blocking_devices", "scan_id", "capture_id", "contract_file", "contract_row",
    "other_lines", "reasons", "evidence_age_days",
    "flags", "contract_site", "end_of_sale", "last_renewal", "last_attach", "gap_days", "major",
    "parent_serial", "parent_status")
_BLOCKING, _OTHER_LINES, _REASONS, _FLAGS, _MAJOR = (
    COLUMNS.index(c) for c in ("blocking_devices", "other_lines", "reasons", "flags", "major"))
_RANK = {True: "major", False: "minor"}
# Cells that hold text (the others are dates, numbers or None, which no spreadsheet runs).
_TEXT = itemgetter(*(i for i, c in enumerate(COLUMNS) if c not in _DATES + _NUMBERS))
_FORMULA_AFTER_NUL = re.compile("\x00[" + re.escape("".join(FORMULA_START)) + "]")


def evidence_text(row: ReconRow) -> str:
    """What a row rests on, in words an auditor follows up: the capture (and its scan) that saw
    the item, or for an unseen key the clean scan that proves it absent; the contract file and
    row; the other lines considered; where the EoX milestones come from.  E.g.
    ``capture 12 (scan 3); contracts.csv:17; also contracts.csv:18; milestones: EoX EOL1 [eox.json:2]``.
    A seen row always names its capture (the evidence of an uncovered item is the sighting)."""
    parts = []
    if row.seen:
        if row.capture_id is not None:
            parts.append(f"capture {row.capture_id}" + (f" (scan {row.scan_id})" if row.scan_id is not None else ""))
        elif row.scan_id is not None:
            parts.append(f"scan {row.scan_id} (capture not recorded)")
        else:
            parts.append("snapshot (capture not recorded)")
    elif row.scan_id is not None:
        parts.append(f"absent from scan {row.scan_id}")
    if row.contract_file:
        parts.append(f"{row.contract_file}:{row.contract_row}" if row.contract_row is not None else row.contract_file)
    if row.other_lines:
        parts.append("also " + ", ".join(row.other_lines))
    if row.milestone_source:
        parts.append(f"milestones: {row.milestone_source}")
    return "; ".join(parts)


def row_cells(row: ReconRow, evidence: str | None = None) -> list[Any]:
    """Flat form (CSV / XLSX), neutralised; dates stay ``date`` for the writer to format.
    ``evidence``: the row's ``evidence_text`` when the caller has it already.

    Runs once per row and list at 10^5 rows: the text cells are checked for a formula start in
    one search over them joined, and neutralised one by one only when that finds something."""
    values = list(_FLAT(row))
    values[_BLOCKING] = " ".join(values[_BLOCKING])
    values[_OTHER_LINES] = " ".join(values[_OTHER_LINES])
    values[_REASONS] = "; ".join(values[_REASONS])
    values[_FLAGS] = " ".join(values[_FLAGS])
    values[_MAJOR] = _RANK.get(values[_MAJOR], "")
    values.append(evidence_text(row) if evidence is None else evidence)
    try:
        joined = "\x00" + "\x00".join(_TEXT(values))
    except TypeError:  # a text field that is not text (None from an old store row): cell by cell
        return [neutralise(v) for v in values]
    if _FORMULA_AFTER_NUL.search(joined):
        values = [neutralise(v) for v in values]
    return values


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None
