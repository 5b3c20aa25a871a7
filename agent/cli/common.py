"""What every ``ibagent`` command shares: the exit codes, ``UsageError``, the run's one redactor,
logging set-up, opening the store, the scan runner and its summary, date parsing, row output,
and the options several sub-parsers carry (``ParserCommon``).

Only the standard library at import time: heavy modules are imported inside the helper that
needs them, so ``ibagent --help`` stays fast.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

EXIT_OK, EXIT_DEVICES_FAILED, EXIT_USAGE, EXIT_PARSE, EXIT_INTERNAL, EXIT_LOCKED = 0, 1, 2, 3, 70, 75
# The store could not be written (disk full, read-only, I/O error): sysexits' EX_IOERR.
EXIT_STORE = 74
# Ctrl-C, SIGHUP, SIGTERM: 128 + the signal's number, what a shell reports for a process the
# signal killed, so supervisors read a stopped scan the way they read any stopped program.
EXIT_SIGINT, EXIT_SIGHUP, EXIT_SIGTERM = 130, 129, 143

log = logging.getLogger("ibagent")

# One redactor for the whole run: every command adds the secrets it resolves, and the last-resort
# error handler in main() scrubs with it too.
_redactor = None


def _get_redactor():
    global _redactor
    if _redactor is None:
        from agent.core.redact import Redactor

        _redactor = Redactor()
    return _redactor


class UsageError(Exception):
    pass


# ---------------------------------------------------------------------------- helpers


def _setup_logging(args: argparse.Namespace, redactor) -> None:
    from agent.core.redact import RedactingFilter, RedactingFormatter

    level = {0: logging.WARNING, 1: logging.INFO}.get(getattr(args, "verbose", 0), logging.DEBUG)
    root = logging.getLogger()
    root.handlers.clear()
    root.setLevel(logging.DEBUG)
    # Scrubbed after formatting: a traceback is formatted after the filters ran (issue 12).
    fmt = RedactingFormatter(redactor, "%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.Handler] = []
    if not getattr(args, "quiet", False):
        stderr = logging.StreamHandler(sys.stderr)
        stderr.setLevel(level)
        stderr.setFormatter(fmt)
        handlers.append(stderr)
    if getattr(args, "log_file", None):
        fh = logging.FileHandler(args.log_file)
        fh.setLevel(min(level, logging.INFO))
        fh.setFormatter(fmt)
        handlers.append(fh)
    for h in handlers:
        h.addFilter(RedactingFilter(redactor))
        root.addHandler(h)
    # Library chatter (asyncssh logs every channel) would drown the device lines.
    for noisy in ("asyncssh", "paramiko", "netmiko", "ncclient", "pysnmp"):
        logging.getLogger(noisy).setLevel(logging.WARNING if level > logging.DEBUG else logging.INFO)


def _open_store(path: str):
    from agent.store import Store

    return Store(path)


def _print_summary(summary, stream=None) -> None:
    stream = stream or sys.stdout  # looked up when called: a redirected or captured stdout counts
    rate = summary.ok / summary.elapsed if summary.elapsed > 0 else 0.0
    state = summary.status + (f" ({summary.stop_signal})" if summary.stop_signal else "")
    counts = f"{summary.ok} ok, {summary.failed} failed"
    if summary.cancelled:
        counts += f", {summary.cancelled} cancelled"
    print(f"scan {summary.scan_id} {state}: {summary.total} devices in {summary.elapsed:.1f}s "
          f"({rate:.1f} devices/s): {counts}", file=stream)
    if summary.store_error:
        print(f"  the store could not be written: {summary.store_error}", file=stream)
        print("  the scan stopped there: devices already saved are kept, "
              + ("the scan is recorded as failed" if not summary.end_error
                 else "but the scan row could not be closed: the next scan will mark it interrupted"), file=stream)
    if summary.unsaved:
        print(f"  not saved (store write failed): {summary.unsaved}", file=stream)
    if summary.cancelled:
        print(f"  cancelled in flight (partial captures kept): {summary.cancelled}", file=stream)
    not_started = summary.total - summary.done - summary.unsaved
    if not_started:
        print(f"  not started ({summary.status}): {not_started}", file=stream)
    if summary.by_kind:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(summary.by_kind.items()))
        print(f"  failed by reason: {kinds}", file=stream)
        for device, kind, reason in sorted(summary.failures)[:50]:
            print(f"    {device:<24} {kind:<10} {reason}", file=stream)
            _print_attempts(summary.attempts.get(device), stream)
        if len(summary.failures) > 50:
            print(f"    ... and {len(summary.failures) - 50} more (ibagent errors --scan {summary.scan_id})", file=stream)
    fell_back = sorted(set(summary.attempts) - {device for device, _, _ in summary.failures})
    if fell_back:
        print(f"  collected although a transport failed: {len(fell_back)} (ibagent errors --scan {summary.scan_id})",
              file=stream)
        for device in fell_back[:20]:
            print(f"    {device}", file=stream)
            _print_attempts(summary.attempts[device], stream)
        if len(fell_back) > 20:
            print(f"    ... and {len(fell_back) - 20} more", file=stream)


def _print_attempts(attempts, stream) -> None:
    """Each failed attempt of a device tried over several transports (its headline is above)."""
    for transport, kind, reason in attempts or ():
        print(f"      {transport:<8} {kind:<10} {reason}", file=stream)


def exit_code(summary) -> int:
    """A scan's exit code: a store it could not write first (the data is at risk), then a signal or
    Ctrl-C that stopped it, then whether every device was collected."""
    if summary.store_error:
        return EXIT_STORE
    if summary.interrupted:
        return 128 + summary.exit_signal if summary.exit_signal else EXIT_SIGINT
    return EXIT_OK if summary.failed == 0 else EXIT_DEVICES_FAILED


def _run_scan(targets, store, options, inventory: str, redactor, progress_enabled: bool | None):
    import asyncio

    from agent.collect.progress import Progress
    from agent.collect.scan import run_scan

    progress = Progress(len(targets), enabled=progress_enabled)

    def on_progress(summary, _target, _status):
        progress.update(summary.ok, summary.failed + summary.cancelled, force=summary.done == summary.total)

    try:
        # stop_signals: SIGTERM (systemctl stop) and SIGHUP (a closed terminal) end the scan as Ctrl-C does.
        summary = asyncio.run(run_scan(targets, store, options, inventory=inventory, redactor=redactor,
                                       on_progress=on_progress, stop_signals=True))
    finally:
        progress.close()
    return summary


def _require_store(path: str):
    if not Path(path).exists():
        raise UsageError(f"no store at {path}: run 'ibagent scan' or 'ibagent demo' first, or pass --db")
    return _open_store(path)


def _parse_day(text: str, what: str):
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{what} must be a date as YYYY-MM-DD, not {text!r}") from None


def _emit(rows: list[dict], columns, fmt: str) -> None:
    from agent.reports import tabular

    if fmt == "json":
        sys.stdout.write(tabular.to_json(rows))
    elif fmt == "csv":
        sys.stdout.write(tabular.to_csv(rows, columns))
    else:
        sys.stdout.write(tabular.to_table(rows, columns))


# ---------------------------------------------------------------------------- parser pieces

DB_HELP = "store path (default ./ibagent.db or $IBAGENT_DB)"


class ParserCommon:
    """What the command modules' sub-parsers share; ``build_parser`` makes one per call (so
    ``$IBAGENT_DB`` is read when the parser is built, as before).  A plain class: ``dataclasses``
    would cost ``ibagent --help`` the import of ``inspect``."""

    __slots__ = ("default_db", "db_help")

    def __init__(self, default_db: str, db_help: str = DB_HELP) -> None:
        self.default_db = default_db
        self.db_help = db_help

    @classmethod
    def from_environ(cls) -> "ParserCommon":
        return cls(default_db=os.environ.get("IBAGENT_DB", "ibagent.db"))

    @staticmethod
    def common_log(p):
        p.add_argument("-v", "--verbose", action="count", default=0, help="more log output on stderr (-vv: debug)")
        p.add_argument("-q", "--quiet", action="store_true", help="no log output on stderr (see --log-file)")
        p.add_argument("--log-file", help="also append logs to this file (secrets are masked)")

    @staticmethod
    def scan_knobs(p, workers_default):
        p.add_argument("--workers", type=int, default=workers_default, help=f"devices in flight at once (default {workers_default})")
        p.add_argument("--deadline", type=float, default=180.0, help="seconds a device may take in all, retries included (default 180)")
        p.add_argument("--connect-timeout", type=float, default=15.0, help="seconds to log in (default 15)")
        p.add_argument("--command-timeout", type=float, default=60.0, help="seconds one command may take (default 60)")
        p.add_argument("--retries", type=int, default=1, help="extra tries on a transient connection error (default 1)")


def positive_days(text: str) -> int:
    """argparse type: a whole number of days above 0."""
    try:
        days = int(text)
    except ValueError:
        days = 0
    if days <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days above 0")
    return days
