"""``ibagent scan`` (collect an inventory into the store) and ``ibagent devices`` (list the
physical items of a snapshot)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agent.cli.common import (
    EXIT_DEVICES_FAILED, EXIT_LOCKED, EXIT_OK, UsageError, _get_redactor, _open_store, _print_summary, _run_scan,
    _setup_logging,
)


def _scan_options(args: argparse.Namespace):
    from agent.collect.scan import ScanOptions

    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    return ScanOptions(
        workers=args.workers,
        deadline=args.deadline,
        connect_timeout=args.connect_timeout,
        command_timeout=args.command_timeout,
        retries=args.retries,
        transport=args.transport,
        ssh_driver=args.ssh_driver,
    )


def cmd_scan(args: argparse.Namespace) -> int:
    from agent.collect.inventory import load_inventory
    from agent.store import StoreLocked

    redactor = _get_redactor()
    _setup_logging(args, redactor)
    inventory = load_inventory(args.inventory)
    redactor.add(inventory.secrets)
    options = _scan_options(args)
    store = _open_store(args.db)
    try:
        try:
            store.lock()
        except StoreLocked as exc:
            print(f"ibagent: {exc}", file=sys.stderr)
            return EXIT_LOCKED
        summary = _run_scan(inventory.targets, store, options, inventory.source, redactor, args.progress)
    finally:
        store.close()
    _print_summary(summary)
    if summary.interrupted:
        return 130
    return EXIT_OK if summary.failed == 0 else EXIT_DEVICES_FAILED


def cmd_devices(args: argparse.Namespace) -> int:
    from agent.reports import tabular
    from agent.store.views import DEVICE_COLUMNS, TABLE_COLUMNS, device_rows

    if not Path(args.db).exists():
        raise UsageError(f"no store at {args.db}: run 'ibagent scan' or 'ibagent demo' first, or pass --db")
    store = _open_store(args.db)
    try:
        rows = device_rows(store, args.scan, include_virtual=not args.contractable_only)
    finally:
        store.close()
    if args.format == "json":
        sys.stdout.write(tabular.to_json(rows))
    elif args.format == "csv":
        sys.stdout.write(tabular.to_csv(rows, DEVICE_COLUMNS))
    else:
        sys.stdout.write(tabular.to_table(rows, TABLE_COLUMNS))
    return EXIT_OK


def register(sub, common) -> None:
    p = sub.add_parser("scan", help="collect every device of an inventory into the store",
                       description="Collect every device of an inventory into the store. Safe to run from cron or a "
                       "systemd timer: a lock stops two scans of one store from overlapping.")
    p.add_argument("-i", "--inventory", required=True, help="inventory directory (hosts.yaml, groups.yaml, defaults.yaml) or file")
    p.add_argument("--db", default=common.default_db, help=common.db_help)
    p.add_argument("--transport", choices=("ssh", "netconf", "snmp"), help="use only this transport for every device")
    p.add_argument("--ssh-driver", choices=("asyncssh", "netmiko"), default="asyncssh",
                   help="SSH implementation (default asyncssh; netmiko for unusual devices)")
    progress = p.add_mutually_exclusive_group()
    progress.add_argument("--progress", dest="progress", action="store_true", default=None, help="force the progress bar")
    progress.add_argument("--no-progress", dest="progress", action="store_false", help="never show the progress bar")
    common.scan_knobs(p, 200)
    common.common_log(p)
    p.set_defaults(func=cmd_scan)

    p = sub.add_parser("devices", help="list the physical items of the latest snapshot",
                       description="One row per physical item (chassis, stack member, module, PSU, fan, optic, FEX) "
                       "from each device's latest clean collection.")
    p.add_argument("--db", default=common.default_db, help=common.db_help)
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")
    p.add_argument("--scan", type=int, help="snapshot as of this scan id (default: latest)")
    p.add_argument("--contractable-only", action="store_true", help="leave out virtual rows, duplicates and rows without serial")
    p.set_defaults(func=cmd_devices)
