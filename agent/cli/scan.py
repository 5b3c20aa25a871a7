"""``ibagent scan`` (collect an inventory into the store) and ``ibagent devices`` (list the
physical items of a snapshot)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agent.cli.filters import add_agent_option
from agent.cli.common import (
    EXIT_LOCKED, EXIT_OK, EXIT_STORE, UsageError, _emit, _get_redactor, _open_store, _print_summary, _run_scan,
    _setup_logging, at_least, exit_code, host_key_settings, say,
)


def _scan_options(args: argparse.Namespace, targets=()):
    from agent.collect.scan import ScanOptions

    budget = getattr(args, "parse_budget", None)
    if budget is not None and not 0 < budget < float("inf"):
        raise UsageError(f"--parse-budget must be a number of seconds above 0, not {budget:g}")
    extra = {"parse_in": args.parse_in} if getattr(args, "parse_in", None) else {}
    if budget is not None:
        extra["parse_budget"] = budget
    host_keys, known_hosts = host_key_settings(args, targets)
    processes = getattr(args, "processes", None)
    extra["processes"] = processes if processes is not None else auto_processes(len(targets))
    return ScanOptions(
        **extra,
        host_keys=host_keys,
        known_hosts=known_hosts,
        workers=args.workers,
        deadline=args.deadline,
        connect_timeout=args.connect_timeout,
        command_timeout=args.command_timeout,
        retries=args.retries,
        transport=args.transport,
        ssh_driver=args.ssh_driver,
    )


# A worker process per core, but not for a handful of devices: forking and the frames cost more
# than a second loop gains on a small scan (docs/ARCHITECTURE.md, "A scan on every core").
DEVICES_PER_PROCESS = 16


def auto_processes(devices: int) -> int:
    """``--processes`` by default: the cores this process may run on, one per 16 devices at most."""
    import os

    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(cores, devices // DEVICES_PER_PROCESS))


def agent_name(given: str | None) -> str:
    """``--agent``, else ``$IBAGENT_AGENT``, else this machine's host name: a scan always says who ran it."""
    import os
    import socket

    name = (given or os.environ.get("IBAGENT_AGENT") or socket.gethostname() or "").strip()
    if not name or len(name) > 200 or ":" in name or not name.isprintable():
        raise UsageError(f"--agent {name!r}: give a name of at most 200 characters without ':' or control characters "
                         "(it is part of an imported scan's identity, <key id>:<agent>:<scan id>)")
    return name


def _zone(inventory, sites, groups):
    """The inventory's devices this scan covers: those of ``--site`` and ``--group`` (each
    repeatable; both given, a device must match both); every device without them."""
    sites, groups = set(sites or ()), set(groups or ())
    targets = [t for t in inventory.targets
               if (not sites or t.site in sites) and (not groups or groups & set(t.groups))]
    if not targets:
        raise UsageError(f"no device of {inventory.source} is in "
                         + " and ".join(([f"site {', '.join(sorted(sites))}"] if sites else [])
                                        + ([f"group {', '.join(sorted(groups))}"] if groups else [])))
    return targets


def cmd_scan(args: argparse.Namespace) -> int:
    from agent.collect.inventory import load_inventory
    from agent.store.agents import scope_of
    from agent.store import StoreLocked, StoreWriteError

    redactor = _get_redactor()
    _setup_logging(args, redactor)
    inventory = load_inventory(args.inventory)
    redactor.add(inventory.secrets)
    targets = _zone(inventory, args.site, args.group)
    options = _scan_options(args, targets)
    agent = agent_name(args.agent)
    store = _open_store(args.db)
    scope = scope_of(inventory.source, targets)
    if args.site or args.group:
        scope["filter"] = {"sites": sorted(set(args.site or ())), "groups": sorted(set(args.group or ()))}
    store.scan_agent = (agent, scope)
    try:
        try:
            store.lock(agent)  # per agent where the backend allows two agents' scans at once
            # -q off a terminal: not even the minute's status line (the systemd unit's -q --log-file).
            progress = False if args.quiet and args.progress is None and not sys.stderr.isatty() else args.progress
            summary = _run_scan(targets, store, options, inventory.source, redactor, progress)
            pruned = _prune(store, inventory, summary) if args.prune else None
        except StoreLocked as exc:
            say(f"ibagent: {redactor.scrub(str(exc))}")
            return EXIT_LOCKED
        except StoreWriteError as exc:  # before the first device: no scan row to close
            say(f"ibagent: scan not started: {redactor.scrub(str(exc))}")
            return EXIT_STORE
    finally:
        store.close()
    _print_summary(summary)
    if pruned is not None:
        print(pruned)
    if summary.end_error:
        say(f"ibagent: scan {summary.scan_id} could not be closed in the store ({summary.end_error}); "
            "the next scan records it as interrupted")
    elif summary.store_error:
        say(f"ibagent: scan {summary.scan_id} failed: the store could not be written: {summary.store_error}")
    return exit_code(summary)


