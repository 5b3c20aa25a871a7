"""Benchmark: ``ibagent reconcile --out`` end to end at estate scale, this tree beside a release.

    python bench/reconcile.py --end-to-end [--items 100000] [--lines 120000] [--scans 30]
        [--release /work/base] [--repeat 3] [--keep DIR] [--profile]
    python bench/reconcile_e2e.py ...   (the same)

The fleet and the contract lines are bench/reconcile.py's seeded generator (every status: covered,
expiring, lapsed, uncovered, not-seen, unverified, rma-swap; stale devices; RMA history), written
into a store of ``--scans`` nightly scans, and a coverage CSV.  The store is built in the
release's own schema (the release tree creates it), so that the release reads it as it is; this
tree's copy of it is migrated once, before anything is timed.  Then, alternating round by round
(this machine's speed drifts within a minute), the whole command with every format (table, CSV,
JSON, XLSX) is run as a child process: ``python -m agent.cli reconcile --db DB --contracts CSV
--as-of 2026-01-15 --out DIR``, with ``PYTHONPATH`` at this tree or at the release.  Wall time of
the child is what a user waits for: interpreter start, imports, store reads, load, reconcile and
every report file.

After the rounds, this tree's steps are timed in process (store reads, load, reconcile, the report
writers one format at a time and all at once) so the end-to-end figure can be read as a sum; with
``--profile``, the command runs once more under cProfile and the top entries are printed.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

AS_OF = "2026-01-15"
TARGET_SECONDS = 3.0


def build_store(path: Path, release: Path, fleet, devices, history, scans: int) -> None:
    """The release creates an empty store in its schema; the rows are written here with plain
    SQL in the columns every schema since version 4 has."""
    subprocess.run([sys.executable, "-c", "import sys; from agent.store import Store; Store(sys.argv[1]).close()",
                    str(path)], check=True, env={**os.environ, "PYTHONPATH": str(release)}, cwd=str(release))
    db = sqlite3.connect(path, isolation_level=None)
    last = datetime(2026, 1, 14, 2, 0, tzinfo=timezone.utc)
    started = [(last - timedelta(days=scans - s)).timestamp() for s in range(1, scans + 1)]
    by_device: dict[str, list] = {}
    for item in fleet:
        by_device.setdefault(item.device, []).append(item)
    # History keys: an RMA'd serial sat in its slot until the scan before the last; a serial seen
    # long ago sat in scan 1 only.  (The generator's dates are not kept: the scans' are.)
    earlier: dict[int, list[tuple]] = {s: [] for s in range(1, scans + 1)}
    for (serial, base_pid), seen in history.items():
        until = scans - 1 if seen.last_seen == datetime(2025, 12, 1) else 1  # the generator's RMA date
        for s in range(1, max(until, 1) + 1):
            earlier[s].append((seen.last_device, seen.last_slot, base_pid, serial))
    states = {d.device: d for d in devices}
    db.execute("BEGIN")
    for s in range(1, scans + 1):
        db.execute("INSERT INTO scans(id, started, ended, status, inventory, options, devices_total)"
                   " VALUES (?,?,?,?,?,?,?)", (s, started[s - 1], started[s - 1] + 600, "completed", "bench", "{}",
                                              len(devices)))
        dev_rows, comp_rows = [], []
        for name, state in states.items():
            never_clean = state.last_clean_scan_at is None
            failed = s == scans and not state.latest_scan_clean and not never_clean
            problems = json.dumps(["hardware inventory partially read"] if never_clean else [])
            dev_rows.append((s, name, "127.0.0.1", 22, "cisco_xe", state.site, json.dumps(list(state.contract_site_ids)),
                             "failed" if failed else "ok", "ssh", "timeout" if failed else None,
                             "hung" if failed else None, name, "17.9.4", "17.9.4", "", "", "", "[]", problems,
                             started[s - 1], started[s - 1] + 5, 1))
            if not failed:
                comp_rows += [(s, name, it.slot, "", it.pid, it.base_pid, "V01", it.serial, it.serial, it.cls, "", 1,
                               "", 0, "ssh", None) for it in by_device.get(name, ())]
        comp_rows += [(s, dev, slot, "", pid, pid, "V01", serial, serial, "module", "", 1, "", 0, "ssh", None)
                      for dev, slot, pid, serial in earlier[s]]
        db.executemany("INSERT INTO devices(scan_id, device, host, port, platform, site, contract_site_ids, status,"
                       " transport, error_kind, error, hostname, os_version, version, chassis_pid, chassis_serial,"
                       " uptime, roles, problems, started, ended, attempts) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,"
                       "?,?,?,?)", dev_rows)
        db.executemany("INSERT INTO components(scan_id, device, name, descr, pid, base_pid, vid, serial_raw, serial,"
                       " class, parent, contractable, reason, refurbished, transport, capture_id)"
                       " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", comp_rows)
    # First and last sighting of every item, as every schema since version 4 keeps them.
    db.execute("""INSERT OR REPLACE INTO sightings(serial, base_pid, first_scan, first_id, last_scan, last_id,
                                                   last_device, last_name)
        SELECT f.serial, f.base_pid, a.scan_id, f.first_id, b.scan_id, f.last_id, b.device, b.name
        FROM (SELECT serial, base_pid, MIN(id) AS first_id, MAX(id) AS last_id FROM components
              WHERE contractable = 1 AND serial != '' GROUP BY serial, base_pid) f
        JOIN components a ON a.id = f.first_id JOIN components b ON b.id = f.last_id""")
    db.execute("COMMIT")
    db.close()


def run_command(tree: Path, db: Path, csv_path: Path, out: Path, profile: Path | None = None) -> dict:
    if out.exists():
        shutil.rmtree(out)
    prefix = [sys.executable] + (["-m", "cProfile", "-o", str(profile)] if profile else []) + ["-m", "agent.cli"]
    cmd = prefix + ["reconcile", "--db", str(db), "--contracts", str(csv_path), "--as-of", AS_OF, "--out", str(out)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=str(tree), env={**os.environ, "PYTHONPATH": str(tree)})
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the command and its forked writers
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if proc.returncode not in (0, 1):
        raise SystemExit(f"reconcile under {tree} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    counts = next((ln for ln in proc.stderr.splitlines() if ln.startswith("reconcile as of")), "")
    return {"seconds": wall, "cpu": cpu, "counts": counts, "files": len(list(out.iterdir()))}


def in_process(db: Path, csv_path: Path, out: Path) -> None:
    """This tree's steps one by one, as the command runs them."""
    from datetime import date

    from agent.contracts import load_contracts
    from agent.reconcile.rules import reconcile
    from agent.reports import write_reconcile_reports
    from agent.store import Store
    from agent.store import fleet as history

    def step(label, fn):
        t = time.perf_counter()
        result = fn()
        print(f"  {label:<34} {time.perf_counter() - t:6.2f} s")
        return result

    store = Store(db, readonly=True)
    t0 = time.perf_counter()
    fleet = step("store: fleet_items", lambda: history.fleet_items(store))
    states = step("store: device_states", lambda: history.device_states(store))
    lines = step("load_contracts (CSV)", lambda: load_contracts(csv_path).lines)
    carried = {(i.serial, i.base_pid) for i in fleet}
    absent = {ln.serial for ln in lines if (ln.serial, ln.base_pid) not in carried}
    seen = step("store: seen_history (absent serials)", lambda: history.seen_history(store, serials=absent))
    rows = step("reconcile", lambda: reconcile(fleet, states, lines, None, date.fromisoformat(AS_OF), 90, seen))
    store.close()
    for fmt in ("table", "csv", "json", "xlsx"):
        step(f"reports: {fmt} alone", lambda: write_reconcile_reports(rows, out / fmt, formats=[fmt], parallel=False))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    step("reports: every format (as the command)", lambda: write_reconcile_reports(rows, out / "all"))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # its forked writers: do they finish together?
    print(f"  {'  CPU of its forked writers':<34} {after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime:6.2f} s "
          f"(both processes; the wall above is the slower one's)")
    print(f"  {'sum of the steps above but the singles':<34} {time.perf_counter() - t0:6.2f} s (includes the singles)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--lines", type=int, default=120_000)
    ap.add_argument("--scans", type=int, default=30, help="nightly scans in the store (default 30)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--release", default="/work/base", help="the previous release's source tree (default /work/base)")
    ap.add_argument("--repeat", type=int, default=3, help="rounds; each runs this tree and the release once")
    ap.add_argument("--keep", help="build the store, CSV and reports here and keep them")
    ap.add_argument("--profile", action="store_true", help="run this tree's command once more under cProfile")
    ap.add_argument("--skip-steps", action="store_true", help="leave out the in-process step timings")
    ap.add_argument("--reuse", action="store_true", help="with --keep: use the stores and CSV built there before")
    args = ap.parse_args(argv)

    from reconcile import generate, write_csv

    release = Path(args.release).resolve()
    tmp = tempfile.TemporaryDirectory(prefix="ibagent-e2e-")
    work = Path(args.keep) if args.keep else Path(tmp.name)
    work.mkdir(parents=True, exist_ok=True)
    csv_path = work / "coverage.csv"
    release_db, this_db = work / "release.db", work / "this.db"
    if args.reuse and csv_path.exists() and release_db.exists() and this_db.exists():
        print(f"reusing {work}: {release_db.stat().st_size / 2**20:.0f} MiB store")
    else:
        t = time.perf_counter()
        fleet, devices, history, rows, _ = generate(args.items, args.lines, args.seed)
        write_csv(csv_path, rows)
        for p in (release_db, this_db):
            for suffix in ("", "-wal", "-shm"):
                Path(str(p) + suffix).unlink(missing_ok=True)
        build_store(release_db, release, fleet, devices, history, args.scans)
        del fleet, rows
        shutil.copyfile(release_db, this_db)
        built = time.perf_counter() - t
        t = time.perf_counter()
        from agent.store import Store

        Store(this_db).close()  # this tree's migrations, once, untimed in the rounds
        print(f"{args.items:,} items x {args.lines:,} lines, {args.scans} scans: built in {built:.0f} s "
              f"({release_db.stat().st_size / 2**20:.0f} MiB); migrated for this tree in {time.perf_counter() - t:.1f} s")

    runs: dict[str, list[dict]] = {"this tree": [], "release": []}
    for r in range(args.repeat):
        order = [("this tree", ROOT, this_db), ("release", release, release_db)]
        for name, tree, db in (order if r % 2 == 0 else order[::-1]):
            runs[name].append(run_command(tree, db, csv_path, work / f"out-{name.replace(' ', '-')}"))
    print(f"\n'ibagent reconcile --out' (every format), wall seconds, {args.repeat} alternating rounds:")
    med = {}
    for name, rs in runs.items():
        secs = sorted(r["seconds"] for r in rs)
        med[name] = statistics.median(secs)
        cpu = statistics.median(r["cpu"] for r in rs)
        print(f"  {name:<10} median {med[name]:6.2f}  (min {secs[0]:.2f}, max {secs[-1]:.2f}; CPU {cpu:.2f} s)  "
              f"{rs[-1]['files']} files  {rs[-1]['counts']}")
    print(f"  release / this tree: {med['release'] / med['this tree']:.2f}x; target <= {TARGET_SECONDS:.0f} s: "
          f"{'PASS' if med['this tree'] <= TARGET_SECONDS else 'FAIL'}")
    print(f"  machine load (1 min) at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores (CPU: the command "
          "and its forked report writers, user + system)")
    if not args.skip_steps:
        print("\nthis tree's steps, in process:")
        in_process(this_db, csv_path, work / "steps")
    if args.profile:
        prof = work / "reconcile.prof"
        run_command(ROOT, this_db, csv_path, work / "out-profile", profile=prof)
        import pstats

        print("\ncProfile of this tree's command (cumulative, top 25):")
        pstats.Stats(str(prof)).sort_stats("cumulative").print_stats(25)
        print("cProfile (own time, top 20):")
        pstats.Stats(str(prof)).sort_stats("tottime").print_stats(20)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
