"""Benchmark: contract reconciliation at estate scale, ibagent vs a pandas merge of the same data.

    python bench/reconcile.py [--items 100000] [--lines 120000] [--seed 7] [--keep DIR]
    python bench/reconcile.py --end-to-end [...]   # 'ibagent reconcile --out' beside the release: reconcile_e2e.py

Generates a seeded fleet (FleetItem objects, as the store would hand them over) and contract
lines written as a CX Cloud coverage CSV, then runs each contender in its own subprocess, twice:
once for wall time and peak RSS (``resource.getrusage``), once under ``tracemalloc`` for the
Python-heap peak (tracing slows code down, so its run is not timed).  Separate processes keep one
contender's memory from showing up in the other's figures.

ibagent: ``load_contracts`` (CSV -> ContractLine) + ``reconcile`` (all eight statuses, reasons,
evidence, scope checks, rma-swap pairing, EoX); the two phases are also printed apart.
pandas:  ``read_csv`` + key normalisation + a DataFrame of the fleet + outer merge on
(serial, base_pid) + per-key status by vectorised date comparison (covered / expiring / lapsed /
uncovered / not-seen only: no scope checks, no reasons), i.e. less work than ibagent does.
floor:   the bare minimum that returns one Python row object per item (``run_floor``): a
         yardstick for what materialising rows costs in CPython, not a reconciler.

Timed runs alternate between contenders round by round and ratios are medians of the rounds'
pairs: this machine's speed drifts by tens of percent within a minute.
"""
from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

AS_OF = date(2026, 1, 15)
HEADER = ["serialNumber", "productId", "productFamily", "coverageStatus", "contractInstanceNumber",
          "parentContractInstanceId", "coverageStartDate", "coverageEndDate", "contractNumber", "serviceLevel",
          "slaType", "serviceProgram", "installedatSiteId", "installedatSiteName", "installedatCity",
          "installedatCountry"]
# (PID, class, how many per device on average): a realistic access/distribution mix.
PIDS = [
    ("C9300-48P", "stack-member", 1.2), ("C9300-24P", "stack-member", 0.6), ("C9200L-48P-4G", "chassis", 0.5),
    ("WS-C3850-48P-S", "stack-member", 0.4), ("C9500-24Y4C", "chassis", 0.1), ("N9K-C93180YC-FX", "chassis", 0.2),
    ("ISR4331/K9", "chassis", 0.1), ("C9300-NM-8X", "module", 1.2), ("C9300-NM-4G", "module", 0.5),
    ("PWR-C1-715WAC", "psu", 2.0), ("PWR-C1-1100WAC", "psu", 1.0), ("C9K-PWR-650WAC-R", "psu", 0.3),
    ("STACK-T1-50CM", "other", 1.0), ("SFP-10G-SR", "optic", 6.0), ("SFP-10G-LR", "optic", 2.0),
    ("GLC-TE", "optic", 3.0), ("QSFP-40G-SR4", "optic", 0.6), ("N2K-C2248TP-E-1GE", "fex", 0.2),
    ("C9300-48P-A", "stack-member", 0.05), ("ASR1001-X", "chassis", 0.05),
]
SITE_CODES = ["FOC", "FDO", "FCW", "JAE", "SAL", "SAD", "FHK", "FXS", "JMX", "LIT", "DTM", "FOX"]


def _serial(rng: random.Random, used: set[str]) -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
    while True:
        s = (rng.choice(SITE_CODES) + f"{rng.randint(12, 29):02d}{rng.randint(1, 52):02d}"
             + "".join(rng.choice(alphabet) for _ in range(4)))
        if s not in used:
            used.add(s)
            return s


