"""Scan throughput and CPU per transport (NETCONF, SNMP, SSH for reference) on a scale lab fleet.

    python bench/scan_transports.py [--count 500] [--workers 100] [--latency 0.2] [--transports netconf,snmp,ssh]
                                    [--no-tick-compare] [--repeat 3] [--snmp-engines wire,pysnmp]
                                    [--snmpbulkwalk-devices 50] [--snmp-versions 2c,3] [--snmp-v2c-pysnmp]

The lab runs in its own process (``lab.process.LabProcess`` with ``--peers netconf,snmp``: one
NETCONF listener per device, one snmpsim process for all), so its CPU is not the collector's.
Each measured scan is a child process (this script with ``--child``) reaped with ``os.wait4``:
wall time, CPU (user+sys, every thread: ncclient and paramiko run threads), peak RSS, devices
collected, and serials checked against the lab's ground truth.  NETCONF runs twice by default:
with ncclient's stock send path (RPCs wait for its 0.1 s session tick) and with the collector's
direct send (collectors/netconf.py), to show what the tick costs.

SNMP runs once per engine and version (collectors/snmp.py): ``wire`` (today's: v1/v2c over
collectors/snmp_ber.py, v3 over collectors/snmp_v3udp.py) and ``pysnmp`` (the previous collector,
``IBAGENT_SNMP_ENGINE=pysnmp``), v2c and v3 (the lab's authPriv SHA/AES user, each device's
community as its context), so before and after come from one run.  v2c through pysnmp only with
``--snmp-v2c-pysnmp`` (measured before: 65 ms/device).  Beside them, net-snmp's C walker: ``snmpbulkwalk`` (Debian package ``snmp``) walks
the whole entPhysicalTable of ``--snmpbulkwalk-devices`` lab devices, one process per device, and
its CPU per device (``os.wait4``: the child only, process start included) is printed; where it is
not installed the bench says so and goes on.

Printed: one row per run; devices/s = devices collected / wall time; CPU ms/device = the scan
process's CPU / devices (interpreter start and imports included); scan ms/dev = the CPU the
process spent inside ``run_scan`` only / devices.  The lab's and snmpsim's CPU meanwhile are
printed too.  With ``--repeat N`` every run is repeated N times (order reversed every other
round: this machine's speed drifts) and a summary of medians follows, with SNMP's CPU per
device over SSH's (issue 15's target: <= 2x).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
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
    if args.snmp_version == "3":
        _to_v3(inventory.targets)
    store = Store(args.db)
    options = ScanOptions(workers=args.workers, transport=args.transport, deadline=120, connect_timeout=20,
                          command_timeout=30, netconf_direct_send=not args.stock_send,
                          snmp_timeout=args.snmp_timeout, snmp_retries=1)
    started, cpu_started = time.perf_counter(), time.process_time()
    summary = asyncio.run(run_scan(inventory.targets, store, options))
    wall, scan_cpu = time.perf_counter() - started, time.process_time() - cpu_started
    serials: dict[str, list] = {}
    for row in device_rows(store, summary.scan_id):
        if row["contractable"]:
            serials.setdefault(row["device"], []).append([row["serial"], row["base_pid"]])
    kinds: dict[str, int] = dict(summary.by_kind)
    reasons = sorted({f"{kind}: {reason[:100]}" for _, kind, reason in summary.failures})[:5]
    print(json.dumps({"ok": summary.ok, "failed": summary.failed, "wall": wall, "scan_cpu": scan_cpu,
                      "serials": serials, "kinds": kinds, "reasons": reasons}))
    store.close()
    return 0


def _to_v3(targets) -> None:
    """Point every SNMP host at the lab's SNMPv3 user (authPriv SHA/AES; its community names the
    SNMPv3 context, lab/snmp.py), as lab/inventory.py writes hosts with ``snmp_version="3"``."""
    from agent.core.secret import Secret, reveal
    from lab.snmp import AUTH_PROTO, PRIV_PROTO, snmp_credentials

    user, auth_key, priv_key = snmp_credentials()
    for target in targets:
        community = target.options.get("snmp_community")
        if community:
            target.options.update(snmp_version="3", snmp_user=user, snmp_auth_key=Secret(auth_key),
                                  snmp_auth_proto=AUTH_PROTO, snmp_priv_key=Secret(priv_key),
                                  snmp_priv_proto=PRIV_PROTO, snmp_context=reveal(community))


# ------------------------------------------------------------------ parent


def _run(label: str, argv: list[str], lab_pid: int | None, snmp_pid: int | None, env: dict | None = None) -> dict:
    lab0, snmp0 = _proc_cpu(lab_pid), _proc_cpu(snmp_pid)
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO,
                            env={**os.environ, **(env or {})})
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


def snmpbulkwalk_cpu(devices, limit: int, max_repetitions: int = 25) -> tuple[list[float], str | None]:
    """CPU seconds of one ``snmpbulkwalk`` process per device (the whole entPhysicalTable, v2c), or
    ([], why not).  The community is on the child's command line: lab communities, loopback only."""
    exe = shutil.which("snmpbulkwalk")
    if exe is None:
        return [], "snmpbulkwalk not installed (Debian package 'snmp')"
    out = []
    for device in [d for d in devices if d.snmp_port and d.snmp_community][:limit]:
        argv = [exe, "-v2c", "-c", device.snmp_community, "-On", "-Cr%d" % max_repetitions, "-t", "10", "-r", "1",
                f"{device.host}:{device.snmp_port}", ".1.3.6.1.2.1.47.1.1.1.1"]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        lines = proc.stdout.read().count(b"\n") if proc.stdout else 0
        _, status, usage = os.wait4(proc.pid, 0)
        if status != 0 or lines == 0:
            return out, f"snmpbulkwalk failed on {device.name} (exit status {status})"
        out.append(usage.ru_utime + usage.ru_stime)
    return out, None


