"""The store: SQLite (a file: WAL, one writer) or PostgreSQL (a ``postgresql://`` URL: several
agents, one write transaction at a time), a versioned schema; the backend is chosen in
``Store.__init__`` and lives in ``backend_sqlite`` / ``backend_pg``, the SQL here is the same for both.

What it keeps, per scan: the devices tried (ok or failed, with the reason), every raw capture
(content-addressed and compressed, so months of unchanged ``show inventory`` cost one copy),
the normalised components (since v11 a pointer to the device's content-addressed item set, so an
unchanged device adds no item rows: ``itemsets``), licences and licence status, and an errors
table.  Nothing is ever updated in place except a scan's own row and two summaries that can
always be rebuilt from the rows: ``sightings`` (each item's first and last sighting) and
``device_latest`` (each device's latest attempt, ok and clean scan: ``latest``).  History is the
sequence of scans; ``prune-history`` (``retention``) empties old ones on request.

Crash safety: each device's records land in one transaction together with its captures, so a
crash or Ctrl-C leaves whole devices or nothing.  A scan row still marked ``running`` when the
next scan opens the store (and holds the lock) was interrupted and is marked so.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import time
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from agent.core.models import Capture, Component, DeviceRecords, LicenseStatus, LicenseUsage, Target

from agent.store.hostkeys import HostKeyStore
from agent.store.slp_runs import SlpStore
from agent.store import itemsets, latest, neighbours
from agent.store.backend_pg import PgBackend, is_url
from agent.store.backend_sqlite import SqliteBackend
from agent.store.errors import StoreError, StoreLocked, StoreWriteError  # noqa: F401  (re-exported)
from agent.store.schema import (  # noqa: F401  (re-exported)
    DEFAULT_DB, DEVICE_STATES_SQL, SCHEMA_VERSION, SIGHTINGS_UPSERT, SIGHTINGS_UPSERT_SCAN,
    SNAPSHOT_SQL,
)

# A scan row closed with the counts of its device rows, unless the caller gives them (a cancelled
# device is a failed row whose kind is 'cancelled': counted as cancelled, not failed).
# Parameters: ended (NULL keeps it), status, reason (NULL keeps it), ok, failed, cancelled, then
# those of the WHERE clause.
SCAN_CLOSE_SQL = """
UPDATE scans SET ended = coalesce(?, ended), status = ?, reason = coalesce(?, reason),
    devices_ok = coalesce(?, (SELECT COUNT(*) FROM devices d WHERE d.scan_id = scans.id AND d.status = 'ok')),
    devices_failed = coalesce(?, (SELECT COUNT(*) FROM devices d WHERE d.scan_id = scans.id AND d.status != 'ok'
                                  AND coalesce(d.error_kind, '') != 'cancelled')),
    devices_cancelled = coalesce(?, (SELECT COUNT(*) FROM devices d WHERE d.scan_id = scans.id AND d.status != 'ok'
                                     AND d.error_kind = 'cancelled'))
