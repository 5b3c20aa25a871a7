"""Benchmark: the cost of saving one device while a big scan runs (issue 15, item 0).

    python bench/store_writes.py [--devices 20000] [--items 5]
    python bench/store_writes.py --batch 32 [--devices 4000] [--items 10]

Saves ``--devices`` devices of ``--items`` contractable components each into one running scan
through ``Store.save_device`` (what the scan does per device), twice, side by side in one run:
with today's per-device sightings statement, and with the previous release's single statement
"(? IS NULL OR device = ?)" (the baseline).  Prints the mean time per save for each tenth of the
scan: flat means linear, rising means each save walks the scan so far (quadratic).  CPU time of
this process (the machine is shared).  Since schema v11 components is a view over the item sets,
so the baseline statement reads the view: it still shows what walking the scan costs.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

# The previous release's statement (7198eac .. 81795c6), kept here as the baseline.
BASELINE_SQL = """
INSERT INTO sightings(serial, base_pid, first_scan, first_id, last_scan, last_id, last_device, last_name)
SELECT serial, base_pid, scan_id, id, scan_id, id, device, name FROM components
WHERE scan_id = ? AND (? IS NULL OR device = ?) AND contractable = 1 AND serial != '' ORDER BY id
ON CONFLICT(serial, base_pid) DO UPDATE SET last_scan = excluded.last_scan, last_id = excluded.last_id,
    last_device = excluded.last_device, last_name = excluded.last_name
WHERE excluded.last_id > sightings.last_id
"""


def _baseline_record_sightings(store, scan_id, device=None):
    store.db.execute(BASELINE_SQL, (scan_id, device, device))


def run(path: Path, devices: int, items: int, baseline: bool) -> list[float]:
    from agent.store import Store
    from _synthetic import save_device

    store = Store(path)
    if baseline:
        store.record_sightings = lambda scan_id, device=None: _baseline_record_sightings(store, scan_id, device)
    scan = store.begin_scan("bench", {}, devices)
    tenth = max(1, devices // 10)
    means, t0 = [], time.process_time()
    for d in range(devices):
        with store.transaction():
            save_device(store, scan, d, items, [])
        if (d + 1) % tenth == 0:
            now = time.process_time()
            means.append((now - t0) / tenth * 1000)
            t0 = now
    store.close()
    return means


def run_batched(path: Path, devices: int, items: int, batch: int) -> tuple[float, float]:
    from agent.store import Store
    from _synthetic import save_device

    store = Store(path)
    scan = store.begin_scan("bench", {}, devices)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for first in range(0, devices, batch):
        with store.transaction():
            for d in range(first, min(devices, first + batch)):
                name = f"sw{d:05d}"
                save_device(store, scan, d, items, [(f"show thing {k}", f"{name} output {k} " + "x" * 3000,
                                                     f"{name} raw {k} ".encode() + b"y" * 3000) for k in range(8)])
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    store.close()
    return cpu / devices * 1000, wall / devices * 1000


def main_batched(args) -> int:
    import statistics

    seen: dict[int, list[tuple[float, float]]] = {1: [], args.batch: []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(3):
            for k in seen:
                seen[k].append(run_batched(Path(tmp) / f"r{r}-b{k}.db", args.devices, args.items, k))
    print(f"{args.devices:,} devices (8 captures, {args.items} items each) saved into one scan, median of 3 rounds:")
    for k, runs in seen.items():
        print(f"  {k:>3} device(s) per transaction: CPU {statistics.median(c for c, _ in runs):.2f} ms/device, "
              f"wall {statistics.median(w for _, w in runs):.2f} ms/device")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=20_000)
    ap.add_argument("--items", type=int, default=5, help="contractable components per device")
    ap.add_argument("--batch", type=int, default=0, help="compare K devices per transaction with one (group commit)")
    args = ap.parse_args(argv)
    if args.batch:
        return main_batched(args)
    with tempfile.TemporaryDirectory() as tmp:
        now = run(Path(tmp) / "now.db", args.devices, args.items, baseline=False)
        before = run(Path(tmp) / "before.db", args.devices, args.items, baseline=True)
    print(f"save_device, {args.devices:,} devices x {args.items} items in one scan: ms per save, by tenth of the scan")
    print(f"  {'tenth':>5} {'this tree':>10} {'baseline':>10}")
    for i, (a, b) in enumerate(zip(now, before), 1):
        print(f"  {i:>5} {a:10.3f} {b:10.3f}")
    print(f"  whole scan: {sum(now) * args.devices / 10 / 1000:.1f} s vs {sum(before) * args.devices / 10 / 1000:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
