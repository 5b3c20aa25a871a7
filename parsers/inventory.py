"""``show inventory`` / ``admin show inventory`` (all platforms) and NX-OS ``show inventory | json``."""
from __future__ import annotations

import json
from typing import Any

from agent.core.models import RawComponent

from . import _fsm


def _unquote(v: Any) -> str:
    s = "" if v is None else str(v).strip()
    if len(s) >= 2 and s[0] == s[-1] == '"':
        s = s[1:-1].strip()
    return s


def text_rows(platform: str, text: str) -> list[RawComponent]:
    path = _fsm.template_path(platform, "show inventory")
    if path is None:  # pragma: no cover - index lists every platform
        return []
    out = []
    for r in _fsm.parse_rows(path, text):
        out.append(
            RawComponent(
                name=r["name"].strip(),
                descr=r["descr"].strip(),
                pid=r["pid"].strip(),
                vid=r["vid"].strip(),
                serial=r["sn"].strip(),
            )
        )
    return out


def _rows_from(obj: Any) -> list[dict]:
    """TABLE_inv.ROW_inv from NX-OS JSON, NX-API envelopes included."""
    if isinstance(obj, list):
        out: list[dict] = []
        for item in obj:
            out.extend(_rows_from(item))
        return out
    if not isinstance(obj, dict):
        return []
    if "TABLE_inv" in obj:
        table = obj["TABLE_inv"]
        rows = table.get("ROW_inv", []) if isinstance(table, dict) else []
        if isinstance(rows, dict):
            rows = [rows]
        return [r for r in rows if isinstance(r, dict)]
    for key in ("ins_api", "outputs", "output", "result", "body"):
        if key in obj:
            return _rows_from(obj[key])
    return []


def json_rows(text: str) -> list[RawComponent] | None:
    """Rows of an NX-OS JSON inventory, or None if the text is not JSON."""
    start = text.find("{")
    if start < 0:
        return None
    try:
        data = json.loads(text[start:])
    except ValueError:
        return None
    return [
        RawComponent(
            name=_unquote(r.get("name")),
            descr=_unquote(r.get("desc")),
            pid=_unquote(r.get("productid")),
            vid=_unquote(r.get("vendorid")),
            serial=_unquote(r.get("serialnum")),
        )
        for r in _rows_from(data)
    ]
