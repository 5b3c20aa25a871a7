"""Store -> :class:`ReportInputs`: the scans of the window, each device's latest clean
collection as of each of them, first/last seen per licence, and ACK imports.

Bulk queries (a handful per report, not one per device and scan), plain tuples rather than
``sqlite3.Row``, licence sets interned across scans, and licence status decoded only where the
report reads it.  Measured: 5,000 devices x 60 nightly scans (300k device rows, 600k licence
rows, counts changing every night) -> report in 10-13 s on 2 loaded cores, ~3 s of it SQLite.
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import replace
from datetime import date, datetime, time, timedelta, timezone

from agent.core.models import LicenseStatus, LicenseUsage
from agent.store import Store

from .report import Observation, Presence, ReportInputs


def _end_of(as_of: date) -> float:
    """Epoch of the midnight (UTC) that ends ``as_of``."""
    return datetime.combine(as_of + timedelta(days=1), time(0), timezone.utc).timestamp()


def _chunks(ids: list[int], n: int = 500):
    for i in range(0, len(ids), n):
        yield ids[i : i + n]


def report_inputs(store: Store, as_of: date, window_days: int = 90, site: str | None = None) -> ReportInputs:
    end = _end_of(as_of)
    start = end - window_days * 86400
    inputs = ReportInputs(as_of=as_of, window_days=window_days, site=site)
    scans = [(r[0], r[1]) for r in store.db.execute(
        "SELECT id, started FROM scans WHERE status != 'running' AND started < ? ORDER BY id", (end,))]
    if not scans:
        return inputs
    window = [s for s in scans if s[1] >= start] or [scans[-1]]
    inputs.scans = window
    window_ids = [s[0] for s in window]
    first_id = window_ids[0]

    # Device rows of the window's scans, and each device's last clean row before the window.
    # Plain tuples, not sqlite3.Row: hundreds of thousands of rows are read here.
    raw = store.db.cursor()
    raw.row_factory = None
    cols = "scan_id, device, status, site, hostname, platform, error_kind, error"
    rows_by_scan: dict[int, list[tuple]] = defaultdict(list)
    for chunk in _chunks(window_ids):
        marks = ",".join("?" * len(chunk))
        for r in raw.execute(f"SELECT {cols} FROM devices WHERE scan_id IN ({marks})", chunk):
            rows_by_scan[r[0]].append(r)
    prior = raw.execute(
        f"""SELECT {cols} FROM devices d WHERE d.status = 'ok' AND d.scan_id = (
               SELECT MAX(scan_id) FROM devices x WHERE x.device = d.device AND x.status = 'ok' AND x.scan_id < ?)""",
        (first_id,),
    ).fetchall()

    needed = sorted({r[0] for r in prior} | {r[0] for rs in rows_by_scan.values() for r in rs if r[2] == "ok"})
    by_pair: dict[tuple[int, str], list[tuple]] = defaultdict(list)
    for chunk in _chunks(needed):
        marks = ",".join("?" * len(chunk))
        for r in raw.execute(
            "SELECT scan_id, device, license, entitlement_tag, count, status, enforcement, license_type, udi_pid,"
            f" udi_serial, description, transport FROM licenses WHERE scan_id IN ({marks}) ORDER BY rowid", chunk,
        ):
            by_pair[(r[0], r[1])].append(r[1:])
    # A device's licences rarely change from one night to the next: identical sets share one
    # set of objects (and one derived count), instead of one per scan.
    interned: dict[tuple, tuple[LicenseUsage, ...]] = {}
    licenses: dict[tuple[int, str], tuple[LicenseUsage, ...]] = {}
    for pair, rows in by_pair.items():
        key = tuple(rows)
        lics = interned.get(key)
        if lics is None:
            lics = interned[key] = tuple(
                LicenseUsage(device, lic or "", tag or "", count, status or "", enforcement or "", ltype or "",
                             udi_pid or "", udi_serial or "", descr or "", transport or "")
                for (device, lic, tag, count, status, enforcement, ltype, udi_pid, udi_serial, descr, transport) in rows)
        licenses[pair] = lics
    started = {sid: at for sid, at in scans}
    derived: dict[int, tuple[tuple[str, ...], dict[str, int]]] = {}

    def observe(r) -> Observation:
        lics = licenses.get((r[0], r[1]), ())
        obs = Observation(device=r[1], hostname=r[4] or "", platform=r[5] or "", scan_id=r[0],
                          at=started.get(r[0], 0.0), licenses=lics, **_derived(derived, lics))
        return obs

    last_ok: dict[str, Observation] = {r[1]: observe(r) for r in prior}
    for sid in window_ids:
        snap: dict[str, Presence] = {}
        for r in rows_by_scan.get(sid, ()):
            _, device, status, site, _, _, error_kind, error = r
            if status == "ok":
                last_ok[device] = observe(r)
            snap[device] = Presence(site=site or "", obs=last_ok.get(device), scan_status=status,
                                    error="" if status == "ok" else f"{error_kind}: {error}")
        inputs.snapshots[sid] = snap

    # Licence status is only read where the report reads it: each device's last appearance (per
    # site, for --site), not in every scan of the window.
    final: dict[tuple[str, str], int] = {}
    for sid in window_ids:
        for device, pres in inputs.snapshots[sid].items():
            if pres.obs is not None:
                final[(device, pres.site)] = sid
    wanted: dict[int, set[str]] = defaultdict(set)
    for (device, _), sid in final.items():
        wanted[inputs.snapshots[sid][device].obs.scan_id].add(device)
    statuses: dict[tuple[int, str], LicenseStatus] = {}
    for chunk in _chunks(sorted(wanted)):
        marks = ",".join("?" * len(chunk))
        for scan_id, device, data in raw.execute(
            f"SELECT scan_id, device, data FROM license_status WHERE scan_id IN ({marks})", chunk
        ):
            if device in wanted[scan_id]:
                statuses[(scan_id, device)] = LicenseStatus(**json.loads(data))
    for (device, _), sid in final.items():
        pres = inputs.snapshots[sid][device]
        st = statuses.get((pres.obs.scan_id, device))
        if st is not None:
            inputs.snapshots[sid][device] = replace(pres, obs=replace(pres.obs, status=st))

    for r in store.db.execute(
        """SELECT l.device, lower(trim(rtrim(trim(coalesce(nullif(l.entitlement_tag, ''), l.license)), '.'))) AS tag,
                  MIN(s.started) AS first, MAX(s.started) AS last
           FROM licenses l JOIN scans s ON s.id = l.scan_id
           WHERE s.started < ? GROUP BY l.device, tag""",
        (end,),
    ):
        inputs.seen[(r["device"], r["tag"])] = (r["first"], r["last"])
    inputs.acks = store.latest_imported_acks(upto=end)
    return inputs


def _derived(cache: dict[int, tuple], lics: tuple[LicenseUsage, ...]) -> dict[str, object]:
    """keys / counts of an interned licence tuple, computed once per distinct tuple."""
    if not lics:
        return {}
    hit = cache.get(id(lics))
    if hit is None:
        probe = Observation(device="", hostname="", platform="", scan_id=0, at=0.0, licenses=lics)
        hit = cache[id(lics)] = (probe.keys, probe.counts)
    return {"keys": hit[0], "counts": hit[1]}
