"""``ibagent neighbours``: Cisco gear on the network that no inventory lists (issue 17).

Every fleet device's latest CDP / LLDP tables, matched against the devices the store knows
(``agent.reconcile.neighbours`` says how); what matches nothing is the gap.  ``--write-inventory``
turns it into a Nornir hosts fragment so the next scan includes it.
"""
from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from pathlib import Path

from agent.cli.common import EXIT_OK, UsageError, _out, _require_store

EXIT_FOUND = 1  # Cisco neighbours in no inventory were found


def cmd_neighbours(args: argparse.Namespace) -> int:
    from agent.reconcile.neighbours_store import gap_report
    from agent.reports import neighbours as out
    from agent.reports.tabular import atomic_write

    store = _require_store(args.db)
    try:
        report = gap_report(store)
    finally:
        store.close()
    _out(out.render(report, args.format, args.all))
    print(f"ibagent: {out.summary(report)}", file=sys.stderr)
    if args.write_inventory:
        path = Path(args.write_inventory)
        if not path.parent.is_dir():
            raise UsageError(f"--write-inventory {path}: no directory {path.parent}")
        text, written = out.inventory_fragment(report, datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
        atomic_write(path, lambda tmp: tmp.write_text(text))
        print(f"ibagent: {written} host(s) written to {path} (the others are comment lines saying why)",
              file=sys.stderr)
    return EXIT_FOUND if report.cisco else EXIT_OK


def register(sub, common) -> None:
    p = sub.add_parser(
        "neighbours", help="Cisco CDP/LLDP neighbours that no inventory lists (the gap report)",
        description="Reads every fleet device's latest CDP and LLDP neighbour tables from the store and lists the "
        "Cisco neighbours that match no device of the fleet (by management address, host name with or without "
        "domain, case-insensitive, or announced serial): platform, software, addresses, and which devices and "
        "ports see each. Non-Cisco neighbours are counted; --all lists them too.",
        epilog="Exit codes: 0 no Cisco neighbour outside the inventory, 1 some were found (listed), "
        "2 usage error or no store.")
    p.add_argument("--db", default=common.default_db, help=common.db_help)
    p.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output format (default table)")
    p.add_argument("--all", action="store_true", help="list the non-Cisco neighbours too (after the Cisco ones)")
    p.add_argument("--write-inventory", metavar="FILE",
                   help="also write a Nornir hosts.yaml fragment for them (platform mapped, first usable address as "
                   "hostname, no credentials); a neighbour without an address or a known platform is a comment line")
    p.set_defaults(func=cmd_neighbours)
