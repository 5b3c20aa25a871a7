"""``ibagent export nautobot|netbox``: the store's latest fleet (and a contract file's lines) into
a source of truth, as the CSV files it imports (``--out DIR``) and/or through its API (``--push
URL``: a dry-run diff first; ``--apply`` writes it).  Only creates and updates, never a delete.
The dispatcher (agent/cli/export.py) calls ``add_arguments`` and, for a nautobot|netbox target, ``run``.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from agent.cli.common import EXIT_OK, UsageError, _require_store, seconds

_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


def _token(ref: str) -> str:
    """The API token from its reference; a literal token is refused (command lines are logged in
    shell histories and process lists)."""
    match = _REF.match(ref.strip())
    if not match:
        raise UsageError("--token takes a reference such as ${NAUTOBOT_TOKEN} (quoted, so the shell leaves it), "
                         "never the token itself")
    value = os.environ.get(match.group(1))
    if not value:
        raise UsageError(f"--token refers to environment variable {match.group(1)}, which is not set")
    return value


def _push_url(text: str) -> str:
    url = text.split("+", 1)[1] if text.lower().startswith(("nautobot+", "netbox+")) else text
    if not re.match(r"^https?://[^/?#@]+(/[^?#]*)?$", url):
        raise UsageError(f"--push {text!r}: expected http(s)://HOST[:PORT][/PATH] (no credentials, no query)")
    return url.rstrip("/")


def run(args: argparse.Namespace) -> int:
    if not args.out and not args.push:
        raise UsageError("say where: --out DIR (the CSV import files) and/or --push URL (the API)")
    if args.apply and not args.push:
        raise UsageError("--apply writes through the API: give --push URL")
    from agent.store import fleet as history
    from agent.sot.desired import contracts_from_lines, items_from_fleet

    lines = []
    if args.contracts:
        from agent.cli.reconcile import load_inputs

        args.eox = None
        load, _ = load_inputs(args, doing="exporting")
        lines = load.lines
    store = _require_store(args.db)
    try:
        if store.latest_scan_id() is None:
            raise UsageError(f"{args.db} holds no finished scan yet")
        fleet = history.fleet_items(store, args.scan)
    finally:
        store.close()
    items = items_from_fleet(fleet)
    contracts, notes = contracts_from_lines(lines, fleet)
    for note in notes:
        print(f"ibagent: {note}", file=sys.stderr)
    if args.out:
        from agent.sot import csv_files

        out = Path(args.out)
        written = (csv_files.write_nautobot(out, items, contracts) if args.target == "nautobot"
                   else csv_files.write_netbox(out, items))
        for path in written:
            print(f"wrote {path}")
    if args.push:
        return _push(args, items, contracts)
    return EXIT_OK


def _push(args, items, contracts) -> int:
    try:
        from agent.collect.sources.http_bounds import SourceError
    except ImportError as exc:  # requests comes with the client libraries
        raise UsageError(f"{args.target}: {exc.name} is not installed (pip install 'ibagent[sot]')") from None

    url = _push_url(args.push)
    token = _token(args.token or ("${NAUTOBOT_TOKEN}" if args.target == "nautobot" else "${NETBOX_TOKEN}"))
    from agent.cli.common import _get_redactor

    _get_redactor().add([token])  # whatever escapes (a traceback under --debug) is scrubbed of it
    if args.target == "nautobot":
        from agent.sot.nautobot_api import NautobotTarget as Target
    else:
        from agent.sot.netbox_api import NetboxTarget as Target
    try:
        target = Target(url, token, timeout=args.timeout)
        plan = target.plan(items, contracts)
        if args.apply and plan.changes:
            target.apply(plan)
    except ImportError as exc:
        raise UsageError(f"{args.target}: {exc.name} is not installed (pip install 'ibagent[sot]')") from None
    except SourceError as exc:
        raise UsageError(f"{args.target} at {url}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - the client libraries' errors: status only, never their headers
        status = getattr(getattr(exc, "req", None), "status_code", None)
        detail = f"HTTP {status}: {_body(exc)}" if status else exc.__class__.__name__
        raise UsageError(f"{args.target} at {url}: {detail}") from None
    print(plan.text(applied=bool(args.apply)))
    return EXIT_OK


def _body(exc) -> str:
    """The server's error text (a validation message), one line, capped."""
    try:
        text = exc.req.text
    except Exception:  # noqa: BLE001
        return ""
    return " ".join(str(text).split())[:400]


def _add(p: argparse.ArgumentParser, *flags: str, **kw) -> None:
    """Add an option unless the site-bundle mode (export_site.py) already did: ``--out`` and ``--db``
    are shared by both modes, and argparse refuses an option string defined twice."""
    if not any(f in p._option_string_actions for f in flags):
        p.add_argument(*flags, **kw)


def add_arguments(p: argparse.ArgumentParser, common) -> None:
    import textwrap

    p.description = (p.description or "") + "\n\n" + textwrap.fill(
        "nautobot|netbox: inventory items (serial, PID) under each device from the store's latest fleet, and "
        "with --contracts the Nautobot Device Lifecycle Management contracts and their coverage. --out DIR writes "
        "the CSV files the target imports; --push URL compares with what the target holds and prints what would "
        "be created or updated (a dry run); --apply writes it. Nothing is ever deleted in the target, no device "
        "is created, and pushing the same fleet twice changes nothing the second time.", width=100)
    _add(p, "--out", metavar="PATH", help="where to write: the bundle file (--site), or the directory of CSV import "
         "files (nautobot|netbox)")
    p.add_argument("--push", metavar="URL", help="nautobot|netbox: the target's base URL (http(s)://HOST:PORT): "
                   "compare through its API and print the diff (dry run unless --apply)")
    p.add_argument("--apply", action="store_true", help="with --push: write the changes the diff lists")
    p.add_argument("--token", metavar="REF", help="API token by reference: '${ENV_VAR}' (default ${NAUTOBOT_TOKEN} "
                   "or ${NETBOX_TOKEN}); never the token itself")
    p.add_argument("--timeout", type=seconds, default=30.0, help="seconds per API request (default 30)")
    _add(p, "--contracts", nargs="+", metavar="FILE",
         help="contract/coverage exports (as reconcile reads them): DLM contracts and coverage (Nautobot)")
    _add(p, "--map", help="YAML header map for --contracts in other CSV layouts (as reconcile's)")
    _add(p, "--date-format", choices=("DD/MM/YYYY", "MM/DD/YYYY", "YYYY-MM-DD", "DD-MMM-YYYY"),
         help="date order of ambiguous dates in --contracts (as reconcile's)")
    _add(p, "--scan", type=int, help="the fleet as of this scan id (default: the latest)")
    _add(p, "--db", default=common.default_db, help=common.db_help)
