"""The Smart Licensing usage report's reads: bulk queries over the scan history (a handful per
report, not one per device and scan), returning plain tuples rather than ``sqlite3.Row`` because
hundreds of thousands of rows are read.  ``agent.slp.history`` assembles them into the report's
inputs; the SQL lives here, with the rest of the store's."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator

# What the report reads of a device row, in this order.
DEVICE_COLUMNS = "scan_id, device, status, site, hostname, platform, error_kind, error"


def _chunks(ids: list[int], n: int = 500):
    for i in range(0, len(ids), n):
        yield ids[i : i + n]


def _raw(store):
    cursor = store.db.cursor()
    cursor.row_factory = None
    return cursor


def finished_scans_before(store, end: float) -> list[tuple[int, float]]:
    """(scan id, started) of every scan that is not running and started before ``end``."""
    return [(r[0], r[1]) for r in store.db.execute(
        "SELECT id, started FROM scans WHERE status != 'running' AND started < ? ORDER BY id", (end,))]


def device_rows_by_scan(store, scan_ids: list[int]) -> dict[int, list[tuple]]:
    """The device rows (``DEVICE_COLUMNS``) of the given scans."""
    raw = _raw(store)
    rows_by_scan: dict[int, list[tuple]] = defaultdict(list)
    for chunk in _chunks(scan_ids):
        marks = ",".join("?" * len(chunk))
        for r in raw.execute(f"SELECT {DEVICE_COLUMNS} FROM devices WHERE scan_id IN ({marks})", chunk):
            rows_by_scan[r[0]].append(r)
    return rows_by_scan


def last_ok_rows_before(store, scan_id: int) -> list[tuple]:
    """Each device's last ok row (``DEVICE_COLUMNS``) in a scan before ``scan_id``."""
    return _raw(store).execute(
        f"""SELECT {DEVICE_COLUMNS} FROM devices d WHERE d.status = 'ok' AND d.scan_id = (
               SELECT x.scan_id FROM devices x WHERE x.device = d.device AND x.scan_id < ? AND x.status = 'ok'
               ORDER BY x.scan_id DESC LIMIT 1)""",
        (scan_id,),
    ).fetchall()


def license_rows(store, scan_ids: list[int]) -> Iterator[tuple]:
    """``(scan_id, device, license, entitlement_tag, count, status, enforcement, license_type,
    udi_pid, udi_serial, description, transport)`` of the given scans, in stored order."""
    raw = _raw(store)
    for chunk in _chunks(scan_ids):
        marks = ",".join("?" * len(chunk))
        yield from raw.execute(
            "SELECT scan_id, device, license, entitlement_tag, count, status, enforcement, license_type, udi_pid,"
            f" udi_serial, description, transport FROM licenses WHERE scan_id IN ({marks}) ORDER BY rowid", chunk,
        )


def license_status_rows(store, scan_ids: Iterable[int]) -> Iterator[tuple[int, str, str]]:
    """``(scan_id, device, JSON data)`` of the stored licence status of the given scans."""
    raw = _raw(store)
    for chunk in _chunks(sorted(scan_ids)):
        marks = ",".join("?" * len(chunk))
        yield from raw.execute(f"SELECT scan_id, device, data FROM license_status WHERE scan_id IN ({marks})", chunk)


def licence_first_last(store, end: float) -> Iterator[tuple[str, str, float, float]]:
    """``(device, tag, first seen, last seen)`` per device and licence tag (lower-cased, trimmed,
    a trailing '.' dropped), over the scans started before ``end``."""
    for r in store.db.execute(
        """SELECT l.device, lower(trim(rtrim(trim(coalesce(nullif(l.entitlement_tag, ''), l.license)), '.'))) AS tag,
                  MIN(s.started) AS first, MAX(s.started) AS last
           FROM licenses l JOIN scans s ON s.id = l.scan_id
           WHERE s.started < ? GROUP BY l.device, tag""",
        (end,),
    ):
        yield r["device"], r["tag"], r["first"], r["last"]


def current_fleet(store) -> set[str]:
    """The devices of the current fleet (known and not retired)."""
    return {row["device"] for row in store.fleet_device_states(None)}
