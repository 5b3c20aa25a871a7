"""``ibagent quote``: the co-termed renewal quote, from the same inputs as ``ibagent reconcile``
(store, contract exports, EoX) plus a price list.  The stages do the work: reconcile's rows
(``agent.reconcile.from_store``), then ``agent.quote``."""
from __future__ import annotations

import argparse
import sys

from agent.cli.common import EXIT_OK, EXIT_USAGE, UsageError, _out, _parse_day, positive_days, say
from agent.cli.reconcile import add_input_options, load_inputs, reconciled_rows


def read_prices(args: argparse.Namespace):
    """The price list of ``--prices`` (``--currency`` for rows naming none), or None when it
    cannot be read, each problem said on stderr."""
    from agent.quote import PriceListError, load_prices

    try:
        prices = load_prices(args.prices, default_currency=_currency(args))
    except PriceListError as exc:
        for line in str(exc).splitlines():
            say(f"ibagent: {line}")
        return None
    say(prices.summary)
    return prices


def _currency(args: argparse.Namespace) -> str | None:
    currency = args.currency.strip().upper() if args.currency else None
    if currency is not None and not (len(currency) == 3 and currency.isalpha() and currency.isascii()):
        raise UsageError("--currency is a 3-letter code such as USD, EUR, JPY")
    return currency


def priced_quote(args: argparse.Namespace, rows, prices, load, eox, as_of):
    """``(lines in quote order, totals)`` for reconcile's ``rows``: the quote ``ibagent quote``
    writes and ``ibagent report`` shows."""
    from agent.quote import QuoteOptions, build_quote, ordered, totals

    coterm = _parse_day(args.coterm, "--coterm") if args.coterm else None
    opts = QuoteOptions(as_of, coterm, _currency(args), args.service_level.upper() if args.service_level else None,
                        args.min_days)
    lines = ordered(build_quote(rows, prices, load.lines, eox.index if eox else None, opts))
    return lines, totals(lines)


def cmd_quote(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from agent.quote import FILES, render_table, write_quote
    from agent.quote.writers import to_csv_rows, to_json

    as_of = _parse_day(args.as_of, "--as-of") if args.as_of else datetime.now(timezone.utc).date()
    coterm = _parse_day(args.coterm, "--coterm") if args.coterm else None
    currency = _currency(args)
    if args.format == "xlsx" and not args.out:
        raise UsageError("--format xlsx writes a workbook: give --out PATH")
    prices = read_prices(args)
    if prices is None:
        return EXIT_USAGE
    load, eox = load_inputs(args, doing="quoting")  # reconcile's own loading: same messages, same rules
    rows = reconciled_rows(args, load, eox, as_of)
    lines, sums = priced_quote(args, rows, prices, load, eox, as_of)
    meta = {"as_of": as_of.isoformat(), "coterm": coterm.isoformat() if coterm else None, "currency": currency,
            "prices": args.prices, "contracts": list(args.contracts), "eox": list(args.eox or []), "store": args.db}
    for t in sums.by_currency.values():
        say(f"quote {t.currency}: cost {t.cost} (list {t.cost_list}), saving {t.saving}")
    if args.out:
        from pathlib import Path

        target = Path(args.out)
        formats = [args.format] if args.format else list(FILES)
        if args.format and target.suffix:  # --out quote.csv: that file
            directory, name = target.parent, target.name
        else:
            directory, name = target, None
        try:
            written = write_quote(lines, directory, formats, meta)
            if name and written[0].name != name:
                written[0].replace(directory / name)
                written = [directory / name]
        except OSError as exc:
            raise UsageError(f"cannot write the quote in {directory}: {exc.strerror or exc}") from None
        print(f"wrote {', '.join(str(p) for p in written)}", file=sys.stderr)
    elif args.format == "json":
        _out(to_json(lines, sums, meta))
    elif args.format == "csv":
        import csv
        import io

        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(to_csv_rows(lines))
        _out(buf.getvalue())
    else:
        import shutil

        sys.stdout.write(render_table(lines, sums, width=max(shutil.get_terminal_size((160, 24)).columns, 80)))
    return EXIT_OK


def register(sub, common) -> None:
    p = sub.add_parser("quote", help="renewal quote co-termed with Cisco's formula, priced from a price list",
                       description="Price the reconcile lists: renew (covered/expiring, from the current end + 1 "
                       "to the co-term date), reinstate (lapsed: needs re-certification), add (uncovered), drop "
                       "(not seen: the saving), transfer (RMA). Renewals stop at Last Date of Support and are "
                       "blocked after End of Service Contract Renewal; adds are blocked after End of Service "
                       "Attach. Items without a price are listed as unpriced, never priced 0. Totals per "
                       "contract, site and currency (never summed across currencies).")
    add_input_options(p, "quote")
    add_price_options(p, required=True)
    p.add_argument("--format", choices=("table", "csv", "json", "xlsx"),
                   help="output format (default: table on stdout; all formats with --out DIR)")
    p.add_argument("--out", metavar="PATH",
                   help="write quote.csv/.json/.xlsx/.txt into this directory (with --format and a file name "
                        "ending in a suffix: that one file)")
    p.add_argument("--db", default=common.default_db, help=common.db_help)
    p.set_defaults(func=cmd_quote)


def add_price_options(p, required: bool) -> None:
    """The options ``read_prices`` and ``priced_quote`` read (quote, report): one definition."""
    p.add_argument("--prices", required=required, metavar="FILE",
                   help="price list, CSV or XLSX: product ID (or service SKU CON-LEVEL-PRODUCT), service level, "
                        "annual list price, currency, optional discount %% and duration (years the price covers)")
    p.add_argument("--coterm", metavar="DATE",
                   help="co-terminate every line on this date, YYYY-MM-DD (default: each contract's latest end; "
                        "one year for lines on no live contract)")
    p.add_argument("--as-of", help="as of this date, YYYY-MM-DD (default today, UTC)")
    p.add_argument("--currency", metavar="X",
                   help="use prices in this currency only; also the currency of price rows that name none")
    p.add_argument("--service-level", metavar="LEVEL",
                   help="service level for add lines when the price list prices several for a product")
    p.add_argument("--min-days", type=positive_days, metavar="DAYS",
                   help="charge at least this many days per renew/reinstate/add line (no public Cisco rule: "
                        "off by default; 30 is common practice)")
