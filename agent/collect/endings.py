"""How a device's collection and a whole scan end: which failure heads a device, and what stops a scan.

A device tried over several transports can fail once per transport; every failure is kept
(``errors`` rows, one per attempt) and one of them is the device's headline (``error_kind`` /
``error`` of its row, the line of the scan summary).  A scan stops early on Ctrl-C, on SIGTERM /
SIGHUP (``systemctl stop``, a closed terminal) or when the store cannot be written; all three end
the same way (``agent.collect.scan``): in-flight devices cancelled and recorded, the scan row closed
with its true counts.
"""
from __future__ import annotations

import asyncio
import signal
from collections.abc import Sequence

# Which failure of a device is its headline: the one the user has to act on, and that the other
# failures may only be consequences of.  In order:
# - hostkey: a server on the device's address presented a key that is not the one trusted for it.
#   Possibly an impostor collecting credentials (none were sent to it), which matters more than
#   anything else the scan could say about the device; a transport that fails after it says less.
# - auth, config: the device answered and refused us, or the inventory cannot work for it; nothing
#   will collect it until someone fixes a credential or the inventory, and a later transport's
#   failure says less (with SNMP v1/v2c a wrong community is indistinguishable from a timeout: the
#   agent stays silent).  So a refused password beats the "no SNMP answer" that follows it.
# - command, parse, garbage, internal: we got in and the device (or our reading of it) failed on
#   what it said: a fact about that device's software, more specific than any reachability failure.
# - disconnect > timeout > connect: reached and dropped, reached and silent, never reached; the
#   further a session got, the more its failure tells.
# - cancelled: says nothing about the device (the scan stopped).  A device cancelled mid-fallback
#   keeps ``cancelled`` as its headline all the same (scan.py): its ending is the scan's, and the
#   earlier attempts' failures stay in its errors rows.
HEADLINE_ORDER = ("hostkey", "auth", "config", "command", "parse", "garbage", "internal", "disconnect", "timeout",
                  "connect", "cancelled")
_RANK = {kind: i for i, kind in enumerate(HEADLINE_ORDER)}


def headline(failures: Sequence[tuple[str, str, str]]) -> int:
    """Index of the headline among ``(transport, kind, reason)`` failures: the best-ranked kind,
    the earliest attempt on a tie (the transport the inventory prefers)."""
    return min(range(len(failures)), key=lambda i: (_RANK.get(failures[i][1], len(_RANK)), i))


# Signals that end a scan as Ctrl-C does; the process then exits 128 + the signal number (143, 129),
# as if the signal had killed it, so supervisors (systemd, cron wrappers) read the usual code.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class Stopper:
    """Ends a running scan early, once: cancels the wait on the device tasks, which cancels each
    task (the same path as Ctrl-C, whose handler asyncio.run installs and which cancels the scan's
    own task).  Whatever asked first is kept: ``signal`` (SIGTERM, SIGHUP) or ``store_error``.

    Only the wait is cancelled, never the scan's task: a cancel landing on the task after its
    devices were done would turn a finished scan into a CancelledError out of asyncio.run."""

    def __init__(self) -> None:
        self.signal: signal.Signals | None = None
        self.store_error: str | None = None
        self._waiting: asyncio.Future | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._installed: list[int] = []

    def watch(self, waiting: asyncio.Future | None) -> None:
        """The future whose cancellation stops the scan (None: nothing to stop any more)."""
        self._waiting = waiting

    def _stop(self) -> None:
        if self._waiting is not None and not self._waiting.done():
            self._waiting.cancel()

    def on_signal(self, signum: int) -> None:
        if self._waiting is None or self._waiting.done():
            return  # the devices are done or already being cancelled: let the scan finish closing
        if self.signal is None:
            self.signal = signal.Signals(signum)
        self._stop()

    def store_failed(self, message: str) -> None:
        if self.store_error is None:
            self.store_error = message
        self._stop()

    def internal_failed(self) -> None:
        """A bug of ours outside any device's task (the writer's timed flush): stop, the scan raises it."""
        self._stop()

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        """Route SIGTERM and SIGHUP to ``on_signal`` while the scan runs (main thread only: elsewhere
        the loop cannot take signals, and the process's own handling stays as it was).  A signal
        the process was started ignoring stays ignored: ``nohup ibagent scan`` asked for exactly
        that, and a closed terminal must not stop it."""
        self._loop = loop
        for sig in STOP_SIGNALS:
            if signal.getsignal(sig) is signal.SIG_IGN:
                continue
            try:
                loop.add_signal_handler(sig, self.on_signal, int(sig))
            except (NotImplementedError, RuntimeError, ValueError):
                continue
            self._installed.append(sig)

    def remove(self) -> None:
        for sig in self._installed:
            self._loop.remove_signal_handler(sig)
        self._installed.clear()
