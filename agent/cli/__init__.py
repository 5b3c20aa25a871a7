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
        from agent.core.redact import Redactor

        _redactor = Redactor()
    return _redactor


class UsageError(Exception):
    pass


# ---------------------------------------------------------------------------- helpers


def _setup_logging(args: argparse.Namespace, redactor) -> None:
    from agent.core.redact import RedactingFilter

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


def _run_scan(targets, store, options, inventory: str, redactor, progress_enabled: bool | None):
    import asyncio

    from agent.collect.progress import Progress
    from agent.collect.scan import run_scan

    progress = Progress(len(targets), enabled=progress_enabled)

    def on_progress(summary, _target, _status):
        progress.update(summary.ok, summary.failed, force=summary.ok + summary.failed == summary.total)

    try:
        summary = asyncio.run(
            run_scan(targets, store, options, inventory=inventory, redactor=redactor, on_progress=on_progress)
        )
    finally:
        progress.close()
    return summary


# ---------------------------------------------------------------------------- commands


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

    from agent.core import platforms
    from agent.core.models import Capture, to_dict
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
        from agent.reports import tabular

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
    from lab.main import parse_peers, run

    argv = ["--fleet", args.fleet, "--count", str(args.count), "--latency", str(args.latency),
            "--inventory-dir", args.inventory_dir]
    if args.peers:
        try:
            parse_peers(args.peers)
        except argparse.ArgumentTypeError as exc:
            raise UsageError(f"--peers: {exc}") from None
        argv += ["--peers", args.peers]
    return run(argv)


def cmd_demo(args: argparse.Namespace) -> int:
    from agent.demo import run_demo

    redactor = _get_redactor()
    _setup_logging(args, redactor)
    return run_demo(args, redactor, _run_scan, _open_store, _print_summary)


def _require_store(path: str):
    if not Path(path).exists():
        raise UsageError(f"no store at {path}: run 'ibagent scan' or 'ibagent demo' first, or pass --db")
    return _open_store(path)


def _parse_day(text: str, what: str):
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{what} must be a date as YYYY-MM-DD, not {text!r}") from None


def _emit(rows: list[dict], columns, fmt: str) -> None:
    from agent.reports import tabular

    if fmt == "json":
        sys.stdout.write(tabular.to_json(rows))
    elif fmt == "csv":
        sys.stdout.write(tabular.to_csv(rows, columns))
    else:
        sys.stdout.write(tabular.to_table(rows, columns))


