"""A site's records merged into this store (``ibagent import``): the scans of a sealed site bundle,
through the same writer paths a scan uses (``save_captures``, ``save_device``), so item sets,
sightings and ``device_latest`` come out as they would for a local scan.

Call everything inside one ``store.transaction()`` per bundle: a bundle is merged whole or not at
all.  The records were type-checked by agent/bundles/site.py; what is checked here is what only
the store can know (a capture an item points to, a blob that is not there).

- **Identity.** An imported scan's ``origin`` is ``<key id>:<agent>:<site scan id>``, always under
  the key that signed the bundle; a scan whose origin is already here is skipped, so importing a
  bundle twice changes nothing.  Its id is a new id of this store.
- **Times.** The site's own: scans.started/ended, devices.started/ended, captures' times.
- **Out of order.** Scan ids order the history (a device's latest row is its highest scan id), so
  a scan older than one already imported from the same site agent (a lower site scan id), or older
  than a scan here that already collected the device (by scan start: another agent's), adds its
  scan row and the devices nothing newer holds; a device something newer holds keeps that newer
  state (its older collection is counted as superseded, not inserted: inserted under a higher id
  it would become the device's latest).
"""
from __future__ import annotations

import json
import zlib
from bisect import bisect_right
from collections.abc import Iterable
from itertools import accumulate
from dataclasses import fields
from types import SimpleNamespace
from typing import Any

from agent.core.models import Capture, Component, DeviceFacts, DeviceRecords, LicenseStatus, LicenseUsage, Target
from agent.store import sessions as store_sessions
from agent.store.db import SCAN_CLOSE_SQL

# Keys of a neighbour blob's JSON that hold a capture id of the writer's store (remapped).
NEIGHBOUR_CAPTURE_KEYS = ("capture_id", "capture")
_STATUS_FIELDS = {f.name for f in fields(LicenseStatus)}


class ImportRefused(ValueError):
    """A record the store cannot take as it is; the message says which."""


def split_origin(origin: str) -> tuple[str, int | None]:
    prefix, _, tail = origin.rpartition(":")
    return (prefix, int(tail)) if tail.isdigit() else (origin, None)


