"""``ibagent parse``: one captured output through the same code path a scan uses."""
from __future__ import annotations

import argparse
from pathlib import Path

from agent.cli.common import EXIT_OK, EXIT_PARSE, UsageError, say


def cmd_parse(args: argparse.Namespace) -> int:
    import json
    import time

    from agent.core import platforms
    from agent.core.models import Capture, to_dict
    from agent.normalize import records_from_captures
    from parsers import ParseError

    if args.platform not in platforms.names():
        raise UsageError(f"unknown platform {args.platform!r} (known: {', '.join(platforms.names())})")
    try:
        text = Path(args.file).read_text(encoding="utf-8", errors="surrogateescape")
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror}") from None
    now = time.time()
    capture = Capture(Path(args.file).name, args.platform, "file", args.command, text, now, now)
    try:
        records = records_from_captures(capture.device, args.platform, [capture])
    except ParseError as exc:
        say(f"ibagent: cannot parse {args.file} as {args.platform} {args.command!r}: {exc}")
        return EXIT_PARSE
    out = {
        "facts": to_dict(records.facts),
        "components": [to_dict(c) for c in records.components],
        "licenses": [to_dict(u) for u in records.licenses],
        "license_status": to_dict(records.license_status) if records.license_status else None,
        "problems": records.problems,
        "neighbours": [to_dict(n) for n in records.neighbours],
        "neighbour_status": [to_dict(st) for st in records.neighbour_status],
    }
    if args.format == "json":
        print(json.dumps(out, indent=2, default=str))  # ensure_ascii: control characters escaped
    else:
        from agent.core.untrusted import printable
        from agent.reports import tabular

        facts = out["facts"]
        for key in ("hostname", "os_version", "version", "chassis_pid", "chassis_serial"):
            if facts.get(key):
                print(printable(f"{key:15} {facts[key]}"))
        if out["components"]:
            print(tabular.to_table(out["components"], ("name", "class", "pid", "base_pid", "serial", "contractable", "reason")))
        if out["licenses"]:
            print(tabular.to_table(out["licenses"], ("license", "entitlement_tag", "count", "status", "udi_pid", "udi_serial")))
        if out["license_status"]:
            for key, value in out["license_status"].items():
                if value not in ("", None, [], {}):
                    print(printable(f"{key:25} {value}"))
        for st in out["neighbour_status"]:
            print(printable(f"{st['protocol']:5} {st['state']}" + (f": {st['detail']}" if st["detail"] else "")))
        if out["neighbours"]:
            rows = [{**n, "addresses": " ".join([*(n.get("mgmt_addresses") or ()), *(n.get("addresses") or ())]), "cisco": "yes" if n.get("cisco") else "no"}
                    for n in out["neighbours"]]
            print(tabular.to_table(rows, ("protocol", "local_port", "device_id", "remote_port", "platform", "addresses",
                                          "cisco")))
    return EXIT_OK


def register(sub, common) -> None:
    p = sub.add_parser("parse", help="parse one captured output, exactly as a scan would",
                       description="Print the records one capture yields, through the same code path a scan uses.")
    p.add_argument("file", help="file holding the raw command output")
    p.add_argument("--platform", required=True, help="cisco_xe, cisco_ios, cisco_nxos, cisco_xr or cisco_asa")
    p.add_argument("--command", required=True, help='the command that produced it, e.g. "show inventory"')
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=cmd_parse)
