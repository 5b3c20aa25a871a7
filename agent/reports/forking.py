"""Run independent jobs in forked child processes, to use every core for work whose result is a file.

The jobs see the parent's memory as it was at the fork (no pickling of 10^5 rows), write their
files, and report back only an error text, if any.  Used where the work splits into a few large
independent pieces (one report format each); everything else in ibagent stays in one process.

Forking is only done where it is safe and available: POSIX, and no other thread running (a fork
copies only the calling thread, so a lock held elsewhere would stay locked in the child).
"""
from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Sequence

_MESSAGE_LIMIT = 4000  # under PIPE_BUF: a child's one write never blocks, whoever reads when


def can_fork() -> bool:
    return hasattr(os, "fork") and threading.active_count() == 1


class Failed(Exception):
    """Raised by a job whose message already says all (reported as it is, without a type name)."""


class JobError(RuntimeError):
    """One or more jobs failed; ``failures`` maps the job's index to its error text."""

    def __init__(self, failures: dict[int, str]):
        super().__init__("; ".join(failures[i] for i in sorted(failures)))
        self.failures = failures


def run_jobs(jobs: Sequence[Callable[[], None]], workers: int | None = None) -> None:
    """Run ``jobs``, each in its own child, at most ``workers`` (default: the CPU count) at once;
    in this process, one after the other, when forking is not safe here.  Raises JobError
    naming every job that failed, after all have ended."""
    workers = max(1, workers or os.cpu_count() or 1)
    if workers == 1 or len(jobs) < 2 or not can_fork():
        failures = {}
        for i, job in enumerate(jobs):
            try:
                job()
            except Exception as exc:  # noqa: BLE001 - collected and raised below, as the forked path does
                failures[i] = describe(exc)
        if failures:
            raise JobError(failures)
        return
    pending = list(enumerate(jobs))
    running: dict[int, tuple[int, int]] = {}  # pid -> (job index, read end of its pipe)
    failures: dict[int, str] = {}
    try:
        while pending or running:
            while pending and len(running) < workers:
                index, job = pending.pop(0)
                read_end, write_end = os.pipe()
                pid = os.fork()
                if pid == 0:  # the child: run the job, say what went wrong if anything, never return
                    os.close(read_end)
                    code = 0
                    try:
                        job()
                    except BaseException as exc:  # noqa: BLE001 - the parent decides what it means
                        os.write(write_end, describe(exc).encode("utf-8", "replace")[:_MESSAGE_LIMIT])
                        code = 1
                    os._exit(code)  # no atexit handlers, no flushing of the parent's buffers
                os.close(write_end)
                running[pid] = (index, read_end)
            pid, status = _wait_any(running)
            index, read_end = running.pop(pid)
            message = os.read(read_end, _MESSAGE_LIMIT).decode("utf-8", "replace")
            os.close(read_end)
            code = os.waitstatus_to_exitcode(status)
            if code != 0:
                failures[index] = message or (f"killed by signal {-code}" if code < 0 else f"exit status {code}")
    except BaseException:
        for pid, (_, read_end) in running.items():
            try:
                os.kill(pid, signal.SIGTERM)
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
            os.close(read_end)
        raise
    if failures:
        raise JobError(failures)


def _wait_any(children) -> tuple[int, int]:
    """(pid, wait status) of the first of ``children`` to end.  Only our own children are
    waited for: os.wait() could reap another child of this process (a lab, a subprocess) that
    its owner still means to wait for."""
    while True:
        for pid in children:
            got, status = os.waitpid(pid, os.WNOHANG)
            if got:
                return got, status
        time.sleep(0.01)


def describe(exc: BaseException) -> str:
    """One line for a job's failure: "FILE: reason" for an OSError, else "Type: message"."""
    if isinstance(exc, Failed):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        # os.replace(tmp, path) names both: the destination is the file the user asked for.
        target = exc.filename2 or exc.filename
        return f"{target}: {exc.strerror}" if target else exc.strerror
    return f"{type(exc).__name__}: {exc}"
