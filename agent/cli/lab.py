"""``ibagent lab`` (run the simulated fleet in the foreground) and ``ibagent demo`` (the whole job
on it, from ``agent.demo``)."""
from __future__ import annotations

import argparse

from agent.cli.common import (
    UsageError, _get_redactor, _open_store, _print_summary, _run_scan, _setup_logging, exit_code,
)


class _ScanStopped(Exception):
    """The demo's scan did not complete (Ctrl-C, SIGTERM, SIGHUP, a store it could not write): the
    demo stops there, as ``ibagent scan`` would, instead of reconciling half a fleet."""

    def __init__(self, summary) -> None:
        super().__init__(summary.status)
        self.summary = summary


def _demo_scan(*args):
    summary = _run_scan(*args)
    if summary.status != "completed":
        raise _ScanStopped(summary)
    return summary


def _snmpsim_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("snmpsim") is not None


def cmd_lab(args: argparse.Namespace) -> int:
    from lab.main import parse_peers, run

    argv = ["--fleet", args.fleet, "--count", str(args.count), "--latency", str(args.latency),
            "--inventory-dir", args.inventory_dir]
    if args.peers:
        try:
            parse_peers(args.peers)
        except argparse.ArgumentTypeError as exc:
            raise UsageError(f"--peers: {exc}") from None
        if "snmp" in parse_peers(args.peers) and not _snmpsim_installed():
            # snmpsim is the lab's SNMP agent, an optional extra: say how to get it (was exit 70).
            raise UsageError("--peers snmp needs snmpsim, which is not installed: pip install 'ibagent[lab]' "
                             "(or '.[lab]' from a checkout)")
        argv += ["--peers", args.peers]
    return run(argv)


def cmd_demo(args: argparse.Namespace) -> int:
    from agent.demo import run_demo

    redactor = _get_redactor()
    _setup_logging(args, redactor)
    try:
        return run_demo(args, redactor, _demo_scan, _open_store, _print_summary)
    except _ScanStopped as stopped:
        _print_summary(stopped.summary)
        print("demo: stopped before its scan completed; what was collected is in the store")
        return exit_code(stopped.summary)


def register(sub, common) -> None:
    p = sub.add_parser("lab", help="run the simulated Cisco fleet on 127.0.0.1 and write its inventory",
                       description="Run the device simulator in the foreground (Ctrl-C stops it).")
    p.add_argument("--fleet", choices=("demo", "scale"), default="demo")
    p.add_argument("--count", type=int, default=100, help="devices in the scale fleet (default 100)")
    p.add_argument("--latency", type=float, default=0.2, help="seconds per command in the scale fleet (default 0.2)")
    p.add_argument("--inventory-dir", default="lab-inventory", help="where to write the inventory (default ./lab-inventory)")
    p.add_argument("--peers", metavar="netconf,snmp",
                   help="also serve NETCONF and/or SNMP for every device, to try those transports (default: SSH only)")
    p.set_defaults(func=cmd_lab)

    p = sub.add_parser("demo", help="start the simulated fleet, scan it, and write the reports",
                       description="Start the built-in simulated fleet, scan it over SSH, and write devices.csv and "
                       "devices.json.  Exits 1 because the fleet includes deliberately faulty devices.")
    p.add_argument("--out", default="ibagent-demo", help="output directory (default ./ibagent-demo)")
    p.add_argument("--db", help="store path (default <out>/ibagent.db)")
    p.add_argument("--transport", choices=("ssh", "netconf", "snmp"),
                   help="scan the fleet over this transport only (default SSH); the lab serves it too")
    common.scan_knobs(p, 50)
    common.common_log(p)
    p.set_defaults(func=cmd_demo)
