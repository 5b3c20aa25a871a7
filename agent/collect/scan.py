"""The scan engine: every target collected once, concurrently, with deadlines, retries and progress.

One asyncio loop drives all devices; ``workers`` bounds how many are in flight.  Each device:
collect over its transports in order (falling back on connection or login failure), normalise
what came back (in a worker, never on the loop, each step within ``parse_budget`` and the whole
inside the device's deadline: ``agent.collect.parsing``), and write it to the store in one
transaction, before the next device's records.
A device's failure is a row with a reason, never an exception out of here.  Ctrl-C, SIGTERM
and SIGHUP (``stop_signals=True``) cancel the devices in flight, record them as ``cancelled``
(keeping their partial captures) and mark the scan ``interrupted``; a store that cannot be
written (disk full, read-only) stops the scan the same way and marks it ``failed`` with the
reason.  The scan row's ok / failed / cancelled counts are those of its device rows.

Host keys (``agent.collect.trust``): each target gets its host-key policy before its first
connection, every connection judges the server's key before sending a credential, and a refused
key (kind ``hostkey``) ends the device without trying its other transports.

Transports and merge (docs/TRANSPORTS.md): a host lists ``transports`` in order (any subset of
ssh, netconf, snmp; ``--transport`` forces one).  Transports the platform has no agent for
(NETCONF on ASA and classic IOS) are left out of the plan.  The first transport that succeeds
is the primary; every transport that failed before it (or instead of it) leaves its failure
``(transport, kind, reason)`` in the device's errors, and a device no transport collected is
headed by its most informative failure (``endings.HEADLINE_ORDER``: a refused password beats the
SNMP silence that follows it).  If the primary cannot provide a datum another planned transport
can (SNMP has no licences, NETCONF no Smart Licensing status), the next such transport runs too
and complements it: its facts fill gaps, its licences / licence status are used when the
primary did not cover them, and an item the primary did not see is added.  The same physical item seen twice
is one item (identity = canonical serial + base PID); the same slot/name reported with another
serial by two transports is a ``problems`` entry and both rows are kept.  Every record keeps
the transport that produced it; the device row's transport reads ``netconf+ssh`` when merged.
"""
from __future__ import annotations

import asyncio
import logging
import random
import time
import traceback
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent.core import platforms
from agent.core.models import Capture, Target
from agent.core.redact import Redactor, redacting_exception_handler
from agent.collect.endings import Stopper, headline
from agent.collect.merge import _normalise_outcome, _Part, merge_records  # noqa: F401  (re-exported)
from agent.collect.trust import KnownHostsError, ScanTrust
from agent.collect.parsing import DEFAULT_BUDGET, Parsed, ParseRunner
from agent.collect.recorder import DeviceDone, Recorder
from agent.store import Store, StoreError
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
    snmp_timeout: float = 3.0  # per SNMP request (a host's snmp_timeout overrides)
    snmp_retries: int = 1
    netconf_direct_send: bool = True  # collectors/netconf.py: skip ncclient's 0.1 s send tick
    host_keys: str = "tofu"  # tofu | strict: agent.core.hostkeys (an inventory host's data.host_keys wins)
    known_hosts: tuple[str, ...] = ()  # OpenSSH known_hosts files trusted for every target
    parse_in: str = "thread"  # where captures are parsed: thread | process (agent.collect.parsing)
    parse_budget: float = DEFAULT_BUDGET  # seconds per capture parsed; over it the device fails 'garbage'
    # Worker processes that collect (agent.collect.shards); 1: the scan's own loop does it all.  The
    # CLI defaults to the core count; a library caller (the tests' fake collectors) keeps one.
    processes: int = 1

    def public(self) -> dict:
        return {
            "workers": self.workers,
            "deadline": self.deadline,
            "connect_timeout": self.connect_timeout,
            "command_timeout": self.command_timeout,
            "retries": self.retries,
            "transport": self.transport,
            "ssh_driver": self.ssh_driver,
            "snmp_timeout": self.snmp_timeout,
            "snmp_retries": self.snmp_retries,
            "host_keys": self.host_keys,
            "known_hosts": list(self.known_hosts),
            "parse_in": self.parse_in,
            "parse_budget": self.parse_budget,
            "processes": self.processes,
        }


