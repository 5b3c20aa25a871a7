"""The scan engine: every target collected once, concurrently, with deadlines, retries and progress.

One asyncio loop drives all devices; ``workers`` bounds how many are in flight.  Each device:
collect over its transports in order (falling back on connection or login failure), normalise
what came back, and write it to the store in one transaction, before the next device's records.
A device's failure is a row with a reason, never an exception out of here.  Ctrl-C cancels
the devices in flight, records them as ``cancelled`` (keeping their partial captures) and
marks the scan ``interrupted``.
"""
from __future__ import annotations

import asyncio
import logging
import random
import time
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from agent.models import Capture, DeviceRecords, Target
from agent.redact import Redactor
from agent.store import Store
from collectors.base import CollectError, CollectResult, Collector

log = logging.getLogger("ibagent.scan")


@dataclass(slots=True)
class ScanOptions:
    workers: int = 200
    deadline: float = 180.0  # per device, all transports and retries included
    connect_timeout: float = 15.0
    command_timeout: float = 60.0
    retries: int = 1  # extra tries for transient connection errors
    retry_backoff: float = 1.0
    transport: str | None = None  # force one transport for every target
    ssh_driver: str = "asyncssh"  # asyncssh | netmiko

    def public(self) -> dict:
        return {
            "workers": self.workers,
            "deadline": self.deadline,
            "connect_timeout": self.connect_timeout,
            "command_timeout": self.command_timeout,
            "retries": self.retries,
            "transport": self.transport,
            "ssh_driver": self.ssh_driver,
        }


@dataclass(slots=True)
class ScanSummary:
    scan_id: int
    total: int
    ok: int = 0
    failed: int = 0
    started: float = field(default_factory=time.time)
    ended: float = 0.0
    interrupted: bool = False
    by_kind: Counter = field(default_factory=Counter)
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # (device, kind, reason)

    @property
    def elapsed(self) -> float:
        return (self.ended or time.time()) - self.started


def build_collectors(options: ScanOptions) -> dict[str, Collector]:
    """Transport name -> collector instance, per the options."""
    if options.ssh_driver == "netmiko":
        from collectors.ssh_netmiko import NetmikoCollector

        ssh: Collector = NetmikoCollector(
            connect_timeout=options.connect_timeout, command_timeout=options.command_timeout, workers=options.workers
        )
    else:
        from collectors.ssh import SshCollector

        ssh = SshCollector(connect_timeout=options.connect_timeout, command_timeout=options.command_timeout)
    return {"ssh": ssh}


def _plan(target: Target, options: ScanOptions, available: dict[str, Collector]) -> list[str]:
    wanted = [options.transport] if options.transport else list(target.transports)
    return [t for t in wanted if t in available]


async def _collect_one(
    target: Target, options: ScanOptions, collectors: dict[str, Collector], redactor: Redactor
) -> tuple[CollectResult, list[Capture]]:
    """Try the target's transports in order; returns the last result and every capture made."""
    everything: list[Capture] = []
    plan = _plan(target, options, collectors)
    if not plan:
        wanted = options.transport or ", ".join(target.transports)
        return CollectResult(target, wanted, [], "config", f"no usable transport ({wanted}) in this build"), everything
    loop = asyncio.get_running_loop()
    give_up_at = loop.time() + options.deadline
    result = CollectResult(target, plan[0])
    for transport in plan:
        collector = collectors[transport]
        attempt = 0
        while True:
            attempt += 1
            sink: list[Capture] = []
            result = CollectResult(target, transport, sink, attempts=attempt)
            try:
                async with asyncio.timeout_at(give_up_at):
                    await collector.collect(target, sink)
            except CollectError as exc:
                result.error_kind, result.error = exc.kind, exc.message
                transient = exc.transient
            except TimeoutError:
                result.error_kind = "timeout"
                result.error = f"device deadline of {options.deadline:g}s exceeded"
                transient = False
            except asyncio.CancelledError:
                result.error_kind, result.error = "cancelled", "scan interrupted before this device finished"
                everything += sink
                _scrub(result, everything, redactor)
                raise _Cancelled(result, everything) from None
            except Exception as exc:  # a bug of ours must not end the scan
                log.debug("internal error on %s:\n%s", target.name, traceback.format_exc())
                result.error_kind = "internal"
                result.error = f"internal error ({type(exc).__name__}: {exc}); please report it"
                transient = False
            everything += sink
            if result.ok:
                break
            if transient and attempt <= options.retries and loop.time() + options.retry_backoff < give_up_at:
                # Jitter spreads retries so a refused burst (full accept queue) does not repeat in step.
                await asyncio.sleep(options.retry_backoff * (0.5 + random.random()))
                continue
            break
        if result.ok or result.error_kind not in ("auth", "connect", "timeout") or loop.time() >= give_up_at:
            break
        log.info("%s: %s failed (%s), trying the next transport", target.name, transport, result.error_kind)
    _scrub(result, everything, redactor)
    return result, everything


