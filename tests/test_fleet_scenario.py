"""The fleet model end to end: a lab of 120 devices over 4 sites, real SSH, real ``ibagent``
subprocesses, and the ground truth after every step (issue 11's acceptance scenario).

Steps, each followed by the same checks (``check``): a full scan; Ctrl-C at ~10 %; ``kill -9`` at
~50 %; one scan per site in turn; one device's credentials broken; one device dropped from the
inventory then ``scan --prune``; a device unreachable for longer than ``--max-age``.

The checks, against the lab's hand-written truth: ``devices`` lists every item of every device in
the fleet; ``diff`` of the two latest fleet states never says ``removed`` for a device the scan
did not collect; ``reconcile`` puts no live item on the drop list (``not-seen``); failed and
stale devices are flagged with their age and reason.
"""
from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from lab import fleet, sample_contracts
from lab.inventory import write_inventory
from lab.server import LabThread
from truth_checks import truth_items

ROOT = Path(__file__).resolve().parents[1]
N, SITES = 120, 4
AS_OF = date.today()


def ibagent(*args, env=None, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agent.cli", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env=env)


def start(*args, env=None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "agent.cli", *map(str, args)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def _read(db: Path, sql: str, *params):
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    except sqlite3.OperationalError:
        return None
    try:
        return con.execute(sql, params).fetchone()[0]
    except sqlite3.OperationalError:
        return None
    finally:
        con.close()


def last_scan(db: Path) -> int:
    return _read(db, "SELECT MAX(id) FROM scans") or 0


def saved_since(db: Path, before: int) -> int:
    """Device rows written so far by a scan newer than ``before`` (read beside the writer: WAL)."""
    return _read(db, "SELECT COUNT(*) FROM devices WHERE scan_id > ?", before) or 0


def stop_at(proc: subprocess.Popen, db: Path, before: int, devices: int, sig: int) -> None:
    deadline = time.monotonic() + 240
    while saved_since(db, before) < devices:
        assert proc.poll() is None, f"scan ended before {devices} devices: {proc.stderr.read()[-2000:]}"
        assert time.monotonic() < deadline, "scan too slow to interrupt"
        time.sleep(0.05)
    proc.send_signal(sig)
    proc.communicate(timeout=120)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fleet")
    # Latency keeps devices in flight long enough to interrupt a scan at a chosen point.
    specs = fleet.scale_fleet(N, latency=0.08, jitter=0.25, sites=SITES)
    with LabThread(specs) as lab:
        by_site: dict[str, list] = {}
        for dev in lab.devices:
            by_site.setdefault(dev.spec.site, []).append(dev)
        inv = write_inventory(lab.devices, tmp / "inv")
        site_invs = {site: write_inventory(devs, tmp / f"inv-{site}") for site, devs in sorted(by_site.items())}
        contracts = sample_contracts.write_contracts(tmp / "contracts.csv", lab.devices, AS_OF)
        truth = {dev.name: truth_items(dev.truth) for dev in lab.devices}
        yield {"lab": lab, "tmp": tmp, "db": tmp / "ib.db", "inv": inv, "sites": site_invs,
               "contracts": contracts, "truth": truth}


def devices_json(w) -> list[dict]:
    out = ibagent("devices", "--format", "json", "--db", w["db"])
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def reconcile_rows(w, *extra) -> list[dict]:
    out = ibagent("reconcile", "--contracts", w["contracts"], "--format", "csv", "--db", w["db"], *extra)
    assert out.returncode == 0, out.stderr
    return list(csv.DictReader(out.stdout.splitlines()))


def check(w, expect_devices: set[str], *, stale: set[str] = frozenset(), failed: set[str] = frozenset(),
          reconcile_args=()) -> list[dict]:
    """The invariants after every step; returns reconcile's rows for step-specific checks."""
    items = devices_json(w)
    got = {(r["device"], r["serial"], r["base_pid"]) for r in items if r["contractable"]}
    want = {(d, s, p) for d in expect_devices for s, p in w["truth"][d]}
    assert got == want, sorted(got ^ want)[:10]
    by_device = {r["device"]: r for r in items}
    for d in failed:
        assert by_device[d]["latest_status"] == "failed" and by_device[d]["latest_error"], by_device[d]
    # diff of the two latest fleet states: nothing removed that is still in the fleet.
    diff = ibagent("diff", "--format", "json", "--db", w["db"])
    if diff.returncode == 0:
        removed = {c["device"] for c in json.loads(diff.stdout) if c["change"] == "removed"}
        assert not removed & expect_devices, removed & expect_devices
    rows = reconcile_rows(w, *reconcile_args)
    live = {s for d in expect_devices for s, _ in w["truth"][d]}
    dropped = {r["serial"] for r in rows if r["status"] == "not-seen"}
    assert not dropped & live, f"live items on the drop list: {sorted(dropped & live)[:10]}"
    aged = {r["device"] for r in rows if r["evidence_age_days"]}
    assert aged == set(stale), aged ^ set(stale)
    return rows


def test_the_fleet_survives_every_way_a_scan_can_end(world):
    w = world
    everyone = set(w["truth"])
    db, inv = w["db"], w["inv"]

    # 1. A full scan: the fleet is the lab.
    done = ibagent("scan", "-i", inv, "--db", db, "--workers", 40, "--quiet")
    assert done.returncode == 0, done.stderr[-3000:]
    rows = check(w, everyone)
    assert {r["status"] for r in rows if r["serial"] in {s for d in everyone for s, _ in w["truth"][d]}} <= {
        "covered", "expiring", "lapsed", "uncovered", "end-of-support"}

    # 2. Ctrl-C at ~10 %: the devices it did not reach keep what was known.
    before = last_scan(db)
    proc = start("scan", "-i", inv, "--db", db, "--workers", 10, "--quiet")
    stop_at(proc, db, before, N // 10, signal.SIGINT)
    assert proc.returncode == 130
    check(w, everyone)

    # 3. kill -9 at ~50 %: no summary, no clean-up, the scan row left 'running'.
    before = last_scan(db)
    proc = start("scan", "-i", inv, "--db", db, "--workers", 20, "--quiet")
    stop_at(proc, db, before, N // 2, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL
    check(w, everyone)

    # 4. One scan per site, in turn (the natural per-site schedule): no site vanishes.
    for site, site_inv in w["sites"].items():
        done = ibagent("scan", "-i", site_inv, "--db", db, "--workers", 40, "--quiet")
        assert done.returncode == 0, (site, done.stderr[-3000:])
        check(w, everyone)

    # 5. One device's credentials broken: it fails, keeps its items, flagged with the reason.
    broken = sorted(everyone)[7]
    hosts_file = inv / "hosts.yaml"
    hosts = yaml.safe_load(hosts_file.read_text())
    hosts[broken]["password"] = "${IBAGENT_TEST_WRONG_PASSWORD}"
    hosts_file.write_text(yaml.safe_dump(hosts, sort_keys=False))
    env = dict(os.environ, IBAGENT_TEST_WRONG_PASSWORD="not-the-password")
    done = ibagent("scan", "-i", inv, "--db", db, "--workers", 40, "--quiet", env=env)
    assert done.returncode == 1, done.stderr[-3000:]
    check(w, everyone, failed={broken})
    errors = {r["device"]: r for r in devices_json(w) if r["latest_status"] == "failed"}
    assert set(errors) == {broken} and errors[broken]["latest_error"].startswith("auth")

    # 6. A device taken out of the inventory, then scan --prune: it is retired, and only it.
    gone = sorted(everyone)[11]
    del hosts[gone]
    hosts_file.write_text(yaml.safe_dump(hosts, sort_keys=False))
    done = ibagent("scan", "-i", inv, "--db", db, "--workers", 40, "--quiet", "--prune", env=env)
    assert done.returncode == 1, done.stderr[-3000:]  # the broken device still fails
    assert f"retired 1 device(s) absent from the inventory: {gone}" in done.stdout + done.stderr
    check(w, everyone - {gone}, failed={broken})
    history = ibagent("history", next(iter(w["truth"][gone]))[0], "--format", "json", "--db", db)
    assert "retired (prune)" in history.stdout
    listed = ibagent("retire", "--list", "--format", "json", "--db", db)
    assert [r["device"] for r in json.loads(listed.stdout)] == [gone]

    # 7. A device unreachable for longer than --max-age: 40 days from now, with nothing collected
    # since, its items are stale (marked, and proving no absence); the broken device too.
    rows = check(w, everyone - {gone}, stale=everyone - {gone}, failed={broken},
                 reconcile_args=("--as-of", (AS_OF + timedelta(days=40)).isoformat()))
    aged = [r for r in rows if r["device"] == broken]
    assert aged and all(40 <= int(r["evidence_age_days"]) <= 41 for r in aged)
    assert all("rests on evidence" in r["reasons"] and "latest attempt failed (auth" in r["reasons"] for r in aged)
    # A longer limit (or a group's data.max_age_days) and the evidence is fresh enough again.
    check(w, everyone - {gone}, failed={broken},
          reconcile_args=("--as-of", (AS_OF + timedelta(days=40)).isoformat(), "--max-age", "60"))