def _prune(store, inventory, summary) -> str:
    """``scan --prune``: once a scan of the whole inventory has completed, the fleet's devices that
    are not in it are retired (recorded, shown by history and diff).  An unfinished scan prunes
    nothing: the inventory is what the user vouches for, the scan is what makes it safe.  With
    several agents in one store, an agent's inventory vouches only for its own devices: another
    agent's (or an imported site's) are never retired by it."""
    from agent.cli.retire import who
    from agent.store import fleet
    from agent.store.agents import stood_for_by

    if summary.status != "completed":
        return f"not pruned: scan {summary.scan_id} did not complete ({summary.status})"
    absent = fleet.absent_from(store, (t.name for t in inventory.targets))
    absent = stood_for_by(store, store.scan_agent[0], absent)
    if not absent:
        return "pruned nothing: every device of the fleet this agent collected is in the inventory"
    store.retire(absent, how="prune", by=who(None), why=f"not in the inventory {inventory.source}")
    return f"retired {len(absent)} device(s) absent from the inventory: {', '.join(absent)}"


def cmd_devices(args: argparse.Namespace) -> int:
    from agent.reports import tabular
    from agent.store import is_store_url
    from agent.store.views import DEVICE_COLUMNS, TABLE_COLUMNS, device_rows

    if not is_store_url(args.db) and not Path(args.db).exists():
        raise UsageError(f"no store at {args.db}: run 'ibagent scan' or 'ibagent demo' first, or pass --db")
    if args.failed:
        return _failed_devices(args)
    from agent.cli.filters import held_devices, warn_contested
    from agent.store.agents import holders

    store = _open_store(args.db, readonly=True)
    try:
        rows = device_rows(store, args.scan, include_virtual=not args.contractable_only)
        held = held_devices(store, args.site, args.agent)
        # Who stands behind each device's state, and the devices two agents claim (agent/store/agents.py).
        agent_of = holders(store, args.scan)
        contested = warn_contested(store) if args.scan is None else {}
    finally:
        store.close()
    for row in rows:
        row["agent"] = agent_of.get(row["device"], ("", ""))[0]
        row["claimed_by"] = ", ".join(contested.get(row["device"], ()))
    if held is not None:
        rows = [r for r in rows if r["device"] in held]
    columns = (*DEVICE_COLUMNS, "agent", "claimed_by")
    if args.format == "json":
        sys.stdout.write(tabular.to_json(rows))
    elif args.format == "csv":
        sys.stdout.write(tabular.to_csv(rows, columns))
    else:
        sys.stdout.write(tabular.to_table(rows, (*TABLE_COLUMNS, "agent", "claimed_by") if contested or args.agent
                                          else TABLE_COLUMNS))
    return EXIT_OK


def _failed_devices(args: argparse.Namespace) -> int:
    """``devices --failed``: the devices whose latest attempt failed (or that failed in ``--scan``),
    one table/CSV row per failed attempt; JSON gives one object per device with its ``failures``."""
    from agent.store.failures import FAILED_DEVICE_COLUMNS, failed_devices

    store = _open_store(args.db, readonly=True)
    try:
        devices = failed_devices(store, args.scan)
    finally:
        store.close()
    # A failed device may never have been collected, so no agent "holds" it (--site/--agent on the
    # fleet): it belongs to the agent whose scan failed it, at the site that scan gave it.
    sites, agents = set(args.site or ()), set(args.agent or ())
    devices = [d for d in devices if (not sites or d["site"] in sites) and (not agents or d["agent"] in agents)]
    if args.format == "json":
        _emit(devices, FAILED_DEVICE_COLUMNS, "json")
        return EXIT_OK
    rows = [{**d, **f, "headline": "*" if (f["transport"], f["kind"]) == (d["transport"], d["kind"]) else ""}
            for d in devices for f in d["failures"]]
    _emit(rows, ("device", "site", "platform", "scan_id", "agent", "at", "headline", "transport", "kind", "reason",
                 "last_ok_scan"), args.format)
    return EXIT_OK


