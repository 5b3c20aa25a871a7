"""``ibagent agents``: the agents that feed this store, each with its last run, scope and devices,
and the devices two agents claim (agent/store/agents.py says the rule)."""
from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone

from agent.cli.common import EXIT_OK, _emit, _require_store

COLUMNS = ("agent", "last_scan", "started", "ended", "status", "imported", "inventory", "sites", "groups", "devices",
           "contested")


def _when(epoch: float | None) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat(timespec="seconds") if epoch else ""


def cmd_agents(args: argparse.Namespace) -> int:
    from agent.store.agents import agent_rows

    store = _require_store(args.db)
    try:
        rows = agent_rows(store)
    finally:
        store.close()
    fmt = "json" if args.json else args.format
    if fmt == "json":
        for r in rows:
            r["started"], r["ended"] = _when(r["started"]), _when(r["ended"])
            if not args.devices:
                r.pop("device_names")
        sys.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
        return EXIT_OK
    flat = []
    for r in rows:
        base = {**r, "started": _when(r["started"]), "ended": _when(r["ended"]), "sites": " ".join(r["sites"]),
                "groups": " ".join(r["groups"]), "imported": "yes" if r["imported"] else ""}
        if args.devices:
            for device in r["device_names"]:
                flat.append({"agent": r["agent"], "device": device,
                             "also_claimed_by": ", ".join(r["contested_with"].get(device, ()))})
        else:
            flat.append(base)
    _emit(flat, ("agent", "device", "also_claimed_by") if args.devices else COLUMNS, fmt)
    contested = sorted({d for r in rows for d in r["contested_with"]})
    if contested:
        print(f"warning: {len(contested)} device(s) claimed by two agents: {', '.join(contested[:20])}"
              + (" ..." if len(contested) > 20 else ""), file=sys.stderr)
    return EXIT_OK


def register(sub, common) -> None:
    p = sub.add_parser(
        "agents", help="the agents that feed this store: last run, scope, devices, devices two agents claim",
        description="One row per agent (scan --agent, or an imported site's agent): its last scan (started, ended, "
        "status, imported or local), its scope (inventory, sites, groups), the devices whose current state it "
        "collected, and how many of them another agent claims too (both collected it and both latest scans list "
        "it): such a device is reported here and in 'ibagent devices', never settled silently.")
    p.add_argument("--devices", action="store_true", help="list each agent's devices, with any other agent claiming it")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")
    p.add_argument("--json", action="store_true", help="same as --format json (for scripts)")
    p.add_argument("--db", default=common.default_db, help=common.db_help)
    p.set_defaults(func=cmd_agents)
