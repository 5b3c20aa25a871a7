"""``ibagent`` command line.

Exit codes (stable, for scripts and schedulers):
  0   everything asked for succeeded
  1   the scan ran but some devices failed (each is in the summary and the store)
  2   usage or configuration error (bad option, inventory, credentials, unreadable store)
  3   ``ibagent parse``: the capture could not be parsed
  70  internal error (a bug: please report it with ``--debug`` output)
  75  another scan holds the lock on this store (try again later)
Heavy modules are imported inside the subcommand that needs them: cron runs us often.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

EXIT_OK, EXIT_DEVICES_FAILED, EXIT_USAGE, EXIT_PARSE, EXIT_INTERNAL, EXIT_LOCKED = 0, 1, 2, 3, 70, 75

log = logging.getLogger("ibagent")

# One redactor for the whole run: every command adds the secrets it resolves, and the last-resort
# error handler in main() scrubs with it too.
_redactor = None


def _get_redactor():
    global _redactor
    if _redactor is None:
        from agent.redact import Redactor

        _redactor = Redactor()
    return _redactor


class UsageError(Exception):
    pass


# ---------------------------------------------------------------------------- helpers


def _setup_logging(args: argparse.Namespace, redactor) -> None:
    from agent.redact import RedactingFilter

    level = {0: logging.WARNING, 1: logging.INFO}.get(getattr(args, "verbose", 0), logging.DEBUG)
    root = logging.getLogger()
    root.handlers.clear()
    root.setLevel(logging.DEBUG)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.Handler] = []
    if not getattr(args, "quiet", False):
        stderr = logging.StreamHandler(sys.stderr)
        stderr.setLevel(level)
        stderr.setFormatter(fmt)
        handlers.append(stderr)
    if getattr(args, "log_file", None):
        fh = logging.FileHandler(args.log_file)
        fh.setLevel(min(level, logging.INFO))
        fh.setFormatter(fmt)
        handlers.append(fh)
    for h in handlers:
        h.addFilter(RedactingFilter(redactor))
        root.addHandler(h)
    # Library chatter (asyncssh logs every channel) would drown the device lines.
    for noisy in ("asyncssh", "paramiko", "netmiko", "ncclient", "pysnmp"):
        logging.getLogger(noisy).setLevel(logging.WARNING if level > logging.DEBUG else logging.INFO)


def _open_store(path: str):
    from agent.store import Store

    return Store(path)


def _print_summary(summary, stream=sys.stdout) -> None:
    rate = summary.ok / summary.elapsed if summary.elapsed > 0 else 0.0
    state = "interrupted" if summary.interrupted else "completed"
    print(
        f"scan {summary.scan_id} {state}: {summary.total} devices in {summary.elapsed:.1f}s "
        f"({rate:.1f} devices/s): {summary.ok} ok, {summary.failed} failed",
        file=stream,
    )
    not_started = summary.total - summary.ok - summary.failed
    if not_started:
        print(f"  not started (interrupted): {not_started}", file=stream)
    if summary.by_kind:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(summary.by_kind.items()))
        print(f"  failed by reason: {kinds}", file=stream)
        for device, kind, reason in sorted(summary.failures)[:50]:
            print(f"    {device:<24} {kind:<10} {reason}", file=stream)
        if len(summary.failures) > 50:
            print(f"    ... and {len(summary.failures) - 50} more (ibagent errors --scan {summary.scan_id})", file=stream)


def _scan_options(args: argparse.Namespace):
    from agent.scan import ScanOptions

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


def _run_scan(targets, store, options, inventory: str, redactor, progress_enabled: bool | None):
    import asyncio

    from agent.progress import Progress
    from agent.scan import run_scan

    progress = Progress(len(targets), enabled=progress_enabled)

    def on_progress(summary, _target, _status):
        progress.update(summary.ok, summary.failed)

    try:
        summary = asyncio.run(
            run_scan(targets, store, options, inventory=inventory, redactor=redactor, on_progress=on_progress)
        )
    finally:
        progress.update(0, 0, force=False)
        progress.close()
    return summary


# ---------------------------------------------------------------------------- commands


def cmd_scan(args: argparse.Namespace) -> int:
    from agent.inventory import load_inventory
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
    from agent import tabular
    from agent.views import DEVICE_COLUMNS, TABLE_COLUMNS, device_rows

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


def cmd_parse(args: argparse.Namespace) -> int:
    import json
    import time

    from agent import platforms
    from agent.models import Capture, to_dict
    from agent.normalize import records_from_captures
    from parsers import ParseError

    if args.platform not in platforms.names():
        raise UsageError(f"unknown platform {args.platform!r} (known: {', '.join(platforms.names())})")
    try:
        text = Path(args.file).read_text(encoding="utf-8", errors="surrogateescape")
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror}") from None
    now = time.time()
    capture = Capture(Path(args.file).name, args.platform, "file", args.command, text, now, now)
    try:
        records = records_from_captures(capture.device, args.platform, [capture])
    except ParseError as exc:
        print(f"ibagent: cannot parse {args.file} as {args.platform} {args.command!r}: {exc}", file=sys.stderr)
        return EXIT_PARSE
    out = {
        "facts": to_dict(records.facts),
        "components": [to_dict(c) for c in records.components],
        "licenses": [to_dict(u) for u in records.licenses],
        "license_status": to_dict(records.license_status) if records.license_status else None,
        "problems": records.problems,
    }
    if args.format == "json":
        print(json.dumps(out, indent=2, default=str))
    else:
        from agent import tabular

        facts = out["facts"]
        for key in ("hostname", "os_version", "version", "chassis_pid", "chassis_serial"):
            if facts.get(key):
                print(f"{key:15} {facts[key]}")
        if out["components"]:
            print(tabular.to_table(out["components"], ("name", "class", "pid", "base_pid", "serial", "contractable", "reason")))
        if out["licenses"]:
            print(tabular.to_table(out["licenses"], ("license", "entitlement_tag", "count", "status", "udi_pid", "udi_serial")))
        if out["license_status"]:
            for key, value in out["license_status"].items():
                if value not in ("", None, [], {}):
                    print(f"{key:25} {value}")
    return EXIT_OK


def cmd_lab(args: argparse.Namespace) -> int:
    from lab.main import run

    argv = ["--fleet", args.fleet, "--count", str(args.count), "--latency", str(args.latency),
            "--inventory-dir", args.inventory_dir]
    return run(argv)


def cmd_demo(args: argparse.Namespace) -> int:
    from agent import tabular
    from agent.inventory import load_inventory
    from agent.scan import ScanOptions
    from agent.views import DEVICE_COLUMNS, device_rows
    from lab import fleet as lab_fleet
    from lab.device import DEFAULT_ENABLE, DEFAULT_PASSWORD, ENABLE_ENV, PASSWORD_ENV
    from lab.inventory import write_inventory
    from lab.server import LabThread

    # The demo inventory references the lab's secrets like any other; give them their lab values.
    os.environ.setdefault(PASSWORD_ENV, DEFAULT_PASSWORD)
    os.environ.setdefault(ENABLE_ENV, DEFAULT_ENABLE)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    redactor = _get_redactor()
    _setup_logging(args, redactor)
    db = Path(args.db) if args.db else out / "ibagent.db"
    print(f"demo: starting the simulated fleet on 127.0.0.1 ...", flush=True)
    with LabThread(lab_fleet.demo_fleet()) as lab:
        inv_dir = out / "inventory"
        write_inventory(lab.devices, inv_dir)
        inventory = load_inventory(inv_dir)
        redactor.add(inventory.secrets)
        print(f"demo: {len(inventory.targets)} devices in {inv_dir}/; scanning over SSH ...", flush=True)
        options = ScanOptions(workers=args.workers, deadline=args.deadline, connect_timeout=5, command_timeout=5, retries=1)
        store = _open_store(str(db))
        try:
            store.lock()
            summary = _run_scan(inventory.targets, store, options, inventory.source, redactor, None)
            rows = device_rows(store, summary.scan_id)
        finally:
            store.close()
    (out / "devices.csv").write_text(tabular.to_csv(rows, DEVICE_COLUMNS))
    (out / "devices.json").write_text(tabular.to_json(rows))
    _print_summary(summary)
    contractable = sum(1 for r in rows if r["contractable"])
    print(f"demo: {len(rows)} physical items ({contractable} contractable) written to {out}/devices.csv and devices.json")
    print(f"demo: store at {db}; try:  ibagent devices --db {db}")
    if summary.failed:
        print("demo: the failed devices above are the deliberately faulty ones (one per fault kind).")
    return EXIT_OK if summary.failed == 0 else EXIT_DEVICES_FAILED


# ---------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ibagent",
        description=(
            "Discover Cisco hardware, support coverage and Smart Licensing usage from the network itself. "
            "Works fully offline."
        ),
        epilog="Exit codes: 0 ok, 1 some devices failed, 2 usage/configuration error, 3 parse error, "
        "70 internal error, 75 another scan is running.  'ibagent demo' shows the whole job on a simulated fleet.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks for internal errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def common_log(p):
        p.add_argument("-v", "--verbose", action="count", default=0, help="more log output on stderr (-vv: debug)")
        p.add_argument("-q", "--quiet", action="store_true", help="no log output on stderr (see --log-file)")
        p.add_argument("--log-file", help="also append logs to this file (secrets are masked)")

    def scan_knobs(p, workers_default):
        p.add_argument("--workers", type=int, default=workers_default, help=f"devices in flight at once (default {workers_default})")
        p.add_argument("--deadline", type=float, default=180.0, help="seconds a device may take in all, retries included (default 180)")
        p.add_argument("--connect-timeout", type=float, default=15.0, help="seconds to log in (default 15)")
        p.add_argument("--command-timeout", type=float, default=60.0, help="seconds one command may take (default 60)")
        p.add_argument("--retries", type=int, default=1, help="extra tries on a transient connection error (default 1)")

    p = sub.add_parser("scan", help="collect every device of an inventory into the store",
                       description="Collect every device of an inventory into the store. Safe to run from cron or a "
                       "systemd timer: a lock stops two scans of one store from overlapping.")
    p.add_argument("-i", "--inventory", required=True, help="inventory directory (hosts.yaml, groups.yaml, defaults.yaml) or file")
    p.add_argument("--db", default=os.environ.get("IBAGENT_DB", "ibagent.db"), help="store path (default ./ibagent.db or $IBAGENT_DB)")
    p.add_argument("--transport", choices=("ssh", "netconf", "snmp"), help="use only this transport for every device")
    p.add_argument("--ssh-driver", choices=("asyncssh", "netmiko"), default="asyncssh",
                   help="SSH implementation (default asyncssh; netmiko for unusual devices)")
    progress = p.add_mutually_exclusive_group()
    progress.add_argument("--progress", dest="progress", action="store_true", default=None, help="force the progress bar")
    progress.add_argument("--no-progress", dest="progress", action="store_false", help="never show the progress bar")
    scan_knobs(p, 200)
    common_log(p)
    p.set_defaults(func=cmd_scan)

    p = sub.add_parser("devices", help="list the physical items of the latest snapshot",
                       description="One row per physical item (chassis, stack member, module, PSU, fan, optic, FEX) "
                       "from each device's latest clean collection.")
    p.add_argument("--db", default=os.environ.get("IBAGENT_DB", "ibagent.db"), help="store path (default ./ibagent.db or $IBAGENT_DB)")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")
    p.add_argument("--scan", type=int, help="snapshot as of this scan id (default: latest)")
    p.add_argument("--contractable-only", action="store_true", help="leave out virtual rows, duplicates and rows without serial")
    p.set_defaults(func=cmd_devices)

    p = sub.add_parser("parse", help="parse one captured output, exactly as a scan would",
                       description="Print the records one capture yields, through the same code path a scan uses.")
    p.add_argument("file", help="file holding the raw command output")
    p.add_argument("--platform", required=True, help="cisco_xe, cisco_ios, cisco_nxos, cisco_xr or cisco_asa")
    p.add_argument("--command", required=True, help='the command that produced it, e.g. "show inventory"')
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=cmd_parse)

    p = sub.add_parser("lab", help="run the simulated Cisco fleet on 127.0.0.1 and write its inventory",
                       description="Run the device simulator in the foreground (Ctrl-C stops it).")
    p.add_argument("--fleet", choices=("demo", "scale"), default="demo")
    p.add_argument("--count", type=int, default=100, help="devices in the scale fleet (default 100)")
    p.add_argument("--latency", type=float, default=0.2, help="seconds per command in the scale fleet (default 0.2)")
    p.add_argument("--inventory-dir", default="lab-inventory", help="where to write the inventory (default ./lab-inventory)")
    p.set_defaults(func=cmd_lab)

    p = sub.add_parser("demo", help="start the simulated fleet, scan it, and write the reports",
                       description="Start the built-in simulated fleet, scan it over SSH, and write devices.csv and "
                       "devices.json.  Exits 1 because the fleet includes deliberately faulty devices.")
    p.add_argument("--out", default="ibagent-demo", help="output directory (default ./ibagent-demo)")
    p.add_argument("--db", help="store path (default <out>/ibagent.db)")
    scan_knobs(p, 50)
    common_log(p)
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    from agent.inventory import InventoryError
    from agent.store import StoreError

    try:
        return args.func(args)
    except (UsageError, InventoryError, StoreError) as exc:
        print(f"ibagent: {_get_redactor().scrub(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("ibagent: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - last line of defence: no traceback reaches a user
        if args.debug:
            raise
        message = _get_redactor().scrub(f"{type(exc).__name__}: {exc}")
        print(f"ibagent: internal error: {message} (rerun with --debug for details)", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