@dataclass(slots=True)
class ScanSummary:
    scan_id: int
    total: int
    ok: int = 0
    failed: int = 0  # failed on their own, cancelled devices not included
    cancelled: int = 0  # in flight when the scan was stopped; saved with their partial captures
    unsaved: int = 0  # finished, but the store could not take them
    started: float = field(default_factory=time.time)
    ended: float = 0.0
    interrupted: bool = False
    stop_signal: str | None = None  # "SIGTERM" / "SIGHUP" when a signal stopped the scan
    exit_signal: int | None = None  # its number, for the exit code (128 + it)
    store_error: str | None = None  # why the store could not be written: the scan failed
    internal_error: str | None = None  # a bug of ours ended the scan (raised on to the caller): failed
    end_error: str | None = None  # the scan row itself could not be closed
    by_kind: Counter = field(default_factory=Counter)
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # (device, kind, reason): the headlines
    # device -> every failed attempt (transport, kind, reason), for devices that failed more than once
    # (a fallback) and for devices collected although a transport failed (fallback or complement).
    attempts: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)
    insecure: list[str] = field(default_factory=list)  # devices whose host keys were not checked (inventory opt-in)
    cleartext: list[str] = field(default_factory=list)  # devices sent credentials in clear (telnet, inventory opt-in)
    keys_learned: int = 0  # host keys trusted on first use in this scan
    weak_crypto: dict[str, list[str]] = field(default_factory=dict)  # device -> findings (agent.core.ssh_algorithms)
    # Seconds the one store writer spent in device transactions (captures, records, keys, session):
    # with several agents on one PostgreSQL store, the figure that grows first (bench/agents.py).
    store_seconds: float = 0.0

    @property
    def elapsed(self) -> float:
        return (self.ended or time.time()) - self.started

    @property
    def status(self) -> str:
        """The scan row's status: ``failed`` (the store could not be written), ``interrupted``, ``completed``."""
        return "failed" if self.store_error or self.internal_error else \
            "interrupted" if self.interrupted else "completed"

    @property
    def done(self) -> int:
        return self.ok + self.failed + self.cancelled


def _ssh(options: ScanOptions) -> Collector:
    if options.ssh_driver == "netmiko":
        from collectors.ssh_netmiko import NetmikoCollector

        return NetmikoCollector(
            connect_timeout=options.connect_timeout, command_timeout=options.command_timeout, workers=options.workers
        )
    from collectors.ssh import SshCollector

    return SshCollector(connect_timeout=options.connect_timeout, command_timeout=options.command_timeout)


# NETCONF and SNMP import their transport library on first use, so an SSH-only scan never pays for it.
def _netconf(options: ScanOptions) -> Collector:
    from collectors.netconf import NetconfCollector

    return NetconfCollector(
        connect_timeout=options.connect_timeout, command_timeout=options.command_timeout, workers=options.workers,
        direct_send=options.netconf_direct_send,
    )


def _snmp(options: ScanOptions) -> Collector:
    from collectors.snmp import SnmpCollector

    return SnmpCollector(timeout=options.snmp_timeout, retries=options.snmp_retries)


def _telnet(options: ScanOptions) -> Collector:
    from collectors.telnet import TelnetCollector

    return TelnetCollector(connect_timeout=options.connect_timeout, command_timeout=options.command_timeout)


# The collector registry, by transport: adding a transport is a module in collectors/, its name in
# agent.core.models.TRANSPORTS and one factory here.
COLLECTORS: dict[str, Callable[[ScanOptions], Collector]] = {"ssh": _ssh, "netconf": _netconf, "snmp": _snmp,
                                                             "telnet": _telnet}
# Transports that run the platform's CLI commands (ssh.commands): what they cover is read the same way.
_CLI = ("ssh", "telnet")


