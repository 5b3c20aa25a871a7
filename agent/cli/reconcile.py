"""``ibagent reconcile`` (the fleet against contract exports) and the history views over scans:
``diff``, ``history`` and ``trueup``."""
from __future__ import annotations

import argparse
import sys

from agent.cli.common import (
    EXIT_DEVICES_FAILED, EXIT_OK, UsageError, _emit, _out, _parse_day, _require_store, positive_days,
    say,
)
from agent.cli.filters import add_filter_options, fail_on_exit, fleet_scope, status_set, table_width


def load_inputs(args: argparse.Namespace, doing: str = "reconciling"):
    """``(ContractLoad, EoxLoad or None)`` from ``--contracts``, ``--map``, ``--date-format`` and
    ``--eox``: every problem said on stderr (cell text shown, not obeyed), a file that could not
    be read as a whole (or any problem, with ``--strict``) a UsageError saying what is not being
    done (``doing``).  ``evidence`` and ``quote`` read their inputs this way too."""
    from agent.contracts import load_contracts, load_eox, load_header_map

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
    eox = load_eox(args.eox) if getattr(args, "eox", None) else None
    problems = list(load.errors) + (list(eox.errors) if eox else [])
    for err in problems[:200]:  # cell text from the file: shown, not obeyed by the terminal
        say(f"ibagent: {err}")
    if len(problems) > 200:
        print(f"ibagent: ... and {len(problems) - 200} more problems", file=sys.stderr)
    for line in load.summary_text().splitlines() + (eox.summary_text().splitlines() if eox else []):
        say(line)
    whole_file = [e for e in problems if (e.row is None and not e.kept) or e.fatal]
    if whole_file or (getattr(args, "strict", False) and problems):
        raise UsageError(f"not {doing}: an input file could not be read as a whole"
                         + ("" if whole_file else " (--strict)"))
    return load, eox


def reconciled_rows(args: argparse.Namespace, load, eox, as_of):
    """Reconcile's rows from the store at ``--db`` (``--scan``, ``--window``, ``--max-age``) against
    the loaded inputs; ``quote`` prices the same rows."""
    from agent.reconcile.from_store import reconcile_from_store

    store = _require_store(args.db)
    try:
        if store.latest_scan_id() is None:
            raise UsageError(f"{args.db} holds no finished scan yet")
        return reconcile_from_store(store, load.lines, eox.index if eox else None, as_of, args.window, args.scan,
                                    max_age_days=args.max_age)
    finally:
        store.close()


def _neighbours_beside(db: str, out: str) -> str:
    """The CDP / LLDP gap list (``ibagent neighbours``) as ``neighbours.csv`` beside the lists."""
    from agent.reports.neighbours import write_csv

    store = _require_store(db)
    try:
        return write_csv(store, out)
    finally:
        store.close()