class SiteImport:
    """One bundle's merge.  ``counts`` says what was added and what was skipped."""

    def __init__(self, store, key_id: str, agent: str) -> None:
        self.store = store
        self.key_id = key_id
        self.agent = agent
        self.scans: dict[int, int | None] = {}  # site scan id -> this store's id (None: already here)
        self._closing: dict[int, dict[str, Any]] = {}
        self._newest: dict[str, dict[str, int]] = {}
        # This key's imported scans: (site scan ids ascending, the highest id here among those up to each).
        self._key_scans: tuple[list[int], list[int]] | None = None
        self.counts = {"scans": 0, "scans_already_here": 0, "devices": 0, "devices_superseded": 0, "captures": 0,
                       "blobs_new": 0, "slp_runs": 0, "slp_runs_already_here": 0, "retirements": 0,
                       "retirements_already_here": 0, "retirements_not_known_here": 0}

    # ---------------------------------------------------------------- blobs

    def put_blob(self, sha256: str, data: bytes) -> None:
        db = self.store.db
        if db.execute("SELECT 1 FROM blobs WHERE sha256 = ?", (sha256,)).fetchone() is None:
            self.counts["blobs_new"] += 1
        if self.store._put_blob(data) != sha256:
            raise ImportRefused(f"blob {sha256}: its bytes hash otherwise")

    def blob(self, sha256: str, where: str) -> bytes:
        row = self.store.db.execute("SELECT data FROM blobs WHERE sha256 = ?", (sha256,)).fetchone()
        if row is None:
            raise ImportRefused(f"{where}: blob {sha256} is neither in the bundle nor in the store")
        return zlib.decompress(row[0])

    # ---------------------------------------------------------------- scans

    def origin(self, scan: dict[str, Any]) -> str:
        # Always under the signing key: an origin carried in the bundle could name another site's key
        # and so pre-empt (skip as "already here") that site's genuine scans.
        return f"{self.key_id}:{scan['agent'] or self.agent}:{scan['site_scan_id']}"

    def scan(self, scan: dict[str, Any]) -> int | None:
        """This store's id for the site's scan (opened on first sight), or None when it is already here."""
        sid = scan["site_scan_id"]
        if sid in self.scans:
            return self.scans[sid]
        origin = self.origin(scan)
        if self.store.db.execute("SELECT 1 FROM scans WHERE origin = ?", (origin,)).fetchone() is not None:
            self.scans[sid] = None
            self.counts["scans_already_here"] += 1
            return None
        row = self.store.db.execute(
            "INSERT INTO scans(started, ended, status, reason, inventory, options, devices_total, agent, scope, origin)"
            " VALUES (?,?,?,?,?,?,?,?,?,?) RETURNING id",
            (scan["started"], scan["ended"], scan["status"], scan["reason"], scan["inventory"], scan["options"],
             scan["devices_total"], scan["agent"] or self.agent, scan["scope"], origin)).fetchone()
        self.scans[sid] = int(row[0])
        self._closing[int(row[0])] = scan
        self.counts["scans"] += 1
        return int(row[0])

    def _newest_of(self, prefix: str) -> dict[str, int]:
        """device -> the highest site scan id from which this store holds its row, per origin prefix."""
        if prefix not in self._newest:
            newest: dict[str, int] = {}
            rows = self.store.db.execute(
                "SELECT d.device, s.origin FROM devices d JOIN scans s ON s.id = d.scan_id"
                " WHERE s.origin IS NOT NULL AND substr(s.origin, 1, ?) = ?", (len(prefix) + 1, prefix + ":"))
            for device, origin in rows:
                p, n = split_origin(origin)
                if p == prefix and n is not None and n > newest.get(device, -1):
                    newest[device] = n
            self._newest[prefix] = newest
        return self._newest[prefix]

    def _newer_here(self, device: str, started: float, prefix: str) -> bool:
        """Does this store hold a collection of ``device`` from another source (a local agent,
        another site) whose scan started after ``started``?  Then the site's older collection would
        wrongly become its latest.  The site's own scans are ordered by their ids, not clocks."""
        row = self.store.db.execute(
            "SELECT MAX(s.started) FROM devices d JOIN scans s ON s.id = d.scan_id WHERE d.device = ?"
            " AND (s.origin IS NULL OR substr(s.origin, 1, ?) != ?)",
            (device, len(prefix) + 1, prefix + ":")).fetchone()
        return row is not None and row[0] is not None and row[0] > started

    def device(self, scan: dict[str, Any], dev: dict[str, Any], where: str) -> None:
        scan_id = self.scan(scan)
        if scan_id is None:
            return
        row = dev["row"]
        name = row["device"]
        prefix, site_id = split_origin(self.origin(scan))
        newest = self._newest_of(prefix)
        if (site_id is not None and newest.get(name, -1) > site_id) or self._newer_here(name, scan["started"], prefix):
            self.counts["devices_superseded"] += 1
            return
        captures = [self._capture(name, c, where) for c in dev["captures"]]
        self.store.save_captures(scan_id, captures)
        ids = {c["id"]: cap.id for c, cap in zip(dev["captures"], captures)}
        records = self._records(name, row, dev, ids, where)
        target = Target(name=name, host=row.get("host"), platform=row.get("platform"), port=row.get("port"),
                        site=row.get("site") or "", contract_site_ids=tuple(_texts(row.get("contract_site_ids"), where)),
                        max_age_days=row.get("max_age_days"))
        self.store.save_device(
            scan_id, target, status=row["status"], transport=row.get("transport"), records=records,
            error_kind=row.get("error_kind"), error=row.get("error"), started=row.get("started"),
            ended=row.get("ended"), attempts=row.get("attempts"),
            failures=[(t, k, m) for t, k, m, _ in dev["errors"]])
        findings = [SimpleNamespace(**{k: f[k] for k in ("subject", "value", "why")}) for f in dev["findings"]]
        store_sessions.save(self.store, scan_id, name, dev.get("session"), findings)
        if dev.get("neighbours"):
            digest = self.store._put_blob(_remap_neighbours(self.blob(dev["neighbours"], where), ids))
            self.store.db.execute("UPDATE devices SET neighbours = ? WHERE scan_id = ? AND device = ?",
                                  (digest, scan_id, name))
        if site_id is not None:
            newest[name] = max(site_id, newest.get(name, -1))
        self.counts["devices"] += 1
        self.counts["captures"] += len(captures)

    def _capture(self, device: str, c: dict[str, Any], where: str) -> Capture:
        # The text that was parsed: its own blob when it differs from the bytes received, else those bytes.
        text = self.blob(c["text_sha256"] or c["sha256"], where).decode("utf-8", "surrogateescape")
        raw = self.blob(c["sha256"], where) if c["text_sha256"] else None
        return Capture(device, c["platform"], c["transport"], c["command"], text, c["started"], c["ended"],
                       c["error"], c["error_kind"], raw=raw)

    def _records(self, name: str, row: dict[str, Any], dev: dict[str, Any], ids: dict[int, int | None],
                 where: str) -> DeviceRecords | None:
        components = []
        for c in dev["components"]:
            cap = c[13]
            if cap is not None and cap not in ids:
                raise ImportRefused(f"{where}: an item points to capture {cap}, which the device's captures lack")
            components.append(Component(name, *c[:8], parent=c[8], contractable=bool(c[9]), reason=c[10],
                                        refurbished=bool(c[11]), transport=c[12],
                                        capture_id=None if cap is None else ids[cap]))
        licenses = [LicenseUsage(name, *u) for u in dev["licenses"]]
        status = None
        if dev.get("license_status") is not None:
            status = LicenseStatus(**{k: v for k, v in dev["license_status"].items() if k in _STATUS_FIELDS})
        problems = _texts(row.get("problems"), where)
        facts = None
        if row.get("hostname") is not None:
            facts = DeviceFacts(name, row.get("platform"), hostname=row["hostname"], os_version=row.get("os_version"),
                                version=row.get("version"), chassis_pid=row.get("chassis_pid"),
                                chassis_serial=row.get("chassis_serial"), uptime=row.get("uptime"),
                                roles=_texts(row.get("roles"), where))
        if facts is None and not (components or licenses or status or problems):
            return None
        return DeviceRecords(facts, components, licenses, status, problems)

    def close(self) -> None:
        """Each opened scan closed as the site closed it, its counts from the rows imported."""
        for scan_id, scan in self._closing.items():
            self.store.db.execute(SCAN_CLOSE_SQL.format(where="id = ?"),
                                  (scan["ended"], scan["status"], scan["reason"], None, None, None, scan_id))
        self._closing.clear()

    # ---------------------------------------------------------------- retirements

    def retirements(self, rows: Iterable[dict[str, Any]], site: str) -> None:
        """The site's retirements, each taking effect after this store's copy of the site scan it
        followed there (so a later site scan that collects the device again brings it back, as on
        the site).  A device this store never held at ``site`` is left alone (a bundle speaks for
        its site only), as is a retirement already here (same device, time and kind)."""
        db = self.store.db
        for r in rows:
            if db.execute("SELECT 1 FROM devices WHERE device = ? AND site = ? LIMIT 1",
                          (r["device"], site)).fetchone() is None:
                self.counts["retirements_not_known_here"] += 1
                continue
            if db.execute("SELECT 1 FROM retirements WHERE device = ? AND at = ? AND how = ?",
                          (r["device"], r["at"], r["how"])).fetchone() is not None:
                self.counts["retirements_already_here"] += 1
                continue
            db.execute("INSERT INTO retirements(device, at, after_scan, how, by_whom, why) VALUES (?,?,?,?,?,?)",
                       (r["device"], r["at"], self._scan_here(r["after_site_scan"], r["after_agent"]), r["how"],
                        r["by_whom"], r["why"]))
            self.counts["retirements"] += 1

    def _scan_here(self, site_scan: int, agent: str | None) -> int:
        """This store's id of the site's scan ``site_scan``; when that one was never imported (it
        held no device of the site), the latest imported one of this site's key before it; 0 when
        none (the retirement then holds until any later collection of the device)."""
        exact = self.store.db.execute("SELECT id FROM scans WHERE origin = ?",
                                      (f"{self.key_id}:{agent or self.agent}:{site_scan}",)).fetchone()
        if exact is not None:
            return int(exact[0])
        if self._key_scans is None:  # read once per bundle, not once per retirement
            prefix = self.key_id + ":"
            best: dict[int, int] = {}
            for sid, origin in self.store.db.execute(
                    "SELECT id, origin FROM scans WHERE origin IS NOT NULL AND substr(origin, 1, ?) = ?",
                    (len(prefix), prefix)):
                _, n = split_origin(origin)
                if n is not None:
                    best[n] = max(best.get(n, 0), int(sid))
            site_ids = sorted(best)
            self._key_scans = (site_ids, list(accumulate((best[n] for n in site_ids), max)))
        site_ids, latest_up_to = self._key_scans
        k = bisect_right(site_ids, site_scan)
        return latest_up_to[k - 1] if k else 0

    # ---------------------------------------------------------------- Smart Licensing

    def slp_runs(self, runs: Iterable[dict[str, Any]]) -> None:
        known = set()
        for (options,) in self.store.db.execute("SELECT options FROM slp_runs WHERE options IS NOT NULL"):
            try:
                doc = json.loads(options)
            except ValueError:
                continue
            if isinstance(doc, dict) and isinstance(doc.get("imported_from"), str):
                known.add(doc["imported_from"])
        for run in runs:
            origin = f"{self.key_id}:{self.agent}:slp:{run['site_run_id']}"
            if origin in known:
                self.counts["slp_runs_already_here"] += 1
                continue
            self._slp_run(run, origin)
            known.add(origin)
            self.counts["slp_runs"] += 1

    def _slp_run(self, run: dict[str, Any], origin: str) -> None:
        r = run["run"]
        try:
            options = json.loads(r["options"] or "{}")
        except ValueError:
            options = {}
        options = {**(options if isinstance(options, dict) else {}), "imported_from": origin}
        rid = int(self.store.db.execute(
            "INSERT INTO slp_runs(kind, started, ended, status, inventory, options, devices_ok, devices_failed)"
            " VALUES (?,?,?,?,?,?,?,?) RETURNING id",
            (r["kind"], r["started"], r["ended"], r["status"], r["inventory"], json.dumps(options, sort_keys=True),
             r["devices_ok"], r["devices_failed"])).fetchone()[0])
        for e in run["events"]:
            self.store.add_slp_event(rid, e["device"], e["action"], e["status"], kind=e["kind"], command=e["command"],
                                     detail=e["detail"], output=e["output"], at=e["at"])
        for p in run["reports"]:
            self.store.save_slp_report(rid, p["device"], site=p["site"], udi_pid=p["udi_pid"],
                                       udi_serial=p["udi_serial"], file_name=p["file_name"], mode=p["mode"],
                                       transfer=p["transfer"], data=bytes.fromhex(p["data"]),
                                       report_ids=p["report_ids"], collected_at=p["collected_at"])
        for a in run["acks"]:
            status = None
            if a["license_status"] is not None:
                status = LicenseStatus(**{k: v for k, v in a["license_status"].items() if k in _STATUS_FIELDS})
            self.store.save_slp_ack(rid, a["device"], file_name=a["file_name"], data=bytes.fromhex(a["data"]),
                                    udis=a["udis"], report_ids=a["report_ids"], status=a["status"],
                                    reason=a["reason"], last_ack_received=a["last_ack_received"],
                                    next_ack_deadline=a["next_ack_deadline"], license_status=status, at=a["at"])


def _texts(raw: str | None, where: str) -> list[str]:
    """A JSON list of texts as the device row stores it (roles, problems, contract site ids)."""
    try:
        value = json.loads(raw) if raw else []
    except ValueError:
        raise ImportRefused(f"{where}: a list column is not JSON") from None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ImportRefused(f"{where}: a list column is not a list of texts")
    return value


def _remap_neighbours(data: bytes, ids: dict[int, int | None]) -> bytes:
    """A neighbour blob with the capture ids it names mapped to this store's; other bytes as they
    are.  Written as the neighbour writer writes it (sorted keys, compact), so an unchanged table
    still dedupes."""
    try:
        doc = json.loads(data)
    except ValueError:
        return data
    changed = False
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key in NEIGHBOUR_CAPTURE_KEYS and type(value) is int and value in ids:
                    node[key] = ids[value]
                    changed = True
                elif isinstance(value, (dict, list)):
                    stack.append(value)
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, (dict, list)))
    if not changed:
        return data
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
