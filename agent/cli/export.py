"""``ibagent export``: the store's knowledge out to where it is needed.

Two destinations share the command, each in its own module so neither grows into the other:

* ``ibagent export --site S --out FILE`` (agent/cli/export_site.py): a sealed bundle of one site's
  scans for an air-gapped site's collections to reach the central store (issue 16);
* ``ibagent export nautobot|netbox ...`` (agent/cli/export_sot.py): the fleet, its items and
  contracts into a source of truth, as its CSV import files or through its API (issue 17).

Each module adds its own options (``add_arguments``) and runs its own mode (``run``); this one only
picks which, so ``ibagent export --help`` shows both.
"""
from __future__ import annotations

import argparse

from agent.cli.common import UsageError

# The destinations named as the first word; no word means a site bundle (``--site``).
TARGETS = ("nautobot", "netbox")


def _modules():
    from agent.cli import export_site, export_sot

    return export_site, export_sot


def cmd_export(args: argparse.Namespace) -> int:
    export_site, export_sot = _modules()
    if args.target:
        return export_sot.run(args)
    if getattr(args, "site", None):
        return export_site.run(args)
    raise UsageError("say what to export: --site SITE --out FILE (a sealed site bundle), or nautobot|netbox "
                     "(the fleet into a source of truth); see 'ibagent export --help'")


def register(sub, common) -> None:
    p = sub.add_parser(
        "export", help="export a site as a sealed bundle, or the fleet into Nautobot/NetBox",
        description="Export one site's scans as a sealed bundle for the central store (--site), or the fleet, its "
                    "items and contracts into a source of truth (nautobot | netbox).",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("target", nargs="?", choices=TARGETS,
                   help="nautobot or netbox: the fleet into that source of truth; leave out with --site")
    export_site, export_sot = _modules()
    export_site.add_arguments(p, common)
    export_sot.add_arguments(p, common)
    p.set_defaults(func=cmd_export)
