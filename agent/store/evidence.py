"""What the evidence commands read (``ibagent show capture``, ``ibagent evidence``): one
capture's facts, and every sighting of a serial with the capture it was read from.  Reads only.

A capture's bytes and text are read by ``Store.capture_bytes`` / ``capture_text``; this module
gives what a person needs beside them to judge them (which device, which command, which scan,
when, the sha256 the store keeps over the bytes).
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from agent.store.db import Store
from agent.store.errors import StoreError

CAPTURE_FIELDS = ("id", "scan_id", "device", "platform", "transport", "command", "sha256", "text_sha256",
                  "started", "ended", "error", "error_kind")


def _iso(epoch: float | None) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="seconds") if epoch else ""


def capture_facts(store: Store, capture_id: int) -> dict[str, Any]:
    """The capture's row (times as ISO 8601 UTC); StoreError when there is none."""
    row = store.db.execute(f"SELECT {', '.join(CAPTURE_FIELDS)} FROM captures WHERE id = ?", (capture_id,)).fetchone()
    if row is None:
        raise StoreError(f"no capture {capture_id} in {store.path}")
    facts = dict(zip(CAPTURE_FIELDS, row))
    facts["started"], facts["ended"] = _iso(facts["started"]), _iso(facts["ended"])
    return facts


def sightings(store: Store, serial: str) -> list[dict[str, Any]]:
    """Every component row of ``serial`` (canonical), oldest scan first, with the scan's time and
    the capture it was read from (command, transport, sha256), when the store holds one."""
    rows = store.db.execute(
        """
        SELECT c.scan_id, s.started AS scan_started, c.device, c.name, c.pid, c.base_pid, c.class, c.parent,
               c.transport, c.capture_id, k.command, k.sha256, k.started AS captured
        FROM components c JOIN scans s ON s.id = c.scan_id LEFT JOIN captures k ON k.id = c.capture_id
        WHERE c.serial = ? ORDER BY c.scan_id, c.id
        """,
        (serial,),
    ).fetchall()
    out = []
    for r in rows:
        item = dict(r)
        item["scan_started"] = _iso(item["scan_started"])
        item["captured"] = _iso(item["captured"])
        out.append(item)
    return out
