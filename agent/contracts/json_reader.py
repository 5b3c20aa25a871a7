"""JSON contract exports (Services API / CX Cloud, sn2info, BCS): the list of records found
under its usual keys (or several saved API pages), nested objects flattened into one row each,
the header being the union of their keys."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agent.contracts.layouts import _Header, _match_header
from agent.contracts.records import FileSummary, RowError
from agent.contracts.source import MAX_FILE_BYTES, Rows, decode_text
from agent.core.untrusted import loads_json, read_capped


_JSON_LIST_KEYS = ("data", "serial_numbers", "serialnumbers", "items", "records", "results", "coverage")


def _json_records(doc: Any) -> list[dict] | None:
    if isinstance(doc, list):
        if doc and all(isinstance(d, dict) for d in doc) and any(_json_records_in(d) is not None for d in doc):
            out: list[dict] = []
            for page in doc:  # several API pages saved as one array
                out.extend(_json_records_in(page) or [])
            return out
        return [d for d in doc if isinstance(d, dict)] if all(isinstance(d, dict) for d in doc) else None
    if isinstance(doc, dict):
        return _json_records_in(doc)
    return None


def _json_records_in(page: dict) -> list[dict] | None:
    lowered = {k.lower(): v for k, v in page.items() if isinstance(k, str)}
    for key in _JSON_LIST_KEYS:
        value = lowered.get(key)
        if isinstance(value, list):
            return [r for r in value if isinstance(r, dict)]
    return None


def _flatten(record: dict) -> dict[str, Any]:
    """Nested API objects -> one flat row.  From lists of objects (``base_pid_list``,
    ``orderable_pid_list``) the first entry is taken, preferring a parent/standalone position."""
    flat: dict[str, Any] = {}
    nested: list[dict] = []
    for key, value in record.items():
        if isinstance(value, dict):
            nested.append(value)
        elif isinstance(value, list):
            items = [v for v in value if isinstance(v, dict)]
            if items:
                items.sort(key=lambda d: str(d.get("item_position", d.get("itemPosition", "Z"))).strip()
                           not in ("P", "S"))
                nested.append(items[0])
            else:
                flat[key] = value  # a list where a value belongs: reported by the field that reads it
        else:
            flat[key] = value
    for sub in nested:
        for key, value in _flatten(sub).items():
            flat.setdefault(key, value)
    return flat


def _json_source(path: Path, label: str, summary: FileSummary, header_map,
                 errors: list[RowError]) -> tuple[_Header, int, Rows] | str:
    try:
        # Nesting is bounded by what the parser can go (a RecursionError becomes a message);
        # _flatten's own recursion is caught by the loader the same way.
        doc = loads_json(decode_text(read_capped(path, MAX_FILE_BYTES, "the file"), summary), "the JSON",
                         max_depth=None)
    except json.JSONDecodeError as exc:
        return f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
    records = _json_records(doc)
    if records is None:
        return "JSON has no list of records (expected {\"data\": [...]}, {\"serial_numbers\": [...]} or [...])"
    flat = [_flatten(r) for r in records]
    names: dict[str, None] = {}
    for r in flat:
        for k in r:
            names.setdefault(k, None)
    cells = list(names)
    header = _match_header(cells, header_map)
    if header is None:
        return "JSON records carry no recognised serial / coverage keys"
    rows = [[r.get(k) for k in cells] for r in flat]
    return header, 0, [(1, rows)] if rows else []
