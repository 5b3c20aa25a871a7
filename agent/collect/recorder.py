"""The scan's one writer: each finished device into the store, in one transaction, and into the
scan's summary.  Devices finish in the scan's own event loop or in its worker processes
(``agent.collect.shards``); either way what reaches here is a ``DeviceDone`` and the target it
belongs to, and only this process writes the store."""
from __future__ import annotations

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


class Recorder:
    """``recorder(target, done)``: save the device and count it (never raises for the device)."""

    def __init__(self, store: Store, scan_id: int, summary, trust: ScanTrust, redactor: Redactor,
                 stopper: Stopper, on_progress: Callable[[Any, Target, str], None] | None) -> None:
        self.store, self.scan_id, self.summary = store, scan_id, summary
        self.trust, self.redactor, self.stopper, self.on_progress = trust, redactor, stopper, on_progress

    def __call__(self, target: Target, done: DeviceDone) -> None:
        store, scan_id, summary, redactor = self.store, self.scan_id, self.summary, self.redactor
        outcome, parsed = done.outcome, done.parsed
        result, captures = outcome.result, outcome.captures
        records = None
        began = time.perf_counter()
        try:
            with store.transaction():
                # Captures first: their row ids are the evidence the records point back to.
                stand_ins = {cap.id: cap for cap in captures if cap.id is not None and cap.id < 0}
                store.save_captures(scan_id, captures)
                if result.ok and parsed is not None:
                    records = parsed.records
                    for comp in records.components if records is not None else ():
                        if comp.capture_id in stand_ins:
                            comp.capture_id = stand_ins[comp.capture_id].id
                    if parsed.error_kind:
                        result.error_kind, result.error = parsed.error_kind, redactor.scrub(parsed.error)
                        outcome.failures.append((result.transport, parsed.error_kind, result.error or ""))
                    elif records is not None:
                        for problem in records.problems:
                            if " reports " in problem:  # a disagreement between transports: show it
                                log.warning("%s: transports disagree: %s", target.name, problem)
                failures = outcome.failures
                if result.error_kind == "cancelled":
                    failures = failures + [(result.transport, "cancelled", result.error or "")]
                store.save_device(
                    scan_id, target, status="ok" if result.ok else "failed", transport=result.transport,
                    records=records, error_kind=result.error_kind, error=result.error, started=done.started,
                    ended=time.time(), attempts=result.attempts, failures=failures,
                )
                learned = self.trust.record(store, target.name, outcome.host_keys)
                # Credentials typed over telnet are a clear-text collection for the findings too, even
                # when telnet was refused and another transport collected the device.
                used = result.transport or ""
                if done.in_clear and "telnet" not in used.split("+"):
                    used = "+".join(filter(None, (used, "telnet")))
                # What its SSH session negotiated (the collector noted it) and its weak-crypto findings.
                weak = store_sessions.record(store, scan_id, target, used, done.session)
        except StoreError as exc:
            # Disk full, read-only, I/O error: this device is not saved, and no later one would be.
            summary.store_seconds += time.perf_counter() - began
            summary.unsaved += 1
            log.error("%s: not saved: %s", target.name, exc)
            self.stopper.store_failed(redactor.scrub(str(exc)) or "")
            return
        summary.store_seconds += time.perf_counter() - began
        summary.keys_learned += learned
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
