"""Hostile device output: regex cost, parse cost, event-loop stall (issue 12, item 2).

    python bench/parse_hostile.py [--devices 50] [--old-max 4000] [--skip-scan]

Prints three tables:

1. **Patterns.** The licensing patterns that took cubic time (``_KV``, ``_BLOCK``, kept here as they
   were) against their replacements, on a line of N blanks and one character, N = 1,000 and 4,000
   (``--old-max`` caps N for the old ones: they take ~30 s each at 4,000).
2. **One device's parse.** ``parsers.parse`` + normalisation of a real ``show license status``
   with the hostile line (the lab's ``pathological_output`` fault), and the cost per device of
   handing a lab device's captures to a worker: inline (what the scan did: on its loop), a worker
   thread, a worker process (``agent.collect.parsing``); wall time on the loop and CPU of the
   whole process tree per device.
3. **Scan.** ``--devices`` healthy lab devices plus one with the fault, scanned in-process with
   each parse mode, a 20 ms heartbeat beside the scan: the longest the loop went without running it
   (its stall), the scan's wall time, devices ok / failed.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

OLD = {  # parsers/licensing.py before issue 12
    "_KV": re.compile(r"^(\s*)([^:]+?)\s*:\s*(.*?)\s*$"),
    "_BLOCK": re.compile(r"^\s*(?P<name>[^:]*?)\s*\((?P<tag>[^:]*)\):\s*$"),
}


def _time(fn, *args, reps: int = 1) -> float:
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - t0)
    return best


def patterns(old_max: int) -> None:
    from parsers import licensing

    print("1. patterns on a line of N blanks + 'x' (milliseconds)")
    print(f"   {'pattern':<12} {'N=1,000':>10} {'N=4,000':>10}")
    for name, rx in OLD.items():
        cells = [f"{_time(rx.match, ' ' * n + 'x') * 1000:10.1f}" if n <= old_max else f"{'(skipped)':>10}"
                 for n in (1000, 4000)]
        print(f"   old {name:<8} {' '.join(cells)}")
    new = {"_kv()": licensing._kv, "_BLOCK": licensing._BLOCK.match}
    for name, fn in new.items():
        cells = [f"{_time(fn, ' ' * n + 'x', reps=5) * 1000:10.4f}" for n in (1000, 4000)]
        print(f"   new {name:<8} {' '.join(cells)}")


def _cpu(runner=None, own: bool = True) -> float:
    """CPU seconds of this process and of the runner's worker processes (read from /proc while they
    live: rusage counts children only once they have exited)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    total = me.ru_utime + me.ru_stime if own else 0.0
    executor = getattr(runner, "_executor", None)
    for pid in list(getattr(executor, "_processes", {}) or {}):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def one_device() -> None:
    import parsers
    from agent.collect import parsing
    from agent.collect.merge import _normalise_outcome, _Part
    from agent.core.models import Capture, Target
    from agent.normalize import records_from_captures
    from lab.device import DeviceSpec, RunningDevice
    from lab.faults import PATHOLOGICAL, pathological
    from lab import slp

    spec = DeviceSpec(name="b", profile="c8000v", faults=frozenset({PATHOLOGICAL})).resolved(0)
    device = RunningDevice(spec, "127.0.0.1", 0)
    from agent.core import platforms

    commands = platforms.get("cisco_xe").ssh.commands
    caps = []
    for command in commands:
        text = (slp.output(device, command) or "").replace("\r\n", "\n")
        if command == "show license status":
            text = pathological(text.replace("\n", "\r\n")).replace("\r\n", "\n")
        caps.append(Capture(device="b", platform="cisco_xe", transport="ssh", command=command, output=text,
                            started=0, ended=0))
    status = next(c for c in caps if c.command == "show license status")
    print("\n2. one device (c8000v, 'show license status' with a 4,000-blank line)")
    print(f"   parse of that capture:            {_time(parsers.parse, 'cisco_xe', status.command, status.output, reps=5) * 1000:8.2f} ms")
    print(f"   parse + normalise of the device:  "
          f"{_time(records_from_captures, 'b', 'cisco_xe', caps, reps=5) * 1000:8.2f} ms ({len(caps)} captures)")

    target = Target(name="b", host="127.0.0.1", platform="cisco_xe")

    class Outcome:
        parts = [_Part("ssh", caps, set())]
        captures = caps
        notes: list = []

    rounds = 500

    async def through(runner) -> tuple[float, float]:
        loop = asyncio.get_running_loop()
        await runner.run(target, Outcome, loop.time() + 60)  # warm (a process pool starts)
        cpu0, main0, t0 = _cpu(runner), _cpu(), time.perf_counter()
        for _ in range(rounds):
            await runner.run(target, Outcome, loop.time() + 60)
        wall = time.perf_counter() - t0
        cpu, main = _cpu(runner) - cpu0, _cpu() - main0
        runner.close()
        return wall / rounds, cpu / rounds, main / rounds

    t0, cpu0 = time.perf_counter(), _cpu()
    for _ in range(rounds):
        _normalise_outcome(target, Outcome)
    inline = (time.perf_counter() - t0) / rounds, (_cpu() - cpu0) / rounds
    rows = [("inline (on the loop, as before)", inline[0], inline[1], inline[1])]
    for mode in ("thread", "process"):
        wall, cpu, main = asyncio.run(through(parsing.ParseRunner(mode, workers=1)))
        rows.append((f"{mode} worker", wall, cpu, main))
    print(f"   per device, {rounds} devices one after another:")
    print(f"   {'':<36} {'wall ms':>8} {'CPU ms':>8} {'of it, the scan process':>24}")
    for label, wall, cpu, main in rows:
        print(f"   {label:<36} {wall * 1000:8.2f} {cpu * 1000:8.2f} {main * 1000:24.2f}")