WHERE {where}
"""
# A device saved twice in one scan (a retry) replaces its row: SQLite's INSERT OR REPLACE, in the
# form both backends take.
_DEVICE_COLUMNS = ("host", "port", "platform", "site", "contract_site_ids", "status", "transport", "error_kind",
                   "error", "hostname", "os_version", "version", "chassis_pid", "chassis_serial", "uptime", "roles",
                   "problems", "inventory_ok", "version_ok", "licenses_ok", "max_age_days", "started", "ended",
                   "attempts", "item_set", "item_cap0", "item_id0", "neighbours")
_DEVICE_REPLACE = (" ON CONFLICT(scan_id, device) DO UPDATE SET "
                   + ", ".join(f"{c} = excluded.{c}" for c in _DEVICE_COLUMNS))

# The TEMP tables of joins through a list: name -> (columns, unique).  Declared here, not where
# used, so that a reader on PostgreSQL can make them all before it reads (Store._make_temp_tables).
TEMP_TABLES = {
    "wanted_serials": (("serial TEXT",), True),
    "wanted_retired": (("device TEXT",), False),
    "wanted_devices": (("scan_id INTEGER", "device TEXT"), False),
}


def _temp_ddl(name: str) -> str:
    columns, unique = TEMP_TABLES[name]
    names = ", ".join(c.split()[0] for c in columns)
    return (f"CREATE TEMP TABLE IF NOT EXISTS {name} (pos INTEGER PRIMARY KEY, {', '.join(columns)}"
            + (f", UNIQUE ({names})" if unique else "") + ")")


_DIED = "the scan process ended without closing its scan (killed, or its store could not be written)"


def collection_facts(status: str, records: DeviceRecords | None) -> tuple[bool, bool, bool]:
    """What a collection read and parsed, whatever the transport: ``(inventory, version,
    licences)``.  The inventory counts only when it was read in full and holds at least one
    physical item: an SNMP or NETCONF hardware table that parsed to nothing is not a read inventory,
    and only a read inventory lets an item's absence mean something (a not-seen claim).  Decided
    once, here, and stored (``devices.inventory_ok``, ``version_ok``, ``licenses_ok``)."""
    if status != "ok" or records is None:
        return False, False, False
    inventory = (not any("inventory" in p for p in records.problems)
                 and any(c.serial or c.cls != "other" for c in records.components))
    version = records.facts is not None and bool(records.facts.os_version)
    licences = records.license_status is not None or bool(records.licenses)
    return inventory, version, licences


def inventory_read(status: str, records: DeviceRecords | None) -> bool:
    return collection_facts(status, records)[0]


class Store(HostKeyStore, SlpStore):
    """The store.  ``Store(path)`` is for writers: it creates a missing store and migrates an
    older one.  ``Store(path, readonly=True)`` is for the commands that only read: its connection
    refuses every change (``opening.connect_readonly``), so nothing is created, migrated or changed, and a file that is not an
    ibagent store of this version is refused with a message (another application's database
    once came out of ``ibagent devices`` with fourteen ibagent tables added)."""

    # (agent, scope) that begin_scan records when its caller names none (``scan --agent``: agent/store/agents.py).
    scan_agent: tuple[str | None, dict[str, Any] | None] = (None, None)

    def __init__(self, path: str | Path = DEFAULT_DB, *, readonly: bool = False):
        # A postgresql:// URL is the PostgreSQL backend, anything else an SQLite file: the one
        # place the backend is chosen (backend_sqlite, backend_pg; the SQL is the same for both).
        self.backend = PgBackend(path) if is_url(path) else SqliteBackend(path)
        self.path = self.backend.path  # the file, or the URL without its password
        self.readonly = readonly
        self._temps: set[str] = set()
        self.db = self.backend.connect(readonly)
        if readonly:
            self._make_temp_tables()
            return
        self.backend.prepare(self)

    def __repr__(self) -> str:
        return f"Store({self.backend.shown!r}{', readonly=True' if self.readonly else ''})"

    def _make_temp_tables(self) -> None:
        """A reader's TEMP tables, made before any read: PostgreSQL refuses to create one in a
        read-only session's transaction (SQLite would make them as they are first used)."""
        if self.backend.temp_tables(self.db, [_temp_ddl(name) for name in TEMP_TABLES]):
            self._temps.update(TEMP_TABLES)

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """One write transaction; raises StoreWriteError when the store cannot be written (the
        caller's other exceptions pass through unchanged, after the rollback)."""
        try:
            self.backend.begin_write(self.db)
            try:
                yield self.db
                self.db.execute("COMMIT")  # a full disk can refuse the commit itself
            except BaseException:
                self._rollback()
                raise
        except self.backend.WRITE_ERRORS as exc:
            raise self.backend.write_error(exc) from exc

    def _rollback(self) -> None:
        # SQLite may have rolled back already (SQLITE_FULL, SQLITE_IOERR): a second ROLLBACK would
        # raise "no transaction is active" over the error that matters; a PostgreSQL connection
        # that broke cannot roll back at all.
        try:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
        except (sqlite3.Error, StoreError):
            pass

    def close(self) -> None:
        self.unlock()
        self.backend.unlock("slp")
        self.db.close()

    # ------------------------------------------------------------------ scan lock

    def lock_file(self, suffix: str) -> Path:
        """The lock file beside an SQLite store's real file (symlinks resolved)."""
        return self.backend.lock_file(suffix)

    def lock(self, scope: str = "", *, everything: bool = False) -> None:
        """Take the scan lock, or raise StoreLocked naming the holder.  ``scope``: the agent whose
        scans it covers (scans.agent): on PostgreSQL two agents' scans run at once and two scans of
        one agent exclude each other; SQLite has one writer whatever the scope.  ``everything``:
        every scope at once (prune-history)."""
        holder = self.backend.try_lock("scan", scope, everything=everything)
        if holder is not None:
            of = f" of agent {scope!r}" if scope and not self.backend.one_writer else ""
            raise StoreLocked(f"another scan{of} is running on {self.path} ({holder}); not starting a second one")
        # We hold the lock, so any scan of ours still 'running' died without finishing (kill -9,
        # power loss, a store it could no longer write): interrupted, with the counts its device
        # rows give.  Ours: every scan on SQLite (one writer); this agent's on PostgreSQL, never
        # another live agent's.
        where, params = "status = 'running'", ()
        if not (self.backend.one_writer or everything):
            where, params = "status = 'running' AND coalesce(agent, '') = ?", (scope,)
        try:
            with self.transaction():
                self.db.execute(SCAN_CLOSE_SQL.format(where=where),
                                (None, "interrupted", _DIED, None, None, None, *params))
        except StoreError:
            self.unlock()
            raise

    def unlock(self) -> None:
        self.backend.unlock("scan")

    @contextmanager
    def named_lock(self, name: str, busy: str) -> Iterator[None]:
        """Another lock than the scan's (``slp``: one SLP round-trip command at a time), held for
        the block; StoreLocked with ``busy`` when taken."""
        if self.backend.try_lock(name) is not None:
            raise StoreLocked(busy)
        try:
            yield
        finally:
            self.backend.unlock(name)

    # ------------------------------------------------------------------ writing a scan

    def begin_scan(self, inventory: str, options: dict[str, Any], total: int, *, agent: str | None = None,
                   scope: dict[str, Any] | None = None) -> int:
        """Open a scan's row.  ``agent`` names the agent that runs it, ``scope`` what it may see
        (inventory, sites, groups): several agents can feed one store (issue 16)."""
        agent, scope = (agent, scope) if agent is not None else self.scan_agent
        with self.transaction():
            cur = self.db.execute(
                "INSERT INTO scans(started, status, inventory, options, devices_total, agent, scope)"
                " VALUES (?, 'running', ?, ?, ?, ?, ?) RETURNING id",
                (time.time(), inventory, json.dumps(options, sort_keys=True), total, agent,
                 json.dumps(scope, sort_keys=True) if scope is not None else None),
            ).fetchall()  # every row read: SQLite will not commit while a statement is still stepping
        return int(cur[0][0])

    def end_scan(self, scan_id: int, status: str, ok: int | None = None, failed: int | None = None, *,
                 cancelled: int | None = None, reason: str | None = None) -> None:
        """Close a scan's row: ``completed``, ``interrupted`` or ``failed`` (``reason`` says why).
        Counts left out are counted from the scan's device rows: what was really saved (``failed``
        leaves the cancelled devices out; they are ``cancelled``)."""
        with self.transaction():
            self.db.execute(SCAN_CLOSE_SQL.format(where="id = ?"),
                            (time.time(), status, reason, ok, failed, cancelled, scan_id))

    def _put_blob(self, data: str | bytes) -> str:
        raw = data if isinstance(data, bytes) else data.encode("utf-8", "surrogateescape")
        digest = hashlib.sha256(raw).hexdigest()
        # Most outputs repeat scan after scan: a primary-key probe is cheaper than compressing again.
        # Level 1, not 6: on device outputs (the corpus, ~2.6 KB each) 39 us against 94 us a blob
        # for 4 % more bytes (0.391 against 0.376 of the text), and a scan writes ~20 new blobs a
        # device (every output twice: as sent and as cleaned): ~1 ms of the scan's CPU per device.
        if self.db.execute("SELECT 1 FROM blobs WHERE sha256=?", (digest,)).fetchone() is None:
            self.db.execute(
                "INSERT INTO blobs(sha256, size, data) VALUES (?, ?, ?)",
                (digest, len(raw), zlib.compress(raw, 1))
            )
        return digest

    def save_captures(self, scan_id: int, captures: Iterable[Capture]) -> None:
        """Insert captures and set their ``id`` (the evidence key records point to). Call inside a
        transaction.  ``sha256`` is over the bytes the device sent when the collector kept them
        (``Capture.raw``), the cleaned text beside them (``text_sha256``) when it differs."""
        for cap in captures:
            text_digest = self._put_blob(cap.output)
            digest, beside = text_digest, None
            if cap.raw is not None:
                digest = self._put_blob(bytes(cap.raw))
                beside = text_digest if text_digest != digest else None
            cur = self.db.execute(
                "INSERT INTO captures(scan_id, device, platform, transport, command, sha256, text_sha256, started,"
                " ended, error, error_kind) VALUES (?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
                (scan_id, cap.device, cap.platform, cap.transport, cap.command, digest, beside, cap.started,
                 cap.ended, cap.error, cap.error_kind),
            ).fetchall()
            cap.id = int(cur[0][0])

    def save_device(
        self,
        scan_id: int,
        target: Target,
        *,
        status: str,
        transport: str,
        records: DeviceRecords | None,
        error_kind: str | None,
        error: str | None,
        started: float,
        ended: float,
        attempts: int,
        failures: Sequence[tuple[str, str, str]] = (),
    ) -> None:
        """Write one device's outcome and records.  Call inside a transaction, after save_captures.

        ``failures``: every failed attempt as ``(transport, kind, reason)`` (a fallback keeps each
        one); without them the device's own ``error_kind``/``error`` is its one failure."""
        f = records.facts if records else None
        # The device's items: a pointer to the set that holds them, written only when no earlier
        # collection of this device saved the same items (agent/store/itemsets.py).
        item_set = cap0 = id0 = None
        if records is not None and records.components:
            items, cap0 = itemsets.item_rows(records.components)
            item_set = itemsets.put_set(self.db, target.name, items)
            id0 = itemsets.take_ids(self.db, len(items))
        self.db.execute(
            "INSERT INTO devices(scan_id, device, host, port, platform, site, contract_site_ids, status, transport,"
            " error_kind, error, hostname, os_version, version, chassis_pid, chassis_serial, uptime, roles, problems,"
            " inventory_ok, version_ok, licenses_ok, max_age_days, started, ended, attempts, item_set, item_cap0, item_id0)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)" + _DEVICE_REPLACE,
            (
                scan_id, target.name, target.host, target.port, target.platform, target.site,
                json.dumps(list(target.contract_site_ids)), status, transport, error_kind, error,
                f.hostname if f else None, f.os_version if f else None, f.version if f else None,
                f.chassis_pid if f else None, f.chassis_serial if f else None, f.uptime if f else None,
                json.dumps(f.roles if f else []), json.dumps(records.problems if records else []),
                *map(int, collection_facts(status, records)), target.max_age_days, started, ended, attempts,
                item_set, cap0, id0,
            ),
        )
        neighbours.save(self, scan_id, target.name, records)  # CDP / LLDP: one blob (agent/store/neighbours.py)
        self.db.execute(latest.LATEST_UPSERT, {"device": target.name})
        if failures:
            self.db.executemany(
                "INSERT INTO errors(scan_id, device, kind, message, at, transport) VALUES (?,?,?,?,?,?)",
                [(scan_id, target.name, kind, reason or "", ended, via) for via, kind, reason in failures],
            )
        elif error_kind:
            self.db.execute(
                "INSERT INTO errors(scan_id, device, kind, message, at, transport) VALUES (?,?,?,?,?,?)",
                (scan_id, target.name, error_kind, error or "", ended, transport or None),
            )
        if records is None:
            return
        if item_set is not None:
            self.db.execute(SIGHTINGS_UPSERT, (scan_id, id0, scan_id, id0, target.name, item_set))
        self.db.executemany(
            "INSERT INTO licenses(scan_id, device, license, entitlement_tag, count, status, enforcement, license_type,"
            " udi_pid, udi_serial, description, transport) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                (scan_id, target.name, u.license, u.entitlement_tag, u.count, u.status, u.enforcement, u.license_type,
                 u.udi_pid, u.udi_serial, u.description, u.transport)
                for u in records.licenses
            ],
        )
        if records.license_status is not None:
            self.db.execute(
                "INSERT INTO license_status(scan_id, device, data) VALUES (?,?,?)"
                " ON CONFLICT(scan_id, device) DO UPDATE SET data = excluded.data",
                (scan_id, target.name, json.dumps(asdict(records.license_status), sort_keys=True)),
            )

    def record_sightings(self, scan_id: int, device: str | None = None) -> None:
        """Fold the contractable components of one device of a scan (or of the whole scan) into
        ``sightings``.  save_device does it; call it after writing components any other way."""
        if device is None:
            self.db.execute(SIGHTINGS_UPSERT_SCAN, (scan_id,))
            return
        row = self.db.execute("SELECT item_set, item_id0 FROM devices WHERE scan_id = ? AND device = ?",
                              (scan_id, device)).fetchone()
        if row is not None and row[0] is not None:
            self.db.execute(SIGHTINGS_UPSERT, (scan_id, row[1], scan_id, row[1], device, row[0]))

    # ------------------------------------------------------------------ reading

    def sightings_cover(self, upto_scan: int) -> bool:
        """Does ``sightings`` hold exactly the history up to ``upto_scan``?  Not while a later scan
        (one still running, say) has written components: its sightings are already folded in."""
        # Any device row of a later scan counts (one seek; before v11 only one that wrote items):
        # a later scan that saved only failed devices makes history walk, which is exact too.
        newest = self.db.execute("SELECT MAX(scan_id) FROM devices").fetchone()[0]
        return newest is None or newest <= upto_scan

    def sightings(self, serials: Iterable[str] | None = None) -> list[sqlite3.Row]:
        """Rows of ``sightings`` with the scans' start times, in order of first sighting."""
        sql = ("SELECT g.*, f.started AS first_started, l.started AS last_started FROM {src} "
               "JOIN scans f ON f.id = g.first_scan JOIN scans l ON l.id = g.last_scan ORDER BY g.first_id")
        if serials is None:
            return self.db.execute(sql.format(src="sightings g")).fetchall()
        with self.wanted_serials(serials) as wanted:
            # CROSS JOIN keeps the wanted serials outside: one seek into sightings' primary key per
            # serial, where SQLite otherwise chose to read every sighting the store holds (no
            # statistics on a TEMP table); tests/test_store_plans.py pins it.
            return self.db.execute(
                sql.format(src=f"{wanted} w CROSS JOIN sightings g ON g.serial = w.serial")).fetchall()

    def wanted_serials(self, serials: Iterable[str]):
        """Context manager: a TEMP table holding ``serials`` (blanks left out), for a join through
        the serial indexes; yields its name."""
        return self._temp_table("wanted_serials", ((x,) for x in serials if x))

    @contextmanager
    def _temp_table(self, name: str, rows: Iterable[Sequence[Any]]) -> Iterator[str]:
        """``rows`` in the TEMP table ``name`` (TEMP_TABLES: ``pos`` in insertion order, then its
        columns), emptied again on the way out; yields the name.  TEMP tables live in the
        connection's own temporary space: no write lock on the store, so reads stay possible during
        a scan, and a read-only connection may fill them."""
        columns = [c.split()[0] for c in TEMP_TABLES[name][0]]
        if name not in self._temps:
            self.db.execute(_temp_ddl(name))
            self._temps.add(name)
        self.db.execute(f"DELETE FROM {name}")
        cols = ", ".join(columns)
        try:
            self.db.executemany(f"INSERT INTO {name}({cols}) VALUES ({', '.join('?' * len(columns))})"
                                " ON CONFLICT DO NOTHING", rows)
            yield name
        finally:
            self.db.execute(f"DELETE FROM {name}")

    def capture_text(self, capture_id: int) -> str:
        """The text that was parsed (echo and prompt removed, not-UTF-8 bytes as U+FFFD)."""
        row = self.db.execute(
            "SELECT b.data FROM captures c JOIN blobs b ON b.sha256 = coalesce(c.text_sha256, c.sha256) WHERE c.id=?",
            (capture_id,),
        ).fetchone()
        if row is None:
            raise StoreError(f"no capture {capture_id}")
        return zlib.decompress(row[0]).decode("utf-8", "surrogateescape")

    def capture_bytes(self, capture_id: int) -> bytes:
        """The capture's evidence: the exact bytes its ``sha256`` is over (the bytes received,
        for a collector that keeps them; else the text as UTF-8)."""
        row = self.db.execute(
            "SELECT b.data FROM captures c JOIN blobs b ON b.sha256 = c.sha256 WHERE c.id=?", (capture_id,)
        ).fetchone()
        if row is None:
            raise StoreError(f"no capture {capture_id}")
        return zlib.decompress(row[0])

    def scans(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM scans ORDER BY id").fetchall()

    def latest_scan_id(self) -> int | None:
        row = self.db.execute("SELECT MAX(id) FROM scans WHERE status != 'running'").fetchone()
        return row[0]

    # ------------------------------------------------------------------ leaving the fleet

    def retire(self, devices: Iterable[str], *, how: str, by: str, why: str) -> int:
        """Take devices out of the fleet as of the latest scan (recorded, never deleted: a device
        scanned again later is back).  Returns the scan id the retirement takes effect after."""
        after = self.latest_scan_id() or 0
        now = time.time()
        with self.transaction():
            self.db.executemany(
                "INSERT INTO retirements(device, at, after_scan, how, by_whom, why) VALUES (?,?,?,?,?,?)",
                [(d, now, after, how, by, why) for d in devices],
            )
        return after

    def retirements(self, devices: Iterable[str] | None = None) -> list[sqlite3.Row]:
        """Every retirement (of ``devices`` only, if given), oldest first."""
        if devices is None:
            return self.db.execute("SELECT * FROM retirements ORDER BY id").fetchall()
        with self._temp_table("wanted_retired", ((d,) for d in devices)) as wanted:
            return self.db.execute(
                f"SELECT r.* FROM {wanted} w JOIN retirements r ON r.device = w.device ORDER BY r.id").fetchall()

    def scan_started_by(self, epoch: float) -> int | None:
        """The latest finished scan that started at or before ``epoch``."""
        row = self.db.execute("SELECT MAX(id) FROM scans WHERE status != 'running' AND pruned IS NULL"
                              " AND started <= ?", (epoch,)).fetchone()
        return row[0]

    def snapshot_devices(self, scan_id: int | None = None) -> list[sqlite3.Row]:
        """The fleet as of scan ``scan_id`` (default: latest): every known, unretired device with
        a good collection, at its latest good collection.

        A device that failed or was not attempted since still shows what it had the last time
        it was read; ``collected_in`` says which scan that was, ``latest_attempt_scan`` and
        ``latest_status`` what happened to it last.
        """
        scan_id, cut = self._fleet_point(scan_id)
        if scan_id is None:
            return []
        if self._latest_covers(scan_id):
            return self.db.execute(latest.SNAPSHOT_LATEST_SQL, (cut,)).fetchall()
        return self.db.execute(SNAPSHOT_SQL, (scan_id,) * 3 + (cut,)).fetchall()

    def fleet_device_states(self, scan_id: int | None) -> list[sqlite3.Row]:
        """Every device of the fleet as of ``scan_id`` (None: now) at its latest attempt, with its
        latest clean (``last_clean_scan``) and good (``last_ok_scan``) scan ids."""
        scan_id, cut = self._fleet_point(scan_id)
        if scan_id is None:
            return []
        if self._latest_covers(scan_id):
            return self.db.execute(latest.DEVICE_STATES_LATEST_SQL, (cut,)).fetchall()
        return self.db.execute(DEVICE_STATES_SQL, (scan_id,) * 3 + (cut,)).fetchall()

    def _latest_covers(self, scan_id: int) -> bool:
        """Does ``device_latest`` summarise exactly the device rows up to ``scan_id``?  Yes unless
        a later scan (one still running) has saved devices; then the general statements answer."""
        return self.sightings_cover(scan_id)

    def _fleet_point(self, scan_id: int | None) -> tuple[int | None, float]:
        """(scan, retirement cut-off time) of a fleet state: as of a given scan, the retirements
        recorded by its end; the current fleet (None), every retirement so far."""
        if scan_id is None:
            return self.latest_scan_id(), float("inf")
        row = self.db.execute("SELECT coalesce(ended, started) FROM scans WHERE id = ?", (scan_id,)).fetchone()
        return scan_id, (row[0] if row else float("inf"))

    def scan_devices(self, scan_id: int) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM devices WHERE scan_id=? ORDER BY device", (scan_id,)).fetchall()

    def components_of(self, pairs: Iterable[tuple[int, str]]) -> list[sqlite3.Row]:
        """The components of each (scan, device), in the order of ``pairs``, each device's in id
        order: one query, not one per device (a snapshot is 10^4 devices)."""
        with self._temp_table("wanted_devices", pairs) as wanted:
            return self.db.execute(latest.COMPONENTS_OF_SQL.format(wanted=wanted)).fetchall()

    def licenses_of(self, scan_id: int, device: str) -> list[LicenseUsage]:
        rows = self.db.execute(
            "SELECT * FROM licenses WHERE scan_id=? AND device=? ORDER BY rowid", (scan_id, device)
        ).fetchall()
        return [
            LicenseUsage(
                device=r["device"], license=r["license"], entitlement_tag=r["entitlement_tag"], count=r["count"],
                status=r["status"], enforcement=r["enforcement"], license_type=r["license_type"], udi_pid=r["udi_pid"],
                udi_serial=r["udi_serial"], description=r["description"], transport=r["transport"],
            )
            for r in rows
        ]

    def license_status_of(self, scan_id: int, device: str) -> LicenseStatus | None:
        row = self.db.execute("SELECT data FROM license_status WHERE scan_id=? AND device=?", (scan_id, device)).fetchone()
        return LicenseStatus(**json.loads(row[0])) if row else None

    def errors_of(self, scan_id: int) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM errors WHERE scan_id=? ORDER BY device", (scan_id,)).fetchall()

    def component_from_row(self, row: sqlite3.Row) -> Component:
        return Component(
            device=row["device"], name=row["name"], descr=row["descr"], pid=row["pid"], base_pid=row["base_pid"],
            vid=row["vid"], serial_raw=row["serial_raw"], serial=row["serial"], cls=row["class"], parent=row["parent"],
            contractable=bool(row["contractable"]), reason=row["reason"], refurbished=bool(row["refurbished"]),
            transport=row["transport"], capture_id=row["capture_id"],
        )

    # ------------------------------------------------------------------ Smart Licensing offline round trip

    def latest_license_statuses(self, upto: float | None = None) -> dict[str, tuple[int, float, LicenseStatus]]:
        """device -> (scan id, scan start, LicenseStatus) of the newest clean collection that had one."""
        rows = self.db.execute(
            """
            SELECT ls.device, ls.scan_id, s.started, ls.data FROM license_status ls
            JOIN scans s ON s.id = ls.scan_id
            JOIN devices d ON d.scan_id = ls.scan_id AND d.device = ls.device AND d.status = 'ok'
            WHERE (? IS NULL OR s.started <= ?)
            ORDER BY ls.scan_id
            """,
            (upto, upto),
        ).fetchall()
        return {r["device"]: (r["scan_id"], r["started"], LicenseStatus(**json.loads(r["data"]))) for r in rows}