def build_collectors(options: ScanOptions) -> dict[str, Collector]:
    """Transport name -> collector instance, per the options."""
    return {transport: make(options) for transport, make in COLLECTORS.items()}


# ------------------------------------------------------------------ what each transport provides

DATA = platforms.DATA
_SNMP_PROVIDES = {"snmp:system": ("version",), "snmp:entPhysicalTable": ("inventory",),
                  "snmp:cdpCacheTable": ("neighbours",), "snmp:lldpRemTable": ("neighbours",)}


def _ssh_provides(platform: str) -> Mapping[str, tuple[str, ...]]:
    """SSH command -> the data it answers: the platform's ``ssh.provides`` (platform_defs/<platform>.yaml)."""
    return platforms.get(platform).ssh.provides


def _netconf_profile(platform: str) -> Mapping[str, Any] | None:
    from collectors.netconf import netconf_profile

    return netconf_profile(platform)


def _provides(transport: str, platform: str) -> set[str]:
    """What a transport can collect on a platform at all (platform data, not a device's answer)."""
    if transport == "snmp":
        # The neighbour tables only where the platform's SNMP section names them (an ASA has none).
        try:
            tables = platforms.get(platform).snmp.get("neighbour_tables") or ()
        except Exception:  # noqa: BLE001 - unknown platform: the collector will say so
            tables = ()
        return {"version", "inventory"} | ({"neighbours"} if tables else set())
    if transport == "netconf":
        profile = _netconf_profile(platform) or {}
        return {d for data in (profile.get("provides") or {}).values() for d in data}
    try:
        provides = _ssh_provides(platform)
    except Exception:  # noqa: BLE001 - unknown platform: the collector will say so
        return set(DATA)
    return {d for data in provides.values() for d in data}


def _covered(transport: str, platform: str, captures: Sequence[Capture]) -> set[str]:
    """The data a successful collection really answered for."""
    out: set[str] = set()
    provides = (_netconf_profile(platform) or {}).get("provides") or {} if transport == "netconf" else {}
    if transport in _CLI:
        provides = _ssh_provides(platform)
    for cap in captures:
        if transport in _CLI:
            # A device refusing 'show license ...' (classic IOS) answered: it has no licensing to show.
            if cap.ok or cap.error_kind == "command":
                out.update(provides.get(cap.command, ()))
        elif cap.ok and transport == "netconf":
            out.update(provides.get(cap.command.split(":", 1)[-1], ()))
        elif cap.ok and transport == "snmp":
            out.update(_SNMP_PROVIDES.get(cap.command, ()))
    return out


def _plan(target: Target, options: ScanOptions, available: dict[str, Collector]) -> list[str]:
    wanted = [options.transport] if options.transport else list(target.transports)
    # A platform without a NETCONF agent (ASA, classic IOS) is not asked over NETCONF at all.
    return [t for t in wanted if t in available and (t != "netconf" or _netconf_profile(target.platform))]


@dataclass(slots=True)
class _Outcome:
    result: CollectResult
    captures: list[Capture]  # every capture made, failed transports' included (evidence)
    parts: list[_Part] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # complementing transports that failed
    # every failed attempt: (transport, kind, reason)
    failures: list[tuple[str, str, str]] = field(default_factory=list)
    trying: str = ""  # the transport in flight (a cancelled device's row names it)
    host_keys: list = field(default_factory=list)  # HostKeySeen of every connection, for the store
    give_up_at: float = float("inf")  # the device's deadline (loop time): parsing must end by it too


async def _attempt(
    target: Target, transport: str, collector: Collector, options: ScanOptions, give_up_at: float,
    everything: list[Capture],
) -> CollectResult:
    """One transport, with its retries for transient connection errors."""
    loop = asyncio.get_running_loop()
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
            everything += sink  # partial evidence: the caller records the device as cancelled
            raise
        except Exception as exc:  # a bug of ours must not end the scan
            log.debug("internal error on %s:\n%s", target.name, traceback.format_exc())
            result.error_kind = "internal"
            result.error = f"internal error ({type(exc).__name__}: {exc}); please report it"
            transient = False
        everything += sink
        if result.ok:
            return result
        if transient and attempt <= options.retries and loop.time() + options.retry_backoff < give_up_at:
            # Jitter spreads retries so a refused burst (full accept queue) does not repeat in step.
            await asyncio.sleep(options.retry_backoff * (0.5 + random.random()))
            continue
        return result


