"""``ibagent export --site S --key KEYFILE --out FILE [--since SCAN|DATE]``: one site's scans as a
sealed bundle for the central store (issue 16; docs/ARCHITECTURE.md, "Sealed site bundles").

The store gives the records (agent/store/site_rows.py), agent/bundles/site.py cuts them into
members, agent/bundles/seal.py signs and writes the file atomically.
"""
from __future__ import annotations

import argparse
import sys

from agent.cli.common import EXIT_OK, UsageError, _require_store


def _add(p: argparse.ArgumentParser, *names: str, **kw) -> None:
    """An option both export modes may want (--db, --out): added once, by whichever mode comes first."""
    try:
        p.add_argument(*names, **kw)
    except argparse.ArgumentError:
        pass


def add_arguments(p: argparse.ArgumentParser, common) -> None:
    p.add_argument("--site", help="the site whose scans go into the bundle (the inventory's site name)")
    p.add_argument("--since", metavar="SCAN|DATE",
                   help="--site: only scans after this scan id, or started on or after this date (YYYY-MM-DD, UTC); "
                        "the bundle says which scan to give next time. Default: every scan of the site")
    p.add_argument("--key", metavar="KEYFILE", help="--site: the site's signing key (ibagent keygen)")
    p.add_argument("--agent", metavar="NAME",
                   help="--site: the agent name for scans that name none (default $IBAGENT_AGENT, else this host's name)")
    _add(p, "--out", metavar="FILE", help="where to write (a bundle with --site; written aside, then renamed into place)")
    _add(p, "--db", default=common.default_db, help=common.db_help)


def _since(text: str | None, store) -> tuple[int | None, float | None]:
    if not text:
        return None, None
    if text.isdigit():
        return int(text), None
    from datetime import date, datetime, timezone

    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--since {text!r} is neither a scan id nor a date (YYYY-MM-DD)") from None
    return None, datetime.combine(day, datetime.min.time(), timezone.utc).timestamp()


def _slp_since(store, since_scan: int | None, since_time: float | None) -> float | None:
    """SLP runs have no scan id: after scan N means those started since scan N started (an
    overlap with the previous bundle is harmless, imports are idempotent)."""
    if since_scan is None:
        return since_time
    from agent.store.site_rows import scan_started

    return scan_started(store, since_scan)


def run(args: argparse.Namespace) -> int:
    from agent.bundles import BundleError, BundleWriter, SigningKeyError, load_private_key
    from agent.bundles.site import KIND, SiteBundleError, SiteBundleWriter
    from agent.cli.scan import agent_name
    from agent.store import SCHEMA_VERSION
    from agent.store import site_rows

    if not args.key or not args.out:
        raise UsageError("export --site needs --key KEYFILE (the site's signing key, ibagent keygen) and --out FILE")
    try:
        key = load_private_key(args.key)
    except SigningKeyError as exc:
        raise UsageError(str(exc)) from None
    agent = agent_name(args.agent)
    store = _require_store(args.db)
    try:
        since_scan, since_time = _since(args.since, store)
        scans = site_rows.site_scans(store, args.site, since_scan, since_time)
        if not scans:
            raise UsageError(f"{args.db}: no finished scan holds a device of site {args.site!r}"
                             + (f" since {args.since}" if args.since else "") + "; nothing to export")
        meta = {"kind": KIND, "site": args.site, "since": args.since, "agent": agent, "schema": SCHEMA_VERSION,
                "scans": [s["id"] for s in scans], "first_started": scans[0]["started"],
                "last_started": scans[-1]["started"]}
        counts = {"devices": 0, "captures": 0}
        devices: set[str] = set()
        try:
            with BundleWriter(args.out, key, meta) as writer:
                bundle = SiteBundleWriter(writer)
                for scan in scans:
                    records = list(site_rows.device_records(store, scan["id"], args.site))
                    bundle.add_scan({**site_rows.scan_record(scan), "devices_total": len(records)}, records)
                    for rec in records:
                        devices.add(rec["row"]["device"])
                        counts["devices"] += 1
                        counts["captures"] += len(rec["captures"])
                        shas = [s for c in rec["captures"] for s in (c["sha256"], c["text_sha256"]) if s]
                        for sha in shas + ([rec["neighbours"]] if rec["neighbours"] else []):
                            if sha not in bundle.blobs:
                                bundle.add_blob(sha, site_rows.blob(store, sha))
                runs = site_rows.slp_state(store, args.site, devices, _slp_since(store, since_scan, since_time))
                bundle.add_slp(runs)
                retired = site_rows.retirements(store, args.site)
                bundle.add_retirements(retired)
                bundle.finish()
        except (BundleError, SiteBundleError) as exc:
            raise UsageError(str(exc)) from None
    finally:
        store.close()
    print(f"wrote {args.out}: site {args.site}, {len(scans)} scan(s) {scans[0]['id']}..{scans[-1]['id']}, "
          f"{counts['devices']} device rows ({len(devices)} devices), {counts['captures']} captures, "
          f"{len(bundle.blobs)} blobs, {len(runs)} SLP run(s), {len(retired)} retirement(s); "
          f"next time: --since {scans[-1]['id']}", file=sys.stderr)
    return EXIT_OK