def register(sub, common) -> None:
    p = sub.add_parser("scan", help="collect every device of an inventory into the store",
                       description="Collect every device of an inventory into the store. Safe to run from cron or a "
                       "systemd timer: a lock stops two scans of one store from overlapping.")
    p.add_argument("-i", "--inventory", required=True, help="where the hosts come from: a Nornir inventory directory (hosts.yaml, groups.yaml, "
                   "defaults.yaml) or YAML file, a CSV file (name,address,platform,site,groups), or a source of truth: "
                   "nautobot+https://HOST/?location=L&role=R&tag=T&status=Active or netbox+https://HOST/?site=S... (token by "
                   "reference; README, 'Inventory from a source of truth')")
    p.add_argument("--db", default=common.default_db, help=common.db_help)
    p.add_argument("--transport", choices=("ssh", "netconf", "snmp"),
                   help="use only this transport for every device (telnet cannot be forced: it sends credentials "
                        "in clear, so only a host or group of the inventory opts in)")
    p.add_argument("--ssh-driver", choices=("asyncssh", "netmiko"), default="asyncssh",
                   help="SSH implementation (default asyncssh; netmiko for unusual devices)")
    progress = p.add_mutually_exclusive_group()
    progress.add_argument("--progress", dest="progress", action="store_true", default=None, help="force the progress bar")
    progress.add_argument("--no-progress", dest="progress", action="store_false", help="never show the progress bar")
    p.add_argument("--prune", action="store_true",
                   help="the inventory is complete: once the scan has completed, retire the fleet's devices that "
                        "are not in it (recorded; see 'ibagent retire --list'). An unfinished scan prunes nothing")
    p.add_argument("--parse-in", choices=("thread", "process"), default=None,
                   help="where each device's output is parsed, off the scan's event loop (default thread; "
                        "docs/ARCHITECTURE.md, 'Parsing off the loop')")
    p.add_argument("--parse-budget", type=float, default=None, metavar="SECONDS",
                   help="seconds each capture may take to parse; over it the device fails 'garbage' (default 10)")
    p.add_argument("--processes", type=at_least(1), default=None, metavar="N",
                   help="worker processes that collect and parse, the devices split between them; this process "
                        "stays the one store writer (default: the number of cores, at most one per "
                        f"{DEVICES_PER_PROCESS} devices; 1 keeps everything in one process)")
    p.add_argument("--agent", metavar="NAME",
                   help="the agent this scan runs as, recorded with its scope (the inventory, its devices' sites "
                        "and groups, and any --site/--group) so several agents can feed one store; default "
                        "$IBAGENT_AGENT, else this machine's host name. 'ibagent agents' lists them")
    p.add_argument("--site", action="append", metavar="SITE",
                   help="only the inventory's devices of this site (repeatable): an agent's zone. The others are "
                        "left as they are in the store (the fleet keeps them at their last collection)")
    p.add_argument("--group", action="append", metavar="GROUP",
                   help="only the inventory's devices in this group (repeatable; with --site, both must match)")
    common.scan_knobs(p, 200)
    common.host_key_options(p)
    common.common_log(p)
    p.set_defaults(func=cmd_scan)

    p = sub.add_parser("devices", help="list the physical items of the fleet (each device at its last good collection)",
                       description="One row per physical item (chassis, stack member, module, PSU, fan, optic, FEX) "
                       "from each device's latest clean collection.")
    p.add_argument("--db", default=common.default_db, help=common.db_help)
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")
    p.add_argument("--scan", type=int, help="snapshot as of this scan id (default: latest)")
    p.add_argument("--contractable-only", action="store_true", help="leave out virtual rows, duplicates and rows without serial")
    p.add_argument("--site", action="append", metavar="SITE",
                   help="only devices whose current state is of this site (repeatable)")
    add_agent_option(p, "device")
    p.add_argument("--failed", action="store_true",
                   help="list the devices whose latest attempt failed (with --scan: that failed in that scan), one row "
                   "per failed attempt: transport, kind, reason ('*' marks the headline); JSON: one object per device "
                   "with every attempt's failures. With --site/--agent: the devices that failed at that site or in "
                   "that agent's scans")
    p.set_defaults(func=cmd_devices)
