"""Parsing and normalising a device's captures off the scan's event loop, inside a time budget.

Why: parsing is the CPU-bound part of a device (regexes, TextFSM, classification).  Run on the
loop, one slow capture froze every device in flight: a device printing a 4,000-blank line in
``show license status`` once held the loop for 48 s and 199 of 300 healthy devices then failed
"deadline exceeded" (issue 12).  The regexes are linear now (tests/hostile/test_parsing_regex.py);
this module makes sure that whatever a capture costs, the loop keeps serving the other devices and
the device that costs too much fails on its own, on time:

* each device's parsing runs in a worker (``mode``: ``thread``, the default, or ``process``); the
  loop awaits it;
* every step (each capture parsed, then the normalisation) has ``budget`` seconds from the moment
  the worker starts it; the wait, the queue for a worker included, also ends at the device's
  deadline (parsing is part of the device, so it counts inside ``--deadline``);
* a step over its budget fails that device with kind ``garbage`` and a reason naming the command;
  the deadline reached first fails it ``timeout``.  Nothing else is affected.

Threads cannot be killed: an abandoned thread runs on until its step ends, which the linear
regexes bound (milliseconds for a 50,000-character line), and the runner stops giving it work (a
fresh executor takes the next devices).  A worker process can be killed, and is, but costs a copy
of the captures each way; ``docs/ARCHITECTURE.md`` ("Parsing off the loop") has the measurements
that made ``thread`` the default.  In ``process`` mode the worker cannot report its steps, so the
budget is per device: ``budget`` times (captures + 1).
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import dataclasses
import multiprocessing
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agent.collect.merge import _normalise_outcome
from agent.core.models import DeviceRecords

log = logging.getLogger("ibagent.scan")

MODES = ("thread", "process")
DEFAULT_BUDGET = 10.0  # seconds per step: a normal capture takes milliseconds, a huge one well under 1 s
THREAD_WORKERS = 2  # the GIL makes more threads no faster; two keep one slow device from holding up the rest


@dataclass(slots=True)
class Parsed:
    """What parsing a device gave: records, or why not (``error_kind``: parse, garbage, timeout)."""

    records: DeviceRecords | None
    error_kind: str | None = None
    error: str | None = None


@dataclass(slots=True)
class _Lite:
    """The part of a target and its outcome that parsing reads (what goes to a worker process:
    no credentials, no collector results)."""

    name: str
    platform: str
    parts: list
    captures: list
    notes: list


def _lite(target, outcome) -> _Lite:
    return _Lite(target.name, target.platform, list(outcome.parts), list(outcome.captures), list(outcome.notes))


def _work(lite: _Lite, on_step: Callable[[str], None] | None = None) -> tuple[DeviceRecords | None, str | None]:
    return _normalise_outcome(lite, lite, on_step)


def _warm() -> None:
    """A worker process's first job: import the parsers (and their templates) before any budget runs."""
    import agent.normalize  # noqa: F401,PLC0415
    import parsers  # noqa: F401,PLC0415


def _steps(lite: _Lite) -> int:
    return sum(len(p.captures) for p in lite.parts) if lite.parts else len(lite.captures)


class _Progress:
    """The step a worker is on and when it started (``time.monotonic``, the loop's clock): written by
    the worker as one tuple, read by the loop only when its timer fires, so a step costs no wake-up."""

    __slots__ = ("state",)

    def __init__(self) -> None:
        self.state: tuple[str, float | None] = ("waiting for a worker", None)

    def started(self, step: str) -> None:
        self.state = (step, time.monotonic())

    @property
    def step(self) -> str:
        return self.state[0]


