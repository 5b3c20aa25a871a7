"""``ibagent slp``: Smart Licensing Using Policy: the usage report and the offline RUM / ACK round
trip (``collect``, ``bundle``, ``import-ack``)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agent.cli.common import (
    EXIT_DEVICES_FAILED, EXIT_OK, EXIT_USAGE, UsageError, _emit, _get_redactor, _open_store, _parse_day,
    _require_store, _setup_logging, at_least, host_key_settings, say, seconds,
)
from agent.cli.filters import add_filter_options, fail_on_exit, fleet_scope, status_set


def _slp_options(args: argparse.Namespace, targets):
    from agent.slp.offline import ActionOptions

    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    host_keys, known_hosts = host_key_settings(args, targets)
    return ActionOptions(workers=args.workers, connect_timeout=args.connect_timeout,
                         command_timeout=args.command_timeout, deadline=args.deadline,
                         host_keys=host_keys, known_hosts=known_hosts)


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
    from agent.slp.status import STATUSES

    wanted = status_set(args.status, STATUSES, "--status")
    fail_on = status_set(args.fail_on, STATUSES, "--fail-on")
    # --agent: the devices whose current state that agent collected; their rows, and the entitlement
    # totals counted over them alone.
    held = fleet_scope(args.db, None, args.agent)
    store = _require_store(args.db)
    try:
        report = slp_report(store, as_of, args.days, args.site, devices=held)
    finally:
        store.close()
    if wanted:  # the devices and their usage rows; the entitlement totals stay the site's
        from dataclasses import replace

        report = replace(report, devices=[d for d in report.devices if d["reporting_status"] in wanted],
                         rows=[r for r in report.rows if r.get("reporting_status") in wanted])
    text = render(report, args.format)
    if args.out:
        from agent.reports.tabular import atomic_write

        out = Path(args.out)
        atomic_write(out, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        print(f"wrote {out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    counts = ", ".join(f"{k} {v}" for k, v in report.counts().items() if v) or "no devices"
    print(f"slp report as of {as_of.isoformat()}: {counts}", file=sys.stderr)
    return fail_on_exit(fail_on, report.counts(), "slp report")


def cmd_slp_collect(args: argparse.Namespace) -> int:
    import asyncio

    from agent.slp.offline import SlpLock, collect, mode_words

    redactor = _get_redactor()
    _setup_logging(args, redactor)
    try:
        mode = mode_words(args.mode)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    inventory, targets = _slp_targets(args, redactor)
    options = _slp_options(args, targets)
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

    store = _require_store(args.db, write=True)
    try:
        with SlpLock(store):
            result = bundle(store, args.out, site=args.site, include_acknowledged=args.all)
    finally:
        store.close()
    for device, why in result.skipped:
        say(f"ibagent: {device}: not bundled: {why}")
    _emit(result.files, ("file", "device", "site", "udi_pid", "udi_serial", "report_count", "sha256"), args.format)
    print(f"slp bundle: {len(result.files)} file(s) and manifest.json/manifest.csv in {result.out_dir}/"
          + ("" if result.files else " (nothing to upload: run 'ibagent slp collect' first)"), file=sys.stderr)
    return EXIT_OK


def cmd_slp_import_ack(args: argparse.Namespace) -> int:
    import asyncio

    from agent.slp.ack_import import import_acks
    from agent.slp.offline import SlpLock

    redactor = _get_redactor()
    _setup_logging(args, redactor)
    missing = [f for f in args.files if not Path(f).is_file()]
    if missing:
        raise UsageError(f"no such ACK file: {', '.join(missing)}")
    args.site = None
    inventory, targets = _slp_targets(args, redactor)
    options = _slp_options(args, targets)
    store = _require_store(args.db, write=True)
    try:
        with SlpLock(store):
            result = asyncio.run(import_acks(targets, store, args.files, options=options, redactor=redactor,
                                             inventory=inventory.source))
    finally:
        store.close()
    _slp_print(result, ("device", "file", "status", "last_ack", "next_ack_deadline", "kind", "reason", "warning"),
               args.format)
    for o in result.outcomes:
        if o.warning:
            say(f"ibagent: {o.device}: warning: imported ({o.file}), but {o.warning}")
    n = {s: sum(1 for o in result.outcomes if o.status == s) for s in ("imported", "failed", "unmatched", "invalid")}
    print(f"slp import-ack (run {result.run_id}): " + ", ".join(f"{k} {v}" for k, v in n.items() if v), file=sys.stderr)
    return EXIT_OK if not result.failed else EXIT_DEVICES_FAILED


def register(sub, common) -> None:
    common_log, default_db, db_help = common.common_log, common.default_db, common.db_help
    group = sub.add_parser(
        "slp", help="Smart Licensing Using Policy: usage report and the offline RUM/ACK round trip",
        description="Smart Licensing Using Policy for air-gapped sites: report usage and reporting deadlines "
        "from scan history, collect RUM usage files from the devices over SSH, bundle them for CSSM's offline "
        "upload, and import the ACK files CSSM returns. See docs/SLP.md.")
    actions = group.add_subparsers(dest="slp_command", metavar="ACTION")
    group.set_defaults(func=lambda _args: (group.print_help(sys.stderr), EXIT_USAGE)[1])

    def knobs(p):
        p.add_argument("--workers", type=at_least(1), default=20, help="devices in flight at once (default 20)")
        p.add_argument("--deadline", type=seconds, default=180.0, help="seconds a device may take in all (default 180)")
        p.add_argument("--connect-timeout", type=seconds, default=15.0, help="seconds to log in (default 15)")
        p.add_argument("--command-timeout", type=seconds, default=60.0, help="seconds one command or transfer may take (default 60)")
        p.add_argument("--format", choices=("table", "json", "csv"), default="table", help="per-device outcome format")
        p.add_argument("--db", default=default_db, help=db_help)
        common.host_key_options(p)
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
    add_filter_options(p, "device", "ok, due, overdue, never-acked, not-slp; usage rows follow their device, the "
                       "entitlement totals stay the site's", site=False)
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
