"""What every ``ibagent`` command shares: the exit codes, ``UsageError``, the run's one redactor,
logging set-up, opening the store, the scan runner and its summary, date parsing, row output,
and the options several sub-parsers carry (``ParserCommon``).

Only the standard library at import time: heavy modules are imported inside the helper that
needs them, so ``ibagent --help`` stays fast.
"""
from __future__ import annotations

import argparse
import logging
import math
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


class _PrintableFilter(logging.Filter):
    """Control characters in a record's message (device text: escape sequences, a CR that hides
    the rest of the line, a newline that forges a record) shown as \\xNN before it is written."""

    def __init__(self, printable) -> None:
        super().__init__()
        self._printable = printable

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format: logging reports it itself
            return True
        clean = self._printable(message)
        if clean is not message:
            record.msg, record.args = clean, None
        return True


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
    from agent.core.untrusted import printable

    for h in handlers:
        h.addFilter(RedactingFilter(redactor))
        h.addFilter(_PrintableFilter(printable))  # issue 12: device text cannot forge log lines
        root.addHandler(h)
    # Library chatter (asyncssh logs every channel) would drown the device lines.
    for noisy in ("asyncssh", "paramiko", "netmiko", "ncclient", "pysnmp"):
        logging.getLogger(noisy).setLevel(logging.WARNING if level > logging.DEBUG else logging.INFO)


def take_store_password(args) -> None:
    """A password written into a ``--db postgresql://user:PASSWORD@...`` URL leaves the URL at
    once: it is scrubbed from every message from now on, handed to libpq as PGPASSWORD (as if the
    user had set it), and ``args.db`` keeps the URL without it, so that no message, report or
    ``scans.options`` can carry it (they name args.db in many places)."""
    from agent.store import is_store_url, store_url_password, store_url_without_password

    db = getattr(args, "db", None)
    if not isinstance(db, str) or not is_store_url(db):
        return
    password = store_url_password(db)
    if password:
        _get_redactor().add([password])
        os.environ["PGPASSWORD"] = password
        args.db = store_url_without_password(db)


def _open_store(path: str, *, readonly: bool = False):
    """Writers (scan, slp collect...) open the store to write: created when missing, migrated when
    older.  Readers open it read-only: nothing is created, migrated or changed, and a file that
    is not an ibagent store of this version is refused with the reason."""
    from agent.store import Store, store_url_password

    # A password written into a postgresql:// URL is a secret like an inventory's: scrubbed from
    # every message and log line (the store shows the URL without it; PGPASSWORD or ~/.pgpass keep
    # it off the command line altogether).
    password = store_url_password(path)
    if password:
        _get_redactor().add([password])
    return Store(path, readonly=readonly)


def _shown(text: str) -> str:
    from agent.core.untrusted import printable

    return printable(text)


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
        print(_shown(f"  the store could not be written: {summary.store_error}"), file=stream)
        print("  the scan stopped there: devices already saved are kept, "
              + ("the scan is recorded as failed" if not summary.end_error
                 else "but the scan row could not be closed: the next scan will mark it interrupted"), file=stream)
    if summary.unsaved:
        print(_shown(f"  not saved (store write failed): {summary.unsaved}"), file=stream)
    if summary.cancelled:
        print(f"  cancelled in flight (partial captures kept): {summary.cancelled}", file=stream)
    not_started = summary.total - summary.done - summary.unsaved
    if not_started:
        print(f"  not started ({summary.status}): {not_started}", file=stream)
    _print_trust(summary, stream)
    if summary.by_kind:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(summary.by_kind.items()))
        print(f"  failed by reason: {kinds}", file=stream)
        for device, kind, reason in sorted(summary.failures)[:50]:
            print(_shown(f"    {device:<24} {kind:<10} {reason}"), file=stream)
            _print_attempts(summary.attempts.get(device), stream)
        if len(summary.failures) > 50:
            print(f"    ... and {len(summary.failures) - 50} more (ibagent errors --scan {summary.scan_id})", file=stream)
    fell_back = sorted(set(summary.attempts) - {device for device, _, _ in summary.failures})
    if fell_back:
        print(f"  collected although a transport failed: {len(fell_back)} (ibagent errors --scan {summary.scan_id})",
              file=stream)
        for device in fell_back[:20]:
            print(_shown(f"    {device}"), file=stream)
            _print_attempts(summary.attempts[device], stream)
        if len(fell_back) > 20:
            print(f"    ... and {len(fell_back) - 20} more", file=stream)


def _print_trust(summary, stream) -> None:
    """Host-key trust first: a possible impostor, and hosts whose keys are not checked at all."""
    refused = sorted(device for device, kind, _ in summary.failures if kind == "hostkey")
    if refused:
        print(f"  HOST KEY REFUSED (possible impostor; no credentials were sent): {len(refused)}: "
              f"{', '.join(refused[:20])}{' ...' if len(refused) > 20 else ''}", file=stream)
    if summary.insecure:
        print(f"  host keys NOT checked (data.host_keys: insecure in the inventory): {len(summary.insecure)}: "
              f"{', '.join(summary.insecure[:20])}{' ...' if len(summary.insecure) > 20 else ''}", file=stream)
    cleartext = getattr(summary, "cleartext", ())
    if cleartext:
        print(f"  credentials sent IN CLEAR over telnet (transports: [telnet] in the inventory): {len(cleartext)}: "
              f"{', '.join(cleartext[:20])}{' ...' if len(cleartext) > 20 else ''}", file=stream)
    if summary.keys_learned:
        print(f"  host keys trusted on first use: {summary.keys_learned} (ibagent hostkeys list)", file=stream)
    weak = getattr(summary, "weak_crypto", {})
    if weak:
        # Auditors ask for this: old gear collected with sha1/CBC/ssh-rsa, weak SNMP modes, telnet.
        print(f"  weak crypto: {len(weak)} device(s) (ibagent devices --format json: weak_crypto)", file=stream)
        for device in sorted(weak)[:20]:
            print(_shown(f"    {device:<24} {'; '.join(weak[device])}"), file=stream)
        if len(weak) > 20:
            print(f"    ... and {len(weak) - 20} more", file=stream)


