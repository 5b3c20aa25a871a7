"""``ibagent errors``: every failed attempt of a scan, or of the fleet, filtered and listed.

The scan summary shows each failed device's headline and cuts the list at 50 devices; this lists
everything the store kept, one row per failed attempt (a device tried over netconf, ssh and snmp
can have three).  Reads go through ``agent.store.failures``.
"""
from __future__ import annotations

import argparse
from fnmatch import fnmatchcase

from agent.cli.common import EXIT_OK, UsageError, _emit, _require_store


def _matches(value: str | None, patterns: list[str] | None) -> bool:
    """No filter, or the value matches one of the patterns (shell wildcards: ``dc1-*``)."""
    return not patterns or any(fnmatchcase(value or "", p) for p in patterns)


def cmd_errors(args: argparse.Namespace) -> int:
    from agent.store.failures import FAILURE_COLUMNS, fleet_failures, scan_failures

    store = _require_store(args.db)
    try:
        if args.fleet:
            rows = fleet_failures(store)
        else:
            scan_id = args.scan if args.scan is not None else store.latest_scan_id()
            if scan_id is None:
                raise UsageError(f"{args.db} holds no finished scan yet")
            if scan_id not in {s["id"] for s in store.scans()}:
                raise UsageError(f"{args.db} has no scan {scan_id}")
            rows = scan_failures(store, scan_id)
    finally:
        store.close()
    rows = [
        r for r in rows
        if _matches(r["kind"], args.kind) and _matches(r["transport"], args.transport)
        and _matches(r["device"], args.device) and _matches(r["site"], args.site)
    ]
    _emit(rows, FAILURE_COLUMNS, args.format)
    return EXIT_OK


def register(sub, common) -> None:
    p = sub.add_parser(
        "errors", help="list every failed attempt of a scan or of the fleet",
        description="Every failed attempt the store kept: one row per device and transport tried (a device "
        "whose transports fell back from netconf to ssh to snmp has one row per refusal or timeout).  Default: "
        "the latest scan.  'status' is the device's outcome: ok when a later transport collected it.  Filters "
        "take shell wildcards and may be repeated.",
    )
    p.add_argument("--db", default=common.default_db, help=common.db_help)
    which = p.add_mutually_exclusive_group()
    which.add_argument("--scan", type=int, help="the failures of this scan id (default: the latest scan)")
    which.add_argument("--fleet", action="store_true",
                       help="the failures of each known device's latest attempt, whichever scan it was in")
    p.add_argument("--kind", action="append", help="only this error kind (auth, timeout, connect, ...)")
    p.add_argument("--transport", action="append", help="only attempts over this transport (ssh, netconf, snmp)")
    p.add_argument("--device", action="append", help="only this device (inventory name; wildcards allowed)")
    p.add_argument("--site", action="append", help="only devices of this site")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")
    p.set_defaults(func=cmd_errors)
