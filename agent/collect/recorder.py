"""The scan's one writer: finished devices into the store, and into the scan's summary.  Devices
finish in the scan's own event loop or in its worker processes (``agent.collect.shards``); either
way what reaches here is a ``DeviceDone`` and the target it belongs to, and only this process
writes the store.

Devices that finish close together share one transaction (group commit): a device waits at most
``BATCH_WINDOW`` seconds, or until ``BATCH_MAX`` devices wait, and the batch is written at once.
Why: most of a device's store cost was its own COMMIT, which rewrote the same index and table
pages every device touches (bench/store_writes.py --batch: 2.8-3.1 ms of CPU per device one by
one, 1.5-1.6 ms in batches of 32).  Each device stays atomic: a batch that fails as a whole is
rolled back and written again one device per transaction, exactly as a lone device is, so the
device the store refused is the one named and the others are saved or not on their own.  A device
is counted, shown in the progress and logged as trusted only once its transaction has committed;
a writer killed outright loses at most the waiting batch, which the next scan reads as never
collected (the scan row stays 'running' and is then marked interrupted), never as gone.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agent.core.models import Target
from agent.core.redact import Redactor
from agent.store import Store, StoreError
from agent.store import sessions as store_sessions

if TYPE_CHECKING:  # pragma: no cover
    from agent.collect.endings import Stopper
    from agent.collect.parsing import Parsed
    from agent.collect.trust import ScanTrust

log = logging.getLogger("ibagent.scan")


@dataclass(slots=True)
class DeviceDone:
    """What the store needs of one finished device.  Crosses from a worker process to the writer
    (pickled), so it holds no Target and no credential: the writer has the target already."""

    outcome: Any  # agent.collect.scan._Outcome, its result's target taken out to cross processes
    started: float
    parsed: Parsed | None = None
    session: dict[str, str] | None = None  # what its SSH session negotiated (collectors/ssh.py notes it)
    in_clear: bool = False  # credentials were typed over telnet for it


# A finished device waits at most this long for others to share its transaction: short enough that
# progress and the store stay current, long enough that a busy scan's devices arrive together.
BATCH_WINDOW = 0.2
BATCH_MAX = 64  # devices per transaction: a bounded loss if the writer is killed outright


@dataclass(slots=True)
class _Waiting:
    """A finished device waiting for its transaction, with what its writing changes on the way
    (the captures' ids, the records' evidence pointers) so a failed batch can be written again."""

    target: Target
    done: DeviceDone
    records: Any
    failures: list
    used: str
    cap_ids: list  # (capture, its stand-in id) before writing
    comp_ids: list  # (component, its capture's stand-in id) before writing


class Recorder:
    """``recorder(target, done)``: queue the device; ``flush()`` saves every queued device and counts
    it (never raises for a device: a store that cannot be written stops the scan).  ``fatal``: a
    bug of ours that a timed flush met, for the scan to raise."""

    def __init__(self, store: Store, scan_id: int, summary, trust: ScanTrust, redactor: Redactor,
                 stopper: Stopper, on_progress: Callable[[Any, Target, str], None] | None) -> None:
        self.store, self.scan_id, self.summary = store, scan_id, summary
        self.trust, self.redactor, self.stopper, self.on_progress = trust, redactor, stopper, on_progress
        self.waiting: list[_Waiting] = []
        self.fatal: BaseException | None = None
        self._timer: asyncio.TimerHandle | None = None

    def __call__(self, target: Target, done: DeviceDone) -> None:
        self.waiting.append(self._prepare(target, done))
        if len(self.waiting) >= BATCH_MAX:
            self.flush()
        elif self._timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no loop to wait on (a library caller): written now
                self.flush()
                return
            self._timer = loop.call_later(BATCH_WINDOW, self._flush_on_time)

    def _flush_on_time(self) -> None:
        self._timer = None
        try:
            self.flush()
        except BaseException as exc:  # noqa: BLE001 - a bug of ours: the scan ends with it, as from a device
            self.fatal = self.fatal or exc
            self.stopper.internal_failed()

    def flush(self) -> None:
        """Write every waiting device: one transaction for all, or one each if that fails."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self.waiting = self.waiting, []
        if not batch:
            return
        if len(batch) > 1:
            began = time.perf_counter()
            try:
                with self.store.transaction():
                    written = [self._write(w) for w in batch]
            except StoreError:
                for w in batch:
                    _restore(w)
                written = None
            self.summary.store_seconds += time.perf_counter() - began  # a refused batch's time too
            if written is not None:
                for w, (learned, weak) in zip(batch, written):
                    self._count(w, learned, weak)
                return
        for w in batch:
            self._one(w)

    def _prepare(self, target: Target, done: DeviceDone) -> _Waiting:
        """What the device's rows say, decided once, before any writing."""
        outcome, parsed = done.outcome, done.parsed
        result = outcome.result
        records = None
        if result.ok and parsed is not None:
            records = parsed.records
            if parsed.error_kind:
                result.error_kind, result.error = parsed.error_kind, self.redactor.scrub(parsed.error)
                outcome.failures.append((result.transport, parsed.error_kind, result.error or ""))
            elif records is not None:
                for problem in records.problems:
                    if " reports " in problem:  # a disagreement between transports: show it
                        log.warning("%s: transports disagree: %s", target.name, problem)
        failures = outcome.failures
        if result.error_kind == "cancelled":
            failures = failures + [(result.transport, "cancelled", result.error or "")]
        # Credentials typed over telnet are a clear-text collection for the findings too, even
        # when telnet was refused and another transport collected the device.
        used = result.transport or ""
        if done.in_clear and "telnet" not in used.split("+"):
            used = "+".join(filter(None, (used, "telnet")))
        comp_ids = [(comp, comp.capture_id) for comp in records.components] if records is not None else []
        return _Waiting(target, done, records, failures, used, [(cap, cap.id) for cap in outcome.captures], comp_ids)

    def _write(self, w: _Waiting) -> tuple[list, list[str]]:
        """The device's rows, inside the caller's transaction: (host keys learned, weak-crypto findings)."""
        store, target, done = self.store, w.target, w.done
        result, captures = done.outcome.result, done.outcome.captures
        # Captures first: their row ids are the evidence the records point back to.
        stand_ins = {cap.id: cap for cap in captures if cap.id is not None and cap.id < 0}
        store.save_captures(self.scan_id, captures)
        for comp in w.records.components if w.records is not None else ():
            if comp.capture_id in stand_ins:
                comp.capture_id = stand_ins[comp.capture_id].id
        store.save_device(
            self.scan_id, target, status="ok" if result.ok else "failed", transport=result.transport,
            records=w.records, error_kind=result.error_kind, error=result.error, started=done.started,
            ended=time.time(), attempts=result.attempts, failures=w.failures,
        )
        learned = self.trust.record(store, target.name, done.outcome.host_keys)
        # What its SSH session negotiated (the collector noted it) and its weak-crypto findings.
        weak = store_sessions.record(store, self.scan_id, target, w.used, done.session)
        return learned, weak

    def _one(self, w: _Waiting) -> None:
        """One device in its own transaction; a store that refuses it stops the scan."""
        began = time.perf_counter()
        try:
            with self.store.transaction():
                learned, weak = self._write(w)
        except StoreError as exc:
            # Disk full, read-only, I/O error: this device is not saved, and no later one would be.
            _restore(w)
            self.summary.store_seconds += time.perf_counter() - began
            self.summary.unsaved += 1
            log.error("%s: not saved: %s", w.target.name, exc)
            self.stopper.store_failed(self.redactor.scrub(str(exc)) or "")
            return
        self.summary.store_seconds += time.perf_counter() - began
        self._count(w, learned, weak)

    def _count(self, w: _Waiting, learned: list, weak: list[str]) -> None:
        """The saved device in the summary, the log and the progress (after its commit)."""
        summary, target, done = self.summary, w.target, w.done
        result, outcome = done.outcome.result, done.outcome
        self.trust.announce(target.name, learned)
        summary.keys_learned += len(learned)
        if done.in_clear:
            summary.cleartext.append(target.name)
        if weak:
            summary.weak_crypto[target.name] = weak
        status = "ok" if result.ok else "failed"
        if result.ok:
            summary.ok += 1
        elif result.error_kind == "cancelled":
            summary.cancelled += 1
        else:
            summary.failed += 1
            summary.by_kind[result.error_kind] += 1
            summary.failures.append((target.name, result.error_kind or "", result.error or ""))
            # INFO, not WARNING: the end-of-scan summary lists failures; a log file keeps them all.
            log.info("%s: %s: %s", target.name, result.error_kind, result.error)
        if outcome.failures and (result.ok or (result.error_kind != "cancelled" and len(outcome.failures) > 1)):
            summary.attempts[target.name] = list(outcome.failures)
        if self.on_progress:
            self.on_progress(summary, target, status)


def _restore(w: _Waiting) -> None:
    """Undo what a rolled-back write changed in memory: the stand-in evidence ids."""
    for cap, was in w.cap_ids:
        cap.id = was
    for comp, was in w.comp_ids:
        comp.capture_id = was
