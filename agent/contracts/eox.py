"""End-of-life (EoX API v5) import: JSON responses or CSV with the same field names -> ``EoxIndex``.

The API's quirks are handled here once: dates wrapped as ``{"value", "dateFormat"}`` and empty as
``""`` or ``" "``, padded strings, key spelling that differs between clients (matched without
regard to case), ``EOXError`` entries in place of records, and wildcard product IDs.
"""
from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Iterable, Mapping

from agent.contracts.dates import DateProblem, parse_date
from agent.contracts.layouts import HEADER_SCAN_ROWS, header_key
from agent.contracts.records import FileSummary, RowError
from agent.contracts.source import MAX_FILE_BYTES, decode_text
from agent.core.untrusted import InputError, loads_json, read_capped
from agent.core.identity import cell_text, split_pid

# EOXRecord key (as header_key spells it) -> EoxRecord attribute.
_DATE_KEYS = {
    "eoxexternalannouncementdate": "announced",
    "endofsaledate": "end_of_sale",
    "endofswmaintenancereleases": "end_of_sw_maintenance",
    "endofsecurityvulsupportdate": "end_of_security_support",
    "endofroutinefailureanalysisdate": "end_of_routine_failure_analysis",
    "endofservicecontractrenewal": "end_of_service_contract_renewal",
    "endofsvcattachdate": "end_of_service_attach",
    "lastdateofsupport": "last_date_of_support",
    "updatedtimestamp": "updated",
}
# The API's own spelling of each key, for messages.
_API_NAMES = {header_key(n): n for n in (
    "EOXExternalAnnouncementDate", "EndOfSaleDate", "EndOfSWMaintenanceReleases", "EndOfSecurityVulSupportDate",
    "EndOfRoutineFailureAnalysisDate", "EndOfServiceContractRenewal", "EndOfSvcAttachDate", "LastDateOfSupport",
    "UpdatedTimeStamp")}
_TEXT_KEYS = {
    "eolproductid": "pid",
    "productiddescription": "description",
    "productbulletinnumber": "bulletin",
    "migrationproductid": "migration_pid",
}
_WILDCARDS = ("*", "%")
# dateFormat strings the API may send -> slash order for parse_date.
_FORMAT_ORDER = {"MM/DD/YYYY": "md", "DD/MM/YYYY": "dm"}


@dataclass(frozen=True, slots=True)
class EoxRecord:
    pid: str
    description: str = ""
    bulletin: str = ""
    announced: date | None = None
    end_of_sale: date | None = None
    end_of_sw_maintenance: date | None = None
    end_of_security_support: date | None = None
    end_of_routine_failure_analysis: date | None = None
    end_of_service_contract_renewal: date | None = None
    end_of_service_attach: date | None = None
    last_date_of_support: date | None = None
    updated: date | None = None
    migration_pid: str = ""
    wildcard: bool = False
    source_file: str = ""
    source_row: int = 0

    @property
    def where(self) -> str:
        return f"{self.source_file}:{self.source_row}"


class EoxIndex:
    """EoX records by PID.  ``get`` finds a record whichever way the PID is spelled: with or
    without the spare ``=``, as a Cisco Refresh ``-RF`` part, or under a wildcard bulletin PID."""

    def __init__(self, records: Iterable[EoxRecord] = ()):
        self._exact: dict[str, EoxRecord] = {}
        self._wild: list[tuple[str, EoxRecord]] = []
        self._cache: dict[str, EoxRecord | None] = {}
        self.duplicates = 0
        for rec in records:
            self.add(rec)

    def add(self, rec: EoxRecord) -> None:
        self._cache.clear()
        if rec.wildcard:
            prefix = rec.pid.rstrip("".join(_WILDCARDS)).rstrip("=")
            self._wild.append((prefix, rec))
            self._wild.sort(key=lambda pr: -len(pr[0]))  # most specific prefix first
            return
        old = self._exact.get(rec.pid)
        if old is not None:
            self.duplicates += 1
            if (old.updated or date.min) > (rec.updated or date.min):
                return  # keep the more recently updated bulletin
        self._exact[rec.pid] = rec

    def get(self, pid: str) -> EoxRecord | None:
        key = pid.strip().upper()
        if key in self._cache:
            return self._cache[key]
        found = self._lookup(key)
        self._cache[key] = found
        return found

    def _lookup(self, key: str) -> EoxRecord | None:
        if not key:
            return None
        hit = self._exact.get(key)
        if hit:
            return hit
        _, base, _ = split_pid(key)
        hit = self._exact.get(base) or self._exact.get(base + "=")
        if hit:
            return hit
        for prefix, rec in self._wild:
            if prefix and base.startswith(prefix):
                return rec
        return None

    def __len__(self) -> int:
        return len(self._exact) + len(self._wild)

    def __contains__(self, pid: str) -> bool:
        return self.get(pid) is not None

    @property
    def wildcards(self) -> list[EoxRecord]:
        return [rec for _, rec in self._wild]


