"""Benchmark: how the store grows over nightly scans of a fleet that does not change (issue 15 item 4).

    python bench/store_growth.py [--items 100000] [--devices 20000] [--scans 30] [--churn 0,1]
                                 [--captures 0] [--baseline-rev d44129a] [--skip-baseline]

Saves ``--scans`` nightly scans of ``--devices`` devices holding ``--items`` items between them,
through ``Store.save_device`` (and ``save_captures`` with ``--captures K`` captures per device,
their outputs unchanged night after night), once per churn rate (percent of the items replaced by
new serials each night; 0 is the unchanged fleet of the target), in this tree and in the previous
layout (the tree at ``--baseline-rev``, extracted with ``git archive``: one component row per item
per scan).  Each tree runs in its own child process with its own code on ``sys.path``.

Prints the store's size (file + WAL after a checkpoint) after every 5 scans, side by side, where
the bytes are at the end (``dbstat``), then the time of the reads ``ibagent reconcile`` makes
(agent/reconcile/from_store.py: snapshot, fleet items, device state, history of the serials a
contract names that the fleet does not carry) on each tree's own store.  Figures, not a timed
test: bench/README.md records them.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE_REV = "d44129a"  # the last commit of the v10 layout (a component row per item per scan)
TARGET_MIB = 150.0        # issue 15: 30 nightly scans of an unchanged 100k-item fleet
PIDS = ["C9300-48P", "C9300-NM-8X", "PWR-C1-715WAC", "SFP-10G-SR", "GLC-TE", "N9K-C93180YC-FX"]


# ------------------------------------------------------------------ the child: one tree, one store

def _size(store) -> int:
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    wal = Path(str(store.path) + "-wal")
    return store.path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def _fleet(devices: int, items: int) -> dict[str, list[list[str]]]:
    """device -> [[serial, pid], ...]: ``items`` spread over ``devices`` (the first gets the rest)."""
    per, extra = divmod(items, devices)
    fleet, n = {}, 0
    for d in range(devices):
        parts = []
        for k in range(per + (1 if d < extra else 0)):
            n += 1
            parts.append([f"FOC{n:08d}", PIDS[k % len(PIDS)]])
        fleet[f"sw{d:05d}"] = parts
    return fleet


def child_build(args) -> None:
    from agent.core.models import Capture, Component, DeviceFacts, DeviceRecords, Target
    from agent.store import Store

    rng = random.Random(args.seed)
    fleet = _fleet(args.devices, args.items)
    replaced: list[list[str]] = []
    next_serial = args.items
    store = Store(Path(args.db))
    t0 = time.perf_counter()
    for s in range(1, args.scans + 1):
        if args.churn:
            for _ in range(int(args.items * args.churn / 100)):
                parts = fleet[f"sw{rng.randrange(args.devices):05d}"]
                if parts:
                    k = rng.randrange(len(parts))
                    replaced.append(parts[k][:])
                    next_serial += 1
                    parts[k][0] = f"JAE{next_serial:08d}"
        scan = store.begin_scan("bench", {}, args.devices)
        night = 1_760_000_000.0 + s * 86400  # real timestamps: a device row stores them as 8-byte reals
        # One transaction per 500 devices, as the scan's writer batches: the size is the same
        # as one per device, the bench just runs faster.
        names = list(fleet)
        for start in range(0, len(names), 500):
            with store.transaction():
                for name in names[start:start + 500]:
                    d = int(name[2:])
                    target = Target(name=name, host="127.0.0.1", port=22, platform="cisco_xe",
                                    site=f"SITE-{d % 80:03d}", contract_site_ids=(f"555{d % 80:05d}",))
                    began = night + d * 0.05
                    caps = [Capture(name, "cisco_xe", "ssh", f"show bench {k}",
                                    f"{name} output {k}\n" + "line of text\n" * 20, began + k, began + k + 0.2)
                            for k in range(args.captures)]
                    store.save_captures(scan, caps)
                    parts = fleet[name]
                    comps = [Component(name, f"slot {k + 1}", "bench item", pid, pid, "V01", serial, serial, "module",
                                       transport="ssh", capture_id=caps[-1].id if caps else None)
                             for k, (serial, pid) in enumerate(parts)]
                    facts = DeviceFacts(device=name, platform="cisco_xe", hostname=name, os_version="17.09.04a",
                                        version="17.9.4a", chassis_pid=parts[0][1] if parts else "",
                                        chassis_serial=parts[0][0] if parts else "", uptime="5 weeks, 2 days")
                    store.save_device(scan, target, status="ok", transport="ssh",
                                      records=DeviceRecords(facts=facts, components=comps), error_kind=None,
                                      error=None, started=began, ended=began + 2.5, attempts=1)
        store.end_scan(scan, "completed")
        if s % 5 == 0 or s == args.scans:
            print(json.dumps({"scan": s, "bytes": _size(store), "seconds": round(time.perf_counter() - t0, 1)}),
                  flush=True)
    tables = {}
    try:
        for name, size in store.db.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"):
            tables[name] = size
    except Exception:  # noqa: BLE001 - an SQLite built without dbstat: no breakdown
        pass
    store.close()
    absent = [p[0] for p in replaced][: 2000] + [f"NEVER{i:06d}" for i in range(2000)]
    print(json.dumps({"tables": tables, "absent": absent}), flush=True)


def child_reads(args) -> None:
    from agent.store import Store
    from agent.store import fleet as history

    absent = json.loads(Path(args.absent).read_text())
    store = Store(Path(args.db), readonly=True)
    out = {}
    for label, fn in (("snapshot_devices", store.snapshot_devices),
                      ("fleet_items", lambda: history.fleet_items(store)),
                      ("device_states", lambda: history.device_states(store)),
                      ("seen_history (absent serials)", lambda: history.seen_history(store, serials=absent)),
                      ("seen_history (every item)", lambda: history.seen_history(store))):
        best = None
        for _ in range(args.repeat):
            t = time.process_time()  # CPU seconds: the machine is shared, wall time is not this code's
            fn()
            took = time.process_time() - t
            best = took if best is None else min(best, took)
        out[label] = best
    store.close()
    print(json.dumps({"reads": out}), flush=True)


# ------------------------------------------------------------------ the parent

def _run_child(tree: Path, argv: list[str]) -> list[dict]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), *argv], env=env, cwd=tree,
                          capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"child in {tree} failed:\n{proc.stderr[-3000:]}")
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def _extract(rev: str, into: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def _mib(n: int) -> str:
    return f"{n / 2**20:8.1f}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=100_000, help="items in the fleet (default 100,000)")
    ap.add_argument("--devices", type=int, default=20_000, help="devices holding them (default 20,000)")
    ap.add_argument("--scans", type=int, default=30, help="nightly scans (default 30)")
    ap.add_argument("--churn", default="0,1", help="percent of items replaced each night, comma-separated "
                    "(default 0,1: the unchanged fleet, then 1 %% churn)")
    ap.add_argument("--captures", type=int, default=0, help="captures saved per device per scan, outputs "
                    "unchanged (default 0: devices and items only, as the issue's 500 MiB was measured)")
    ap.add_argument("--baseline-rev", default=BASELINE_REV, help="git revision of the previous layout "
                    f"(default {BASELINE_REV}, the last v10 commit)")
    ap.add_argument("--skip-baseline", action="store_true", help="this tree only")
    ap.add_argument("--keep", metavar="DIR", help="build the stores in DIR and keep them (for profiling reads)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each read; the best is shown (default 3)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--child", choices=("build", "reads"), help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    ap.add_argument("--absent", help=argparse.SUPPRESS)
    ap.add_argument("--churn-one", type=float, default=0.0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        args.churn = args.churn_one
        (child_build if args.child == "build" else child_reads)(args)
        return 0

    churns = [float(x) for x in args.churn.split(",") if x.strip()]
    with tempfile.TemporaryDirectory(prefix="ibagent-growth-") as tmp:
        work = Path(tmp)
        stores = Path(args.keep).resolve() if args.keep else work
        stores.mkdir(parents=True, exist_ok=True)
        trees = {"this tree": ROOT}
        if not args.skip_baseline:
            base = work / "base"
            base.mkdir()
            trees[f"v10 ({args.baseline_rev})"] = _extract(args.baseline_rev, base)
        print(f"{args.scans} nightly scans of {args.items:,} items on {args.devices:,} devices, "
              f"{args.captures} capture(s) per device; store size in MiB (file + WAL)")
        for churn in churns:
            results = {}
            for label, tree in trees.items():
                db = stores / f"{label.split()[0]}-{churn:g}.db"
                if db.exists():
                    db.unlink()
                lines = _run_child(tree, ["--child", "build", "--db", str(db), "--items", str(args.items),
                                          "--devices", str(args.devices), "--scans", str(args.scans),
                                          "--captures", str(args.captures), "--churn-one", str(churn),
                                          "--seed", str(args.seed)])
                absent = stores / "absent.json"
                absent.write_text(json.dumps(lines[-1]["absent"]))
                reads = _run_child(tree, ["--child", "reads", "--db", str(db), "--absent", str(absent),
                                          "--repeat", str(args.repeat)])[-1]["reads"]
                results[label] = (lines[:-1], lines[-1]["tables"], reads)
                if not args.keep:
                    db.unlink()
            labels = list(results)
            print(f"\nchurn {churn:g} % of the items per night")
            print(f"  {'after scan':>10} " + " ".join(f"{x:>18}" for x in labels))
            for i, row in enumerate(results[labels[0]][0]):
                print(f"  {row['scan']:>10} " + " ".join(f"{_mib(results[x][0][i]['bytes']):>18}" for x in labels))
            final = results[labels[0]][0][-1]["bytes"] / 2**20
            if churn == 0 and args.items == 100_000 and args.scans == 30:
                print(f"  target < {TARGET_MIB:.0f} MiB: {'met' if final < TARGET_MIB else 'NOT met'} ({final:.1f} MiB)")
            print("  where the bytes are at the end (MiB, largest first):")
            for label in labels:
                top = sorted(results[label][1].items(), key=lambda kv: -kv[1])[:8]
                print(f"    {label}: " + ", ".join(f"{k} {v / 2**20:.1f}" for k, v in top))
            print("  reconcile's store reads (CPU seconds, best of %d):" % args.repeat)
            for step in results[labels[0]][2]:
                print(f"    {step:<32} " + " ".join(f"{results[x][2][step]:>10.3f}" for x in labels))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
