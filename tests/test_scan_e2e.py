"""End to end over real SSH on 127.0.0.1: the demo fleet, every platform, every fault kind.

The lab's ground truth is written by hand in its profiles, never parsed from its output, so
these tests compare what the scan stored with what the device really printed.
"""
from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

from agent.cli import main as cli_main
from agent.collect.inventory import load_inventory
from agent.normalize import canonical_version
from agent.collect.scan import ScanOptions, run_scan
from agent.store import Store
from agent.store.views import device_rows
from lab import fleet
from lab.device import ENABLE_ENV, PASSWORD_ENV, USERNAME_ENV
from lab.inventory import write_inventory
from lab.server import LabThread
from truth_checks import truth_items

FAULT_KIND = {
    "auth_fail": "auth",
    "hang_after_login": "timeout",
    "disconnect_mid_output": "disconnect",
    "garbage": "garbage",
}
FAST = dict(connect_timeout=3, command_timeout=2, deadline=30, retries=1, retry_backoff=0.2)
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo_lab():
    with LabThread(fleet.demo_fleet(latency=0.01, jitter=0.25)) as lab:
        yield lab


@pytest.fixture(scope="module")
def demo_scan(demo_lab, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("demo")
    write_inventory(demo_lab.devices, tmp / "inv")
    inventory = load_inventory(tmp / "inv")
    store = Store(tmp / "ib.db")
    summary = asyncio.run(run_scan(inventory.targets, store, ScanOptions(workers=20, **FAST)))
    yield demo_lab, store, summary
    store.close()


def _fault(dev) -> str | None:
    return next(iter(dev.faults), None) if dev.faults else None


def test_every_healthy_device_complete(demo_scan):
    lab, store, summary = demo_scan
    rows = store.scan_devices(summary.scan_id)
    by_device = {r["device"]: r for r in rows}
    items = device_rows(store, summary.scan_id)
    platforms_seen = set()
    for dev in lab.devices:
        fault = _fault(dev)
        if fault in FAULT_KIND:
            continue
        row = by_device[dev.name]
        assert row["status"] == "ok", (dev.name, row["error_kind"], row["error"])
        truth = dev.truth
        platforms_seen.add(truth.platform)
        assert row["hostname"] == truth.hostname
        assert row["version"] == canonical_version(truth.platform, truth.os_version)
        assert row["chassis_serial"] == truth.chassis_serial
        mine = {(r["serial"], r["base_pid"]) for r in items if r["device"] == dev.name and r["contractable"]}
        expected = truth_items(truth)
        assert mine == expected, (dev.name, sorted(mine ^ expected))
    assert platforms_seen == {"cisco_xe", "cisco_ios", "cisco_nxos", "cisco_xr", "cisco_asa"}


def test_licences_recorded_for_slp_devices(demo_scan):
    lab, store, summary = demo_scan
    for dev in lab.devices:
        if _fault(dev) in FAULT_KIND or not dev.truth.licenses:
            continue
        got = {(u.license, u.count) for u in store.licenses_of(summary.scan_id, dev.name)}
        want = {(t.license, t.count) for t in dev.truth.licenses}
        assert want <= got, (dev.name, want - got)


def test_each_fault_is_an_error_record_with_reason(demo_scan):
    lab, store, summary = demo_scan
    errors = {e["device"]: e for e in store.errors_of(summary.scan_id)}
    faulty = [d for d in lab.devices if _fault(d) in FAULT_KIND]
    assert len(faulty) == len(FAULT_KIND)
    for dev in faulty:
        assert errors[dev.name]["kind"] == FAULT_KIND[_fault(dev)], (dev.name, errors[dev.name]["message"])
        assert errors[dev.name]["message"]
    # Evidence survives the fault: the disconnecting device's outputs before the cut are kept.
    cut = next(d for d in faulty if _fault(d) == "disconnect_mid_output")
    caps = store.db.execute(
        "SELECT command, error_kind FROM captures WHERE scan_id=? AND device=?", (summary.scan_id, cut.name)
    ).fetchall()
    assert ("show version", None) in [tuple(c) for c in caps]
    assert any(c["error_kind"] == "disconnect" for c in caps)
    assert summary.failed == len(FAULT_KIND)
    assert summary.ok == len(lab.devices) - len(FAULT_KIND)


def test_slow_device_completes(demo_scan):
    lab, store, summary = demo_scan
    slow = next(d for d in lab.devices if _fault(d) == "slow_output")
    row = {r["device"]: r for r in store.scan_devices(summary.scan_id)}[slow.name]
    assert row["status"] == "ok"


def test_netmiko_driver_agrees_with_asyncssh(demo_scan, tmp_path):
    lab, store, summary = demo_scan
    # One healthy device per platform keeps this quick; netmiko needs seconds per device.
    chosen = {}
    for dev in lab.devices:
        if not dev.faults:
            chosen.setdefault(dev.truth.platform, dev)
    write_inventory(chosen.values(), tmp_path / "inv")
    inventory = load_inventory(tmp_path / "inv")
    other = Store(tmp_path / "nm.db")
    result = asyncio.run(
        run_scan(inventory.targets, other, ScanOptions(workers=8, ssh_driver="netmiko", **{**FAST, "command_timeout": 10}))
    )
    assert result.failed == 0, result.failures
    nm = {(r["device"], r["serial"], r["base_pid"]) for r in device_rows(other) if r["contractable"]}
    ours = {
        (r["device"], r["serial"], r["base_pid"])
        for r in device_rows(store, summary.scan_id)
        if r["contractable"] and r["device"] in {d.name for d in chosen.values()}
    }
    assert nm == ours
    other.close()


# ------------------------------------------------------------------ CLI, secrets, signals


def _all_store_text(db: Path) -> str:
    """Every text column and every decompressed raw capture of a store."""
    import sqlite3

    con = sqlite3.connect(db)
    parts = []
    for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type='table'"):
        for row in con.execute(f"SELECT * FROM {table}"):  # noqa: S608 - table names from sqlite_master
            for value in row:
                if isinstance(value, bytes):
                    parts.append(zlib.decompress(value).decode("utf-8", "replace"))
                elif value is not None:
                    parts.append(str(value))
    con.close()
    return "\n".join(parts)


def test_no_secret_reaches_store_logs_or_output(tmp_path, monkeypatch):
    secret, enable = "Zq9-never-print-771", "En4-never-print-302"
    monkeypatch.setenv(USERNAME_ENV, "audituser")
    monkeypatch.setenv(PASSWORD_ENV, secret)
    monkeypatch.setenv(ENABLE_ENV, enable)
    with LabThread(fleet.demo_fleet(latency=0.01)) as lab:
        write_inventory(lab.devices, tmp_path / "inv")
        db, log = tmp_path / "s.db", tmp_path / "scan.log"
        env = {**os.environ}
        proc = subprocess.run(
            [sys.executable, "-m", "agent.cli", "scan", "-i", str(tmp_path / "inv"), "--db", str(db),
             "--log-file", str(log), "-vv", "--connect-timeout", "3", "--command-timeout", "2", "--deadline", "30"],
            capture_output=True, text=True, env=env, timeout=120,
        )
        assert proc.returncode == 1, proc.stderr  # the faulty devices
        listing = subprocess.run(
            [sys.executable, "-m", "agent.cli", "devices", "--db", str(db), "--format", "json"],
            capture_output=True, text=True, env=env, timeout=60,
        )
    assert listing.returncode == 0 and json.loads(listing.stdout)
    everything = "\n".join([proc.stdout, proc.stderr, log.read_text(), listing.stdout, _all_store_text(db)])
    assert "login refused" in everything  # the log and store really hold the error texts
    assert secret not in everything
    assert enable not in everything


def test_exit_codes(demo_lab, tmp_path, capsys):
    healthy = [d for d in demo_lab.devices if not d.faults][:3]
    write_inventory(healthy, tmp_path / "ok")
    db = str(tmp_path / "s.db")
    args = ["scan", "-i", str(tmp_path / "ok"), "--db", db, "--no-progress", "--connect-timeout", "3"]
    assert cli_main(args) == 0
    assert cli_main(["scan", "-i", str(tmp_path / "missing"), "--db", db]) == 2
    assert "no such file" in capsys.readouterr().err
    holder = Store(db)
    holder.lock()
    try:
        assert cli_main(args) == 75
    finally:
        holder.close()
    assert cli_main(["devices", "--db", str(tmp_path / "nope.db")]) == 2
    assert cli_main(["parse", str(tmp_path / "absent.txt"), "--platform", "cisco_xe", "--command", "show version"]) == 2


def test_ctrl_c_keeps_store_consistent(tmp_path):
    # Slow devices so the scan is mid-way when the signal lands.
    with LabThread(fleet.scale_fleet(30, latency=0.5, jitter=0.1)) as lab:
        write_inventory(lab.devices, tmp_path / "inv")
        db = tmp_path / "s.db"
        cmd = [sys.executable, "-m", "agent.cli", "scan", "-i", str(tmp_path / "inv"), "--db", str(db),
               "--workers", "10", "--no-progress"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(5)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, (out, err)
        assert "Traceback" not in err
        assert "interrupted" in out
        store = Store(db)
        scan = store.scans()[-1]
        assert scan["status"] == "interrupted"
        rows = store.scan_devices(scan["id"])
        assert 0 < len(rows) < 30
        assert {r["status"] for r in rows} <= {"ok", "failed"}
        assert {r["error_kind"] for r in rows if r["status"] == "failed"} <= {"cancelled"}
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        store.close()
        # The next scan takes the lock and completes.
        again = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert again.returncode == 0, again.stdout + again.stderr


def test_parse_command_shares_the_scan_code_path(demo_scan, tmp_path, capsys):
    """`ibagent parse` on a stored capture yields exactly the records the scan stored from it."""
    lab, store, summary = demo_scan
    for dev in (d for d in lab.devices if not d.faults):
        cap = store.db.execute(
            "SELECT id FROM captures WHERE scan_id=? AND device=? AND command='show inventory'",
            (summary.scan_id, dev.name),
        ).fetchone()
        if cap is None:
            continue
        path = tmp_path / f"{dev.name}.txt"
        path.write_text(store.capture_text(cap["id"]))
        assert cli_main(["parse", str(path), "--platform", dev.truth.platform, "--command", "show inventory",
                         "--format", "json"]) == 0
        parsed = json.loads(capsys.readouterr().out)
        from_cli = {(c["name"], c["serial"], c["base_pid"], c["class"], c["contractable"]) for c in parsed["components"]}
        from_scan = {
            (c["name"], c["serial"], c["base_pid"], c["class"], bool(c["contractable"]))
            for c in store.db.execute(
                "SELECT * FROM components WHERE scan_id=? AND device=? AND capture_id=?",
                (summary.scan_id, dev.name, cap["id"]),
            )
        }
        assert from_cli == from_scan and from_cli, dev.name


def test_parse_command_refuses_garbage(tmp_path, capsys):
    junk = tmp_path / "junk.txt"
    junk.write_bytes(bytes(range(256)) * 8)
    assert cli_main(["parse", str(junk), "--platform", "cisco_nxos", "--command", "show inventory"]) == 3
    err = capsys.readouterr().err
    assert "junk.txt" in err and "cisco_nxos" in err and "show inventory" in err
    assert "Traceback" not in err