@dataclass(slots=True)
class EoxLoad:
    index: EoxIndex = field(default_factory=EoxIndex)
    errors: list[RowError] = field(default_factory=list)
    summary: list[FileSummary] = field(default_factory=list)

    def summary_text(self) -> str:
        return "\n".join(s.text() for s in self.summary)


# ------------------------------------------------------------------ parsing


def _lower_keys(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {header_key(k): _lower_keys(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_lower_keys(v) for v in obj]
    return obj


def _eox_date(value: Any) -> date | None:
    order = None
    if isinstance(value, dict):
        fmt = cell_text(value.get("dateformat")).upper()
        order = _FORMAT_ORDER.get(fmt)
        value = value.get("value")
    return parse_date(value, order)


def _error_text(err: Mapping[str, Any]) -> str:
    ident = cell_text(err.get("errorid"))
    desc = cell_text(err.get("errordescription"))
    data = " ".join(x for x in (cell_text(err.get("errordatatype")), cell_text(err.get("errordatavalue"))) if x)
    return f"{ident}: {desc}" + (f" ({data})" if data else "")


def _record(raw: Mapping[str, Any], label: str, rowno: int, errors: list[RowError]) -> EoxRecord | None:
    """One EOXRecord (keys already folded by header_key) -> EoxRecord, or None when it is an error entry."""
    pid = cell_text(raw.get("eolproductid")).upper()
    err = raw.get("eoxerror")
    if isinstance(err, dict) and cell_text(err.get("errorid")):
        if not pid:
            asked = cell_text(raw.get("eoxinputvalue"))
            text = _error_text(err)
            errors.append(RowError(label, rowno, "EOXError",
                                   text + (f" (input '{asked}')" if asked and asked not in text else "")))
            return None
    if not pid:
        errors.append(RowError(label, rowno, "EOLProductID", "record has no product ID"))
        return None
    values: dict[str, Any] = {}
    for key, attr in _DATE_KEYS.items():
        if key not in raw:
            continue
        try:
            values[attr] = _eox_date(raw[key])
        except DateProblem as exc:
            # A bad date is one field of the record, not a reason to lose the record (issue 14, 2b).
            errors.append(RowError(label, rowno, _API_NAMES.get(key, key),
                                   f"{exc}; record kept, {attr} left empty", kept=True))
    for key, attr in _TEXT_KEYS.items():
        if key in raw and attr != "pid":
            values[attr] = cell_text(raw[key])
    migration = raw.get("eoxmigrationdetails")
    if isinstance(migration, dict) and "migration_pid" not in values:
        values["migration_pid"] = cell_text(migration.get("migrationproductid"))
    return EoxRecord(pid=pid, wildcard=any(w in pid for w in _WILDCARDS),
                     source_file=label, source_row=rowno, **values)


def _json_pages(doc: Any) -> list[dict]:
    if isinstance(doc, list):
        if all(isinstance(d, dict) and "eoxrecord" not in d and "eolproductid" in d for d in doc):
            return [{"eoxrecord": doc}]  # a bare list of records
        return [d for d in doc if isinstance(d, dict)]
    return [doc] if isinstance(doc, dict) else []


def _from_json(text: str, label: str, errors: list[RowError]) -> list[EoxRecord] | str:
    try:
        doc = _lower_keys(loads_json(text, "the JSON", max_depth=None))
    except json.JSONDecodeError as exc:
        return f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
    except RecursionError:  # _lower_keys recurses once per level
        return "the JSON nests arrays/objects too deeply for any EoX response (a hostile or broken file)"
    except InputError as exc:
        return str(exc)
    pages = _json_pages(doc)
    if not pages or not any("eoxrecord" in p or "eoxerror" in p for p in pages):
        return "no EOXRecord list found (expected an EoX API v5 response)"
    out: list[EoxRecord] = []
    n = 0
    for page in pages:
        top = page.get("eoxerror")
        if isinstance(top, dict) and cell_text(top.get("errorid")):
            errors.append(RowError(label, None, "EOXError", _error_text(top)))
        records = page.get("eoxrecord") or []
        if isinstance(records, dict):
            records = [records]
        for raw in records:
            n += 1
            if not isinstance(raw, dict):
                errors.append(RowError(label, n, "EOXRecord", "record is not an object"))
                continue
            rec = _record(raw, label, n, errors)
            if rec:
                out.append(rec)
    return out


def _csv_records(text: str, delim: str) -> list[list[str]] | str:
    """Every record, or why the text cannot be read as CSV (naming the row and line)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    rows: list[list[str]] = []
    line = 0
    try:
        for cells in reader:
            rows.append(cells)
            line = reader.line_num
    except csv.Error as exc:
        limit = csv.field_size_limit()
        if "field larger than field limit" in str(exc):
            return (f"row {len(rows) + 1} (line {line + 1}): a field is longer than {limit // 1024} KiB, as no EoX "
                    "field is (a quote that never closes?); nothing of this file was read")
        return f"row {len(rows) + 1} (line {line + 1}): not readable as CSV ({exc}); nothing of this file was read"
    return rows


def _from_csv(text: str, label: str, errors: list[RowError]) -> list[EoxRecord] | str:
    for delim in (",", ";", "\t"):
        rows = _csv_records(text, delim)
        if isinstance(rows, str):
            return rows
        for h, cells in enumerate(rows[:HEADER_SCAN_ROWS]):
            keys = [header_key(c) for c in cells]
            if "eolproductid" not in keys:
                continue
            out = []
            for rowno, row in enumerate(rows[h + 1:], h + 2):
                if not any(c.strip() for c in row):
                    continue
                raw = {k: (row[i] if i < len(row) else "") for i, k in enumerate(keys) if k}
                rec = _record(raw, label, rowno, errors)
                if rec:
                    out.append(rec)
            return out
    return "no header row with EOLProductID found"


def load_eox(paths: Iterable[str | Path] | str | Path) -> EoxLoad:
    """Read EoX API JSON responses or CSV files.  File content never raises: see ``.errors``."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    load = EoxLoad()
    for raw_path in paths:
        label = str(raw_path)
        summary = FileSummary(label)
        load.summary.append(summary)
        path = Path(raw_path)
        try:
            text = decode_text(read_capped(path, MAX_FILE_BYTES, "the file"), summary)
        except OSError as exc:
            load.errors.append(RowError(label, None, "", f"cannot read file: {exc.strerror or exc}"))
            continue
        except InputError as exc:
            load.errors.append(RowError(label, None, "", str(exc)))
            continue
        is_json = path.suffix.lower() == ".json" or text.lstrip()[:1] in ("{", "[")
        before = len(load.errors)
        got = _from_json(text, label, load.errors) if is_json else _from_csv(text, label, load.errors)
        if isinstance(got, str):
            load.errors.append(RowError(label, None, "", got))
            continue
        summary.layout = "eox-json" if is_json else "eox-csv"
        summary.rows_read = len(got) + sum(1 for e in load.errors[before:] if e.row is not None
                                           and e.column in ("EOXError", "EOLProductID", "EOXRecord"))
        summary.lines = len(got)
        skipped = Counter(e.column for e in load.errors[before:] if e.column in ("EOXError", "EOLProductID"))
        if skipped:
            summary.skipped.update({"error entries" if k == "EOXError" else "records without PID": v
                                    for k, v in skipped.items()})
        wild = [r.pid for r in got if r.wildcard]
        if wild:
            summary.notes.append("wildcard PIDs matched by prefix: " + ", ".join(sorted(set(wild))))
        dups_before = load.index.duplicates
        for rec in got:
            load.index.add(rec)
        if load.index.duplicates > dups_before:
            summary.notes.append(f"{load.index.duplicates - dups_before} PIDs listed more than once "
                                 "(the most recently updated record is kept)")
    return load