async def _collect_one(
    target: Target, options: ScanOptions, collectors: dict[str, Collector], redactor: Redactor,
    outcome: _Outcome | None = None,
) -> _Outcome:
    """Try the target's transports in order, falling back and complementing (module docstring).

    ``outcome`` (the caller's) fills up as the device goes, so a cancelled device still has its
    captures and the failures of the transports it already tried."""
    plan = _plan(target, options, collectors)
    outcome = outcome or _Outcome(CollectResult(target, plan[0] if plan else ""), [])
    everything = outcome.captures
    if not plan:
        wanted = options.transport or ", ".join(target.transports)
        why = (f"{target.platform} has no NETCONF agent" if wanted == "netconf"
               else f"no usable transport ({wanted}) in this build")
        outcome.result = CollectResult(target, wanted, [], "config", why)
        outcome.failures.append((wanted, "config", why))
        return outcome
    loop = asyncio.get_running_loop()
    give_up_at = outcome.give_up_at = loop.time() + options.deadline
    wanted = set().union(*(_provides(t, target.platform) for t in plan))
    tried: list[CollectResult] = []  # the transports that failed before any succeeded
    primary: CollectResult | None = None
    impostor: CollectResult | None = None
    covered: set[str] = set()
    for transport in plan:
        if primary is not None:
            missing = wanted - covered
            if not missing & _provides(transport, target.platform):
                continue
            if loop.time() >= give_up_at:
                outcome.notes.append(f"{transport}: not tried to complement {', '.join(sorted(missing))}: "
                                     "device deadline reached")
                break
        outcome.trying = transport
        result = await _attempt(target, transport, collectors[transport], options, give_up_at, everything)
        if result.ok:
            part = _Part(transport, list(result.captures), _covered(transport, target.platform, result.captures))
            outcome.parts.append(part)
            if primary is None:
                primary = result
            else:
                log.info("%s: %s complemented %s with %s", target.name, transport, primary.transport,
                         ", ".join(sorted(part.covered - covered)) or "nothing new")
            covered |= part.covered
            continue
        outcome.failures.append((transport, result.error_kind or "", redactor.scrub(result.error) or ""))
        if result.error_kind == "hostkey":
            # Whoever answers on this address is not the device we trust: the device fails, and no
            # other transport is tried (SNMP would hand it the community; credentials are never sent
            # to a refused key).  Captures of a transport that did pass its check are kept as evidence.
            impostor = result
            break
        if primary is not None:
            # The device is collected; a complement that failed only leaves its data out, said so.
            outcome.notes.append(f"{transport} could not complement {', '.join(sorted(wanted - covered))}: "
                                 f"{result.error_kind}: {redactor.scrub(result.error)}")
            continue
        tried.append(result)
        if result.error_kind not in ("auth", "connect", "timeout") or loop.time() >= give_up_at:
            break
        log.info("%s: %s failed (%s), trying the next transport", target.name, transport, result.error_kind)
    if impostor is not None:
        impostor.captures = everything
        outcome.result = impostor
    elif primary is not None:
        primary.transport = "+".join(p.transport for p in outcome.parts)
        primary.captures = everything
        outcome.result = primary
    else:
        # No transport collected it: the most informative failure heads the device (endings.py).
        best = tried[headline([(r.transport, r.error_kind or "", "") for r in tried])]
        best.captures = everything
        outcome.result = best
    _scrub(outcome.result, everything, redactor)
    outcome.notes = [redactor.scrub(n) or "" for n in outcome.notes]
    return outcome


def _scrub(result: CollectResult, captures: list[Capture], redactor: Redactor) -> None:
    result.error = redactor.scrub(result.error)
    for cap in captures:
        cap.error = redactor.scrub(cap.error)
        cap.output = redactor.scrub(cap.output) or ""
        cap.raw = redactor.scrub_bytes(cap.raw)  # the bytes received are evidence, never a secret's carrier


