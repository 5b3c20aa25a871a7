"""What every collector shares: the result shape and the error vocabulary.

A collector never raises for a device problem.  It returns a CollectResult holding every
capture it made (partial ones included: evidence is never dropped) and, when the device as a
whole failed, an error kind from ``agent.core.models.ERROR_KINDS`` with a one-line reason.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from agent.core.models import Capture, Target

# Pseudo-command of the capture holding the device's prompt (parsers.PROMPT names the same).
PROMPT = "prompt"

# Fraction of non-printable characters above which output is noise, not a CLI answer.
_NOISE_LIMIT = 0.10


@dataclass(slots=True)
class CollectResult:
    target: Target
    transport: str
    captures: list[Capture] = field(default_factory=list)
    error_kind: str | None = None
    error: str | None = None
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return self.error_kind is None


class CollectError(Exception):
    """Raised inside a collector to end a device early; turned into a CollectResult by the caller."""

    def __init__(self, kind: str, message: str, *, transient: bool = False):
        super().__init__(message)
        self.kind = kind
        self.message = message
        # Worth one more try: the session never got as far as logging in (refused, reset, slow accept).
        self.transient = transient


class Collector(Protocol):
    transport: str

    async def collect(self, target: Target, sink: list[Capture]) -> None:
        """Collect ``target``, appending each Capture to ``sink`` as it completes.

        Raise CollectError for a device-level failure.  The caller owns deadlines and
        cancellation; because captures go to ``sink`` as they finish, a cancelled or timed-out
        device still leaves its evidence behind.
        """
        ...


def enable_refused(target: Target) -> str:
    """Why privileged mode was not reached.  Without an ``enable_secret`` the login password was
    tried in its place (many AAA set-ups accept it); its refusal means the secret is missing from
    the inventory, which "enable refused" alone would hide.  Still ``auth``: another transport may
    need no enable at all, so the scan falls back as for any refusal."""
    if target.credential is not None and not target.credential.enable:
        return ("enable needed but no enable_secret in the inventory for this host "
                "(the login password was tried and refused)")
    return "enable refused (still in user EXEC mode)"


def looks_like_noise(text: str) -> bool:
    if not text:
        return False
    sample = text[-4096:]
    bad = sum(1 for ch in sample if (ord(ch) < 32 and ch not in "\r\n\t") or 0x7F <= ord(ch) < 0xA0 or ch == "\ufffd")
    return bad / len(sample) > _NOISE_LIMIT