def generate(items: int, n_lines: int, seed: int):
    """(fleet, devices, history, contract rows, eox records).  Deterministic for a seed."""
    from agent.reconcile import DeviceScanState, FleetItem, SeenHistory

    rng = random.Random(seed)
    used: set[str] = set()
    n_sites = 80
    sites = [(f"555{i:05d}", f"SITE-{i:03d}") for i in range(n_sites)]
    weights = [w for _, _, w in PIDS]
    per_device = sum(weights)
    n_devices = max(1, int(items / per_device))
    devices, fleet = [], []
    scanned = datetime(2026, 1, 14, 2, 0)
    for d in range(n_devices):
        site_id, site_name = sites[d % n_sites]
        name = f"dev{d:05d}"
        roll = rng.random()
        clean = roll > 0.03
        last_clean = None if roll < 0.01 else (scanned if clean else scanned - timedelta(days=rng.randint(1, 200)))
        devices.append(DeviceScanState(name, site_name, (site_id,), last_clean, clean, 42))
    slot_counter: dict[str, int] = {}
    while len(fleet) < items:
        dev = devices[len(fleet) % n_devices]
        pid, cls, _ = rng.choices(PIDS, weights)[0]
        k = slot_counter.get(dev.device, 0) + 1
        slot_counter[dev.device] = k
        pid_read = pid + "=" if rng.random() < 0.01 else pid
        fleet.append(FleetItem(_serial(rng, used), pid_read.rstrip("="), pid_read, dev.device, dev.device,
                               dev.site, cls, f"{cls} {k}", "", 42, 1000 + len(fleet), f"slot {k}"))

    rows: list[list[str]] = []
    site_of = {d.device: d.contract_site_ids[0] for d in devices}

    def line(serial, pid, start, end, contract, site_id, status="ACTIVE"):
        rows.append([serial, pid, pid.split("-")[0], status, str(10_000_000 + len(rows)), "",
                     start.isoformat(), end.isoformat(), contract, "SNT", "8X5XNBD", "SNTC", site_id,
                     "EXAMPLE", "SPRINGFIELD", "US"])

    def days(n):
        return AS_OF + timedelta(days=n)

    uncovered = []
    for item in fleet:
        if len(rows) >= n_lines * 0.8:
            uncovered.append(item)
            continue
        site_id = site_of[item.device]
        contract = f"2098{rng.randint(0, 999):05d}"
        pid = item.pid
        if rng.random() < 0.015 and item.cls in ("chassis", "stack-member"):
            pid = item.base_pid + "-A"  # orderable PID on the contract: serial-only match
        r = rng.random()
        if r < 0.62:
            line(item.serial, pid, days(-rng.randint(1, 300)), days(rng.randint(91, 700)), contract, site_id)
        elif r < 0.70:
            line(item.serial, pid, days(-rng.randint(200, 300)), days(rng.randint(0, 90)), contract, site_id)
        elif r < 0.77:
            line(item.serial, pid, days(-700), days(-rng.randint(1, 300)), contract, site_id, "EXPIRED")
        elif r < 0.82:
            line(item.serial, pid, days(-730), days(-366), contract, site_id, "EXPIRED")
            line(item.serial, pid, days(-365), days(rng.randint(10, 400)), contract, site_id)
        elif r < 0.85:
            end = days(rng.randint(5, 200))
            line(item.serial, pid, days(-300), end, contract, site_id)
            line(item.serial, pid, end + timedelta(days=1), end + timedelta(days=365), contract, site_id)
        else:
            uncovered.append(item)

    history = {}
    # RMA swaps: an uncovered item took the slot of a serial still on contract.
    for item in rng.sample(uncovered, min(500, len(uncovered))):
        gone = _serial(rng, used)
        line(gone, item.pid, days(-100), days(265), "209800001", site_of[item.device])
        history[(gone, item.base_pid)] = SeenHistory(datetime(2025, 1, 1), datetime(2025, 12, 1), item.device,
                                                     item.slot)
    # On contract, not in the snapshot: some seen before (history), most never.
    while len(rows) < n_lines:
        pid = rng.choices(PIDS, weights)[0][0]
        serial = _serial(rng, used)
        dev = rng.choice(devices)
        end = days(rng.randint(-30, 600))
        line(serial, pid, min(days(-rng.randint(1, 300)), end - timedelta(days=30)), end, "209800002",
             dev.contract_site_ids[0])
        if rng.random() < 0.3:
            history[(serial, pid)] = SeenHistory(datetime(2024, 6, 1), datetime(2025, 6, 1), dev.device, "slot 1")
    rng.shuffle(rows)

    eox = [(pid, date(2025, 10, 31), date(2025, 1, 28)) for pid in ("WS-C3850-48P-S", "N2K-C2248TP-E-1GE")]
    return fleet, devices, history, rows, eox


def write_csv(path: Path, rows) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(HEADER)
        out.writerows(rows)


# ------------------------------------------------------------ contenders (run in a subprocess)


