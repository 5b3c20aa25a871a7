"""Scan throughput and CPU per transport (NETCONF, SNMP, SSH for reference) on a scale lab fleet.

    python bench/scan_transports.py [--count 500] [--workers 100] [--latency 0.2] [--transports netconf,snmp,ssh]
                                    [--no-tick-compare]

The lab runs in its own process (``lab.process.LabProcess`` with ``--peers netconf,snmp``: one
NETCONF listener per device, one snmpsim process for all), so its CPU is not the collector's.
Each measured scan is a child process (this script with ``--child``) reaped with ``os.wait4``:
wall time, CPU (user+sys, every thread: ncclient and paramiko run threads), peak RSS, devices
collected, and serials checked against the lab's ground truth.  NETCONF runs twice by default:
with ncclient's stock send path (RPCs wait for its 0.1 s session tick) and with the collector's
direct send (collectors/netconf.py), to show what the tick costs.

Printed: one row per run; devices/s = devices collected / wall time; CPU ms/device = the scan
process's CPU / devices.  The lab's and snmpsim's CPU meanwhile are printed too.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from _measure import proc_cpu_seconds as _proc_cpu  # noqa: E402 - bench/ is on sys.path when run as a script


# ------------------------------------------------------------------ child: one scan


def child(args: argparse.Namespace) -> int:
    from agent.collect.inventory import load_inventory
    from agent.collect.scan import ScanOptions, run_scan
    from agent.store import Store
    from agent.store.views import device_rows

    inventory = load_inventory(args.inventory)
    store = Store(args.db)
    options = ScanOptions(workers=args.workers, transport=args.transport, deadline=120, connect_timeout=20,
                          command_timeout=30, netconf_direct_send=not args.stock_send,
                          snmp_timeout=args.snmp_timeout, snmp_retries=1)
    started = time.perf_counter()
    summary = asyncio.run(run_scan(inventory.targets, store, options))
    wall = time.perf_counter() - started
    serials: dict[str, list] = {}
    for row in device_rows(store, summary.scan_id):
        if row["contractable"]:
            serials.setdefault(row["device"], []).append([row["serial"], row["base_pid"]])
    kinds: dict[str, int] = dict(summary.by_kind)
    reasons = sorted({f"{kind}: {reason[:100]}" for _, kind, reason in summary.failures})[:5]
    print(json.dumps({"ok": summary.ok, "failed": summary.failed, "wall": wall, "serials": serials, "kinds": kinds,
                      "reasons": reasons}))
    store.close()
    return 0


# ------------------------------------------------------------------ parent


def _run(label: str, argv: list[str], lab_pid: int | None, snmp_pid: int | None) -> dict:
    lab0, snmp0 = _proc_cpu(lab_pid), _proc_cpu(snmp_pid)
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO)
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    result = json.loads(out.strip().splitlines()[-1]) if out.strip() else {"ok": 0, "failed": 0, "serials": {}}
    lab1, snmp1 = _proc_cpu(lab_pid), _proc_cpu(snmp_pid)
    result.update(label=label, process_wall=wall, cpu=usage.ru_utime + usage.ru_stime, rss_mib=usage.ru_maxrss / 1024,
                  lab_cpu=(lab1 - lab0) if lab0 is not None and lab1 is not None else None,
                  snmp_cpu=(snmp1 - snmp0) if snmp0 is not None and snmp1 is not None else None,
                  status=status)
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=500)
    ap.add_argument("--workers", type=int, default=100)
    ap.add_argument("--latency", type=float, default=0.2, help="lab seconds per show command / <get> (default 0.2)")
    ap.add_argument("--transports", default="netconf,snmp,ssh")
    ap.add_argument("--no-tick-compare", action="store_true", help="skip the NETCONF run with ncclient's stock send")
    ap.add_argument("--snmp-workers", type=int, default=25,
                    help="workers for the SNMP run (default 25): the lab's single snmpsim process answers one "
                         "request at a time, and more clients in flight only overflow its UDP receive buffer")
    ap.add_argument("--snmp-timeout", type=float, default=10.0,
                    help="seconds per SNMP request (default 10: the lab's one snmpsim process queues every "
                         "device's requests, which real agents do not)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--inventory", help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    ap.add_argument("--transport", help=argparse.SUPPRESS)
    ap.add_argument("--stock-send", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child(args)

    from lab.device import DEFAULT_ENABLE, DEFAULT_PASSWORD, ENABLE_ENV, PASSWORD_ENV
    from lab.process import LabProcess

    os.environ.setdefault(PASSWORD_ENV, DEFAULT_PASSWORD)
    os.environ.setdefault(ENABLE_ENV, DEFAULT_ENABLE)
    transports = [t.strip() for t in args.transports.split(",") if t.strip()]
    print(f"lab: {args.count} devices (scale fleet), latency {args.latency}s, peers netconf+snmp, 127.0.0.1 ...",
          flush=True)
    with tempfile.TemporaryDirectory(prefix="ibagent-bench-transports-") as tmp, \
            LabProcess(fleet="scale", count=args.count, latency=args.latency, inventory_dir=Path(tmp) / "inv",
                       peers=("netconf", "snmp"), start_timeout=600) as lab:
        info = lab.info
        print(f"lab ready in {info['startup_seconds']:.1f}s (peers: " +
              ", ".join(f"{k} {v:.2f}s" for k, v in (info.get("peer_startup") or {}).items()) + ")", flush=True)
        truth = {d.name: {(i.serial, i.pid.rstrip("=")) for i in d.truth.physical} for d in lab.devices}
        netconf_capable = {d.name for d in lab.devices if d.netconf_port}
        runs = []
        plan = []
        for t in transports:
            if t == "netconf" and not args.no_tick_compare:
                plan.append(("netconf (ncclient stock send)", t, True))
            plan.append((t if t != "netconf" else "netconf (direct send)", t, False))
        for label, transport, stock in plan:
            db = Path(tmp) / f"{label.split()[0]}-{'stock' if stock else 'direct'}.db"
            argv_child = [sys.executable, str(Path(__file__).resolve()), "--child", "--inventory", str(lab.inventory_dir),
                          "--db", str(db), "--transport", transport,
                          "--workers", str(args.snmp_workers if transport == "snmp" else args.workers),
                          "--snmp-timeout", str(args.snmp_timeout)]
            if stock:
                argv_child.append("--stock-send")
            print(f"scan: {label} ...", flush=True)
            r = _run(label, argv_child, lab.pid, info.get("snmp_pid"))
            expected = [n for n in truth if transport != "netconf" or n in netconf_capable]
            r["expected"] = len(expected)
            r["complete"] = sum(1 for n in expected if {tuple(x) for x in r["serials"].get(n, [])} == truth[n])
            runs.append(r)
    head = (f"{'run':32} {'devices':>7} {'ok':>5} {'complete':>8} {'wall s':>7} {'dev/s':>7} {'CPU s':>7} "
            f"{'CPU ms/dev':>10} {'RSS MiB':>8} {'lab CPU s':>9} {'snmpsim CPU s':>13}")
    print()
    print(f"{args.count} devices, {args.workers} workers ({args.snmp_workers} for SNMP), lab latency {args.latency}s "
          f"per command/<get>")
    print(head)
    print("-" * len(head))
    for r in runs:
        ok = r["ok"]
        rate = ok / r["wall"] if r.get("wall") else 0.0
        per = 1000.0 * r["cpu"] / ok if ok else float("nan")
        snmp_cpu = f"{r['snmp_cpu']:.1f}" if r.get("snmp_cpu") is not None else "-"
        lab_cpu = f"{r['lab_cpu']:.1f}" if r.get("lab_cpu") is not None else "-"
        print(f"{r['label']:32} {r['expected']:7} {ok:5} {r['complete']:8} {r.get('wall', 0):7.1f} {rate:7.1f} "
              f"{r['cpu']:7.1f} {per:10.1f} {r['rss_mib']:8.0f} {lab_cpu:>9} {snmp_cpu:>13}")
    print()
    for r in runs:
        if r.get("kinds"):
            print(f"{r['label']}: failed by reason: " + ", ".join(f"{k} {v}" for k, v in sorted(r["kinds"].items())))
            for reason in r.get("reasons") or []:
                print(f"    {reason}")
    print("devices = devices the transport can collect (NETCONF: not ASA / classic IOS); complete = devices whose "
          "contractable (serial, base PID) set equals the lab's ground truth.")
    return 0 if all(r["complete"] == r["expected"] for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