def _print_attempts(attempts, stream) -> None:
    """Each failed attempt of a device tried over several transports (its headline is above)."""
    for transport, kind, reason in attempts or ():
        print(_shown(f"      {transport:<8} {kind:<10} {reason}"), file=stream)


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


def _require_store(path: str, *, write: bool = False):
    """An existing store: read-only unless the command writes to it (``write``)."""
    from agent.store import is_store_url

    if not is_store_url(path) and not Path(path).exists():
        raise UsageError(f"no store at {path}: run 'ibagent scan' or 'ibagent demo' first, or pass --db")
    return _open_store(path, readonly=not write)


def _parse_day(text: str, what: str):
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{what} must be a date as YYYY-MM-DD, not {text!r}") from None


def _emit(rows: list[dict], columns, fmt: str) -> None:
    from agent.reports import tabular

    if fmt == "json":
        _out(tabular.to_json(rows))
    elif fmt == "csv":
        _out(tabular.to_csv(rows, columns))
    else:
        sys.stdout.write(tabular.to_table(rows, columns))  # cells already shown, not obeyed


def _out(text: str, stream=None) -> None:
    """Data on stdout: byte for byte into a file or pipe, but on a terminal the control
    characters of device and file text are shown (\\x1b), not obeyed."""
    stream = stream or sys.stdout
    if stream.isatty():
        from agent.core.untrusted import printable

        text = printable(text, keep_newlines=True)
    stream.write(text)


def say(message: str, stream=None) -> None:
    """One message for a person on stderr (or ``stream``): device and file text in it cannot
    steer the terminal or forge a line."""
    from agent.core.untrusted import printable

    print(printable(message), file=stream or sys.stderr)


# ---------------------------------------------------------------------------- parser pieces

DB_HELP = ("store: an SQLite file path or a postgresql://user@host/db URL (password from PGPASSWORD or "
           "~/.pgpass, not the URL); default ./ibagent.db or $IBAGENT_DB")


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
        p.add_argument("--workers", type=at_least(1), default=workers_default, help=f"devices in flight at once (default {workers_default})")
        p.add_argument("--deadline", type=seconds, default=180.0, help="seconds a device may take in all, retries included (default 180)")
        p.add_argument("--connect-timeout", type=seconds, default=15.0, help="seconds to log in (default 15)")
        p.add_argument("--command-timeout", type=seconds, default=60.0, help="seconds one command may take (default 60)")
        p.add_argument("--retries", type=at_least(0), default=1, help="extra tries on a transient connection error (default 1)")

    @staticmethod
    def host_key_options(p):
        p.add_argument("--host-keys", choices=("tofu", "strict"), default="tofu",
                       help="SSH/NETCONF host-key policy: tofu (default) trusts a host's first key and refuses any "
                            "other later; strict accepts only keys in --known-hosts files. An inventory host's "
                            "data.host_keys wins (insecure only there)")
        p.add_argument("--known-hosts", action="append", default=[], metavar="FILE",
                       help="OpenSSH known_hosts file of trusted host keys (repeatable; also data.known_hosts "
                            "in the inventory)")



def seconds(text: str) -> float:
    """argparse type: a time in seconds, a finite number above 0 (-5, 0, nan and inf are no
    timeouts: they expired at once or never)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return value


def at_least(low: int):
    """argparse type: a whole number no smaller than ``low``."""
    def whole(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if value < low:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of {low} or more")
        return value
    whole.__name__ = f"whole number >= {low}"
    return whole


def host_key_settings(args: argparse.Namespace, targets) -> tuple[str, tuple[str, ...]]:
    """``(mode, known_hosts files)`` from the command line, checked before anything connects: each
    file readable and well-formed, and strict only with a file for every target."""
    from agent.core.hostkeys import KnownHosts, KnownHostsError

    files = tuple(args.known_hosts)
    try:
        KnownHosts.read(files)
    except KnownHostsError as exc:
        raise UsageError(str(exc)) from None
    if args.host_keys == "strict" and not files:
        missing = [t.name for t in targets if not t.options.get("known_hosts")
                   and t.options.get("host_keys") in (None, "strict")]
        if missing:
            raise UsageError("--host-keys strict needs --known-hosts FILE (or data.known_hosts in the inventory) "
                             f"for: {', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''}")
    return args.host_keys, files


def positive_days(text: str) -> int:
    """argparse type: a whole number of days above 0."""
    try:
        days = int(text)
    except ValueError:
        days = 0
    if days <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days above 0")
    return days
