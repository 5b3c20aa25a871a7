"""A scan on every core: the targets split over worker processes, each collecting and parsing its
share on an event loop of its own, while the scan's process stays the one store writer.

Why processes: one asyncio loop uses one core, and at 2,000 devices the client loop is the ceiling
(issue 15: loop 82-100 % busy, the machine's other core idle).  Collection and parsing are most
of a device's CPU; the store write is a small part, so one writer keeps up and the per-device
atomicity, the lock and the scan row stay exactly as they were.

How:
* The workers are forked when the scan starts, before any connection or thread exists, so they
  inherit the targets with their credentials (a ``Secret`` refuses to be pickled: nothing secret
  ever crosses a pipe) and the host-key policy read from the store.  Each takes every P-th target
  (round robin spreads sites and slow devices), and ``workers / P`` devices at a time.
* A worker sends back one frame per finished device (``DeviceDone``, pickled, its target taken
  out) and its log records, already formatted; the writer saves the device (``Recorder``),
  re-emits the records through its own handlers (scrubbed, above the progress bar) and counts.
* Endings: the workers ignore SIGINT, SIGTERM and SIGHUP (a Ctrl-C reaches the whole process
  group; the writer decides).  To stop, the writer sends each worker SIGUSR1: it cancels its
  devices, which are delivered as ``cancelled`` with their partial captures, as on one loop.
  Devices a stop reached before they started have no row, as on one loop (the worker's last
  frame, "end", says every started device was delivered).  A worker that does not finish within
  ``STOP_GRACE`` seconds is killed; a worker that dies leaves its unreported devices failed
  ``internal`` (or ``cancelled`` when the scan was being stopped) with the reason: never
  missing, never ok.
* A worker whose writer is gone (its pipe broken, or re-parented) stops on its own.
"""
from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import pickle
import signal
import struct
import sys
import time
from collections.abc import Sequence

from agent.collect.recorder import DeviceDone, Recorder
from agent.core.models import Target
from agent.core.redact import Redactor
from collectors.base import CollectResult

log = logging.getLogger("ibagent.scan")

STOP_GRACE = 15.0  # seconds a stopped worker has to deliver its cancelled devices
_HEADER = struct.Struct(">I")
_MAX_FRAME = 1 << 30


def split(targets: Sequence[Target], n: int) -> list[list[Target]]:
    """Every n-th target to each worker: neighbours in an inventory (one site, one slow WAN link)
    end up on different workers."""
    return [list(targets[i::n]) for i in range(n)]


class _Worker:
    """The writer's handle on one worker process."""

    def __init__(self, pid: int, fd: int, targets: list[Target]) -> None:
        self.pid, self.fd = pid, fd
        self.targets = {t.name: t for t in targets}
        self.pending = dict(self.targets)  # not reported yet
        self.status: int | None = None  # wait status once reaped

    def reap(self, block: bool = False) -> bool:
        if self.status is None:
            try:
                pid, status = os.waitpid(self.pid, 0 if block else os.WNOHANG)
            except ChildProcessError:
                pid, status = self.pid, 0
            if pid:
                self.status = status
        return self.status is not None

    def kill(self, sig: int) -> None:
        if self.status is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def ending(self) -> str:
        if self.status is None:
            return "did not end"
        if os.WIFSIGNALED(self.status):
            return f"was ended by signal {os.WTERMSIG(self.status)}"
        return f"exited with status {os.waitstatus_to_exitcode(self.status)}"


