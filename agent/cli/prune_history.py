"""``ibagent prune-history``: keep the last N scans (or D days) of history, never any device's
latest state.  The rules and the deletes are the store's (``agent.store.retention``); this module
wires the options, the lock and the summary.
"""
from __future__ import annotations

import argparse

from agent.cli.common import EXIT_OK, UsageError, _require_store, positive_days


def _at_least_one(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of scans above 0")
    return n


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def cmd_prune_history(args: argparse.Namespace) -> int:
    from agent.store import retention

    if args.keep is None and args.keep_days is None:
        raise UsageError("say what to keep: --keep N (the last N scans) and/or --keep-days D")
    store = _require_store(args.db, write=True)
    try:
        # Every scope: StoreLocked (exit 75) while any agent's scan or another prune runs.
        store.lock(everything=True)
        plan = retention.prune(store, args.keep, args.keep_days, dry_run=args.dry_run, vacuum=not args.no_vacuum)
    finally:
        store.close()
    rules = " and ".join(x for x in (f"the last {args.keep} scan(s)" if args.keep else "",
                                     f"scans of the last {args.keep_days} day(s)" if args.keep_days else "") if x)
    if not plan.old:
        print(f"nothing to prune: {len(plan.kept)} finished scan(s), all kept by {rules}")
        return EXIT_OK
    verb = "would delete" if args.dry_run else "deleted"
    print(f"{'dry run: ' if args.dry_run else ''}{len(plan.old)} scan(s) older than {rules} "
          f"(ids {_ranges(plan.old)}); {len(plan.kept)} kept")
    for table, n in plan.rows.items():
        print(f"  {verb} {n:>10,} {table} rows")
    print(f"  {verb} {plan.sets:>10,} item sets and {plan.blobs:,} capture blobs no longer referenced")
    print(f"  kept    {plan.latest_kept:>10,} device rows of those scans: their devices' latest state, with "
          "their captures and records")
    if args.dry_run:
        print("nothing was changed (--dry-run)")
    elif args.no_vacuum:
        print(f"freed {_mib(plan.freed_bytes)} inside the file, reused by the next scans (not vacuumed: "
              f"the file stays {_mib(plan.size_after)})")
    else:
        print(f"store {_mib(plan.size_before)} -> {_mib(plan.size_after)} (vacuumed)")
    return EXIT_OK


def _ranges(ids: list[int]) -> str:
    out, start, prev = [], ids[0], ids[0]
    for i in ids[1:] + [None]:
        if i is not None and i == prev + 1:
            prev = i
            continue
        out.append(f"{start}" if start == prev else f"{start}-{prev}")
        if i is not None:
            start = prev = i
    return ", ".join(out)


def register(sub, common) -> None:
    p = sub.add_parser(
        "prune-history", help="delete old scans' captures and records, never a device's latest state",
        description="Delete what old scans stored (device rows, captures, licences, errors, sessions, and the "
        "item sets and capture blobs nothing else uses), then vacuum the store. A scan is old when neither "
        "--keep nor --keep-days keeps it. Every device keeps its latest state whatever its age: its latest "
        "attempt, latest good and clean collections and latest licence status, with their captures (a device "
        "last seen 40 scans ago keeps that scan's evidence). Scan rows and each item's first and last "
        "sighting stay, so true-up and history still know when an item was first seen; 'diff' no longer "
        "offers pruned scans. Takes the store's lock like a scan (exit 75 while one runs).")
    p.add_argument("--keep", type=_at_least_one, metavar="N", help="keep the last N finished scans")
    p.add_argument("--keep-days", type=positive_days, metavar="D",
                   help="keep the scans started in the last D days (with --keep: a scan either keeps is kept)")
    p.add_argument("--dry-run", action="store_true", help="print what would be deleted; change nothing")
    p.add_argument("--no-vacuum", action="store_true",
                   help="do not rewrite the file afterwards (VACUUM needs free disk space about the store's "
                   "size); the space freed is reused by later scans")
    p.add_argument("--db", default=common.default_db, help=common.db_help)
    p.set_defaults(func=cmd_prune_history)
