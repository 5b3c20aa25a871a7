"""``ibagent report``: one self-contained HTML file from the same inputs as ``reconcile`` and
``quote`` (store, contract exports, EoX, and with ``--prices`` the quote's money), with the
latest SLP report from the store.  The stages do the work: reconcile's rows
(``agent.cli.reconcile``), the quote (``agent.cli.quote``'s pieces), ``agent.slp``'s report, and
``agent.reports.html`` renders."""
from __future__ import annotations

import argparse
import sys

from agent.cli.common import EXIT_USAGE, UsageError, _parse_day, _require_store
from agent.cli.filters import add_filter_options, fail_on_exit, fleet_scope, status_set
from agent.cli.quote import add_price_options, priced_quote, read_prices
from agent.cli.reconcile import add_input_options, load_inputs, reconciled_rows


def cmd_report(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from agent.reconcile import STATUSES, count_by_status
    from agent.reports.html import ReportInputs, write_report

    as_of = _parse_day(args.as_of, "--as-of") if args.as_of else datetime.now(timezone.utc).date()
    coterm = _parse_day(args.coterm, "--coterm") if args.coterm else None
    if args.window < 0:
        raise UsageError("--window must be 0 or more days")
    wanted = status_set(args.status, STATUSES, "--status")
    fail_on = status_set(args.fail_on, STATUSES, "--fail-on")
    if not args.prices:
        for name in ("coterm", "currency", "service_level", "min_days"):
            if getattr(args, name) is not None:
                raise UsageError(f"--{name.replace('_', '-')} prices the report: give --prices FILE too")
    prices = None
    if args.prices:
        prices = read_prices(args)
        if prices is None:
            return EXIT_USAGE
    load, eox = load_inputs(args, doing="reporting")
    rows = reconciled_rows(args, load, eox, as_of)
    held = fleet_scope(args.db, None, args.agent)
    scope = []
    if args.site or wanted or held is not None:
        sites = set(args.site or ())
        rows = [r for r in rows if (not sites or r.site in sites) and (not wanted or r.status in wanted)
                and (held is None or r.device in held)]
        scope = ([f"site {', '.join(args.site)}"] if args.site else []) + (
            [f"agent {', '.join(args.agent)}"] if args.agent else []) + (
            [f"status {', '.join(sorted(wanted))}"] if wanted else [])
    lines = sums = None
    if prices is not None:
        lines, sums = priced_quote(args, rows, prices, load, eox, as_of)
    store = _require_store(args.db)
    try:
        slp = _slp(store, as_of, args.site, held)
        inputs = ReportInputs(as_of, args.window, rows, args.db, list(args.contracts), list(args.eox or []),
                              load.lines, args.prices, coterm, lines, sums, slp, scope)
        try:
            path, size = write_report(args.out, inputs, store)
        except OSError as exc:
            raise UsageError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    finally:
        store.close()
    counts = count_by_status(rows)
    print(f"report as of {as_of.isoformat()}: " + (", ".join(f"{k} {v}" for k, v in counts.items() if v) or "no rows")
          + (f"; quote: {len(lines)} lines" if lines is not None else "")
          + f" -> {path} ({size:,} bytes)", file=sys.stderr)
    return fail_on_exit(fail_on, counts, "report")


def _slp(store, as_of, sites, held=None):
    """The SLP report as ``ibagent slp report`` builds it; only the devices of ``sites`` when
    given (its entitlement totals are per site already), and of ``held`` (``--agent``)."""
    from dataclasses import replace

    from agent.slp import slp_report

    report = slp_report(store, as_of)
    if held is not None:
        report = replace(report, devices=[d for d in report.devices if d["device"] in held],
                         rows=[r for r in report.rows if r.get("device") in held])
    if sites:
        keep = set(sites)
        report = replace(report, devices=[d for d in report.devices if d["site"] in keep],
                         rows=[r for r in report.rows if r["site"] in keep],
                         entitlements=[e for e in report.entitlements if e["site"] in keep])
    return report


def register(sub, common) -> None:
    p = sub.add_parser(
        "report", help="one self-contained HTML report: coverage, renewals, end of life, lists, quote, SLP, evidence",
        description="Write one HTML file (no network, no external file: open it from a USB stick) from the same "
        "inputs as 'ibagent reconcile': the coverage summary by site and by contract, the renewal calendar of the "
        "next 24 months, the end-of-life timeline per PID, every list with sort and filter, the Smart Licensing "
        "status from the store, and for every row its evidence (the capture text, the scan, the contract file and "
        "row). With --prices, the quote and money beside the counts (per currency, never summed across "
        "currencies). Prints on A4 or Letter, landscape.")
    add_input_options(p, "report")
    add_price_options(p, required=False)
    p.add_argument("--out", default="report.html", metavar="FILE.html",
                   help="the HTML file to write (default report.html; written aside, then renamed into place)")
    add_filter_options(p, "row", "covered, expiring, lapsed, uncovered, not-seen, unverified, rma-swap, end-of-support")
    p.add_argument("--db", default=common.default_db, help=common.db_help)
    p.set_defaults(func=cmd_report)