def _per_dev(r: dict, key: str) -> float:
    return 1000.0 * r[key] / r["ok"] if r.get("ok") and r.get(key) is not None else float("nan")


def _med(values: list[float]) -> str:
    values = [v for v in values if v == v]
    if not values:
        return "-"
    return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})" if len(values) > 1 \
        else f"{values[0]:.1f}"


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
    ap.add_argument("--snmp-engines", default="wire,pysnmp",
                    help="SNMP collector engines to run, each its own scan (default wire,pysnmp: today's and the "
                         "previous collector, IBAGENT_SNMP_ENGINE=pysnmp)")
    ap.add_argument("--snmp-versions", default="2c,3",
                    help="SNMP versions to run with each engine (default 2c,3; 3 = the lab's authPriv SHA/AES user; "
                         "2c runs with the wire engine only unless --snmp-v2c-pysnmp)")
    ap.add_argument("--snmp-v2c-pysnmp", action="store_true",
                    help="also run v2c through pysnmp (the figure before issue 15 item 2)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="rounds of every run (default 1); with more, a summary of medians (min-max) follows")
    ap.add_argument("--snmpbulkwalk-devices", type=int, default=50,
                    help="lab devices net-snmp's snmpbulkwalk walks per round, one process each (default 50; 0: skip)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--inventory", help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    ap.add_argument("--transport", help=argparse.SUPPRESS)
    ap.add_argument("--stock-send", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--snmp-version", default="2c", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child(args)

    from lab.device import DEFAULT_ENABLE, DEFAULT_PASSWORD, ENABLE_ENV, PASSWORD_ENV
    from lab.process import LabProcess

    os.environ.setdefault(PASSWORD_ENV, DEFAULT_PASSWORD)
    os.environ.setdefault(ENABLE_ENV, DEFAULT_ENABLE)
    transports = [t.strip() for t in args.transports.split(",") if t.strip()]
    engines = [e.strip() for e in args.snmp_engines.split(",") if e.strip()]
    versions = [v.strip().lower().lstrip("v") for v in args.snmp_versions.split(",") if v.strip()]
    print(f"lab: {args.count} devices (scale fleet), latency {args.latency}s, peers netconf+snmp, 127.0.0.1 ...",
          flush=True)
    plan = []
    for t in transports:
        if t == "netconf" and not args.no_tick_compare:
            plan.append(("netconf (ncclient stock send)", t, True, None, None))
        if t == "snmp":
            plan.extend((f"snmp v{v} ({e})", t, False, e, v) for v in versions for e in engines
                        if v != "2c" or e == "wire" or args.snmp_v2c_pysnmp)
        else:
            plan.append((t if t != "netconf" else "netconf (direct send)", t, False, None, None))
    runs = []
    walker: list[float] = []
    walker_note = None
    with tempfile.TemporaryDirectory(prefix="ibagent-bench-transports-") as tmp, \
            LabProcess(fleet="scale", count=args.count, latency=args.latency, inventory_dir=Path(tmp) / "inv",
                       peers=("netconf", "snmp"), start_timeout=600) as lab:
        info = lab.info
        print(f"lab ready in {info['startup_seconds']:.1f}s (peers: " +
              ", ".join(f"{k} {v:.2f}s" for k, v in (info.get("peer_startup") or {}).items()) + ")", flush=True)
        truth = {d.name: {(i.serial, i.pid.rstrip("=")) for i in d.truth.physical} for d in lab.devices}
        netconf_capable = {d.name for d in lab.devices if d.netconf_port}
        for round_no in range(max(1, args.repeat)):
            order = plan if round_no % 2 == 0 else list(reversed(plan))
            for label, transport, stock, engine, version in order:
                db = Path(tmp) / (f"r{round_no}-{label.split()[0]}-{engine or ('stock' if stock else 'direct')}"
                                  f"-{version or ''}.db")
                argv_child = [sys.executable, str(Path(__file__).resolve()), "--child", "--inventory",
                              str(lab.inventory_dir), "--db", str(db), "--transport", transport,
                              "--workers", str(args.snmp_workers if transport == "snmp" else args.workers),
                              "--snmp-timeout", str(args.snmp_timeout), "--snmp-version", version or "2c"]
                if stock:
                    argv_child.append("--stock-send")
                print(f"round {round_no + 1}: scan {label} ...", flush=True)
                r = _run(label, argv_child, lab.pid, info.get("snmp_pid"), env={"IBAGENT_SNMP_ENGINE": engine} if engine else None)
                expected = [n for n in truth if transport != "netconf" or n in netconf_capable]
                r["expected"] = len(expected)
                r["complete"] = sum(1 for n in expected if {tuple(x) for x in r["serials"].get(n, [])} == truth[n])
                runs.append(r)
            if "snmp" in transports and args.snmpbulkwalk_devices > 0 and walker_note is None:
                print(f"round {round_no + 1}: snmpbulkwalk on {args.snmpbulkwalk_devices} devices ...", flush=True)
                cpu, walker_note = snmpbulkwalk_cpu(lab.devices, args.snmpbulkwalk_devices)
                walker.extend(cpu)
    head = (f"{'run':32} {'devices':>7} {'ok':>5} {'complete':>8} {'wall s':>7} {'dev/s':>7} {'CPU s':>7} "
            f"{'CPU ms/dev':>10} {'scan ms/dev':>11} {'RSS MiB':>8} {'lab CPU s':>9} {'snmpsim CPU s':>13}")
    print()
    print(f"{args.count} devices, {args.workers} workers ({args.snmp_workers} for SNMP), lab latency {args.latency}s "
          f"per command/<get>")
    print(head)
    print("-" * len(head))
    for r in runs:
        ok = r["ok"]
        rate = ok / r["wall"] if r.get("wall") else 0.0
        snmp_cpu = f"{r['snmp_cpu']:.1f}" if r.get("snmp_cpu") is not None else "-"
        lab_cpu = f"{r['lab_cpu']:.1f}" if r.get("lab_cpu") is not None else "-"
        print(f"{r['label']:32} {r['expected']:7} {ok:5} {r['complete']:8} {r.get('wall', 0):7.1f} {rate:7.1f} "
              f"{r['cpu']:7.1f} {_per_dev(r, 'cpu'):10.1f} {_per_dev(r, 'scan_cpu'):11.1f} {r['rss_mib']:8.0f} "
              f"{lab_cpu:>9} {snmp_cpu:>13}")
    print()
    labels = list(dict.fromkeys(r["label"] for r in runs))
    by_label = {label: [r for r in runs if r["label"] == label] for label in labels}
    print(f"medians over {max(1, args.repeat)} round(s) (min-max):")
    print(f"  {'run':32} {'CPU ms/dev':>20} {'scan ms/dev':>20} {'dev/s':>20}")
    for label in labels:
        rs = by_label[label]
        print(f"  {label:32} {_med([_per_dev(r, 'cpu') for r in rs]):>20} {_med([_per_dev(r, 'scan_cpu') for r in rs]):>20} "
              f"{_med([r['ok'] / r['wall'] if r.get('wall') else 0.0 for r in rs]):>20}")
    if walker:
        print(f"  {'snmpbulkwalk (net-snmp, C)':32} {_med([1000.0 * c for c in walker]):>20} "
              f"{'':>20} {'':>20}   per process, {len(walker)} walks of the whole entPhysicalTable")
    if walker_note:
        print(f"  snmpbulkwalk: {walker_note}")
    ssh = [_per_dev(r, "cpu") for r in by_label.get("ssh", [])]
    for label in labels:
        if label.startswith("snmp") and ssh:
            ratio = statistics.median([_per_dev(r, "cpu") for r in by_label[label]]) / statistics.median(ssh)
            print(f"  {label}: CPU per device {ratio:.2f}x SSH's -> {'PASS' if ratio <= 2 else 'FAIL'} (target <= 2x)")
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
