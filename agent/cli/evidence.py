"""``ibagent show capture ID`` (the bytes a device sent, as the store keeps them) and ``ibagent
evidence SERIAL`` (an item's sightings, the captures behind them, the contract lines naming it).

Rows carry ``capture_id``; these commands are where an auditor follows it.  The bytes go to
stdout untouched when it is a file or a pipe (``> x.bin; sha256sum x.bin`` gives the stored
sha256).  On a terminal they are shown, never obeyed: a device's escape sequences could clear
the screen, retitle the window or hide lines, so every control character but tab and line ends
is written as ``\\xNN``, as are bytes that are not UTF-8 (CR LF is shown as a line end).
"""
from __future__ import annotations

import argparse
import sys

from agent.cli.common import EXIT_OK, UsageError, _emit, _require_store, say


def shown_bytes(data: bytes) -> str:
    """The bytes as a terminal may show them: decoded, undecodable bytes and control characters
    as ``\\xNN`` (tab and line ends kept)."""
    from agent.core.untrusted import printable

    text = data.decode("utf-8", "backslashreplace").replace("\r\n", "\n")
    return printable(text, keep_newlines=True)


def header_lines(facts: dict, what: str, data: bytes) -> list[str]:
    """``# key: value`` lines about the capture; the sha256 is recomputed over what is printed
    and compared with the stored one (the text's hash for ``--text``)."""
    import hashlib

    stored = facts["sha256"] if what == "bytes" else (facts["text_sha256"] or facts["sha256"])
    actual = hashlib.sha256(data).hexdigest()
    check = "verified" if actual == stored else f"MISMATCH: the {what} printed hash to {actual}"
    lines = [f"# capture: {facts['id']}", f"# device: {facts['device']}", f"# command: {facts['command']}",
             f"# scan: {facts['scan_id']}", f"# time: {facts['started']} .. {facts['ended']}",
             f"# platform: {facts['platform'] or ''}", f"# transport: {facts['transport'] or ''}",
             f"# {what}: {len(data)}", f"# sha256: {stored} ({check})"]
    if facts["error"]:
        lines.append(f"# error: {facts['error_kind'] or ''}: {facts['error']}")
    return lines


def cmd_show_capture(args: argparse.Namespace) -> int:
    from agent.store import StoreError
    from agent.store.evidence import capture_facts

    store = _require_store(args.db)
    try:
        try:
            facts = capture_facts(store, args.id)
            if args.text:
                data = store.capture_text(args.id).encode("utf-8", "surrogateescape")
            else:
                data = store.capture_bytes(args.id)
        except StoreError as exc:
            raise UsageError(str(exc)) from None
    finally:
        store.close()
    head = header_lines(facts, "text" if args.text else "bytes", data)
    out = sys.stdout
    if args.header:
        out.write("\n".join(map(_shown, head)) + "\n")
        out.flush()
    else:
        for line in head:
            say(line)
    if out.isatty():
        out.write(shown_bytes(data))
        out.flush()
    else:
        out.flush()
        out.buffer.write(data)
        out.buffer.flush()
    return EXIT_OK


def _shown(text: str) -> str:
    from agent.core.untrusted import printable

    return printable(text)


SIGHTING_COLUMNS = ("scan_id", "scan_started", "device", "name", "pid", "class", "transport", "capture_id",
                    "command")
CAPTURE_COLUMNS = ("capture_id", "scan_id", "device", "command", "captured", "sha256")
LINE_COLUMNS = ("file", "row", "contract_number", "service_level", "start", "end", "status", "pid", "site_id",
                "site_name")