class Sharded:
    """``start()`` forks the workers and returns what to await; ``stop()`` cancels their devices
    and waits for them to be delivered; ``close()`` reaps whatever is left."""

    def __init__(self, targets: Sequence[Target], processes: int, devices, record: Recorder,
                 redactor: Redactor) -> None:
        self.parts = split(targets, processes)
        self.devices, self.record, self.redactor = devices, record, redactor
        self.per_worker = max(1, -(-devices.workers // processes))
        self.workers: list[_Worker] = []
        self.readers: list[asyncio.Task] = []
        self.stopping = False

    # ---------------------------------------------------------------- the writer's side

    def start(self) -> asyncio.Future:
        level = _forwarded_level()
        sys.stdout.flush()
        sys.stderr.flush()
        for part in self.parts:
            read_fd, write_fd = os.pipe()
            _widen(write_fd)
            pid = os.fork()
            if pid == 0:  # the worker: never returns
                os.close(read_fd)
                _worker_main(part, write_fd, self.devices.for_worker(self.per_worker), self.redactor, level)
            os.close(write_fd)
            self.workers.append(_Worker(pid, read_fd, part))
        self.readers = [asyncio.create_task(self._read(w), name=f"worker-{w.pid}") for w in self.workers]
        # Shielded: a stop cancels the wait, never the readers, which must take the cancelled devices.
        return asyncio.gather(*(asyncio.shield(r) for r in self.readers))

    async def stop(self) -> None:
        self.stopping = True
        for w in self.workers:
            w.kill(signal.SIGUSR1)
        live = [r for r in self.readers if not r.done()]
        if live:
            _, late = await asyncio.wait(live, timeout=STOP_GRACE)
            if late:
                log.error("%d scan worker process(es) did not stop within %gs: killed", len(late), STOP_GRACE)
                for w in self.workers:
                    w.kill(signal.SIGKILL)
                await asyncio.wait(late, timeout=STOP_GRACE)
        await asyncio.gather(*self.readers, return_exceptions=True)

    def close(self) -> None:
        for task in self.readers:
            if not task.done():
                task.cancel()
        for w in self.workers:
            if not w.reap():
                w.kill(signal.SIGKILL)
                w.reap(block=True)
        self.devices.close()

    async def _read(self, worker: _Worker) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=1 << 20, loop=loop)
        transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader, loop=loop),
                                                    os.fdopen(worker.fd, "rb", buffering=0))
        try:
            while True:
                try:
                    head = await reader.readexactly(_HEADER.size)
                except asyncio.IncompleteReadError:
                    break
                (size,) = _HEADER.unpack(head)
                if size > _MAX_FRAME:
                    raise RuntimeError(f"scan worker {worker.pid} sent a frame of {size:,} bytes")
                frame = pickle.loads(await reader.readexactly(size))  # from our own fork: trusted
                kind = frame[0]
                if kind == "log":
                    record = logging.makeLogRecord(frame[1])
                    logging.getLogger(record.name).handle(record)
                elif kind == "done":
                    _, name, done = frame
                    target = worker.pending.pop(name, None) or worker.targets[name]
                    done.outcome.result.target = target
                    self.record(target, done)
                elif kind == "end":
                    # The worker ended its devices itself: the ones it never reported never started
                    # (a stop came first), and have no row, as on one loop.
                    worker.pending.clear()
        finally:
            transport.close()
        # The pipe closed: the worker has ended (or is ending).  Whatever it did not report is
        # recorded, never dropped: cancelled when the scan was being stopped, else a failure.
        for _ in range(500):
            if worker.reap():
                break
            await asyncio.sleep(0.01)
        for name, target in list(worker.pending.items()):
            del worker.pending[name]
            if self.stopping:
                kind, why = "cancelled", "scan interrupted before this device finished"
            else:
                kind, why = "internal", (f"the scan worker process collecting it {worker.ending()} before "
                                         "it finished; please report it")
            self.record(target, _unreported(target, kind, why))


# A worker's frames wait in its pipe while the writer commits a batch (agent.collect.recorder:
# up to BATCH_WINDOW of devices at once); a frame is ~30 KB, so Linux's default 64 KiB pipe held
# two and the worker's whole event loop then blocked in write() until the commit ended.  1 MiB
# (the default /proc/sys/fs/pipe-max-size) holds a few dozen.
PIPE_BYTES = 1 << 20


def _widen(fd: int) -> None:
    """Best effort: a platform or limit that refuses keeps the default size, which only waits more."""
    try:
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (AttributeError, OSError):
        pass


