"""``ibagent retire``: the explicit way a device leaves the fleet.

A device the store knows stays in the fleet, at its last good collection, until it is retired:
by name (``retire HOST... --why``), by an expiry age the user sets (``retire --expire DAYS``), or
by ``scan --prune`` over a complete inventory.  Each retirement is recorded (who, when, why, how)
and shown by ``history`` and ``diff``; nothing is deleted, and a retired device that is scanned
again is back in the fleet.
"""
from __future__ import annotations

import argparse
import getpass
import sys
import time

from agent.cli.common import EXIT_OK, UsageError, _emit, _require_store, positive_days


def who(by: str | None) -> str:
    """Who retires: the name given, else the login name."""
    if by:
        return by
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers): still record something honest
        return "unknown"


def cmd_retire(args: argparse.Namespace) -> int:
    from agent.store import fleet

    store = _require_store(args.db, write=not args.list)
    try:
        if args.list:
            rows = [{"device": r["device"], "after_scan": r["after_scan"], "how": r["how"],
                     "by": r["by_whom"], "why": r["why"],
                     "when": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(r["at"]))}
                    for r in store.retirements()]
            _emit(rows, ("device", "when", "how", "by", "why", "after_scan"), args.format)
            return EXIT_OK
        known = {d.device for d in fleet.device_states(store)}
        if args.expire:
            devices = fleet.expired_devices(store, args.expire, time.time())
            how, why = "expiry", args.why or f"not collected for more than {args.expire} days"
        else:
            if not args.hosts:
                raise UsageError("name the devices to retire, or give --expire DAYS or --list")
            if not args.why:
                raise UsageError("say why with --why TEXT: the retirement is recorded for whoever reads the history")
            unknown = [h for h in args.hosts if h not in known]
            if unknown:
                raise UsageError(f"not in the fleet: {', '.join(unknown)} (see 'ibagent devices')")
            devices, how, why = list(dict.fromkeys(args.hosts)), "retire", args.why
        if not devices:
            print("ibagent: nothing to retire", file=sys.stderr)
            return EXIT_OK
        if args.dry_run:
            print("would retire: " + ", ".join(devices))
            return EXIT_OK
        after = store.retire(devices, how=how, by=who(args.by), why=why)
    finally:
        store.close()
    print(f"retired {len(devices)} device(s) as of scan {after}: {', '.join(devices)}")
    return EXIT_OK


def register(sub, common) -> None:
    p = sub.add_parser(
        "retire", help="take devices out of the fleet, recorded with who, when and why",
        description="A device stays in the fleet at its last good collection until it is retired: a failed, "
        "partial or interrupted scan never removes it. Retire by name (with --why), or every device not "
        "collected for DAYS (--expire). Retirements are recorded and shown by 'history' and 'diff'; a retired "
        "device that is scanned again is back.")
    p.add_argument("hosts", nargs="*", metavar="HOST", help="inventory names of the devices to retire")
    p.add_argument("--why", help="the reason, recorded with the retirement (required when naming devices)")
    p.add_argument("--by", help="who retires them (default: the login name)")
    p.add_argument("--expire", type=positive_days, metavar="DAYS",
                   help="retire every device whose last good collection is more than DAYS days old")
    p.add_argument("--dry-run", action="store_true", help="say what would be retired, change nothing")
    p.add_argument("--list", action="store_true", help="list every retirement recorded")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table", help="output format for --list")
    p.add_argument("--db", default=common.default_db, help=common.db_help)
    p.set_defaults(func=cmd_retire)