def run_ibagent(csv_path: str, fleet, devices, history, eox_rows):
    from agent.contracts import EoxIndex, EoxRecord, load_contracts
    from agent.reconcile import count_by_status, reconcile

    t0 = time.perf_counter()
    load = load_contracts(csv_path)
    t1 = time.perf_counter()
    if load.errors:
        raise SystemExit(f"unexpected load errors: {load.errors[:3]}")
    eox = EoxIndex(EoxRecord(pid, last_date_of_support=ldos, end_of_service_contract_renewal=eoscr)
                   for pid, ldos, eoscr in eox_rows)
    rows = reconcile(fleet, devices, load.lines, eox, AS_OF, history=history)
    counts = count_by_status(rows)
    return len(rows), counts, {"load": t1 - t0, "reconcile": time.perf_counter() - t1}


def run_pandas(csv_path: str, fleet, devices, history, eox_rows):
    import numpy as np
    import pandas as pd

    lines = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    lines["serial"] = lines["serialNumber"].str.strip().str.upper()
    lines["base_pid"] = lines["productId"].str.strip().str.upper().str.rstrip("=")
    lines["start"] = pd.to_datetime(lines["coverageStartDate"], format="%Y-%m-%d", errors="coerce")
    lines["end"] = pd.to_datetime(lines["coverageEndDate"], format="%Y-%m-%d", errors="coerce")
    seen = pd.DataFrame({
        "serial": [f.serial for f in fleet], "base_pid": [f.base_pid for f in fleet],
        "device": [f.device for f in fleet], "site": [f.site for f in fleet],
    })
    seen["seen"] = True
    merged = seen.merge(lines[["serial", "base_pid", "start", "end", "contractNumber"]],
                        on=["serial", "base_pid"], how="outer")
    merged["seen"] = merged["seen"].fillna(False).astype(bool)
    as_of = pd.Timestamp(AS_OF)
    active = (merged["start"] <= as_of) & (merged["end"] >= as_of)
    merged["active_end"] = merged["end"].where(active)
    per_key = merged.groupby(["serial", "base_pid"], sort=False).agg(
        seen=("seen", "max"), active_end=("active_end", "max"), any_end=("end", "max"))
    window = as_of + pd.Timedelta(days=90)
    status = np.select(
        [~per_key["seen"] & per_key["active_end"].notna(),
         per_key["seen"] & per_key["active_end"].notna() & (per_key["active_end"] <= window),
         per_key["seen"] & per_key["active_end"].notna(),
         per_key["seen"] & per_key["any_end"].notna(),
         per_key["seen"]],
        ["not-seen", "expiring", "covered", "lapsed", "uncovered"], default="other")
    counts = pd.Series(status).value_counts().to_dict()
    return len(per_key), {str(k): int(v) for k, v in counts.items()}


def run_floor(csv_path: str, fleet, devices, history, eox_rows):
    """The least that any implementation returning one Python object per row must do: split the
    CSV into cells, one record object per contract line, a dict join on (serial, PID), one row
    object per item and per unmatched key with a one-line reason.  No validation (trimming,
    serial and PID rules, formulas, row-precise errors), no date-format decision, no second line
    per key, no EoX, no scope or history check, no RMA pairing: not a reconciler, a yardstick.
    It shows how much of ibagent's time is the price of materialising rows in CPython at all."""
    from agent.contracts import paused_gc

    with paused_gc():  # ibagent's own trick, so that the yardstick is not slowed by the collector
        return _floor(csv_path, fleet)