def scan(devices: int) -> None:
    from agent.collect.inventory import load_inventory
    from agent.collect.scan import ScanOptions, run_scan
    from agent.store import Store
    from lab import fleet
    from lab.device import DeviceSpec
    from lab.faults import PATHOLOGICAL
    from lab.inventory import write_inventory
    from lab.server import LabThread

    specs = fleet.scale_fleet(devices, latency=0.05, jitter=0.2)
    specs.append(DeviceSpec(name="hostile", profile="c8000v", index=len(specs), latency=0.05,
                            faults=frozenset({PATHOLOGICAL})))
    print(f"\n3. scan of {devices} healthy devices + 1 hostile (workers 50, in-process, lab in a thread)")
    print(f"   {'parse in':<10} {'loop stall s':>12} {'wall s':>8} {'ok':>5} {'failed':>7}")
    with LabThread(specs) as lab, tempfile.TemporaryDirectory() as tmp:
        write_inventory(lab.devices, Path(tmp) / "inv")
        targets = load_inventory(Path(tmp) / "inv").targets
        for mode in ("thread", "process"):
            store = Store(Path(tmp) / f"{mode}.db")

            async def main():
                loop = asyncio.get_running_loop()
                worst, done = 0.0, False

                async def beat():
                    nonlocal worst
                    last = loop.time()
                    while not done:
                        await asyncio.sleep(0.02)
                        now = loop.time()
                        worst, last = max(worst, now - last - 0.02), now

                task = asyncio.create_task(beat())
                t0 = time.perf_counter()
                summary = await run_scan(targets, store, ScanOptions(workers=50, parse_in=mode))
                done = True
                await task
                return summary, worst, time.perf_counter() - t0

            summary, stall, wall = asyncio.run(main())
            print(f"   {mode:<10} {stall:12.3f} {wall:8.1f} {summary.ok:5d} {summary.failed:7d}")
            store.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--devices", type=int, default=50, help="healthy lab devices in the scan (default 50)")
    ap.add_argument("--old-max", type=int, default=4000, help="longest line the old patterns are timed on")
    ap.add_argument("--skip-scan", action="store_true", help="tables 1 and 2 only")
    args = ap.parse_args(argv)
    os.environ.setdefault("IBAGENT_LAB_PASSWORD", "lab-password")
    os.environ.setdefault("IBAGENT_LAB_ENABLE", "lab-enable")
    patterns(args.old_max)
    one_device()
    if not args.skip_scan:
        scan(args.devices)
    return 0


if __name__ == "__main__":
    sys.exit(main())