class Devices:
    """The per-device pipeline: host-key policy, collection over the target's transports, parsing
    off the loop, then ``deliver(target, DeviceDone)``.  One instance per event loop: the scan's
    own, or each worker process's (``for_worker``), each with its own concurrency gate and parser."""

    def __init__(self, options: ScanOptions, collectors: dict[str, Collector], redactor: Redactor,
                 trust: ScanTrust, workers: int | None = None) -> None:
        self.options, self.collectors, self.redactor, self.trust = options, collectors, redactor, trust
        self.workers = max(1, workers if workers is not None else options.workers)
        self.runner = ParseRunner(options.parse_in, options.parse_budget)
        self._gate: asyncio.Semaphore | None = None

    def for_worker(self, workers: int) -> Devices:
        """The same pipeline for a worker process's own loop, ``workers`` devices at a time."""
        return Devices(self.options, self.collectors, self.redactor, self.trust, workers)

    def close(self) -> None:
        self.runner.close()

    def _done(self, target: Target, outcome: _Outcome, started: float, parsed: Parsed | None = None) -> DeviceDone:
        ssh = self.collectors.get("ssh")
        in_clear = any(target.name in getattr(c, "sent_in_clear", ()) for c in self.collectors.values())
        return DeviceDone(outcome, started, parsed, getattr(ssh, "sessions", {}).pop(target.name, None), in_clear)

    async def run(self, target: Target, deliver: Callable[[Target, DeviceDone], None]) -> None:
        if self._gate is None:
            self._gate = asyncio.Semaphore(self.workers)
        async with self._gate:
            started = time.time()
            outcome = _Outcome(CollectResult(target, ""), [])
            parsed = None
            try:
                target = self.trust.attach(target, outcome.host_keys.append)
            except KnownHostsError as exc:
                why = self.redactor.scrub(str(exc)) or ""
                outcome.result = CollectResult(target, "", [], "config", why)
                outcome.failures.append(("", "config", why))
                deliver(target, self._done(target, outcome, started))
                return
            try:
                await _collect_one(target, self.options, self.collectors, self.redactor, outcome)
                if outcome.result.ok:
                    # Off the loop, each step within its budget, the whole within the device's deadline.
                    # The captures are not saved yet: records point at them by a stand-in id (Recorder).
                    for i, cap in enumerate(outcome.captures):
                        cap.id = -(i + 1)
                    parsed = await self.runner.run(target, outcome, outcome.give_up_at, self.options.deadline)
            except asyncio.CancelledError:
                # In flight when the scan stopped: saved as cancelled, with what it had captured.
                outcome.result = CollectResult(target, outcome.trying, outcome.captures, "cancelled",
                                               "scan interrupted before this device finished")
                _scrub(outcome.result, outcome.captures, self.redactor)
                deliver(target, self._done(target, outcome, started))
                raise
            deliver(target, self._done(target, outcome, started, parsed))


class _InProcess:
    """Every device on the scan's own event loop (``--processes 1``)."""

    def __init__(self, targets: Sequence[Target], devices: Devices, record: Recorder) -> None:
        self.targets, self.devices, self.record = targets, devices, record
        self.tasks: list[asyncio.Task] = []

    def start(self) -> asyncio.Future:
        self.tasks = [asyncio.create_task(self.devices.run(t, self.record), name=t.name) for t in self.targets]
        return asyncio.gather(*self.tasks)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        # Let cancelled devices write their partial evidence before the scan row is closed.
        await asyncio.gather(*self.tasks, return_exceptions=True)

    def close(self) -> None:
        self.devices.close()