def _floor(csv_path: str, fleet):
    from agent.contracts import ContractLine
    from agent.reconcile import ReconRow

    text = Path(csv_path).read_text(encoding="utf-8")
    cells = text[text.find("\n") + 1:].rstrip("\n").replace("\n", ",").split(",")
    width = len(HEADER)
    cols = [cells[i::width] for i in range(width)]
    del cells
    day = {s: date.fromisoformat(s) for s in set(cols[6]) | set(cols[7])}
    n = len(cols[0])
    lines = list(map(ContractLine, cols[0], cols[1], cols[1], cols[8], cols[9], map(day.__getitem__, cols[6]),
                     map(day.__getitem__, cols[7]), cols[3], [True] * n, cols[4], cols[5], [""] * n, cols[12],
                     cols[13], [None] * n, [None] * n, [False] * n, [csv_path] * n, range(2, n + 2)))
    by_key = {}
    for ln in lines:
        by_key[(ln.serial, ln.base_pid)] = ln
    rows = []
    for it in fleet:
        ln = by_key.pop((it.serial, it.base_pid), None)
        if ln is None:
            rows.append(ReconRow("uncovered", it.serial, it.base_pid, it.pid, True, it.device, it.hostname, it.site,
                                 it.cls, it.name, it.slot, reasons=("on no contract line",)))
        else:
            rows.append(ReconRow(
                "covered" if ln.end >= AS_OF else "lapsed", it.serial, it.base_pid, it.pid, True, it.device,
                it.hostname, it.site, it.cls, it.name, it.slot, ln.contract_number, ln.service_level, ln.start,
                ln.end, ln.site_id, None, "serial+pid", "", (), it.scan_id, it.capture_id, ln.source_file,
                ln.source_row, (), (f"contract {ln.contract_number} until {ln.end} [{ln.source_file}:{ln.source_row}]",)))
    for (serial, base), ln in by_key.items():
        rows.append(ReconRow("not-seen", serial, base, ln.pid, False, "", "", ln.site_name, "", "", "",
                             ln.contract_number, ln.service_level, ln.start, ln.end, ln.site_id, None, "", "", (),
                             None, None, ln.source_file, ln.source_row, (), (f"contract {ln.contract_number}",)))
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.status] = counts.get(r.status, 0) + 1
    return len(rows), counts


def worker(args) -> None:
    # Each contender's own imports are timed apart from the work.  ibagent's come first: the
    # generator builds the fleet from its classes, so timed after it they would read as free.
    t_import = time.perf_counter()
    if args.contender in ("ibagent", "floor"):
        import agent.contracts  # noqa: F401  (EoX too)
        import agent.reconcile  # noqa: F401
    import_seconds = time.perf_counter() - t_import
    fleet, devices, history, _, eox_rows = generate(args.items, args.lines, args.seed)
    if args.contender == "pandas":
        t_import = time.perf_counter()
        import numpy  # noqa: F401
        import pandas  # noqa: F401
        import_seconds = time.perf_counter() - t_import
    fn = {"pandas": run_pandas, "floor": run_floor, "ibagent": run_ibagent}[args.contender]
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if args.measure == "trace":
        import gc
        import tracemalloc

        gc.collect()
        tracemalloc.start()
        n, counts, *_ = fn(args.csv, fleet, devices, history, eox_rows)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(json.dumps({"heap_peak_mib": peak / 2**20, "rows": n}))
        return
    t0 = time.perf_counter()
    n, counts, *phases = fn(args.csv, fleet, devices, history, eox_rows)
    seconds = time.perf_counter() - t0
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB -> MiB
    print(json.dumps({"seconds": seconds, "import_seconds": import_seconds, "rss_peak_mib": rss_peak,
                      "rss_before_mib": rss_before, "rows": n, "statuses": counts,
                      "phases": phases[0] if phases else {}}))