def cmd_evidence(args: argparse.Namespace) -> int:
    from agent.core.identity import canonical_serial
    from agent.store.evidence import sightings

    serial = canonical_serial(args.serial)
    if not serial:
        raise UsageError(f"{args.serial!r} is not a serial")
    lines = None
    if args.contracts:
        from agent.cli.reconcile import load_inputs

        load, _ = load_inputs(args)
        lines = [_line_record(ln) for ln in load.lines if ln.serial == serial]
    store = _require_store(args.db)
    try:
        seen = sightings(store, serial)
    finally:
        store.close()
    captures: dict[int, dict] = {}
    for s in seen:
        if s["capture_id"] is not None and s["capture_id"] not in captures:
            captures[s["capture_id"]] = {"capture_id": s["capture_id"], "scan_id": s["scan_id"],
                                         "device": s["device"], "command": s["command"],
                                         "captured": s["captured"], "sha256": s["sha256"]}
    if args.format == "json":
        import json

        doc = {"serial": serial, "sightings": seen, "captures": list(captures.values())}
        if lines is not None:
            doc["contract_lines"] = lines
        from agent.cli.common import _out

        _out(json.dumps(doc, indent=1, ensure_ascii=False, default=str) + "\n")
    else:
        sys.stdout.write(f"sightings of {serial}: {len(seen)}\n")
        if seen:
            _emit(seen, SIGHTING_COLUMNS, "table")
        sys.stdout.write(f"\ncaptures behind them: {len(captures)} (ibagent show capture ID)\n")
        if captures:
            _emit(list(captures.values()), CAPTURE_COLUMNS, "table")
        if lines is not None:
            sys.stdout.write(f"\ncontract lines naming it: {len(lines)}\n")
            if lines:
                _emit(lines, LINE_COLUMNS, "table")
    if not seen and not lines:
        say(f"ibagent: serial {serial} was never seen" + (" and no contract line names it" if lines is not None else ""))
        return 1
    return EXIT_OK


def _line_record(line) -> dict:
    return {"file": line.source_file, "row": line.source_row, "contract_number": line.contract_number,
            "service_level": line.service_level, "start": line.start, "end": line.end, "status": line.status,
            "covered": line.covered, "pid": line.pid, "base_pid": line.base_pid, "site_id": line.site_id,
            "site_name": line.site_name, "ldos": line.ldos, "end_of_renewal": line.end_of_renewal,
            "parent_serial": line.parent_serial}


def register(sub, common) -> None:
    show = sub.add_parser("show", help="show one stored thing: 'show capture ID' prints what a device sent",
                          description="Show one stored thing as the store keeps it.")
    things = show.add_subparsers(dest="show_what", metavar="WHAT")
    show.set_defaults(func=lambda _args: (show.print_help(sys.stderr), 2)[1])
    p = things.add_parser(
        "capture", help="the bytes a device sent for one capture (rows name it by capture_id)",
        description="Print the bytes the device sent for capture ID, as stored (the sha256 the store keeps is "
        "over them). Into a file or a pipe: byte for byte. On a terminal: control characters and bytes that are "
        "not UTF-8 shown as \\xNN, never obeyed. A header (device, command, scan, time, sha256 checked against "
        "the bytes) goes to stderr.")
    p.add_argument("id", type=int, metavar="ID", help="the capture's id (capture_id in reports, history, evidence)")
    p.add_argument("--text", action="store_true",
                   help="the text that was parsed instead (echo and prompt removed, line ends unified)")
    p.add_argument("--header", action="store_true", help="write the header on stdout, before the capture")
    p.add_argument("--db", default=common.default_db, help=common.db_help)
    p.set_defaults(func=cmd_show_capture)

    p = sub.add_parser(
        "evidence", help="what the store and the contract files say about one serial",
        description="One item's evidence: every sighting (scan, device, name, PID), the captures they were read "
        "from (ids for 'ibagent show capture', sha256), and with --contracts the contract lines naming its "
        "serial (file and row). Exit 1 when nothing names it.")
    p.add_argument("serial")
    p.add_argument("--contracts", nargs="+", metavar="FILE",
                   help="contract/coverage exports, read as 'ibagent reconcile' reads them")
    p.add_argument("--map", help="YAML header map for other CSV layouts (as reconcile)")
    p.add_argument("--date-format", choices=("DD/MM/YYYY", "MM/DD/YYYY", "YYYY-MM-DD", "DD-MMM-YYYY"),
                   help="settle ambiguous slash dates (as reconcile)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--db", default=common.default_db, help=common.db_help)
    p.set_defaults(func=cmd_evidence)
