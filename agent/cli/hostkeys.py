"""``ibagent hostkeys``: the SSH / NETCONF host keys the store trusts on first use.

``list`` shows every key (trusted, and offered: a key a scan refused because it differs from the
trusted one); ``accept HOST`` trusts the keys offered for HOST in place of the old ones, once a
person has checked that the device's key really changed; ``forget HOST`` drops HOST's keys so the
next scan trusts on first use again.  HOST is an address or an inventory name.
"""
from __future__ import annotations

import argparse
import sys

from agent.cli.common import EXIT_OK, UsageError, _emit, _require_store

COLUMNS = ("host", "port", "status", "key_type", "fingerprint", "device", "first_seen", "last_seen")


def _rows(rows) -> list[dict]:
    from agent.core.hostkeys import when

    return [{**{c: r[c] for c in COLUMNS}, "first_seen": when(r["first_seen"]), "last_seen": when(r["last_seen"])}
            for r in rows]


def cmd_hostkeys(args: argparse.Namespace) -> int:
    store = _require_store(args.db, write=args.action != "list")
    try:
        if args.action == "list":
            _emit(_rows(store.host_key_rows(args.host)), COLUMNS, args.format)
            return EXIT_OK
        if not args.host:
            raise UsageError(f"'hostkeys {args.action}' needs the HOST (address or inventory name)")
        if args.action == "accept":
            accepted = store.accept_host_keys(args.host, args.port)
            if not accepted:
                raise UsageError(f"no key offered for {args.host}{f' port {args.port}' if args.port else ''}: a key "
                                 "is offered when a scan refused it ('ibagent hostkeys list')")
            for r in accepted:
                print(f"trusting {r['host']}:{r['port']} {r['key_type']} {r['fingerprint']} (offered since "
                      f"{_rows([r])[0]['first_seen']}); the key trusted before is dropped")
            return EXIT_OK
        gone = store.forget_host_keys(args.host, args.port)
        if not gone:
            print(f"ibagent: no host key stored for {args.host}", file=sys.stderr)
        else:
            print(f"forgot {gone} host key(s) of {args.host}: the next scan trusts its key on first use")
        return EXIT_OK
    finally:
        store.close()


def register(sub, common) -> None:
    p = sub.add_parser(
        "hostkeys", help="list, accept or forget the SSH/NETCONF host keys trusted on first use",
        description="Every SSH, SCP and NETCONF connection checks the server's host key before sending any "
        "credential. With --host-keys tofu (the default) the first key a host presents is trusted and recorded; "
        "a later different key fails the device (kind 'hostkey': possible impostor) and is kept as 'offered'. "
        "'accept HOST' trusts the offered key in place of the old one; 'forget HOST' drops HOST's keys.")
    p.add_argument("action", choices=("list", "accept", "forget"))
    p.add_argument("host", nargs="?", metavar="HOST", help="address or inventory name (list: only this host)")
    p.add_argument("--port", type=int, help="only this port (default: every port of HOST)")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table", help="output format for list")
    p.add_argument("--db", default=common.default_db, help=common.db_help)
    p.set_defaults(func=cmd_hostkeys)
