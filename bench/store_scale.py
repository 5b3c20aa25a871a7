"""Benchmark: reading reconcile's inputs from a store that holds months of nightly scans.

    python bench/store_scale.py [--devices 20000] [--scans 30] [--items 5] [--keep DIR]

Builds a store (through ``Store.save_device``, what a scan writes per device, one transaction
per scan) with ``--scans`` scans of ``--devices`` devices, ``--items`` contractable components
each (a few swapped between scans, a few devices failing each night); a lab scan of 20,000
devices would take minutes per night.  Then times what ``ibagent reconcile`` reads
before it reconciles: the snapshot, the fleet items, the per-device scan state and the
first/last-seen history, then the whole ``ibagent reconcile --out`` command against a coverage
CSV for most of the fleet.  Prints seconds per step and the store's size.
"""
from __future__ import annotations

import argparse
import csv
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PIDS = ["C9300-48P", "C9300-NM-8X", "PWR-C1-715WAC", "SFP-10G-SR", "GLC-TE", "N9K-C93180YC-FX"]


def build(path: Path, devices: int, scans: int, items: int, seed: int
          ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Fill the store through ``Store.save_device`` (what a scan writes per device), one
    transaction per scan; returns the (serial, PID) pairs of the last scan, and those replaced."""
    from agent.core.models import Component, DeviceFacts, DeviceRecords, Target
    from agent.store import Store

    rng = random.Random(seed)
    store = Store(path)
    serial_no = 0

    def new_serial() -> str:
        nonlocal serial_no
        serial_no += 1
        return f"FOC{serial_no:08d}"

    fleet = {f"dev{d:05d}": [(new_serial(), PIDS[k % len(PIDS)]) for k in range(items)] for d in range(devices)}
    replaced: list[tuple[str, str]] = []
    t0 = 1_760_000_000.0
    for s in range(1, scans + 1):
        started = t0 + s * 86400
        scan = store.begin_scan("bench", {}, devices)
        store.db.execute("UPDATE scans SET started = ? WHERE id = ?", (started, scan))
        with store.transaction():
            for name, parts in fleet.items():
                if rng.random() < 0.002:  # an RMA: one part replaced
                    k = rng.randrange(items)
                    replaced.append(parts[k])
                    parts[k] = (new_serial(), parts[k][1])
                failed = rng.random() < 0.01
                n = int(name[3:])
                target = Target(name=name, host="127.0.0.1", port=22, platform="cisco_xe", site=f"SITE-{n % 80:03d}",
                                contract_site_ids=(f"555{n % 80:05d}",))
                # The last night upgrades half the fleet: a diff full of version changes.
                version = "17.12.4" if s == scans and hash(name) % 2 else "17.9.4"
                records = None if failed else DeviceRecords(
                    facts=DeviceFacts(device=name, platform="cisco_xe", hostname=name, os_version=version,
                                      version=version, chassis_pid=parts[0][1], chassis_serial=parts[0][0]),
                    components=[Component(name, f"slot {k + 1}", "", pid, pid, "V01", serial, serial, "module",
                                          transport="ssh") for k, (serial, pid) in enumerate(parts)])
                store.save_device(scan, target, status="failed" if failed else "ok", transport="ssh",
                                  records=records, error_kind="timeout" if failed else None,
                                  error="hung" if failed else None, started=started, ended=started + 5, attempts=1)
        store.end_scan(scan, "completed")
    store.close()
    return [p for parts in fleet.values() for p in parts], replaced


def timed(label: str, fn):
    t = time.perf_counter()
    result = fn()
    print(f"  {label:<28} {time.perf_counter() - t:8.2f} s" + (f"  ({len(result):,})" if hasattr(result, "__len__") else ""))
    return result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=20_000)
    ap.add_argument("--scans", type=int, default=30)
    ap.add_argument("--items", type=int, default=5, help="contractable components per device")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--keep", help="build the store (and reports) in this directory and keep them")
    args = ap.parse_args(argv)

    tmp = tempfile.TemporaryDirectory(prefix="ibagent-store-")
    work = Path(args.keep) if args.keep else Path(tmp.name)
    work.mkdir(parents=True, exist_ok=True)
    db = work / "bench.db"
    if db.exists():
        db.unlink()
    t = time.perf_counter()
    items, replaced = build(db, args.devices, args.scans, args.items, args.seed)
    print(f"built {args.scans} scans x {args.devices:,} devices x {args.items} items in {time.perf_counter() - t:.1f}s: "
          f"{db.stat().st_size / 2**20:.0f} MiB")

    contracts = work / "coverage.csv"
    with contracts.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["serialNumber", "productId", "coverageStartDate", "coverageEndDate", "contractNumber",
                      "serviceLevel", "installedatSiteId"])
        # Most of the fleet, the parts replaced over the months (still paid for), and serials
        # never seen: the last two are what history is looked up for.
        never = [(f"JAE{i:08d}", PIDS[i % len(PIDS)]) for i in range(len(items) // 50)]
        for i, (serial, pid) in enumerate(items + replaced + never):
            if i % 10 or i >= len(items):
                out.writerow([serial, pid, "2025-06-01", "2026-12-31", f"2098{i % 500:05d}", "SNT", "55500001"])

    from datetime import date

    from agent.store import fleet as history
    from agent.contracts import load_contracts
    from agent.reconcile import reconcile
    from agent.reports import write_reconcile_reports
    from agent.store import Store

    store = Store(db)
    print("the steps of 'ibagent reconcile', in process (latest scan):")
    timed("snapshot_devices", store.snapshot_devices)
    fleet = timed("fleet_items", lambda: history.fleet_items(store))
    states = timed("device_states", lambda: history.device_states(store))
    timed("seen_history (every item)", lambda: history.seen_history(store))
    timed("walk_history (every row)", lambda: history.walk_history(store, store.latest_scan_id()))
    lines = timed("load_contracts", lambda: load_contracts(contracts).lines)
    carried = {(i.serial, i.base_pid) for i in fleet}
    absent = {ln.serial for ln in lines if (ln.serial, ln.base_pid) not in carried}
    seen = timed("seen_history (absent serials)", lambda: history.seen_history(store, serials=absent))
    rows = timed("reconcile", lambda: reconcile(fleet, states, lines, None, date(2026, 1, 15), 90, seen))
    if args.scans >= 2:
        timed("diff (last two scans)", lambda: history.diff(store, args.scans - 1, args.scans))
        timed("trueup (since scan 1)", lambda: history.trueup(store, 1))
    for fmt in ("table", "csv", "json", "xlsx"):
        timed(f"reports: {fmt}", lambda: write_reconcile_reports(rows, work / "inproc", formats=[fmt]))
    store.close()
    out_dir = work / "reports"
    cmd = [sys.executable, "-m", "agent.cli", "reconcile", "--db", str(db), "--contracts", str(contracts),
           "--as-of", "2026-01-15", "--out", str(out_dir)]
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    print(f"  {'ibagent reconcile --out':<28} {time.perf_counter() - t:8.2f} s  (exit {proc.returncode}; "
          f"{proc.stderr.strip().splitlines()[0] if proc.stderr.strip() else ''})")
    if proc.returncode not in (0, 1):
        print(proc.stderr, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
