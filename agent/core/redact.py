"""Keep secrets out of everything we emit: logs, the store, reports, error messages.

The inventory hands every resolved secret to one Redactor; every string that leaves a
collector (error text, partial output) and every log record passes through ``scrub``, and the
bytes a capture keeps as received through ``scrub_bytes``.  Matching
the literal values catches what no pattern could (a device echoing a password it was sent).

Every way text leaves the process goes through it (issue 12, item 3): log records are scrubbed
after they are formatted, traceback and stack included (:class:`RedactingFormatter`; a filter
alone runs before logging formats the traceback), logging's last-resort handler too, and the
uncaught-exception hooks of the interpreter and of threads (:func:`install_hooks`), and the
scan's asyncio exception handler (:func:`redacting_exception_handler`).  The values
themselves travel as :class:`agent.core.secret.Secret`, whose repr is masked.
"""
from __future__ import annotations

import json
import logging
import re
import sys
import threading
import traceback
from collections.abc import Iterable

MASK = "********"


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()):
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        # Very short values would mask ordinary text ("a", "12"); inventories refuse none, so
        # keep them but match only whole tokens for them.  A value is also looked for as repr()
        # and JSON write it (a quote or a backslash in it is escaped there).
        for s in secrets:
            s = s.reveal() if hasattr(s, "reveal") else s
            if s:
                self._secrets.update({s, repr(s)[1:-1], json.dumps(s)[1:-1]})
        if not self._secrets:
            self._pattern = None
            return
        parts = []
        for s in sorted(self._secrets, key=len, reverse=True):
            esc = re.escape(s)
            parts.append(esc if len(s) >= 4 else rf"(?<!\w){esc}(?!\w)")
        self._pattern = re.compile("|".join(parts))

    def scrub(self, text: str | None) -> str | None:
        if not text or self._pattern is None:
            return text
        return self._pattern.sub(MASK, text)

    def scrub_bytes(self, data: bytes | None) -> bytes | None:
        """``data`` (a capture's bytes as received) with each secret's UTF-8 bytes masked and every
        other byte as it was: surrogateescape carries bytes that are not UTF-8 through unchanged."""
        if not data or self._pattern is None:
            return data
        text = data.decode("utf-8", "surrogateescape")
        scrubbed = self._pattern.sub(MASK, text)
        return data if scrubbed == text else scrubbed.encode("utf-8", "surrogateescape")


class RedactingFormatter(logging.Formatter):
    """A formatter whose whole output is scrubbed: message, traceback (``formatException``) and
    stack (``formatStack``), which logging formats after every filter has run."""

    def __init__(self, redactor: Redactor, fmt: str | None = None, datefmt: str | None = None) -> None:
        super().__init__(fmt, datefmt)
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        return self.redactor.scrub(super().format(record)) or ""


def redacting_exception_handler(redactor: Redactor, log: logging.Logger):
    """An asyncio exception handler (``loop.set_exception_handler``): what asyncio would log (an
    exception nobody retrieved, a callback that raised), with the message, every context value and
    the traceback scrubbed of the run's secrets, written through ``log`` (whose formatter scrubs
    again)."""

    def handler(loop, context: dict) -> None:
        parts = [str(context.get("message") or "unhandled exception in the event loop")]
        for key in sorted(k for k in context if k not in ("message", "exception")):
            parts.append(f"{key}: {context[key]!r}")
        exc = context.get("exception")
        text = "\n".join(parts)
        if exc is not None:
            text += "\n" + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        log.error("%s", redactor.scrub(text))

    return handler


def _scrubbed_traceback(redactor: Redactor, exc_type, exc, tb) -> str:
    return redactor.scrub("".join(traceback.format_exception(exc_type, exc, tb))) or ""


def install_hooks(redactor: Redactor) -> None:
    """Route every last-resort output through ``redactor``: uncaught exceptions in the main thread
    (``sys.excepthook``) and in other threads (``threading.excepthook``), and the records logging
    prints when no handler is configured (``logging.lastResort``)."""

    def excepthook(exc_type, exc, tb) -> None:
        sys.stderr.write(_scrubbed_traceback(redactor, exc_type, exc, tb))

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread is not None else "?"
        sys.stderr.write(f"Exception in thread {name}:\n"
                         + _scrubbed_traceback(redactor, args.exc_type, args.exc_value, args.exc_traceback))

    sys.excepthook = excepthook
    threading.excepthook = thread_hook
    last = logging.StreamHandler(sys.stderr)
    last.setLevel(logging.WARNING)
    last.setFormatter(RedactingFormatter(redactor))
    logging.lastResort = last


class RedactingFilter(logging.Filter):
    """Log filter that renders the message and scrubs it before any handler sees it."""

    def __init__(self, redactor: Redactor):
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redactor.scrub(record.getMessage())
        record.args = None
        if record.exc_text:
            record.exc_text = self.redactor.scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redactor.scrub(record.stack_info)
        return True
