"""What the rows rest on, gathered for the page: each capture a row names (once, however many
rows name it: the bytes the device sent, as the store keeps them, already secret-masked), the
scans, and the contract lines (file and row, every field as read).

A capture over ``MAX_CAPTURE`` bytes is cut there, and the page says so and how to see it whole
(``ibagent show capture ID``): one runaway ``show tech`` must not make the page unopenable.
Control characters are shown as ``\\xNN`` (as ``ibagent show capture`` does on a terminal); the
template escapes the rest.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Sequence

from agent.core.untrusted import printable
from agent.reconcile import ReconRow

MAX_CAPTURE = 256 * 1024


@dataclass
class CaptureView:
    id: int
    facts: dict[str, Any]
    text: str
    size: int  # bytes stored
    cut: bool


@dataclass
class ContractLineView:
    id: int
    file: str
    row: int
    fields: list[tuple[str, str]]


@dataclass
class Evidence:
    captures: list[CaptureView] = field(default_factory=list)
    scans: list[dict[str, Any]] = field(default_factory=list)
    lines: list[ContractLineView] = field(default_factory=list)
    line_ids: dict[tuple[str, int], int] = field(default_factory=dict)

    @property
    def targets(self) -> dict[str, set]:
        return {"capture": {c.id for c in self.captures}, "scan": {s["id"] for s in self.scans}}


def shown_text(data: bytes) -> str:
    """The bytes as text a page can hold: UTF-8, other bytes as ``\\xNN``, CR LF as a line end,
    control characters but tab and newline as ``\\xNN``."""
    return printable(data.decode("utf-8", "backslashreplace").replace("\r\n", "\n"), keep_newlines=True)


def _iso(epoch: float | None) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="seconds") if epoch else ""


def gather(store, rows: Sequence[ReconRow], contract_lines: Iterable[Any] = (),
           max_capture: int = MAX_CAPTURE) -> Evidence:
    from agent.store.errors import StoreError
    from agent.store.evidence import capture_facts

    out = Evidence()
    for cid in sorted({r.capture_id for r in rows if r.capture_id is not None}):
        try:
            facts = capture_facts(store, cid)
            data = store.capture_bytes(cid)
        except StoreError:
            continue  # a row naming a capture the store no longer has: no link, not a failure
        out.captures.append(CaptureView(cid, facts, shown_text(data[:max_capture]), len(data),
                                        len(data) > max_capture))
    wanted = {r.scan_id for r in rows if r.scan_id is not None}
    for s in store.scans():
        s = dict(s)
        if s["id"] in wanted:
            out.scans.append({"id": s["id"], "started": _iso(s["started"]), "ended": _iso(s.get("ended")),
                              "status": s["status"], "inventory": s.get("inventory") or "",
                              "devices": s.get("devices_total"), "ok": s.get("devices_ok"),
                              "failed": s.get("devices_failed")})
    named: set[tuple[str, int]] = set()
    for r in rows:
        if r.contract_file and r.contract_row is not None:
            named.add((r.contract_file, r.contract_row))
        for where in r.other_lines:
            file, _, row = where.rpartition(":")
            if row.isdigit():
                named.add((file, int(row)))
    for line in contract_lines:
        where = (line.source_file, line.source_row)
        if where in named and where not in out.line_ids:
            anchor = len(out.lines) + 1
            out.line_ids[where] = anchor
            out.lines.append(ContractLineView(anchor, line.source_file, line.source_row,
                                              [(f.name, _field_text(getattr(line, f.name)))
                                               for f in dataclasses.fields(line)]))
    return out


def _field_text(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def latest_scan(store) -> dict[str, Any] | None:
    sid = store.latest_scan_id()
    if sid is None:
        return None
    for s in store.scans():
        if s["id"] == sid:
            s = dict(s)
            return {"id": sid, "started": _iso(s["started"]), "status": s["status"],
                    "devices": s.get("devices_total"), "ok": s.get("devices_ok"), "failed": s.get("devices_failed")}
    return None
