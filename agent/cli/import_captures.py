"""``ibagent import-captures``: outputs an engineer saved by hand, into the store as a collection
with transport ``manual`` (agent/collect/manual.py splits the files, manual_import.py stores them
by the scan's rules)."""
from __future__ import annotations

import argparse
import sys

from agent.cli.common import EXIT_DEVICES_FAILED, EXIT_LOCKED, EXIT_OK, EXIT_USAGE, UsageError, _open_store, say


def cmd_import_captures(args: argparse.Namespace) -> int:
    from agent.collect import manual, manual_import
    from agent.core import platforms
    from agent.store import StoreLocked

    platform = None
    if args.platform:
        plat = platforms.lookup(args.platform)
        if plat is None:
            raise UsageError(f"unknown platform {args.platform!r} (known: {', '.join(platforms.names())})")
        platform = plat.name
    if not 0 < args.parse_budget < float("inf"):
        raise UsageError(f"--parse-budget must be a number of seconds above 0, not {args.parse_budget:g}")
    for what, value in (("--device", args.device), ("--site", args.site)):
        if value is not None and not manual.NAME_OK.fullmatch(value):
            raise UsageError(f"{what} {value!r} is not a name (letters, digits, . - _ @ : / ( ) and blanks)")
    try:
        found = manual.files_to_read(args.paths)
    except manual.CaptureFileError as exc:
        raise UsageError(str(exc)) from None
    if not found:
        raise UsageError(f"no files to import in {', '.join(args.paths)}")
    from agent.cli.scan import agent_name

    agent = agent_name(args.agent)
    reads, problems = _read_all(found, args.progress)
    store = _open_store(args.db)
    # Its scan row names who imported (as a scan names its agent): 'agents', --agent filters and a
    # site bundle then tell these collections apart like any other.
    store.scan_agent = (agent, {"inventory": "import-captures", "sites": [args.site] if args.site else [],
                                "groups": []})
    try:
        try:
            store.lock(agent)  # the scan lock: an import is a scan of the store's point of view
        except StoreLocked as exc:
            say(f"ibagent: {exc}")
            return EXIT_LOCKED
        planned = manual_import.plan(reads, store, platform=platform, device=args.device, site=args.site,
                                     again=args.again)
        problems += planned.problems
        refused = planned.refused_files
        if problems and not args.skip_bad:
            for p in problems:
                say(f"ibagent: {p}")
            say(f"ibagent: nothing imported: {len(problems)} problem(s) above (--skip-bad imports the other files)")
            return EXIT_USAGE
        for p in problems:
            say(f"ibagent: skipped: {p}")
        devices = [d for d in planned.devices if not set(d.files) & refused]
        files = [{"file": r.name, "sha256": r.sha256, "bytes": r.size} for r in reads if r.name not in refused]
        options = {"transport": "manual", "files": files, "platform": platform, "device": args.device,
                   "site": args.site, "again": args.again, "parse_budget": args.parse_budget}
        summary = _import(manual_import, devices, store, options, args)
    finally:
        store.close()
    _report(summary, planned, len(reads))
    if problems or summary.failed:
        return EXIT_DEVICES_FAILED
    return EXIT_OK


def _read_all(found, progress_enabled):
    from agent.collect import manual

    reads, problems, total = [], [], 0
    show = sys.stderr.isatty() if progress_enabled is None else progress_enabled
    for i, (path, name, dir_device) in enumerate(found, 1):
        try:
            read = manual.read_file(path, name, dir_device)
        except manual.CaptureFileError as exc:
            problems.append(str(exc))
        else:
            total += read.size
            if total > manual.TOTAL_LIMIT:
                raise UsageError(f"the files hold more than {manual.TOTAL_LIMIT >> 20} MiB in all (at {name}): "
                                 "import them in parts")
            reads.append(read)
        if show and (i % 50 == 0 or i == len(found)):
            print(f"\rreading files: {i}/{len(found)}", end="\n" if i == len(found) else "", file=sys.stderr,
                  flush=True)
    return reads, problems


