"""Keep secrets out of everything we emit: logs, the store, reports, error messages.

The inventory hands every resolved secret to one Redactor; every string that leaves a
collector (error text, partial output) and every log record passes through ``scrub``.  Matching
the literal values catches what no pattern could (a device echoing a password it was sent).
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterable

MASK = "********"


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()):
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        # Very short values would mask ordinary text ("a", "12"); inventories refuse none, so
        # keep them but match only whole tokens for them.
        self._secrets.update(s for s in secrets if s)
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
        return True
