"""Several agents into one PostgreSQL store against one agent into SQLite (issue 16 item 6).

    python bench/agents.py [--agents 4] [--per-agent 5000] [--latency 0.2] [--workers 200]

Starts one lab process per agent, each serving its own slice of the scale fleet on its own
loopback address (127.0.k.1: its own port space), and a throw-away PostgreSQL cluster
(tests/pg/pg_cluster.py, 127.0.0.1 only).  Then, one after the other on the same labs:

* baseline: ONE agent scans every device (the labs' merged inventory) into an SQLite file;
* agents: K agents, separate processes started together, each scanning its own lab into ONE
  PostgreSQL database (each with its own ``--agent``, so their scan locks do not exclude each other).

Printed side by side: wall time, devices/s over the whole fleet, devices collected and serials found
against the labs' ground truth, CPU per agent process (rusage of each child, reaped with ``os.wait4``)
and its peak RSS (VmHWM sampled from /proc over its process tree), the PostgreSQL server's CPU, and
the store write time each scan reports (the seconds its one writer spent in device transactions:
``ScanSummary.store_seconds``, logged at -v).
The cluster runs with fsync and synchronous_commit off (a throw-away test cluster), SQLite in WAL
with synchronous=NORMAL (ibagent's setting): PostgreSQL's durability cost is not in these figures.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from bench._measure import proc_cpu_seconds, tree_peak_rss_mib  # noqa: E402
from bench.scan_fleet import LabGroup, lab_env  # noqa: E402

_STORE_LINE = re.compile(r"(\d+) device saves took ([\d.]+) s in the store")


def say(*parts: object) -> None:
    print(*parts, flush=True)


@dataclass
class Child:
    label: str
    returncode: int
    cpu: float
    rss_mib: float
    output: list[str]

    @property
    def store_seconds(self) -> float | None:
        found = [float(m.group(2)) for line in self.output for m in [_STORE_LINE.search(line)] if m]
        return sum(found) if found else None


def start_scan(label: str, inventory: Path, db: str, env: dict[str, str], workers: int, agent: str,
               log: Path) -> tuple[str, subprocess.Popen, Path]:
    argv = [sys.executable, "-m", "agent.cli", "scan", "-i", str(inventory), "--db", db, "--agent", agent,
            "--workers", str(workers), "--no-progress", "-v"]
    out = log.open("w")
    proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    out.close()
    return label, proc, log


def reap(started: list[tuple[str, subprocess.Popen, Path]]) -> list[Child]:
    """Wait for every child: its CPU from wait4 (its own and its waited-for workers', nobody
    else's), its peak RSS sampled from /proc (VmHWM of the largest process of its tree).  Not
    wait4's ru_maxrss: Linux keeps there the peak of the image a child had before exec, i.e. a copy
    of this benchmark process, which holds every lab device's truth (all agents then showed the
    same 880 MiB at 5,000 devices each: this process's size, not theirs)."""
    peak = {proc.pid: 0.0 for _, proc, _ in started}
    usage_of: dict[int, tuple[int, object]] = {}
    while len(usage_of) < len(started):
        for _, proc, _ in started:
            if proc.pid in usage_of:
                continue
            peak[proc.pid] = max(peak[proc.pid], tree_peak_rss_mib(proc.pid))
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                usage_of[proc.pid] = (status, usage)
        time.sleep(0.5)
    children = []
    for label, proc, log in started:
        status, usage = usage_of[proc.pid]
        proc.returncode = os.waitstatus_to_exitcode(status)
        lines = log.read_text(errors="replace").splitlines()
        children.append(Child(label, proc.returncode, usage.ru_utime + usage.ru_stime, peak[proc.pid],
                              [ln for ln in lines if "device saves took" in ln or ln.startswith("scan ")]))
    return children


def truth_of(labs) -> dict[str, set[str]]:
    return {d.name: {i.serial for i in d.truth.physical if i.serial} for d in labs.devices}


def check_fleet(db: str, truth: dict[str, set[str]]) -> tuple[int, int, int]:
    """(devices of the truth in the current fleet with every serial, serials found, serials in the truth)."""
    from agent.store import Store
    from agent.store.views import device_rows

    store = Store(db, readonly=True)
    try:
        found: dict[str, set[str]] = {}
        for row in device_rows(store):
            found.setdefault(row["device"], set()).add(row["serial"])
    finally:
        store.close()
    complete = sum(1 for name, serials in truth.items() if serials <= found.get(name, set()))
    hit = sum(len(serials & found.get(name, set())) for name, serials in truth.items())
    return complete, hit, sum(len(s) for s in truth.values())


def pg_cpu_seconds(cluster) -> float:
    """The PostgreSQL server's CPU so far: the postmaster's own and that of its backends it has
    reaped (cutime/cstime; an agent's backend ends when the agent disconnects), plus live ones."""
    try:
        pid = int((cluster.root / "data" / "postmaster.pid").read_text().split()[0])
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError, IndexError):
        return float("nan")
    fields = stat[stat.rindex(")") + 2:].split()
    ticks = os.sysconf("SC_CLK_TCK")
    own = sum(int(v) for v in fields[11:15]) / ticks  # utime, stime, cutime, cstime
    live = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return own + (proc_cpu_seconds([int(p) for p in live]) or 0.0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--agents", type=int, default=4, help="agents, each with its own lab (default 4)")
    ap.add_argument("--per-agent", type=int, default=5000, help="devices per agent (default 5000)")
    ap.add_argument("--latency", type=float, default=0.2, help="seconds per show command (default 0.2)")
    ap.add_argument("--jitter", type=float, default=0.25, help="+- fraction of latency (default 0.25)")
    ap.add_argument("--workers", type=int, default=200, help="--workers of each scan (default 200)")
    ap.add_argument("--skip-baseline", action="store_true", help="run the agents only")
    args = ap.parse_args(argv)

    from pg import pg_cluster

    reason = pg_cluster.why_not()
    if reason:
        say(f"bench/agents.py needs a PostgreSQL server here: {reason}")
        return 2
    env = {**os.environ, **lab_env()}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    total = args.agents * args.per_agent
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="ibagent-bench-agents-") as tmp_name:
        tmp = Path(tmp_name)
        say(f"starting {args.agents} labs x {args.per_agent} devices ({total}) and a PostgreSQL cluster ...")
        cluster = pg_cluster.start()
        try:
            with LabGroup(total, args.agents, tmp, latency=args.latency, jitter=args.jitter) as labs:
                truth = truth_of(labs)
                rows = []
                if not args.skip_baseline:
                    db = str(tmp / "one-agent.db")
                    say(f"baseline: one agent, {total} devices, SQLite ...")
                    cpu0, t0 = proc_cpu_seconds(labs.pids) or 0.0, time.monotonic()
                    (child,) = reap([start_scan("one", labs.inventory_dir, db, env, args.workers, "one",
                                                tmp / "one.log")])
                    wall = time.monotonic() - t0
                    lab_cpu = (proc_cpu_seconds(labs.pids) or 0.0) - cpu0
                    rows.append(("1 agent -> SQLite", wall, [child], check_fleet(db, truth), lab_cpu, None))
                url = cluster.create_database("bench_agents")
                say(f"agents: {args.agents} agents x {args.per_agent} devices, one PostgreSQL database ...")
                cpu0, t0 = proc_cpu_seconds(labs.pids) or 0.0, time.monotonic()
                pg0 = pg_cpu_seconds(cluster)
                started = [start_scan(f"agent{k}", lab.inventory_dir, url, env, args.workers, f"agent{k}",
                                      tmp / f"agent{k}.log") for k, lab in enumerate(labs.labs)]
                children = reap(started)
                wall = time.monotonic() - t0
                lab_cpu = (proc_cpu_seconds(labs.pids) or 0.0) - cpu0
                pg_cpu = pg_cpu_seconds(cluster) - pg0
                rows.append((f"{args.agents} agents -> PostgreSQL", wall, children, check_fleet(url, truth), lab_cpu,
                             pg_cpu))
        finally:
            cluster.stop()

    say("")
    say(f"{total} devices, latency {args.latency}s +-{args.jitter:.0%}, --workers {args.workers} per scan, "
        f"{cores} cores shared by labs, agents and the database")
    say(f"{'run':<26}{'wall s':>8}{'dev/s':>8}{'complete':>10}{'serials':>16}{'agent CPU s':>13}"
        f"{'max RSS MiB':>13}{'store s':>9}{'lab CPU s':>11}{'PG CPU s':>10}")
    for label, wall, children, (complete, hit, serials), lab_cpu, pg_cpu in rows:
        store_s = [c.store_seconds for c in children]
        say(f"{label:<26}{wall:>8.1f}{complete / wall:>8.1f}{complete:>10}{f'{hit}/{serials}':>16}"
            f"{sum(c.cpu for c in children):>13.1f}{max(c.rss_mib for c in children):>13.0f}"
            f"{(sum(s for s in store_s if s) if any(store_s) else float('nan')):>9.1f}{lab_cpu:>11.1f}"
            f"{(pg_cpu if pg_cpu is not None else float('nan')):>10.1f}")
        for c in children:
            if len(children) > 1 or c.returncode not in (0, 1):
                say(f"    {c.label}: exit {c.returncode}, CPU {c.cpu:.1f} s, RSS {c.rss_mib:.0f} MiB, "
                    f"store {c.store_seconds if c.store_seconds is not None else float('nan'):.1f} s")
    if len(rows) == 2:
        say(f"agents / one agent devices/s: {rows[1][3][0] / rows[1][1] / (rows[0][3][0] / rows[0][1]):.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