class _Cancelled(Exception):
    def __init__(self, result: CollectResult, captures: list[Capture]):
        self.result = result
        self.captures = captures


def _scrub(result: CollectResult, captures: list[Capture], redactor: Redactor) -> None:
    result.error = redactor.scrub(result.error)
    for cap in captures:
        cap.error = redactor.scrub(cap.error)
        cap.output = redactor.scrub(cap.output) or ""


def _normalise(target: Target, captures: list[Capture]) -> tuple[DeviceRecords | None, str | None]:
    from agent.normalize import records_from_captures
    from parsers import ParseError

    usable = [c for c in captures if c.ok]
    try:
        return records_from_captures(target.name, target.platform, usable), None
    except ParseError as exc:
        return None, str(exc)


async def run_scan(
    targets: Sequence[Target],
    store: Store,
    options: ScanOptions,
    *,
    inventory: str = "",
    redactor: Redactor | None = None,
    on_progress: Callable[[ScanSummary, Target, str], None] | None = None,
    collectors: dict[str, Collector] | None = None,
) -> ScanSummary:
    redactor = redactor or Redactor()
    collectors = collectors or build_collectors(options)
    scan_id = store.begin_scan(inventory, options.public(), len(targets))
    summary = ScanSummary(scan_id=scan_id, total=len(targets))
    gate = asyncio.Semaphore(max(1, options.workers))

    def record(target: Target, result: CollectResult, captures: list[Capture], started: float) -> None:
        records = None
        with store.transaction():
            # Captures first: their row ids are the evidence the records point back to.
            store.save_captures(scan_id, captures)
            if result.ok:
                records, parse_error = _normalise(target, captures)
                if parse_error:
                    result.error_kind, result.error = "parse", redactor.scrub(parse_error)
            store.save_device(
                scan_id, target, status="ok" if result.ok else "failed", transport=result.transport,
                records=records, error_kind=result.error_kind, error=result.error, started=started,
                ended=time.time(), attempts=result.attempts,
            )
        status = "ok" if result.ok else "failed"
        if result.ok:
            summary.ok += 1
        else:
            summary.failed += 1
            summary.by_kind[result.error_kind] += 1
            summary.failures.append((target.name, result.error_kind or "", result.error or ""))
            # INFO, not WARNING: the end-of-scan summary lists failures; a log file keeps them all.
            log.info("%s: %s: %s", target.name, result.error_kind, result.error)
        if on_progress:
            on_progress(summary, target, status)

    async def one(target: Target) -> None:
        async with gate:
            started = time.time()
            try:
                result, captures = await _collect_one(target, options, collectors, redactor)
            except _Cancelled as cancelled:
                record(target, cancelled.result, cancelled.captures, started)
                raise asyncio.CancelledError from None
            record(target, result, captures, started)

    tasks = [asyncio.create_task(one(t), name=t.name) for t in targets]
    try:
        await asyncio.gather(*tasks)
    except asyncio.CancelledError:
        summary.interrupted = True
        for task in tasks:
            task.cancel()
        # Let cancelled devices write their partial evidence before the scan row is closed.
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        summary.ended = time.time()
        store.end_scan(scan_id, "interrupted" if summary.interrupted else "completed", summary.ok, summary.failed)
    return summary
