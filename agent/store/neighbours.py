"""CDP / LLDP neighbours in the store (issue 17): one content-addressed blob per device row.

Why a blob rather than a table of rows: a device's neighbour table rarely changes between scans,
and the store already keeps unchanged captures once (``Store._put_blob``: sha256 over the bytes,
zlib inside).  The device's neighbours and per-protocol outcomes are written as one JSON
document, sorted and with sorted keys, so an unchanged table gives the same bytes, hence the same
digest, and a nightly scan adds one pointer (``devices.neighbours``, schema v12) and no new blob.

Evidence: each neighbour keeps ``source``, the command (or SNMP capture) it was read from, not a
capture id (an id differs every scan and would defeat the dedupe).  The reader turns (scan,
device, source) back into the capture id, so every neighbour read out names the capture that
shows it.

Portable SQL only (``?`` placeholders, no INSERT OR REPLACE, no rowid): the store's SQL is being
made to run on PostgreSQL too.
"""
from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field, fields
from typing import Any

from agent.core.models import DeviceRecords, Neighbour, NeighbourStatus

FORMAT = 1  # the document's layout; a reader refuses one it does not know rather than misread it
# Neighbour fields that are stored: what was announced, where it was seen, and the source.  The
# derived ones (name, hostname, cisco) are worked out again on reading, by the record itself;
# local_device is the device row's.
_STORED = tuple(f.name for f in fields(Neighbour) if f.init and f.name != "local_device")


def document(records: DeviceRecords) -> str | None:
    """The JSON document for one device's records, or None when no neighbour table was read or
    refused (nothing to say: the device was not asked, e.g. an ASA or an older platform file)."""
    if not records.neighbours and not records.neighbour_status:
        return None
    # Sorted on every stored field (a total order: the same table gives the same bytes whatever
    # order the device printed it in); tuples compared as tuples, no JSON built twice.
    entries = sorted((tuple(getattr(n, name) for name in _STORED) for n in records.neighbours),
                     key=lambda values: tuple(v if isinstance(v, tuple) else (v,) for v in values))
    rows = [{name: list(v) if isinstance(v, tuple) else v for name, v in zip(_STORED, values)} for values in entries]
    status = sorted(({"protocol": s.protocol, "state": s.state, "detail": s.detail} for s in records.neighbour_status),
                    key=lambda s: (s["protocol"], s["state"], s["detail"]))
    return json.dumps({"format": FORMAT, "neighbours": rows, "status": status}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False)


def save(store, scan_id: int, device: str, records: DeviceRecords | None) -> None:
    """Point the device row at its neighbours' blob (``Store.save_device`` calls this right after
    writing the row, inside its transaction)."""
    if records is None:
        return
    doc = document(records)
    if doc is None:
        return
    digest = store._put_blob(doc)
    store.db.execute("UPDATE devices SET neighbours = ? WHERE scan_id = ? AND device = ?", (digest, scan_id, device))


@dataclass(slots=True)
class DeviceNeighbours:
    """One fleet device's latest collected neighbour tables."""

    device: str
    scan_id: int  # the collection they come from
    neighbours: list[Neighbour] = field(default_factory=list)
    status: list[NeighbourStatus] = field(default_factory=list)
    captures: dict[str, int] = field(default_factory=dict)  # source (command) -> capture id: the evidence

    def capture_of(self, n: Neighbour) -> int | None:
        return self.captures.get(n.source)


def load(data: bytes, device: str) -> tuple[list[Neighbour], list[NeighbourStatus]]:
    """A stored document back into records (``local_device`` = ``device``)."""
    doc = json.loads(zlib.decompress(data).decode("utf-8"))
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError(f"neighbour document of {device!r}: unknown format {doc.get('format') if isinstance(doc, dict) else '?'}")
    out = []
    for row in doc.get("neighbours", ()):
        kwargs: dict[str, Any] = {k: (tuple(v) if isinstance(v, list) else v) for k, v in row.items() if k in _STORED}
        out.append(Neighbour(local_device=device, **kwargs))
    status = [NeighbourStatus(s["protocol"], s["state"], s.get("detail", "")) for s in doc.get("status", ())]
    return out, status


# Each device's newest good collection that read (or was refused) its neighbour tables.
_LATEST_SQL = """
SELECT d.device, d.scan_id, b.data FROM devices d
JOIN (SELECT device, MAX(scan_id) AS scan_id FROM devices
      WHERE status = 'ok' AND neighbours IS NOT NULL GROUP BY device) m
  ON m.device = d.device AND m.scan_id = d.scan_id
JOIN blobs b ON b.sha256 = d.neighbours
ORDER BY d.device
"""
_CAPTURES_SQL = "SELECT id, command FROM captures WHERE scan_id = ? AND device = ? AND error IS NULL ORDER BY id"


def latest(store, devices: set[str] | None = None) -> list[DeviceNeighbours]:
    """Per device of the current fleet (``devices``: the names to keep; None = every device of
    ``store.snapshot_devices()``), its latest collected neighbours with their captures."""
    if devices is None:
        devices = {r["device"] for r in store.snapshot_devices()}
    out = []
    for device, scan_id, data in store.db.execute(_LATEST_SQL).fetchall():
        if device not in devices:
            continue
        neighbours, status = load(data, device)
        captures: dict[str, int] = {}
        for cap_id, command in store.db.execute(_CAPTURES_SQL, (scan_id, device)).fetchall():
            captures[command] = cap_id  # the last good capture of a command: the one parsed
        out.append(DeviceNeighbours(device, scan_id, neighbours, status, captures))
    return out