async def run_scan(
    targets: Sequence[Target],
    store: Store,
    options: ScanOptions,
    *,
    inventory: str = "",
    redactor: Redactor | None = None,
    on_progress: Callable[[ScanSummary, Target, str], None] | None = None,
    collectors: dict[str, Collector] | None = None,
    stop_signals: bool = False,
) -> ScanSummary:
    """Collect every target into ``store`` and close the scan's row (module docstring).

    ``stop_signals``: SIGTERM and SIGHUP stop the scan as Ctrl-C does (the CLI asks for it; a
    library caller keeps its process's own signal handling).  A store that cannot be written
    stops the scan too; only a failure to open the scan's row (``begin_scan``) raises.
    ``options.processes`` above 1 collects in that many worker processes (``agent.collect.shards``);
    this process stays the only writer, and endings behave the same."""
    redactor = redactor or Redactor()
    collectors = collectors or build_collectors(options)
    trust = ScanTrust(store, options.host_keys, options.known_hosts)
    scan_id = store.begin_scan(inventory, options.public(), len(targets))
    summary = ScanSummary(scan_id=scan_id, total=len(targets), insecure=trust.insecure(targets))
    stopper = Stopper()
    record = Recorder(store, scan_id, summary, trust, redactor, stopper, on_progress)
    devices = Devices(options, collectors, redactor, trust)
    processes = min(max(1, options.processes), len(targets))
    if processes > 1:
        from agent.collect.shards import Sharded

        engine: Any = Sharded(targets, processes, devices, record, redactor)
    else:
        engine = _InProcess(targets, devices, record)

    loop = asyncio.get_running_loop()
    previous_handler = loop.get_exception_handler()
    loop.set_exception_handler(redacting_exception_handler(redactor, log))
    if stop_signals:
        stopper.install(loop)
    try:
        waiting = engine.start()
        stopper.watch(waiting)
        try:
            await waiting
        except (asyncio.CancelledError, Exception) as exc:
            if isinstance(exc, asyncio.CancelledError):
                summary.interrupted = True
            else:  # a bug of ours out of one device's save: not a complete scan, and said so
                summary.internal_error = redactor.scrub(f"{type(exc).__name__}: {exc}")
            stopper.watch(None)
            await engine.stop()
            if summary.internal_error:
                raise
    finally:
        stopper.watch(None)
        stopper.remove()
        engine.close()
        loop.set_exception_handler(previous_handler)
        try:
            record.flush()  # the devices still waiting for their transaction (agent.collect.recorder)
        except Exception as exc:  # noqa: BLE001 - raised below, after the scan row is closed
            record.fatal = record.fatal or exc
        if record.fatal is not None and not summary.internal_error:
            # A bug of ours met while writing a batch: the scan ends failed and raises it, as a
            # device's would; the stop it asked for is not an interruption.
            summary.interrupted = False
            summary.internal_error = redactor.scrub(f"{type(record.fatal).__name__}: {record.fatal}")
        summary.ended = time.time()
        summary.store_error = stopper.store_error
        if summary.done:
            log.info("scan %s: %d device saves took %.2f s in the store (%.2f ms each)", summary.scan_id,
                     summary.done, summary.store_seconds, 1000 * summary.store_seconds / summary.done)
        if stopper.signal is not None:
            summary.stop_signal, summary.exit_signal = stopper.signal.name, int(stopper.signal)
        _close(store, summary)
    if record.fatal is not None:
        raise record.fatal
    return summary


def _close(store: Store, summary: ScanSummary) -> None:
    """Close the scan row; its counts are what the device rows say (the store counts them)."""
    if summary.store_error:
        reason = f"the store could not be written: {summary.store_error}"
    elif summary.internal_error:
        reason = f"internal error: {summary.internal_error}"
    elif summary.stop_signal:
        reason = f"stopped by {summary.stop_signal}"
    else:
        reason = "interrupted (Ctrl-C / SIGINT, or cancelled by its caller)" if summary.interrupted else None
    try:
        store.end_scan(summary.scan_id, summary.status, reason=reason)
    except StoreError as exc:
        # The row stays 'running'; the next scan that takes the lock marks it interrupted, counted.
        summary.end_error = str(exc)
        summary.store_error = summary.store_error or str(exc)
        log.error("scan %s: could not record its end: %s", summary.scan_id, exc)
