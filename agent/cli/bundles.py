"""``ibagent keygen`` and ``ibagent bundle show|verify``: the keys and sealed files that carry an
air-gapped site's collections to the central store (agent/bundles).  Exporting a site into a
bundle and importing bundles are their own commands once the store can merge sites."""
from __future__ import annotations

import argparse
import json

from agent.cli.common import EXIT_OK, UsageError, _emit


def cmd_keygen(args: argparse.Namespace) -> int:
    from agent.bundles import SigningKeyError, generate_key

    try:
        private, public, kid = generate_key(args.out)
    except SigningKeyError as exc:
        raise UsageError(str(exc)) from None
    print(f"signing key  {private}  (keep it on this site, readable by ibagent only)")
    print(f"public key   {public}  (give it to the central side: ibagent import --trust {public.name})")
    print(f"key id       {kid}  (compare it when the public key is handed over)")
    return EXIT_OK


def _open(args: argparse.Namespace, path: str):
    from agent.bundles import BundleError, SigningKeyError, load_trusted_keys, open_bundle

    try:
        trusted = load_trusted_keys(*args.trust)
        return open_bundle(path, trusted)
    except (BundleError, SigningKeyError) as exc:
        raise UsageError(str(exc)) from None


def cmd_bundle(args: argparse.Namespace) -> int:
    from agent.bundles import BundleError

    if not args.trust:
        raise UsageError("give the public keys you trust with --trust FILE|DIR: a bundle is only read once its "
                         "signature is checked")
    rows = []
    for path in args.files:
        with _open(args, path) as bundle:
            if args.action == "verify":
                try:
                    bundle.verify()
                except BundleError as exc:
                    raise UsageError(str(exc)) from None
            size = sum(m.size for m in bundle.members)
            row = {"file": path, "key_id": bundle.key_id, "created": bundle.created, "members": len(bundle.members),
                   "bytes": size, "verified": "every member" if args.action == "verify" else "signature",
                   "meta": json.dumps(bundle.meta, sort_keys=True, ensure_ascii=False)}
            if args.members:
                rows.extend({**row, "member": m.name, "member_bytes": m.size, "sha256": m.sha256} for m in bundle.members)
            else:
                rows.append(row)
    columns = ("file", "key_id", "created", "members", "bytes", "verified", "meta")
    if args.members:
        columns = ("file", "member", "member_bytes", "sha256")
    _emit(rows, columns, args.format)
    return EXIT_OK


def register(sub, common) -> None:
    p = sub.add_parser(
        "keygen", help="make this site's bundle signing key (Ed25519)",
        description="Write a new Ed25519 signing key to --out (mode 0600, never over an existing file) and its "
        "public half to OUT.pub. The central side trusts bundles signed by it once it is given the .pub file; "
        "compare the printed key id when handing it over.")
    p.add_argument("--out", required=True, metavar="FILE", help="where to write the private key (the public key "
                   "goes to FILE.pub)")
    p.set_defaults(func=cmd_keygen)

    p = sub.add_parser(
        "bundle", help="show or verify sealed site bundles",
        description="show: check each bundle's signature against the trusted keys and print what it holds. "
        "verify: also read every member and check its sha256 (what import does before merging). A bundle that "
        "is unsigned, signed by a key not trusted, altered, truncated or extended is refused with the reason "
        "(exit 2).")
    p.add_argument("action", choices=("show", "verify"))
    p.add_argument("files", nargs="+", metavar="FILE", help="bundle files")
    p.add_argument("--trust", action="append", default=[], metavar="FILE|DIR",
                   help="a public key file, or a directory of *.pub files, whose bundles are accepted (repeatable)")
    p.add_argument("--members", action="store_true", help="list each member with its size and sha256")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table", help="output format (default table)")
    p.set_defaults(func=cmd_bundle)