def _unreported(target: Target, kind: str, why: str) -> DeviceDone:
    from agent.collect.scan import _Outcome

    outcome = _Outcome(CollectResult(target, "", [], kind, why), [])
    if kind != "cancelled":
        outcome.failures.append(("", kind, why))
    return DeviceDone(outcome, time.time())


def _forwarded_level() -> int:
    """The lowest level any of the writer's handlers shows: a worker sends nothing below it."""
    levels = [h.level for h in logging.getLogger().handlers]
    return min(levels) if levels else logging.WARNING


# ------------------------------------------------------------------ the worker's side


class _Pipe:
    """Frames to the writer, written whole (blocking: the writer reads all the time)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def send(self, frame: tuple) -> None:
        data = pickle.dumps(frame, protocol=pickle.HIGHEST_PROTOCOL)
        view = memoryview(_HEADER.pack(len(data)) + data)
        while view:
            n = os.write(self.fd, view)  # BrokenPipeError: the writer is gone, and so is the point
            view = view[n:]


class _PipeHandler(logging.Handler):
    """Log records to the writer, formatted here (their arguments may not pickle) and scrubbed."""

    def __init__(self, pipe: _Pipe, redactor: Redactor, level: int) -> None:
        super().__init__(level)
        self.pipe, self.redactor = pipe, redactor

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fields = dict(record.__dict__)
            fields["msg"] = self.redactor.scrub(record.getMessage()) or ""
            fields["args"] = None
            if record.exc_info:
                fields["exc_text"] = self.redactor.scrub(logging.Formatter().formatException(record.exc_info))
            fields["exc_info"] = None
            fields.pop("message", None)
            self.pipe.send(("log", fields))
        except BrokenPipeError:
            raise SystemExit(0) from None
        except Exception:  # noqa: BLE001 - logging must never end a device
            self.handleError(record)


def _worker_main(part: list[Target], fd: int, devices, redactor: Redactor, level: int) -> None:
    """The forked worker's whole life; ends the process, never returns."""
    code = 0
    try:
        signal.set_wakeup_fd(-1)  # the writer's loop owns the inherited wake-up fd
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # the writer decides when the scan stops
        pipe = _Pipe(fd)
        root = logging.getLogger()
        root.handlers[:] = [_PipeHandler(pipe, redactor, level)]
        asyncio.run(_worker_loop(part, pipe, devices, os.getppid()))
    except (SystemExit, BrokenPipeError):
        code = 0
    except BaseException:  # noqa: BLE001 - the writer records the unreported devices as failed
        code = 70
    finally:
        os._exit(code)


async def _worker_loop(part: list[Target], pipe: _Pipe, devices, writer_pid: int) -> None:
    loop = asyncio.get_running_loop()

    def deliver(target: Target, done: DeviceDone) -> None:
        done.outcome.result.target = None  # the writer has it: credentials never cross
        try:
            pipe.send(("done", target.name, done))
        except BrokenPipeError:
            raise
        except Exception as exc:  # noqa: BLE001 - something in the results does not pickle
            why = f"internal error (the results could not be handed to the store: {type(exc).__name__}); please report it"
            fallback = _unreported(target, "internal", why)
            fallback.outcome.result.target = None
            pipe.send(("done", target.name, fallback))

    tasks = [asyncio.create_task(devices.run(t, deliver), name=t.name) for t in part]
    waiting = asyncio.gather(*tasks)
    loop.add_signal_handler(signal.SIGUSR1, waiting.cancel)

    async def orphaned() -> None:
        while os.getppid() == writer_pid:
            await asyncio.sleep(1.0)
        waiting.cancel()

    watch = asyncio.create_task(orphaned())
    try:
        await waiting
    except asyncio.CancelledError:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        watch.cancel()
        devices.close()
    # Every device that started has been delivered (a cancelled one too): say so, so the writer
    # knows the rest never started.
    pipe.send(("end",))


__all__ = ["Sharded", "split"]
