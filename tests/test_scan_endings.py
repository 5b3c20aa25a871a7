"""Every ending of a scan is honest (issue 11, item 5): SIGTERM and SIGHUP end it as Ctrl-C does, a
store that cannot be written ends it ``failed`` with the reason, and the scan row's counts are always
those of its device rows.

The signal tests run ``python -m agent.cli scan`` as a real subprocess against the lab and signal it
once some devices are saved and others are in flight (slow devices: 0.5 s per command).
"""
from __future__ import annotations

import asyncio
import json
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.cli import main as cli_main
from agent.collect.endings import HEADLINE_ORDER, headline
from agent.collect.inventory import load_inventory
from agent.collect.scan import ScanOptions, run_scan
from agent.core.models import ERROR_KINDS, Target
from agent.store import Store, StoreWriteError
from lab import fleet
from lab.inventory import write_inventory
from lab.server import LabThread

REPO = Path(__file__).resolve().parents[1]
FAST = dict(connect_timeout=3, command_timeout=3, deadline=30, retries=1, retry_backoff=0.2)


@pytest.fixture(scope="module")
def slow_lab():
    # ~5 commands x 0.5 s per device: with 10 workers over 30 devices, a signal after the first
    # devices are saved always finds others in flight.
    with LabThread(fleet.scale_fleet(30, latency=0.5, jitter=0.1)) as lab:
        yield lab


def _counts(store: Store, scan_id: int) -> dict[str, int]:
    rows = store.scan_devices(scan_id)
    return {
        "ok": sum(r["status"] == "ok" for r in rows),
        "failed": sum(r["status"] != "ok" and r["error_kind"] != "cancelled" for r in rows),
        "cancelled": sum(r["error_kind"] == "cancelled" for r in rows),
    }


def _saved_ok(db: Path) -> int:
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return con.execute("SELECT COUNT(*) FROM devices WHERE status='ok'").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return 0  # not created yet


def _scan_then_signal(lab, tmp: Path, sig: int, after_ok: int = 3, extra: tuple[str, ...] = ()):
    write_inventory(lab.devices, tmp / "inv")
    db = tmp / "s.db"
    cmd = [sys.executable, "-m", "agent.cli", "scan", "-i", str(tmp / "inv"), "--db", str(db),
           "--workers", "10", "--no-progress", *extra]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while _saved_ok(db) < after_ok:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no device saved within 60 s"
        time.sleep(0.1)
    seen = _saved_ok(db)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    return proc, out, err, db, seen, cmd


@pytest.mark.parametrize("processes", ["1", "2"])
def test_sigterm_ends_the_scan_like_ctrl_c(slow_lab, tmp_path, processes):
    # --processes 2: the signal reaches the writer, which stops its workers; their devices in
    # flight are delivered cancelled, exactly as on one loop (agent/collect/shards.py).
    proc, out, err, db, seen, cmd = _scan_then_signal(slow_lab, tmp_path, signal.SIGTERM,
                                                      extra=("--processes", processes))
    assert proc.returncode == 143, (out, err)
    assert "Traceback" not in err
    # The summary is printed, with the same counts as the store.
    m = re.search(r"scan (\d+) interrupted \(SIGTERM\): 30 devices in .*: (\d+) ok, (\d+) failed, (\d+) cancelled", out)
    assert m, out
    scan_id, ok, failed, cancelled = map(int, m.groups())
    assert "cancelled in flight (partial captures kept)" in out
    store = Store(db)
    scan = store.scans()[-1]
    assert scan["id"] == scan_id
    assert (scan["status"], scan["reason"]) == ("interrupted", "stopped by SIGTERM")
    counts = _counts(store, scan_id)
    assert counts == {"ok": ok, "failed": failed, "cancelled": cancelled}
    assert (scan["devices_ok"], scan["devices_failed"], scan["devices_cancelled"]) == (ok, failed, cancelled)
    assert ok >= seen > 0 and cancelled > 0 and failed == 0
    assert len(store.scan_devices(scan_id)) < 30  # some never started
    # Every device saved before the signal kept its records; the cancelled ones kept their partial captures.
    with_items = store.db.execute("SELECT COUNT(DISTINCT device) FROM components WHERE scan_id=?", (scan_id,))
    assert with_items.fetchone()[0] == ok
    partial = store.db.execute(
        "SELECT c.id FROM captures c JOIN devices d ON d.scan_id = c.scan_id AND d.device = c.device"
        " WHERE d.scan_id=? AND d.error_kind='cancelled'", (scan_id,)).fetchall()
    assert partial and all(store.capture_text(r["id"]) is not None for r in partial)
    cancelled_rows = [r for r in store.scan_devices(scan_id) if r["error_kind"] == "cancelled"]
    assert all(r["status"] == "failed" and r["transport"] == "ssh" for r in cancelled_rows)
    assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store.close()
    # `ibagent errors` lists each cancelled device once, with its transport.
    listing = subprocess.run([sys.executable, "-m", "agent.cli", "errors", "--db", str(db), "--scan", str(scan_id),
                              "--kind", "cancelled", "--format", "json"], cwd=REPO, capture_output=True, text=True,
                             timeout=60)
    assert listing.returncode == 0, listing.stderr
    assert sorted(r["device"] for r in json.loads(listing.stdout)) == sorted(r["device"] for r in cancelled_rows)
    # The lock was released: the next scan runs and completes.
    again = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=180)
    assert again.returncode == 0, again.stdout + again.stderr