def spawn(contender: str, measure: str, csv_path: Path, args) -> dict:
    cmd = [sys.executable, __file__, "--worker", contender, "--measure", measure, "--csv", str(csv_path),
           "--items", str(args.items), "--lines", str(args.lines), "--seed", str(args.seed)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"{contender}/{measure} failed:\n{proc.stderr}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_seconds"] = time.perf_counter() - t0
    return out


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--end-to-end" in argv:  # the whole command from a store, beside the previous release
        from reconcile_e2e import main as end_to_end

        return end_to_end([a for a in argv if a != "--end-to-end"])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--lines", type=int, default=120_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep", help="write the CSV here and keep it")
    ap.add_argument("--skip-pandas", action="store_true", help="when pandas is not installed")
    ap.add_argument("--skip-floor", action="store_true", help="leave out the row-materialising yardstick")
    ap.add_argument("--repeat", type=int, default=5,
                    help="timed rounds; each runs every contender once, in alternating order (median reported)")
    ap.add_argument("--worker", choices=("ibagent", "pandas", "floor"), dest="contender", help=argparse.SUPPRESS)
    ap.add_argument("--measure", choices=("time", "trace"), default="time", help=argparse.SUPPRESS)
    ap.add_argument("--csv", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.contender:
        worker(args)
        return 0

    tmp = tempfile.TemporaryDirectory(prefix="ibagent-bench-")
    out_dir = Path(args.keep) if args.keep else Path(tmp.name)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / "coverage.csv"
    t0 = time.perf_counter()
    fleet, _, _, rows, _ = generate(args.items, args.lines, args.seed)
    write_csv(csv_path, rows)
    print(f"generated {len(fleet):,} fleet items and {len(rows):,} contract lines "
          f"({csv_path.stat().st_size / 2**20:.1f} MiB CSV) in {time.perf_counter() - t0:.1f}s")
    del fleet, rows

    contenders = ["ibagent"] + ([] if args.skip_pandas else ["pandas"]) + ([] if args.skip_floor else ["floor"])
    # The contenders' timed runs alternate (A B, B A, A B, ...): on a shared machine whose speed
    # drifts by tens of percent within a minute, runs of one contender back to back would be
    # compared with the other's under different conditions.  Each round gives one paired ratio.
    timed: dict[str, list[dict]] = {c: [] for c in contenders}
    for r in range(args.repeat):
        for c in (contenders if r % 2 == 0 else contenders[::-1]):
            timed[c].append(spawn(c, "time", csv_path, args))
    results: dict[str, dict] = {}
    for c, runs in timed.items():
        by_time = sorted(runs, key=lambda r: r["seconds"])
        med = by_time[len(by_time) // 2]
        results[c] = {**med, "min_seconds": by_time[0]["seconds"], "max_seconds": by_time[-1]["seconds"],
                      "rss_peak_mib": max(r["rss_peak_mib"] for r in runs),
                      **spawn(c, "trace", csv_path, args)}
    print(f"\n{'contender':<10} {'work s (median, min-max)':>26} {'+imports s':>11} {'peak RSS MiB':>13} "
          f"{'RSS before':>11} {'heap peak MiB':>14} {'rows':>8}")
    for c, r in results.items():
        spread = f"{r['seconds']:.2f} ({r['min_seconds']:.2f}-{r['max_seconds']:.2f})"
        print(f"{c:<10} {spread:>26} {r['seconds'] + r['import_seconds']:>11.2f} {r['rss_peak_mib']:>13.0f} "
              f"{r['rss_before_mib']:>11.0f} {r['heap_peak_mib']:>14.0f} {r['rows']:>8,}")
    phases = results["ibagent"].get("phases") or {}
    if phases:
        rest = results["ibagent"]["seconds"] - sum(phases.values())
        print("\nibagent phases (median run): " + ", ".join(f"{k} {v:.2f} s" for k, v in phases.items())
              + f", the rest (mostly freeing lines and rows on return) {rest:.2f} s")
    print("\nibagent statuses:", json.dumps(results["ibagent"]["statuses"]))
    if "pandas" in results:
        print("pandas statuses: ", json.dumps(results["pandas"]["statuses"]))
        pairs = list(zip(timed["ibagent"], timed["pandas"]))
        ratio = statistics.median(p["seconds"] / i["seconds"] for i, p in pairs)
        ratio_all = statistics.median((p["seconds"] + p["import_seconds"]) / (i["seconds"] + i["import_seconds"])
                                      for i, p in pairs)
        wins = sum(p["seconds"] > i["seconds"] for i, p in pairs)
        print(f"\nwork only: ibagent is {ratio:.2f}x pandas' speed ({'faster' if ratio > 1 else 'slower'}), "
              f"median of {len(pairs)} paired rounds, faster in {wins} of them; "
              f"with imports: {ratio_all:.2f}x ({'faster' if ratio_all > 1 else 'slower'})")
    if "floor" in results:
        for other in ("ibagent", "pandas"):
            if other in results:
                r = statistics.median(o["seconds"] / f["seconds"] for o, f in zip(timed[other], timed["floor"]))
                print(f"{other} takes {r:.2f}x the floor's time (median of paired rounds)")
        print("floor: the least any implementation returning one Python object per row does (split, one "
              "object per line, dict join, one row per item); see run_floor")
    peak = results["ibagent"]["rss_peak_mib"]
    print(f"ibagent peak RSS {peak:.0f} MiB: {'under' if peak < 1024 else 'OVER'} the 1 GiB budget")
    print("'work s' excludes interpreter start, imports and data generation; '+imports s' adds the "
          "contender's own imports; 'RSS before' is the process after generating the fleet.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
