"""``ibagent import FILE... --trust KEYFILE|DIR``: sealed site bundles merged into this store
(issue 16; docs/ARCHITECTURE.md, "Sealed site bundles").

Every bundle is opened and verified in full (signature with a trusted key, every member's sha256)
before anything is written: one that is unsigned, untrusted, altered, truncated or extended
stops the command with the reason and nothing imported.  Then each is merged in one transaction
(agent/store/imported.py), oldest first (by its first scan's start), so a batch given out of order
still leaves each device at its newest state.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from agent.cli.common import EXIT_OK, UsageError, _emit, _open_store, say


def _verified(paths: list[str], trust: list[str]):
    from agent.bundles import BundleError, SigningKeyError, load_trusted_keys, open_bundle
    from agent.bundles.site import KIND

    try:
        trusted = load_trusted_keys(*trust)
    except SigningKeyError as exc:
        raise UsageError(str(exc)) from None
    opened = []
    try:
        for path in paths:
            bundle = open_bundle(path, trusted)
            opened.append(bundle)
            if bundle.meta.get("kind") != KIND or not isinstance(bundle.meta.get("first_started"), (int, float)):
                raise BundleError(f"{path}: not a site bundle (ibagent export --site writes them)")
            if not isinstance(bundle.meta.get("agent"), str) or not bundle.meta["agent"] or ":" in bundle.meta["agent"]:
                raise BundleError(f"{path}: the bundle names no usable agent")
            if not isinstance(bundle.meta.get("site"), str) or not bundle.meta["site"]:
                raise BundleError(f"{path}: the bundle names no site")
            bundle.verify()
    except (BundleError, SigningKeyError) as exc:
        for b in opened:
            b.close()
        raise UsageError(f"{exc}; nothing imported") from None
    return sorted(opened, key=lambda b: b.meta["first_started"])


def _merge(store, bundle) -> dict:
    """One bundle into ``store`` inside the caller's transaction: blobs first, then scans, SLP runs
    and retirements."""
    from agent.bundles.site import (
        BlobBudget, check_retirements_member, check_scan_member, check_slp_member, member_kind, pack_name, read_json,
        unpack,
    )
    from agent.store.imported import SiteImport

    merge = SiteImport(store, bundle.key_id, bundle.meta["agent"])
    indexes, budget = {}, BlobBudget()
    for name, data in bundle.read():  # pass 1: the blobs the records point to
        kind = member_kind(name)
        if kind == "blob-index":
            indexes[pack_name(name)] = (name, read_json(name, data))
        elif kind == "blob-pack":
            if name not in indexes:
                from agent.bundles.site import SiteBundleError

                raise SiteBundleError(f"member {name}: a blob pack without its index before it")
            index_name, index = indexes.pop(name)
            for sha, blob in unpack(index_name, index, data, budget):
                merge.put_blob(sha, blob)
    for name, data in bundle.read():  # pass 2: scans and SLP runs
        kind = member_kind(name)
        if kind == "scan":
            scan, devices = check_scan_member(name, read_json(name, data), bundle.meta["site"])
            merge.scan(scan)
            for i, dev in enumerate(devices, 1):
                merge.device(scan, dev, f"member {name}, device {i}")
        elif kind == "slp":
            merge.slp_runs(check_slp_member(name, read_json(name, data)))
        elif kind == "retirements":
            merge.retirements(check_retirements_member(name, read_json(name, data)), bundle.meta["site"])
    merge.close()
    return merge.counts


def cmd_import(args: argparse.Namespace) -> int:
    from agent.bundles import BundleError
    from agent.bundles.site import SiteBundleError
    from agent.store.imported import ImportRefused

    if not args.trust:
        raise UsageError("give the public keys you trust with --trust FILE|DIR: a bundle is only read once its "
                         "signature is checked")
    bundles = _verified(args.files, args.trust)
    rows = []
    store = None
    try:
        store = _open_store(args.db)
        # As a scan (exit 75 while one holds the lock); its own scope where locks are per agent:
        # two imports exclude each other, agents' scans go on (each write is its own transaction).
        store.lock("import")
        for bundle in bundles:
            try:
                with store.transaction():
                    counts = _merge(store, bundle)
            except (BundleError, SiteBundleError, ImportRefused) as exc:
                done = f" ({len(rows)} bundle(s) before it were imported)" if rows else ""
                raise UsageError(f"{bundle.path}: {exc}; nothing imported from it{done}") from None
            rows.append({"file": str(bundle.path), "key_id": bundle.key_id, "site": bundle.meta.get("site", ""),
                         "agent": bundle.meta["agent"], **counts})
            say(f"imported {Path(bundle.path).name}: site {bundle.meta.get('site', '')}, {counts['scans']} scan(s) new, "
                f"{counts['scans_already_here']} already here, {counts['devices']} device rows, "
                f"{counts['devices_superseded']} superseded by newer imports, {counts['captures']} captures, "
                f"{counts['slp_runs']} SLP run(s), {counts['retirements']} retirement(s)")
    finally:
        for bundle in bundles:
            bundle.close()
        if store is not None:
            store.close()
    if args.format != "none":
        _emit(rows, ("file", "key_id", "site", "agent", "scans", "scans_already_here", "devices",
                     "devices_superseded", "captures", "blobs_new", "slp_runs", "slp_runs_already_here", "retirements",
                     "retirements_already_here", "retirements_not_known_here"), args.format)
    return EXIT_OK


def register(sub, common) -> None:
    p = sub.add_parser(
        "import", help="merge sealed site bundles (ibagent export --site) into this store",
        description="Verify each bundle in full first (its signature by a trusted key, every member's sha256; an "
        "unsigned, untrusted, altered, truncated or extended bundle is refused with the reason, exit 2, and nothing is "
        "imported), then merge each in one transaction: its scans keep the site's own times and agent, its "
        "captures their exact bytes. Idempotent: a scan already imported (same key, agent and site scan id) is "
        "skipped, so importing a bundle twice changes nothing. Bundles are merged oldest first.")
    p.add_argument("files", nargs="+", metavar="FILE", help="bundle files")
    p.add_argument("--trust", action="append", default=[], metavar="FILE|DIR",
                   help="a site's public key file, or a directory of *.pub files (repeatable)")
    p.add_argument("--format", choices=("table", "json", "csv", "none"), default="table",
                   help="the per-bundle summary on stdout (default table)")
    p.add_argument("--db", default=common.default_db, help=common.db_help)
    p.set_defaults(func=cmd_import)