def test_sighup_ends_the_scan_like_ctrl_c(slow_lab, tmp_path):
    proc, out, err, db, seen, _ = _scan_then_signal(slow_lab, tmp_path, signal.SIGHUP)
    assert proc.returncode == 129, (out, err)
    assert "Traceback" not in err and "interrupted (SIGHUP)" in out
    store = Store(db)
    scan = store.scans()[-1]
    assert (scan["status"], scan["reason"]) == ("interrupted", "stopped by SIGHUP")
    counts = _counts(store, scan["id"])
    assert (scan["devices_ok"], scan["devices_failed"], scan["devices_cancelled"]) == \
        (counts["ok"], counts["failed"], counts["cancelled"])
    assert counts["ok"] >= seen and counts["cancelled"] > 0
    store.close()


# ------------------------------------------------------------------ a store that cannot be written


@pytest.fixture(scope="module")
def quick_lab():
    with LabThread(fleet.scale_fleet(16, latency=0.02, jitter=0.1)) as lab:
        yield lab


@pytest.mark.parametrize("processes", [1, 2])
def test_full_disk_ends_the_scan_failed_not_completed(quick_lab, tmp_path, processes):
    """A real SQLITE_FULL: the store's connection may not grow past a few pages more than it has.
    With worker processes the writer stops them, as it stops its own loop's devices."""
    write_inventory(quick_lab.devices, tmp_path / "inv")
    targets = load_inventory(tmp_path / "inv").targets
    store = Store(tmp_path / "s.db")
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count={pages + 30}")
    summary = asyncio.run(run_scan(targets, store, ScanOptions(workers=4, processes=processes, **FAST)))
    assert summary.status == "failed" and "database or disk is full" in summary.store_error
    assert summary.unsaved >= 1 and summary.ok >= 1
    scan = store.scans()[-1]
    assert scan["status"] == "failed"
    assert scan["reason"].startswith("the store could not be written:") and "disk is full" in scan["reason"]
    counts = _counts(store, scan["id"])
    assert (scan["devices_ok"], scan["devices_failed"], scan["devices_cancelled"]) == \
        (counts["ok"], counts["failed"], counts["cancelled"]) == (summary.ok, summary.failed, summary.cancelled)
    assert len(store.scan_devices(scan["id"])) < len(targets)
    store.close()


def test_cli_store_write_failure_exits_74_with_the_reason(quick_lab, tmp_path, capsys, monkeypatch):
    """The store refuses writes from the fifth device on (a read-only store, as SQLite reports it)."""
    write_inventory(quick_lab.devices, tmp_path / "inv")
    db = tmp_path / "s.db"
    real = Store.save_device
    saved = []

    def save_device(self, *args, **kwargs):
        # By device, not by call: a batch the refusal rolled back is written again device by device
        # (agent.collect.recorder), and the first four devices stay writable for that.
        name = args[1].name
        if name not in saved:
            if len(saved) >= 4:
                raise sqlite3.OperationalError("attempt to write a readonly database")
            saved.append(name)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Store, "save_device", save_device)
    code = cli_main(["scan", "-i", str(tmp_path / "inv"), "--db", str(db), "--no-progress", "--workers", "2",
                     "--connect-timeout", "3", "-q"])
    out, err = capsys.readouterr()
    assert code == 74, (out, err)
    assert re.search(r"scan \d+ failed: 16 devices", out), out
    assert "the store could not be written: cannot write the store" in out and "readonly database" in out
    assert "not saved (store write failed):" in out
    assert "Traceback" not in err and "readonly database" in err
    monkeypatch.undo()
    store = Store(db)
    scan = store.scans()[-1]
    assert scan["status"] == "failed" and "readonly database" in scan["reason"]
    assert scan["devices_ok"] == 4 == _counts(store, scan["id"])["ok"]
    store.close()


