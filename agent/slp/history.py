"""Store -> :class:`ReportInputs`: the scans of the window, each device's latest clean
collection as of each of them, first/last seen per licence, and ACK imports.

Bulk queries (``agent.store.slp_reads``: a handful per report, not one per device and scan), plain
tuples rather than ``sqlite3.Row``, licence sets interned across scans, and licence status decoded only where the
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
from agent.store import slp_reads as reads

from .report import Observation, Presence, ReportInputs


def _end_of(as_of: date) -> float:
    """Epoch of the midnight (UTC) that ends ``as_of``."""
    return datetime.combine(as_of + timedelta(days=1), time(0), timezone.utc).timestamp()


def report_inputs(store: Store, as_of: date, window_days: int = 90, site: str | None = None) -> ReportInputs:
    end = _end_of(as_of)
    start = end - window_days * 86400
    inputs = ReportInputs(as_of=as_of, window_days=window_days, site=site)
    scans = reads.finished_scans_before(store, end)
    if not scans:
        return inputs
    window = [s for s in scans if s[1] >= start] or [scans[-1]]
    inputs.scans = window
    window_ids = [s[0] for s in window]
    first_id = window_ids[0]

    # Device rows of the window's scans, and each device's last clean row before the window.
    rows_by_scan = reads.device_rows_by_scan(store, window_ids)
    prior = reads.last_ok_rows_before(store, first_id)

    needed = sorted({r[0] for r in prior} | {r[0] for rs in rows_by_scan.values() for r in rs if r[2] == "ok"})
    by_pair: dict[tuple[int, str], list[tuple]] = defaultdict(list)
    for r in reads.license_rows(store, needed):
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
    # The fleet model: a scan of part of the inventory (or one that ended early) leaves the devices
    # it did not attempt as they were, so each scan's snapshot starts from the one before it (and
    # the first from each device's last good collection before the window), minus retired devices.
    in_fleet = reads.current_fleet(store)
    carried: dict[str, Presence] = {r[1]: Presence(site=r[3] or "", obs=last_ok[r[1]], attempted=False)
                                    for r in prior if r[1] in in_fleet}
    for sid in window_ids:
        snap: dict[str, Presence] = dict(carried)
        for r in rows_by_scan.get(sid, ()):
            _, device, status, site, _, _, error_kind, error = r
            if status == "ok":
                last_ok[device] = observe(r)
            snap[device] = Presence(site=site or "", obs=last_ok.get(device), scan_status=status,
                                    error="" if status == "ok" else f"{error_kind}: {error}")
        inputs.snapshots[sid] = snap
        carried = {d: (p if not p.attempted else replace(p, attempted=False)) for d, p in snap.items() if d in in_fleet}

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
    for scan_id, device, data in reads.license_status_rows(store, wanted):
        if device in wanted[scan_id]:
            statuses[(scan_id, device)] = LicenseStatus(**json.loads(data))
    for (device, _), sid in final.items():
        pres = inputs.snapshots[sid][device]
        st = statuses.get((pres.obs.scan_id, device))
        if st is not None:
            inputs.snapshots[sid][device] = replace(pres, obs=replace(pres.obs, status=st))

    for device, tag, first, last in reads.licence_first_last(store, end):
        inputs.seen[(device, tag)] = (first, last)
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
