"""Flattening a row into report cells, and keeping spreadsheet cells inert."""
from __future__ import annotations

import json
import re
from datetime import date
from operator import attrgetter, itemgetter
from json.encoder import encode_basestring
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


# The JSON reports' row text, written directly (``row_json``): ``json``'s C encoder spent ~8 us
# per row walking the dict ``row_record`` had just spent ~9 us building, for 2.2 x 10^5 list rows
# at 10^5 items.  orjson was measured too: it writes compact JSON only (no ", " / ": "
# separators, which the files have always had), and putting the spaces back cost more than it
# saved.  ``row_json`` is ``row_record`` spelled out as text: the same keys in the same order, each
# string through the very function json's encoder uses (``encode_basestring``: the same escapes).
# A value of a type the row does not declare raises TypeError there, and the row is encoded from
# ``row_record`` by json instead: every row gives the same bytes as before.
_ENCODER = json.JSONEncoder(ensure_ascii=False).encode
_Q = encode_basestring  # "text" with json's escapes (ensure_ascii=False); TypeError if not text


def _scalar(value: Any) -> str:
    """An int / bool / None cell as json writes it; anything else is left to json (TypeError)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if type(value) is int:
        return int.__repr__(value)
    raise TypeError(value)


def _texts(values: Any) -> str:
    return "[" + ", ".join(map(_Q, values)) + "]"


def row_json(row: ReconRow, evidence: str | None = None) -> str:
    """``json.JSONEncoder(ensure_ascii=False).encode(row_record(row, evidence))``, the same text
    (tests/test_report_json.py compares them over generated rows), written without the dict.
    The common values (a date or None, None, an empty tuple, True) are tested inline: a function
    call per value was a third of this function's time."""
    q = _Q
    try:
        return (
            f'{{"status": {q(row.status)}, "serial": {q(row.serial)}, "base_pid": {q(row.base_pid)}, '
            f'"pid": {q(row.pid)}, "seen": {"true" if row.seen is True else _scalar(row.seen)}, '
            f'"hostname": {q(row.hostname)}, "device": {q(row.device)}, "site": {q(row.site)}, '
            f'"slot": {q(row.slot)}, "class": {q(row.cls)}, "name": {q(row.name)}, '
            f'"contract_number": {q(row.contract_number)}, "service_level": {q(row.service_level)}, '
            f'"coverage_start": {q(row.coverage_start.isoformat()) if row.coverage_start else "null"}, '
            f'"coverage_end": {q(row.coverage_end.isoformat()) if row.coverage_end else "null"}, '
            f'"contract_site_id": {q(row.contract_site_id)}, '
            f'"ldos": {q(row.ldos.isoformat()) if row.ldos else "null"}, '
            f'"match": {q(row.match)}, "swap_with": {q(row.swap_with)}, '
            f'"blocking_devices": {"[]" if row.blocking_devices == () else _texts(row.blocking_devices)}, '
            f'"evidence": {{"scan_id": {"null" if row.scan_id is None else _scalar(row.scan_id)}, '
            f'"capture_id": {"null" if row.capture_id is None else _scalar(row.capture_id)}, '
            f'"contract_file": {q(row.contract_file)}, '
            f'"contract_row": {"null" if row.contract_row is None else _scalar(row.contract_row)}, '
            f'"other_lines": {"[]" if row.other_lines == () else _texts(row.other_lines)}}}, '
            f'"evidence_text": {q(evidence_text(row) if evidence is None else evidence)}, '
            f'"milestone_source": {q(row.milestone_source)}, '
            f'"reasons": {"[]" if row.reasons == () else _texts(row.reasons)}, '
            f'"evidence_age_days": {"null" if row.evidence_age_days is None else _scalar(row.evidence_age_days)}, '
            f'"flags": {"[]" if row.flags == () else _texts(row.flags)}, '
            f'"contract_site": {q(row.contract_site)}, '
            f'"end_of_sale": {q(row.end_of_sale.isoformat()) if row.end_of_sale else "null"}, '
            f'"last_renewal": {q(row.last_renewal.isoformat()) if row.last_renewal else "null"}, '
            f'"last_attach": {q(row.last_attach.isoformat()) if row.last_attach else "null"}, '
            f'"gap_days": {"null" if row.gap_days is None else _scalar(row.gap_days)}, '
            f'"major": {_scalar(row.major)}, '
            f'"parent_serial": {q(row.parent_serial)}, "parent_status": {q(row.parent_status)}}}'
        )
    except TypeError:  # a value of another type (None text from an old store row): json decides
        return _ENCODER(row_record(row, evidence))


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