def _import(manual_import, devices, store, options, args):
    from agent.collect.progress import Progress

    todo = sum(1 for d in devices if d.already is None)
    progress = Progress(todo, sys.stderr, enabled=args.progress)  # the stream of now (a test may swap it)

    def on_progress(summary):
        progress.update(summary.ok, summary.failed, force=summary.ok + summary.failed == todo)

    try:
        return manual_import.import_devices(devices, store, inventory="import-captures " + " ".join(args.paths),
                                            options=options, parse_budget=args.parse_budget,
                                            on_progress=on_progress)
    finally:
        if todo:
            progress.close()


def _report(summary, planned, files: int) -> None:
    out = sys.stdout
    if summary.scan_id is None and not summary.already:
        say("nothing imported: no device left to import", out)
        return
    if summary.scan_id is None:
        say(f"nothing new: every device's outputs are already in the store "
            f"({', '.join(f'{d} in scan {s}' for d, s in summary.already[:10])}"
            f"{' ...' if len(summary.already) > 10 else ''}); --again imports them as a new attempt", out)
        return
    print(f"import {summary.scan_id} completed: {files} file(s), {summary.ok + summary.failed} device(s): "
          f"{summary.ok} ok, {summary.failed} failed (transport manual)", file=out)
    if summary.already:
        say(f"  already imported, not again: {len(summary.already)}: "
            + ", ".join(f"{d} (scan {s})" for d, s in summary.already[:10]), out)
    if summary.no_inventory:
        say(f"  without show inventory (items stay those of the last inventory read; nothing is claimed "
            f"not-seen): {', '.join(summary.no_inventory[:20])}", out)
    for device, kind, reason in summary.failures[:50]:
        say(f"    {device:<24} {kind:<10} {reason}", out)
    if planned.skipped:
        # Two words at most: a configuration line typed in the session may hold a secret.
        commands = sorted({" ".join(c.split()[:2]) + (" ..." if len(c.split()) > 2 else "") for _, _, c in planned.skipped})
        say(f"  commands not read (not stored): {len(planned.skipped)}: {', '.join(commands[:12])}"
            f"{' ...' if len(commands) > 12 else ''}", out)


def register(sub, common) -> None:
    p = sub.add_parser(
        "import-captures", help="load show outputs saved by hand (pasted sessions, one file per command)",
        description="Load the outputs of show commands that an engineer saved where ibagent cannot log in, into "
        "the store as a collection with transport 'manual', parsed and stored exactly as a scan's. A FILE is a "
        "pasted terminal session (prompts like 'core-sw1#show version' split it and name the device) or one "
        "command's output (a header '# device: NAME' / '# command: show inventory', or a file named after the "
        "command in a directory named after the device: core-sw1/show_inventory.txt). A DIR is read "
        "recursively. Nothing is imported when any file is refused (each is named with its line) unless "
        "--skip-bad. Outputs an earlier import already holds are not imported again.")
    p.add_argument("paths", nargs="+", metavar="DIR|FILE", help="files or directories of saved outputs")
    p.add_argument("--db", "--store", dest="db", default=common.default_db, help=common.db_help)
    p.add_argument("--platform", help="the platform of every device imported (cisco_xe, cisco_ios, cisco_nxos, "
                   "cisco_xr, cisco_asa or an alias); default: a '# platform:' header, else read from show version, "
                   "else what the store knows")
    p.add_argument("--device", help="the device every file is from (default: a '# device:' header, the prompt, "
                   "else the file's directory)")
    p.add_argument("--site", help="the site of the devices imported (default: a '# site:' header, else the site "
                   "the store knows the device by)")
    p.add_argument("--agent", metavar="NAME",
                   help="the agent the import is recorded as (its scan row names it, as a scan's does); default "
                        "$IBAGENT_AGENT, else this machine's host name")
    p.add_argument("--again", action="store_true", help="import outputs an earlier import already holds, as a new "
                   "attempt dated now (default: such devices are left as they are)")
    p.add_argument("--skip-bad", action="store_true", help="import the files that can be read and list the refused "
                   "ones (exit 1) instead of importing nothing")
    p.add_argument("--parse-budget", type=float, default=10.0, metavar="SECONDS",
                   help="seconds each output may take to parse; over it the device fails 'garbage' (default 10)")
    progress = p.add_mutually_exclusive_group()
    progress.add_argument("--progress", dest="progress", action="store_true", default=None,
                          help="force the progress display")
    progress.add_argument("--no-progress", dest="progress", action="store_false", help="never show progress")
    p.set_defaults(func=cmd_import_captures)