def test_scan_row_that_cannot_be_closed_is_closed_by_the_next_scan(quick_lab, tmp_path, capsys, monkeypatch):
    write_inventory(quick_lab.devices[:3], tmp_path / "inv")
    db = tmp_path / "s.db"

    def end_scan(self, *args, **kwargs):
        raise StoreWriteError(f"cannot write the store {self.path}: database or disk is full")

    monkeypatch.setattr(Store, "end_scan", end_scan)
    args = ["scan", "-i", str(tmp_path / "inv"), "--db", str(db), "--no-progress", "--connect-timeout", "3", "-q"]
    assert cli_main(args) == 74
    out, err = capsys.readouterr()
    assert "could not be closed in the store" in err and "the next scan records it as interrupted" in err
    assert "Traceback" not in err
    monkeypatch.undo()
    assert cli_main(args) == 0
    store = Store(db)
    first, second = store.scans()
    assert first["status"] == "interrupted" and "without closing its scan" in first["reason"]
    assert first["devices_ok"] == 3 and second["status"] == "completed" and second["devices_ok"] == 3
    store.close()


def test_a_killed_scan_is_closed_with_its_true_counts(tmp_path):
    """kill -9 leaves the row 'running' with no counts; the next lock holder counts its device rows."""
    store = Store(tmp_path / "s.db")
    scan_id = store.begin_scan("inv", {}, 5)
    for name, status, kind in (("a", "ok", None), ("b", "ok", None), ("c", "failed", "auth"),
                               ("d", "failed", "cancelled")):
        with store.transaction():
            store.save_device(scan_id, Target(name=name, host="h", platform="cisco_xe"), status=status,
                              transport="ssh", records=None, error_kind=kind, error=kind and "x", started=0,
                              ended=1, attempts=1)
    store.close()  # died: no end_scan
    store = Store(tmp_path / "s.db")
    store.lock()
    row = store.scans()[-1]
    assert row["status"] == "interrupted"
    assert (row["devices_ok"], row["devices_failed"], row["devices_cancelled"]) == (2, 1, 1)
    store.close()


# ------------------------------------------------------------------ which failure heads a device


def test_every_error_kind_has_a_headline_rank():
    assert set(HEADLINE_ORDER) == set(ERROR_KINDS)


def test_an_auth_refusal_heads_a_later_timeout():
    attempts = [("netconf", "connect", "refused"), ("ssh", "auth", "login refused"), ("snmp", "timeout", "no answer")]
    assert headline(attempts) == 1
    assert headline([("ssh", "auth", "a"), ("netconf", "auth", "b")]) == 0  # a tie: the preferred transport
    assert headline([("ssh", "timeout", "a"), ("snmp", "disconnect", "b")]) == 1


def test_sigterm_stops_the_demo_after_its_scan_summary(tmp_path):
    """The demo's scan is the CLI's scan runner: SIGTERM ends it the same way, and the demo stops
    there instead of reconciling half a fleet."""
    out_dir = tmp_path / "demo"
    proc = subprocess.Popen([sys.executable, "-m", "agent.cli", "demo", "--out", str(out_dir), "-q"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    db = out_dir / "ibagent.db"
    deadline = time.monotonic() + 90
    while _saved_ok(db) < 2:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the demo saved no device within 90 s"
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, (out, err)
    assert "Traceback" not in err
    assert re.search(r"scan 1 interrupted \(SIGTERM\)", out) and "demo: stopped before its scan completed" in out
    assert not (out_dir / "reports").exists()
    store = Store(db)
    (scan,) = store.scans()
    assert scan["status"] == "interrupted" and scan["devices_ok"] == _counts(store, scan["id"])["ok"] >= 2
    store.close()


def test_an_ignored_sighup_stays_ignored(slow_lab, tmp_path):
    """``nohup ibagent scan``: started with SIGHUP ignored, a closed terminal does not stop the scan."""
    write_inventory(slow_lab.devices[:4], tmp_path / "inv")
    db = tmp_path / "s.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent.cli", "scan", "-i", str(tmp_path / "inv"), "--db", str(db), "--no-progress",
         "--workers", "2"],  # two at a time: the signal lands with devices still to go
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    deadline = time.monotonic() + 60
    while _saved_ok(db) < 1:
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.1)
    assert _saved_ok(db) < 4
    proc.send_signal(signal.SIGHUP)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, (out, err)
    assert "scan 1 completed: 4 devices" in out
