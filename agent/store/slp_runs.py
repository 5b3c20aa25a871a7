"""The store's Smart Licensing tables: SLP runs and their events, the usage reports built, the ACKs
imported (``ibagent slp collect|bundle|import-ack`` write them; ``slp report`` reads them).

``Store`` inherits these methods, as it does the host-key ones (``agent/store/hostkeys.py``); they
moved out of ``db.py`` so that the file holding the scan's writes and reads stays readable.  They
use only what ``Store`` provides: ``db`` and ``transaction()``.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from dataclasses import asdict
from typing import Any

from agent.core.models import LicenseStatus


class SlpStore:
    def begin_slp_run(self, kind: str, inventory: str, options: dict[str, Any]) -> int:
        with self.transaction():
            cur = self.db.execute(
                "INSERT INTO slp_runs(kind, started, status, inventory, options) VALUES (?, ?, 'running', ?, ?) RETURNING id",
                (kind, time.time(), inventory, json.dumps(options, sort_keys=True)),
            ).fetchall()  # every row read: SQLite will not commit while a statement is still stepping
        return int(cur[0][0])

    def end_slp_run(self, run_id: int, status: str, ok: int, failed: int) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE slp_runs SET ended=?, status=?, devices_ok=?, devices_failed=? WHERE id=?",
                (time.time(), status, ok, failed, run_id),
            )

    def interrupt_stale_slp_runs(self) -> None:
        """Runs still 'running' when the caller holds the SLP lock died before finishing."""
        with self.transaction():
            self.db.execute("UPDATE slp_runs SET status='interrupted' WHERE status='running'")

    def slp_runs(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM slp_runs ORDER BY id").fetchall()

    def add_slp_event(
        self, run_id: int | None, device: str | None, action: str, status: str, *, kind: str | None = None,
        command: str | None = None, detail: str | None = None, output: str | None = None, at: float | None = None,
    ) -> None:
        """Record one device action.  Call inside a transaction; texts must already be scrubbed."""
        self.db.execute(
            "INSERT INTO slp_events(run_id, device, at, action, status, kind, command, detail, output)"
            " VALUES (?,?,?,?,?,?,?,?,?)",
            (run_id, device, at or time.time(), action, status, kind, command, detail, output),
        )

    def slp_events(self, run_id: int | None = None) -> list[sqlite3.Row]:
        if run_id is None:
            return self.db.execute("SELECT * FROM slp_events ORDER BY id").fetchall()
        return self.db.execute("SELECT * FROM slp_events WHERE run_id=? ORDER BY id", (run_id,)).fetchall()

    def save_slp_report(
        self, run_id: int, device: str, *, site: str, udi_pid: str, udi_serial: str, file_name: str, mode: str,
        transfer: str, data: bytes, report_ids: list[int], collected_at: float,
    ) -> int:
        """Keep one RUM file exactly as read.  Call inside a transaction."""
        cur = self.db.execute(
            "INSERT INTO slp_reports(run_id, device, site, udi_pid, udi_serial, file_name, mode, transfer, sha256, size,"
            " data, report_ids, collected_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
            (run_id, device, site, udi_pid, udi_serial, file_name, mode, transfer, hashlib.sha256(data).hexdigest(),
             len(data), sqlite3.Binary(data), json.dumps(report_ids), collected_at),
        )
        return int(cur.fetchall()[0][0])

    def slp_reports(self, device: str | None = None) -> list[sqlite3.Row]:
        if device is None:
            return self.db.execute("SELECT * FROM slp_reports ORDER BY id").fetchall()
        return self.db.execute("SELECT * FROM slp_reports WHERE device=? ORDER BY id", (device,)).fetchall()

    def latest_slp_reports(self) -> list[sqlite3.Row]:
        """The newest RUM file collected from each device."""
        return self.db.execute(
            "SELECT * FROM slp_reports r WHERE r.id = (SELECT MAX(id) FROM slp_reports x WHERE x.device = r.device)"
            " ORDER BY r.device"
        ).fetchall()

    def save_slp_ack(
        self, run_id: int, device: str | None, *, file_name: str, data: bytes, udis: list[list[str]],
        report_ids: list[int], status: str, reason: str | None = None, last_ack_received: str | None = None,
        next_ack_deadline: str | None = None, license_status: LicenseStatus | None = None, at: float | None = None,
    ) -> int:
        """One ACK file's outcome on one device (or on none: unmatched/invalid).  Call inside a transaction."""
        cur = self.db.execute(
            "INSERT INTO slp_acks(run_id, device, file_name, sha256, size, data, udis, report_ids, status, reason,"
            " last_ack_received, next_ack_deadline, license_status, at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
            (run_id, device, file_name, hashlib.sha256(data).hexdigest(), len(data), sqlite3.Binary(data),
             json.dumps(udis), json.dumps(report_ids), status, reason, last_ack_received, next_ack_deadline,
             json.dumps(asdict(license_status), sort_keys=True) if license_status is not None else None,
             at or time.time()),
        )
        return int(cur.fetchall()[0][0])

    def slp_acks(self, device: str | None = None) -> list[sqlite3.Row]:
        if device is None:
            return self.db.execute("SELECT * FROM slp_acks ORDER BY id").fetchall()
        return self.db.execute("SELECT * FROM slp_acks WHERE device=? ORDER BY id", (device,)).fetchall()

    def latest_imported_acks(self, upto: float | None = None) -> dict[str, tuple[float, LicenseStatus | None]]:
        """device -> (when, LicenseStatus re-read after it) of the newest successful ACK import."""
        rows = self.db.execute(
            "SELECT device, at, license_status FROM slp_acks WHERE status='imported' AND device IS NOT NULL"
            " AND (? IS NULL OR at <= ?) ORDER BY at",
            (upto, upto),
        ).fetchall()
        return {
            r["device"]: (r["at"], LicenseStatus(**json.loads(r["license_status"])) if r["license_status"] else None)
            for r in rows
        }