def cmd_reconcile(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from agent.reconcile import count_by_status
    from agent.reports import render_table, write_reconcile_reports
    from agent.reports.writers import ReportWriteError
    from agent.reports.cells import COLUMNS, row_record

    as_of = _parse_day(args.as_of, "--as-of") if args.as_of else datetime.now(timezone.utc).date()
    if args.window < 0:
        raise UsageError("--window must be 0 or more days")
    if args.format == "xlsx" and not args.out:
        raise UsageError("--format xlsx writes a workbook: give --out DIR")
    from agent.reconcile import STATUSES

    wanted = status_set(args.status, STATUSES, "--status")
    fail_on = status_set(args.fail_on, STATUSES, "--fail-on")
    load, eox = load_inputs(args)
    rows = reconciled_rows(args, load, eox, as_of)
    held = fleet_scope(args.db, None, args.agent)
    if args.site or wanted or held is not None:
        sites = set(args.site or ())
        rows = [r for r in rows if (not sites or r.site in sites) and (not wanted or r.status in wanted)
                and (held is None or r.device in held)]
    counts = count_by_status(rows)
    print("reconcile as of " + as_of.isoformat() + ": "
          + (", ".join(f"{k} {v}" for k, v in counts.items() if v) or "no rows")
          + (f" (only site {', '.join(args.site)})" if args.site else "")
          + (f" (only agent {', '.join(args.agent)})" if args.agent else "")
          + (f" (only {', '.join(sorted(wanted))})" if wanted else ""), file=sys.stderr)
    if args.out:
        meta = {"as_of": as_of.isoformat(), "window_days": args.window, "contracts": list(args.contracts),
                "eox": list(args.eox or []), "store": args.db}
        formats = [args.format] if args.format else ["table", "csv", "json", "xlsx"]
        try:
            written = write_reconcile_reports(rows, args.out, formats=formats, meta=meta)
        except ReportWriteError as exc:
            raise UsageError(str(exc)) from None
        print(f"wrote {len(written)} files to {args.out}/", file=sys.stderr)
        print("ibagent: " + _neighbours_beside(args.db, args.out), file=sys.stderr)  # issue 17: neighbours.csv
    elif args.format == "json":
        from agent.reports.tabular import json_array_lines

        _out(json_array_lines(map(row_record, rows), ensure_ascii=False) + "\n")
    elif args.format == "csv":
        from agent.reports.cells import row_cells
        import csv
        import io

        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(map(row_cells, rows))  # None -> empty cell, date -> ISO
        _out(buf.getvalue())
    else:
        width = table_width(sys.stdout)
        sys.stdout.write(render_table(rows, width=width, wide=args.wide or width is None))
    return fail_on_exit(fail_on, counts, "reconcile")


def cmd_diff(args: argparse.Namespace) -> int:
    from agent.store import fleet as history

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
    from agent.store import fleet as history
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

    from agent.store import fleet as history

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


def add_input_options(p, doing: str = "reconcile") -> None:
    """The options ``load_inputs`` and ``reconciled_rows`` read, for every command built on
    reconcile's rows (reconcile, quote): one definition, one help text."""
    p.add_argument("--contracts", nargs="+", required=True, metavar="FILE", help="contract/coverage export files")
    p.add_argument("--eox", nargs="+", metavar="FILE", help="EoX API JSON or CSV files (milestones)")
    p.add_argument("--window", type=int, default=90, help="days ahead that count as expiring (default 90)")
    p.add_argument("--map", help="YAML header map (canonical field: column name) for other CSV layouts, "
                   "e.g. 'serial: Serial' and 'coverage_end: Expires'; a layout whose coverage end date "
                   "column is not recognised is refused until the map names it")
    p.add_argument("--date-format", choices=("DD/MM/YYYY", "MM/DD/YYYY", "YYYY-MM-DD", "DD-MMM-YYYY"),
                   help="settle ambiguous slash dates")
    p.add_argument("--strict", action="store_true", help=f"refuse to {doing} if any row could not be read")
    p.add_argument("--scan", type=int, help="the fleet as of this scan id (default latest)")
    p.add_argument("--max-age", type=positive_days, default=30, metavar="DAYS",
                   help="a device whose last good collection is older than this rests on stale evidence: its "
                        "items are marked and it never proves an absence (default 30; an inventory group's "
                        "data.max_age_days overrides it per device)")


def register(sub, common) -> None:
    p = sub.add_parser("reconcile", help="diff the live fleet against contract exports: deployed list and quote lists",
                       description="Reconcile the latest snapshot against contract/coverage exports (CSV, XLSX, "
                       "JSON as Cisco and partners export them) and optional EoX data. Statuses: covered, expiring, "
                       "lapsed, uncovered, not-seen, unverified, rma-swap, end-of-support. With --out, writes the "
                       "deployed list and the quote serial lists (renew, reinstate, add, cannot-attach, coverage-gap, drop, "
                       "transfer, refresh, unverified), each row with its EoX milestones (upcoming ones flagged), "
                       "its flags and its evidence.")
    add_input_options(p)
    p.add_argument("--as-of", help="reconcile as of this date, YYYY-MM-DD (default today, UTC)")
    p.add_argument("--format", choices=("table", "csv", "json", "xlsx"),
                   help="output format (default: table on stdout; all formats with --out)")
    p.add_argument("--out", help="write the report files to this directory")
    p.add_argument("--wide", action="store_true",
                   help="table: every column whole and every reason, one line per row, however wide (default on a "
                        "terminal: fit its width, the verdict wrapped; piped: as --wide)")
    add_filter_options(p, "row", "covered, expiring, lapsed, uncovered, not-seen, unverified, rma-swap, end-of-support")
    p.add_argument("--db", default=common.default_db, help=common.db_help)
    p.set_defaults(func=cmd_reconcile)

    p = sub.add_parser("diff", help="what changed between two scans (added, removed, moved, version changed)")
    p.add_argument("scans", nargs="*", metavar="SCAN|DATE",
                   help="two fleet states to compare: scan ids or dates YYYY-MM-DD (the fleet after the last scan "
                        "started that day or before); default: the last two finished scans")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")
    p.add_argument("--db", default=common.default_db, help=common.db_help)
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser("history", help="every sighting of one serial across scans")
    p.add_argument("serial")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")
    p.add_argument("--db", default=common.default_db, help=common.db_help)
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("trueup", help="items first seen after a date or scan (true-up delta)")
    p.add_argument("--since", required=True, help="YYYY-MM-DD or a scan id")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")
    p.add_argument("--db", default=common.default_db, help=common.db_help)
    p.set_defaults(func=cmd_trueup)
