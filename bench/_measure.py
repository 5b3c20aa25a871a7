"""Measure one child process: wall time, CPU (user+sys), peak RSS; and another process's CPU meanwhile.

Used by ``bench/scan_fleet.py``.  The child is reaped with ``os.wait4``, whose rusage covers
exactly that child (and any children it waited for), so two runs never mix their figures and
the benchmark's own CPU never counts.  The lab's CPU comes from ``/proc/<pid>/stat``.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def proc_cpu_seconds(pid: int | Sequence[int] | None) -> float | None:
    """utime + stime of a live process (all its threads), from /proc; None when unavailable.
    Several pids (a lab split over processes): their sum, None if any is unavailable."""
    if not pid:
        return None
    if not isinstance(pid, int):
        each = [proc_cpu_seconds(p) for p in pid]
        return None if None in each else sum(each)
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / _CLK_TCK


def peak_rss_mib(pid: int) -> float | None:
    """A live process's peak resident memory (VmHWM), from /proc; None when unavailable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def process_tree(pid: int) -> list[int]:
    """A process and its descendants (a scan's worker processes), from /proc."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, ValueError):
            pass
    return out


def tree_peak_rss_mib(pid: int) -> float:
    """The largest VmHWM in ``pid``'s process tree now (0 when none can be read).  The largest, not
    the sum: forked workers share the writer's pages until they write them."""
    return max((peak_rss_mib(p) or 0.0 for p in process_tree(pid)), default=0.0)


def machine_busy_seconds() -> float | None:
    """CPU-seconds the whole machine has spent busy (all cores, every process), from /proc/stat."""
    try:
        with open("/proc/stat") as fh:
            fields = fh.readline().split()
    except OSError:
        return None
    # cpu user nice system idle iowait irq softirq steal ...
    values = [int(v) for v in fields[1:9]]
    busy = values[0] + values[1] + values[2] + values[5] + values[6] + values[7]
    return busy / _CLK_TCK


@dataclass
class ChildRun:
    argv: list[str]
    returncode: int = 0
    wall: float = 0.0
    user: float = 0.0
    sys: float = 0.0
    maxrss_kib: int = 0
    # VmHWM sampled from /proc while it ran (the largest process of its tree, every 0.1 s), not
    # wait4's ru_maxrss: Linux keeps there the peak of the image the child had before exec, a copy
    # of the benchmark process (which holds the lab's truth for every device: hundreds of MiB at
    # 50,000 devices).  Growth in the last 0.1 s before exit is missed.
    sampled_rss_mib: float = 0.0
    other_cpu: float | None = None  # CPU the watched process (the lab) used meanwhile
    machine_cpu: float | None = None  # CPU the whole machine used meanwhile (every process)
    output: list[str] = field(default_factory=list)

    @property
    def cpu(self) -> float:
        return self.user + self.sys

    @property
    def rss_mib(self) -> float:
        if self.sampled_rss_mib:
            return self.sampled_rss_mib
        # Where /proc is not there: ru_maxrss (Linux reports it in KiB, macOS in bytes).
        return self.maxrss_kib / (1024 * 1024 if sys.platform == "darwin" else 1024)


def run_child(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    watch_pid: int | None = None,
    on_line: Callable[[str], None] | None = None,
    keep_lines: int = 200,
) -> ChildRun:
    """Run ``argv`` to completion, streaming its merged stdout/stderr to ``on_line``."""
    run = ChildRun(list(argv))
    other0 = proc_cpu_seconds(watch_pid)
    machine0 = machine_busy_seconds()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        list(argv), env=dict(env) if env is not None else None, cwd=cwd,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
    )

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip("\n")
            run.output.append(line)
            if len(run.output) > keep_lines:
                del run.output[: len(run.output) - keep_lines]
            if on_line is not None:
                on_line(line)

    reader = threading.Thread(target=pump, name="child-output", daemon=True)
    reader.start()
    try:
        while True:
            run.sampled_rss_mib = max(run.sampled_rss_mib, tree_peak_rss_mib(proc.pid))
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(0.1)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    run.wall = time.perf_counter() - t0
    other1 = proc_cpu_seconds(watch_pid)
    machine1 = machine_busy_seconds()
    # We reaped it ourselves: tell Popen so it does not try again.
    proc.returncode = os.waitstatus_to_exitcode(status)
    reader.join(timeout=10)
    run.returncode = proc.returncode
    run.user, run.sys, run.maxrss_kib = usage.ru_utime, usage.ru_stime, usage.ru_maxrss
    if other0 is not None and other1 is not None:
        run.other_cpu = other1 - other0
    if machine0 is not None and machine1 is not None:
        run.machine_cpu = machine1 - machine0
    return run
