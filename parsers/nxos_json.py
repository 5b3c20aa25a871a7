"""NX-OS ``show version | json`` and ``show inventory | json`` (also NX-API envelopes)."""
from __future__ import annotations

import json
from typing import Any

from agent.core.models import Facts, ParseResult

from .inventory import json_rows


def _load(text: str) -> Any:
    start = text.find("{")
    if start < 0:
        return None
    try:
        return json.loads(text[start:])
    except ValueError:
        return None


def _body(obj: Any) -> dict | None:
    """The show-version body inside NX-API envelopes, or the object itself."""
    if isinstance(obj, dict):
        if "sys_ver_str" in obj or "nxos_ver_str" in obj or "kickstart_ver_str" in obj or "host_name" in obj:
            return obj
        for key in ("ins_api", "outputs", "output", "result", "body"):
            if key in obj:
                return _body(obj[key])
    if isinstance(obj, list):
        for item in obj:
            found = _body(item)
            if found is not None:
                return found
    return None


def _s(v: Any) -> str:
    return "" if v is None else str(v).strip().strip('"').strip()


def parse(command: str, text: str) -> ParseResult | None:
    if command == "show inventory":
        rows = json_rows(text)
        return ParseResult(components=rows) if rows else None
    data = _body(_load(text))
    if data is None:
        return None
    facts: Facts = {}
    version = _s(data.get("nxos_ver_str") or data.get("sys_ver_str") or data.get("kickstart_ver_str"))
    if version:
        facts["os_version"] = version
        facts["versions_seen"] = list(dict.fromkeys(
            v for v in (version, _s(data.get("kickstart_ver_str"))) if v))
    if _s(data.get("host_name")):
        facts["hostname"] = _s(data["host_name"])
    chassis = _s(data.get("chassis_id"))
    if chassis:
        facts["model"] = chassis
    board = _s(data.get("proc_board_id"))
    if board:
        facts["chassis_serial"] = board
        facts["processor_board_id"] = board
        facts["serials"] = [board]
    parts = []
    for key, unit in (("kern_uptm_days", "day(s)"), ("kern_uptm_hrs", "hour(s)"),
                      ("kern_uptm_mins", "minute(s)"), ("kern_uptm_secs", "second(s)")):
        if _s(data.get(key)):
            parts.append(f"{_s(data[key])} {unit}")
    if parts:
        facts["uptime"] = ", ".join(parts)
    image = _s(data.get("nxos_file_name") or data.get("isan_file_name") or data.get("kick_file_name"))
    if image:
        facts["running_image"] = image
    if not facts:
        return None
    return ParseResult(facts=facts)
