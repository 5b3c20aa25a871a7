"""The baseline of ``bench/scan_fleet.py``: the same collection done the usual way, Nornir + nornir_netmiko.

    python bench/_nornir_baseline.py --inventory DIR --workers 20 --out results.jsonl

Reads a Nornir SimpleInventory (hosts.yaml/groups.yaml/defaults.yaml, clear-text credentials:
``scan_fleet.py`` writes a converted copy of the lab inventory with the lab password resolved),
runs per host the commands of ``agent/core/platform_defs/<platform>.yaml`` with
``netmiko_send_command(..., use_textfsm=True)`` (ntc-templates parsing), on Nornir's threaded
runner with ``--workers`` threads.  Hosts that land in user EXEC (classic IOS, ASA) are enabled
first with ``net_connect.enable()``, as a user's task would.  Each connection is closed at the
end of its host's task (not kept open for the whole run, which would hold 2,000 sessions).

Writes one JSON line per host: ok, error, the string values of every structured (parsed)
result (the parent matches serials against them) and the commands whose output did not parse.
Prints progress lines on stdout.
"""
from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _leaves(value: Any, out: set[str]) -> None:
    if isinstance(value, dict):
        for v in value.values():
            _leaves(v, out)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _leaves(v, out)
    elif isinstance(value, str) and value:
        out.add(value.strip())


class Progress:
    """A Nornir processor printing a line every ``every`` seconds (tasks complete in worker threads)."""

    def __init__(self, total: int, every: float = 10.0) -> None:
        self.total, self.every = total, every
        self.done = self.failed = 0
        self.t0 = time.perf_counter()
        self.last = self.t0
        self.lock = threading.Lock()

    def task_started(self, task) -> None: ...
    def task_completed(self, task, result) -> None: ...
    def task_instance_started(self, task, host) -> None: ...
    def subtask_instance_started(self, task, host) -> None: ...
    def subtask_instance_completed(self, task, host, result) -> None: ...

    def task_instance_completed(self, task, host, result) -> None:
        with self.lock:
            self.done += 1
            self.failed += bool(result.failed)
            now = time.perf_counter()
            if now - self.last >= self.every or self.done == self.total:
                self.last = now
                el = now - self.t0
                print(
                    f"  nornir: {self.done}/{self.total} hosts ({self.failed} failed) in {el:.0f}s, "
                    f"{self.done / el:.1f} hosts/s",
                    flush=True,
                )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--inventory", required=True, type=Path, help="Nornir SimpleInventory directory (clear-text)")
    ap.add_argument("--workers", type=int, default=20, help="threaded runner num_workers (Nornir default 20)")
    ap.add_argument("--out", required=True, type=Path, help="JSON lines, one per host")
    args = ap.parse_args(argv)

    from nornir import InitNornir
    from nornir.core.task import Result, Task
    from netmiko.utilities import get_structured_data_textfsm
    from nornir_netmiko.connections import CONNECTION_NAME
    from textfsm import TextFSMError

    from agent.core import platforms

    def send_parsed(task: Task, command: str) -> Result:
        """``netmiko_send_command(command, use_textfsm=True)``, except that a template error keeps the raw text.

        use_textfsm=True runs exactly ``get_structured_data_textfsm(output, device_type, command)``
        after the command; but when a template meets a line it does not expect (ntc-templates'
        'show license summary' on Smart Licensing Using Policy output) TextFSMError escapes and
        fails the whole host.  A user would keep the raw text, as netmiko does for outputs
        without a template: same work, no crash.
        """
        conn = task.host.get_connection(CONNECTION_NAME, task.nornir.config)
        raw = conn.send_command(command)
        try:
            parsed = get_structured_data_textfsm(raw, platform=conn.device_type, command=command)
        except TextFSMError:
            parsed = raw
        return Result(host=task.host, result=parsed)

    def collect(task: Task) -> Result:
        plat = platforms.get(task.host.platform)
        try:
            conn = task.host.get_connection("netmiko", task.nornir.config)
            if plat.ssh.enable == "always" or (plat.ssh.enable == "when_user_exec" and not conn.check_enable_mode()):
                conn.enable()
            for command in plat.ssh.commands:
                task.run(task=send_parsed, name=command, command=command)
        finally:
            task.host.close_connections()
        return Result(host=task.host)

    nr = InitNornir(
        runner={"plugin": "threaded", "options": {"num_workers": args.workers}},
        inventory={
            "plugin": "SimpleInventory",
            "options": {
                "host_file": str(args.inventory / "hosts.yaml"),
                "group_file": str(args.inventory / "groups.yaml"),
                "defaults_file": str(args.inventory / "defaults.yaml"),
            },
        },
        logging={"enabled": False},
    )
    total = len(nr.inventory.hosts)
    print(f"  nornir: {total} hosts, {args.workers} workers", flush=True)
    progress = Progress(total)
    t0 = time.perf_counter()
    results = nr.with_processors([progress]).run(task=collect, name="collect")
    wall = time.perf_counter() - t0

    with args.out.open("w") as fh:
        for name, multi in results.items():
            values: set[str] = set()
            unparsed: list[str] = []
            for sub in multi[1:]:
                if isinstance(sub.result, (list, dict)):
                    _leaves(sub.result, values)
                else:
                    unparsed.append(sub.name)
            error = None
            if multi.failed:
                exc = next((r.exception for r in multi if r.exception is not None), None)
                error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}" if exc else "failed"
            fh.write(json.dumps({"host": name, "ok": not multi.failed, "error": error,
                                 "values": sorted(values), "unparsed": unparsed}) + "\n")
    failed = sum(1 for m in results.values() if m.failed)
    print(f"  nornir: done, {total - failed}/{total} ok in {wall:.1f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