def cmd_reconcile(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from agent.contracts import load_contracts, load_header_map
    from agent.eox import load_eox
    from agent.reconcile import count_by_status
    from agent.reconcile.from_store import reconcile_from_store
    from agent.reports import render_table, write_reconcile_reports
    from agent.reports.writers import ReportWriteError
    from agent.reports.cells import COLUMNS, row_record

    as_of = _parse_day(args.as_of, "--as-of") if args.as_of else datetime.now(timezone.utc).date()
    if args.window < 0:
        raise UsageError("--window must be 0 or more days")
    if args.format == "xlsx" and not args.out:
        raise UsageError("--format xlsx writes a workbook: give --out DIR")
    header_map = None
    if args.map:
        try:
            header_map = load_header_map(args.map)
        except (OSError, ValueError) as exc:
            raise UsageError(f"header map {args.map}: {exc}") from None
    try:
        load = load_contracts(args.contracts, header_map=header_map, date_format=args.date_format)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    eox = load_eox(args.eox) if args.eox else None
    problems = list(load.errors) + (list(eox.errors) if eox else [])
    for err in problems[:200]:
        print(f"ibagent: {err}", file=sys.stderr)
    if len(problems) > 200:
        print(f"ibagent: ... and {len(problems) - 200} more problems", file=sys.stderr)
    print(load.summary_text(), file=sys.stderr)
    if eox:
        print(eox.summary_text(), file=sys.stderr)
    whole_file = [e for e in problems if e.row is None]
    if whole_file or (args.strict and problems):
        print("ibagent: not reconciling: an input file could not be read as a whole"
              + ("" if whole_file else " (--strict)"), file=sys.stderr)
        return EXIT_USAGE
    store = _require_store(args.db)
    try:
        if store.latest_scan_id() is None:
            raise UsageError(f"{args.db} holds no finished scan yet")
        rows = reconcile_from_store(store, load.lines, eox.index if eox else None, as_of, args.window, args.scan)
    finally:
        store.close()
    counts = count_by_status(rows)
    print("reconcile as of " + as_of.isoformat() + ": "
          + ", ".join(f"{k} {v}" for k, v in counts.items() if v), file=sys.stderr)
    if args.out:
        meta = {"as_of": as_of.isoformat(), "window_days": args.window, "contracts": list(args.contracts),
                "eox": list(args.eox or []), "store": args.db}
        formats = [args.format] if args.format else ["table", "csv", "json", "xlsx"]
        try:
            written = write_reconcile_reports(rows, args.out, formats=formats, meta=meta)
        except ReportWriteError as exc:
            raise UsageError(str(exc)) from None
        print(f"wrote {len(written)} files to {args.out}/", file=sys.stderr)
    elif args.format == "json":
        from agent.reports.tabular import json_array_lines

        print(json_array_lines(map(row_record, rows), ensure_ascii=False))
    elif args.format == "csv":
        from agent.reports.cells import row_cells
        import csv

        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(map(row_cells, rows))  # None -> empty cell, date -> ISO
    else:
        sys.stdout.write(render_table(rows))
    return EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    from agent import history

    store = _require_store(args.db)
    try:
        try:
            a, b = history.resolve_pair(store, args.scans)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        changes = [c.as_dict() for c in history.diff(store, a, b)]
    finally:
        store.close()
    print(f"changes from scan {a} to scan {b}: {len(changes)}", file=sys.stderr)
    _emit(changes, ("change", "serial", "base_pid", "device", "name", "detail"), args.format)
    return EXIT_OK


def cmd_history(args: argparse.Namespace) -> int:
    from agent import history
    from agent.normalize import canonical_serial

    store = _require_store(args.db)
    try:
        rows = history.item_history(store, canonical_serial(args.serial))
    finally:
        store.close()
    if not rows:
        print(f"ibagent: serial {args.serial} was never seen", file=sys.stderr)
        return EXIT_DEVICES_FAILED
    _emit(rows, ("scan_id", "when", "device", "name", "pid", "class", "contractable", "capture_id"), args.format)
    return EXIT_OK


def cmd_trueup(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from agent import history

    since = int(args.since) if args.since.isdigit() else _parse_day(args.since, "--since")
    store = _require_store(args.db)
    try:
        try:
            items = history.trueup(store, since)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    finally:
        store.close()
    rows = [asdict(i) for i in items]
    for r in rows:
        r["class"] = r.pop("cls")
    print(f"items first seen after {args.since}: {len(rows)}", file=sys.stderr)
    _emit(rows, ("serial", "base_pid", "pid", "hostname", "site", "class", "name", "scan_id"), args.format)
    return EXIT_OK


# ---------------------------------------------------------------------------- slp (Smart Licensing Using Policy)


def _slp_options(args: argparse.Namespace):
    from agent.slp.offline import ActionOptions

    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    return ActionOptions(workers=args.workers, connect_timeout=args.connect_timeout,
                         command_timeout=args.command_timeout, deadline=args.deadline)


def _slp_targets(args: argparse.Namespace, redactor):
    from agent.collect.inventory import load_inventory

    inventory = load_inventory(args.inventory)
    redactor.add(inventory.secrets)
    targets = [t for t in inventory.targets if args.site is None or t.site == args.site]
    if not targets:
        raise UsageError(f"no device of {args.inventory} is at site {args.site!r}" if args.site
                         else f"{args.inventory} holds no device")
    return inventory, targets


def _slp_print(result, columns, fmt: str) -> None:
    from agent.slp.offline import outcome_rows

    rows = outcome_rows(result)
    for r in rows:
        r["reports"] = len(r["report_ids"])
    _emit(rows, columns, fmt)


def cmd_slp_report(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from agent.slp import slp_report
    from agent.slp.render import render

    as_of = _parse_day(args.as_of, "--as-of") if args.as_of else datetime.now(timezone.utc).date()
    if args.days < 1:
        raise UsageError("--days must be at least 1")
    store = _require_store(args.db)
    try:
        report = slp_report(store, as_of, args.days, args.site)
    finally:
        store.close()
    text = render(report, args.format)
    if args.out:
        out = Path(args.out)
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, out)
        print(f"wrote {out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    counts = ", ".join(f"{k} {v}" for k, v in report.counts().items() if v) or "no devices"
    print(f"slp report as of {as_of.isoformat()}: {counts}", file=sys.stderr)
    return EXIT_OK


def cmd_slp_collect(args: argparse.Namespace) -> int:
    import asyncio

    from agent.slp.offline import SlpLock, collect, mode_words

    redactor = _get_redactor()
    _setup_logging(args, redactor)
    try:
        mode = mode_words(args.mode)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    options = _slp_options(args)
    inventory, targets = _slp_targets(args, redactor)
    store = _open_store(args.db)
    try:
        with SlpLock(store):
            result = asyncio.run(collect(targets, store, mode=mode, site=args.site, options=options,
                                         redactor=redactor, inventory=inventory.source))
    finally:
        store.close()
    _slp_print(result, ("device", "site", "status", "file", "reports", "transfer", "kind", "reason"), args.format)
    n = {s: sum(1 for o in result.outcomes if o.status == s) for s in ("collected", "skipped", "refused", "failed")}
    print(f"slp collect (run {result.run_id}): " + ", ".join(f"{k} {v}" for k, v in n.items() if v), file=sys.stderr)
    return EXIT_OK if not result.failed else EXIT_DEVICES_FAILED


def cmd_slp_bundle(args: argparse.Namespace) -> int:
    from agent.slp.offline import SlpLock, bundle

    store = _require_store(args.db)
    try:
        with SlpLock(store):
            result = bundle(store, args.out, site=args.site, include_acknowledged=args.all)
    finally:
        store.close()
    for device, why in result.skipped:
        print(f"ibagent: {device}: not bundled: {why}", file=sys.stderr)
    _emit(result.files, ("file", "device", "site", "udi_pid", "udi_serial", "report_count", "sha256"), args.format)
    print(f"slp bundle: {len(result.files)} file(s) and manifest.json/manifest.csv in {result.out_dir}/"
          + ("" if result.files else " (nothing to upload: run 'ibagent slp collect' first)"), file=sys.stderr)
    return EXIT_OK


def cmd_slp_import_ack(args: argparse.Namespace) -> int:
    import asyncio

    from agent.slp.offline import SlpLock, import_acks

    redactor = _get_redactor()
    _setup_logging(args, redactor)
    missing = [f for f in args.files if not Path(f).is_file()]
    if missing:
        raise UsageError(f"no such ACK file: {', '.join(missing)}")
    options = _slp_options(args)
    args.site = None
    inventory, targets = _slp_targets(args, redactor)
    store = _require_store(args.db)
    try:
        with SlpLock(store):
            result = asyncio.run(import_acks(targets, store, args.files, options=options, redactor=redactor,
                                             inventory=inventory.source))
    finally:
        store.close()
    _slp_print(result, ("device", "file", "status", "last_ack", "next_ack_deadline", "kind", "reason"), args.format)
    n = {s: sum(1 for o in result.outcomes if o.status == s) for s in ("imported", "failed", "unmatched", "invalid")}
    print(f"slp import-ack (run {result.run_id}): " + ", ".join(f"{k} {v}" for k, v in n.items() if v), file=sys.stderr)
    return EXIT_OK if not result.failed else EXIT_DEVICES_FAILED


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

    db_help = "store path (default ./ibagent.db or $IBAGENT_DB)"
    default_db = os.environ.get("IBAGENT_DB", "ibagent.db")

    p = sub.add_parser("reconcile", help="diff the live fleet against contract exports: deployed list and quote lists",
                       description="Reconcile the latest snapshot against contract/coverage exports (CSV, XLSX, "
                       "JSON as Cisco and partners export them) and optional EoX data. Statuses: covered, expiring, "
                       "lapsed, uncovered, not-seen, unverified, rma-swap, end-of-support. With --out, writes the "
                       "deployed list and the quote serial lists (renew, add, drop, transfer, refresh).")
    p.add_argument("--contracts", nargs="+", required=True, metavar="FILE", help="contract/coverage export files")
    p.add_argument("--eox", nargs="+", metavar="FILE", help="EoX API JSON or CSV files")
    p.add_argument("--as-of", help="reconcile as of this date, YYYY-MM-DD (default today, UTC)")
    p.add_argument("--window", type=int, default=90, help="days ahead that count as expiring (default 90)")
    p.add_argument("--format", choices=("table", "csv", "json", "xlsx"),
                   help="output format (default: table on stdout; all formats with --out)")
    p.add_argument("--out", help="write the report files to this directory")
    p.add_argument("--map", help="YAML header map (canonical field: column name) for other CSV layouts")
    p.add_argument("--date-format", choices=("DD/MM/YYYY", "MM/DD/YYYY", "YYYY-MM-DD", "DD-MMM-YYYY"),
                   help="settle ambiguous slash dates")
    p.add_argument("--strict", action="store_true", help="refuse to reconcile if any row could not be read")
    p.add_argument("--scan", type=int, help="snapshot as of this scan id (default latest)")
    p.add_argument("--db", default=default_db, help=db_help)
    p.set_defaults(func=cmd_reconcile)

    p = sub.add_parser("diff", help="what changed between two scans (added, removed, moved, version changed)")
    p.add_argument("scans", nargs="*", type=int, metavar="SCAN", help="two scan ids (default: the last two)")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")
    p.add_argument("--db", default=default_db, help=db_help)
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser("history", help="every sighting of one serial across scans")
    p.add_argument("serial")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")
    p.add_argument("--db", default=default_db, help=db_help)
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("trueup", help="items first seen after a date or scan (true-up delta)")
    p.add_argument("--since", required=True, help="YYYY-MM-DD or a scan id")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")
    p.add_argument("--db", default=default_db, help=db_help)
    p.set_defaults(func=cmd_trueup)

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
    scan_knobs(p, 50)
    common_log(p)
    p.set_defaults(func=cmd_demo)
    _add_slp_parser(sub, common_log, default_db, db_help)
    return parser


def _add_slp_parser(sub, common_log, default_db: str, db_help: str) -> None:
    group = sub.add_parser(
        "slp", help="Smart Licensing Using Policy: usage report and the offline RUM/ACK round trip",
        description="Smart Licensing Using Policy for air-gapped sites: report usage and reporting deadlines "
        "from scan history, collect RUM usage files from the devices over SSH, bundle them for CSSM's offline "
        "upload, and import the ACK files CSSM returns. See docs/SLP.md.")
    actions = group.add_subparsers(dest="slp_command", metavar="ACTION")
    group.set_defaults(func=lambda _args: (group.print_help(sys.stderr), EXIT_USAGE)[1])

    def knobs(p):
        p.add_argument("--workers", type=int, default=20, help="devices in flight at once (default 20)")
        p.add_argument("--deadline", type=float, default=180.0, help="seconds a device may take in all (default 180)")
        p.add_argument("--connect-timeout", type=float, default=15.0, help="seconds to log in (default 15)")
        p.add_argument("--command-timeout", type=float, default=60.0, help="seconds one command or transfer may take (default 60)")
        p.add_argument("--format", choices=("table", "json", "csv"), default="table", help="per-device outcome format")
        p.add_argument("--db", default=default_db, help=db_help)
        common_log(p)

    p = actions.add_parser("report", help="licence usage per entitlement and site, and reporting status per device",
                           description="Per entitlement tag and site: devices and stack members using it, current / "
                           "min / max count over the window, first and last seen. Per device: ok, due (ACK deadline "
                           "within 30 days), overdue, never-acked or not-slp, with the reason.")
    p.add_argument("--site", help="only this site")
    p.add_argument("--days", type=int, default=90, help="history window in days for min / max counts (default 90)")
    p.add_argument("--as-of", help="report as of this date, YYYY-MM-DD (default today, UTC)")
    p.add_argument("--format", choices=("table", "csv", "json", "html"), default="table")
    p.add_argument("--out", help="write to this file instead of stdout")
    p.add_argument("--db", default=default_db, help=db_help)
    p.set_defaults(func=cmd_slp_report)

    p = actions.add_parser("collect", help="save each SLP device's RUM usage file and read it back, byte for byte",
                           description="On each SLP device: 'license smart save usage <mode> file bootflash:<name>', "
                           "then read the file back by SCP (or 'more' when its size can be verified) into the store. "
                           "Devices the store knows as classic/non-SLP are skipped; unknown ones are asked.")
    p.add_argument("-i", "--inventory", required=True, help="inventory directory or file")
    p.add_argument("--site", help="only devices of this site")
    p.add_argument("--mode", nargs="+", default=["unreported"], metavar="MODE",
                   help="what to save: unreported (default), all, or days N")
    knobs(p)
    p.set_defaults(func=cmd_slp_collect)

    p = actions.add_parser("bundle", help="write the upload-ready RUM files and a manifest for CSSM",
                           description="Write each device's newest not-yet-acknowledged RUM file, byte for byte, plus "
                           "manifest.json and manifest.csv (device, UDI, report ids, sha256) for CSSM > Reports > "
                           "Usage Data Files > Upload Usage Data.")
    p.add_argument("--out", required=True, help="directory to write the files to")
    p.add_argument("--site", help="only devices of this site")
    p.add_argument("--all", action="store_true", help="also files already acknowledged")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")
    p.add_argument("--db", default=default_db, help=db_help)
    p.set_defaults(func=cmd_slp_bundle)

    p = actions.add_parser("import-ack", help="copy ACK files from CSSM to their devices and import them",
                           description="Match each ACK to its devices by the UDIs it names, copy it to the device by "
                           "SCP (the device needs 'ip scp server enable'), 'license smart import', check 'Import Data "
                           "Successful' and record the new last ACK and deadline. Nothing is retried.")
    p.add_argument("-i", "--inventory", required=True, help="inventory directory or file")
    p.add_argument("files", nargs="+", metavar="FILE", help="ACK files downloaded from CSSM")
    knobs(p)
    p.set_defaults(func=cmd_slp_import_ack)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    from agent.collect.inventory import InventoryError
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