class ParseRunner:
    """Runs each device's parsing in a worker, one budget per step (module docstring)."""

    def __init__(self, mode: str = "thread", budget: float = DEFAULT_BUDGET, workers: int | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"parse mode {mode!r} (known: {', '.join(MODES)})")
        self.mode = mode
        self.budget = budget
        self.workers = workers or (THREAD_WORKERS if mode == "thread" else max(1, multiprocessing.cpu_count()))
        self._executor: concurrent.futures.Executor | None = None
        self._warming: asyncio.Future | None = None  # process mode: the new pool's workers importing
        self._gate: asyncio.Semaphore | None = None
        self.abandoned = 0  # steps left running past their budget (threads) or killed (processes)

    # ---------------------------------------------------------------- executors

    def _pool(self) -> concurrent.futures.Executor:
        if self._executor is None:
            if self.mode == "thread":
                self._executor = concurrent.futures.ThreadPoolExecutor(self.workers, thread_name_prefix="ibagent-parse")
            else:
                # spawn: the scan has threads (ncclient, netmiko), which fork() must not copy; and the
                # workers are this process's own children, so its CPU accounting (rusage) counts them.
                ctx = multiprocessing.get_context("spawn")
                self._executor = concurrent.futures.ProcessPoolExecutor(self.workers, mp_context=ctx)
                loop = asyncio.get_running_loop()
                # A new pool's start-up (a process, the imports) is nobody's parse time.
                self._warming = asyncio.gather(*(loop.run_in_executor(self._executor, _warm)
                                                 for _ in range(self.workers)), return_exceptions=True)
        return self._executor

    def _replace_pool(self) -> None:
        """A step overran: give the next devices a fresh executor.  An abandoned thread finishes on
        its own (the old executor lets it end); worker processes are killed."""
        old, self._executor = self._executor, None
        if old is None:
            return
        if isinstance(old, concurrent.futures.ProcessPoolExecutor):
            for proc in list(getattr(old, "_processes", {}).values()):
                proc.kill()
        old.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        if self._executor is not None:
            if isinstance(self._executor, concurrent.futures.ProcessPoolExecutor):
                self._executor.shutdown(wait=True, cancel_futures=True)
            else:
                self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    # ---------------------------------------------------------------- one device

    async def run(self, target: Any, outcome: Any, give_up_at: float, deadline: float | None = None) -> Parsed:
        """Parse and normalise one device's outcome; ``give_up_at``: its deadline (loop time),
        ``deadline``: the same in seconds, for the message."""
        loop = asyncio.get_running_loop()
        if self._gate is None:
            self._gate = asyncio.Semaphore(self.workers)
        lite = _lite(target, outcome)
        progress = _Progress()
        if loop.time() >= give_up_at:
            return _deadline(progress, deadline)
        try:
            async with asyncio.timeout_at(give_up_at):
                await self._gate.acquire()
        except TimeoutError:
            return _deadline(progress, deadline)
        released = False
        try:
            retried = False
            while True:
                if self.mode == "process":
                    self._pool()
                    try:
                        async with asyncio.timeout_at(give_up_at):
                            await asyncio.shield(self._warming)
                    except TimeoutError:
                        return _deadline(progress, deadline)
                future = self._submit(loop, lite, progress)
                try:
                    return await self._wait(loop, future, lite, progress, give_up_at, deadline, target)
                except concurrent.futures.BrokenExecutor:
                    # Another device's overrun killed the worker pool under this one: its own work
                    # is not at fault, so it gets one more go on the fresh pool.
                    if retried:
                        return _internal(target, "the parse worker pool broke twice")
                    retried, progress = True, _Progress()
        except _Overrun as over:
            self.abandoned += 1
            self._gate.release()  # the abandoned step no longer holds a worker slot
            released = True
            self._replace_pool()
            return over.parsed
        finally:
            if not released:
                self._gate.release()

    def _submit(self, loop: asyncio.AbstractEventLoop, lite: _Lite, progress: _Progress) -> asyncio.Future:
        if self.mode == "process":
            # Parsing reads the text only: the bytes as received (kept for evidence, up to 16 MiB a
            # capture) would double what is pickled to the worker for nothing.
            lite = dataclasses.replace(lite, captures=[dataclasses.replace(c, raw=None) for c in lite.captures])
            future = loop.run_in_executor(self._pool(), _work, lite)
            progress.started(f"parsing its {_steps(lite)} capture(s)")
            return future
        return loop.run_in_executor(self._pool(), _work, lite, progress.started)

    async def _wait(self, loop, future, lite: _Lite, progress: _Progress, give_up_at: float,
                    deadline: float | None, target) -> Parsed:
        budget = self.budget if self.mode == "thread" else self.budget * (_steps(lite) + 1)
        while not future.done():
            now = loop.time()
            since = progress.state[1]
            # Not started yet: look again after one budget (the gate keeps that wait short).
            step_end = since + budget if since is not None else now + budget
            if since is not None and now >= min(step_end, give_up_at) or now >= give_up_at:
                future.cancel()  # drops the result; a running thread ends on its own
                if step_end <= give_up_at:
                    raise _Overrun(_garbage(progress, budget, target))
                raise _Overrun(_deadline(progress, deadline))
            # Woken by the result, or when the step seen last would overrun: the worker may have moved
            # on since (a later step start), which the next turn reads.
            await asyncio.wait({future}, timeout=min(step_end, give_up_at) - now)
        if future.cancelled():  # its executor was shut down under it (another device's overrun)
            raise concurrent.futures.BrokenExecutor("parse worker pool replaced")
        try:
            records, error = future.result()
        except concurrent.futures.BrokenExecutor:
            raise
        except Exception as exc:  # noqa: BLE001 - a bug of ours fails this device, not the scan
            log.debug("internal error parsing %s", target.name, exc_info=True)
            return _internal(target, f"{type(exc).__name__}: {exc}")
        if records is None:
            return Parsed(None, "parse", error)
        return Parsed(records)


def _garbage(progress: _Progress, budget: float, target) -> Parsed:
    step = progress.step
    what = "normalising its records" if step == "normalise" else step if step.startswith("parsing ") else f"'{step}'"
    reason = (f"output not readable in time: {what} took longer than its parse budget of {budget:g}s; "
              "its captures are kept as evidence")
    log.warning("%s: %s", target.name, reason)
    return Parsed(None, "garbage", reason)


def _deadline(progress: _Progress, deadline: float | None) -> Parsed:
    limit = f" of {deadline:g}s" if deadline is not None else ""
    return Parsed(None, "timeout", f"device deadline{limit} exceeded while parsing its output ({progress.step})")


def _internal(target, what: str) -> Parsed:
    return Parsed(None, "internal", f"internal error while parsing its output ({what}); please report it")


class _Overrun(Exception):
    def __init__(self, parsed: Parsed) -> None:
        super().__init__(parsed.error)
        self.parsed = parsed
