"""A scan on every core (issue 15 item 1): worker processes collect and parse, the scan's process
writes.  Same results as one loop, same endings, and a worker that dies never makes a device
vanish or pass."""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.cli.scan import DEVICES_PER_PROCESS, auto_processes
from agent.collect.inventory import load_inventory
from agent.collect.scan import ScanOptions, run_scan
from agent.collect.shards import split
from agent.core.models import Capture, Target
from agent.core.redact import Redactor
from agent.store import Store
from agent.store.views import device_rows
from collectors.base import CollectError
from lab import fleet
from lab.inventory import write_inventory
from lab.server import LabThread

REPO = Path(__file__).resolve().parents[1]
FAST = dict(connect_timeout=3, command_timeout=3, deadline=30, retries=1, retry_backoff=0.2)


@pytest.fixture(scope="module")
def demo_lab():
    with LabThread(fleet.demo_fleet(latency=0.01, jitter=0.25)) as lab:
        yield lab


def _stored(store: Store) -> dict:
    return {
        "items": sorted((r["device"], r["serial"], r["base_pid"], r["version"]) for r in device_rows(store)),
        "errors": sorted(tuple(r) for r in store.db.execute("SELECT device, kind, message, transport FROM errors")),
        "devices": sorted(tuple(r) for r in store.db.execute(
            "SELECT device, status, transport, error_kind, hostname, os_version FROM devices")),
        # (Not their bytes: IOS XR stamps the time on top of each output.)
        "captures": sorted(tuple(r) for r in store.db.execute("SELECT device, command, error_kind FROM captures")),
        "keys": sorted(tuple(r) for r in store.db.execute("SELECT host, port, fingerprint FROM host_keys")),
    }


def test_two_processes_store_what_one_loop_stores(demo_lab, tmp_path):
    write_inventory(demo_lab.devices, tmp_path / "inv")
    targets = load_inventory(tmp_path / "inv").targets
    seen = {}
    for processes in (1, 2):
        store = Store(tmp_path / f"p{processes}.db")
        summary = asyncio.run(run_scan(targets, store, ScanOptions(workers=20, processes=processes, **FAST)))
        seen[processes] = (summary.ok, summary.failed, dict(summary.by_kind), summary.keys_learned), _stored(store)
        store.close()
    assert seen[1][0] == seen[2][0]
    assert seen[1][0][0] > 0 and seen[1][0][1] > 0  # healthy devices and faulty ones both
    one, two = seen[1][1], seen[2][1]
    for what in one:
        assert one[what] == two[what], what
    assert len(one["items"]) > 50


def test_split_spreads_neighbours():
    targets = [Target(name=f"d{i}", host="127.0.0.1", platform="cisco_xe") for i in range(7)]
    parts = split(targets, 3)
    assert [[t.name for t in p] for p in parts] == [["d0", "d3", "d6"], ["d1", "d4"], ["d2", "d5"]]
    assert sorted(t.name for p in parts for t in p) == sorted(t.name for t in targets)


def test_auto_processes_is_the_cores_but_not_for_a_handful_of_devices():
    cores = len(os.sched_getaffinity(0))
    assert auto_processes(3) == 1
    assert auto_processes(DEVICES_PER_PROCESS * 64) == cores
    assert auto_processes(DEVICES_PER_PROCESS * 2) == min(cores, 2)


# ------------------------------------------------------------------ fakes: what only a fake can do


class _Fake:
    """An SSH stand-in: each device answers one capture; ``die_on`` ends the worker process that
    collects it (os._exit), ``say`` is logged from inside the collection."""

    def __init__(self, die_on: str = "", say: str = "", writer: int = 0) -> None:
        self.die_on, self.say, self.writer = die_on, say, writer
        self.sessions: dict = {}

    async def collect(self, target: Target, sink: list) -> None:
        await asyncio.sleep(0.05)
        if target.name == self.die_on and os.getpid() != self.writer:
            os._exit(3)
        if self.say:
            logging.getLogger("ibagent.scan").warning("%s: the device said %s", target.name, self.say)
        sink.append(Capture(target.name, "cisco_xe", "ssh", "show version", "garbage that parses to nothing",
                            time.time(), time.time()))
        raise CollectError("command", "refused")


def _targets(n: int) -> list[Target]:
    return [Target(name=f"sw{i:02d}", host="127.0.0.1", platform="cisco_xe") for i in range(n)]


def test_a_worker_that_dies_leaves_its_devices_failed_never_missing(tmp_path):
    targets = _targets(12)
    store = Store(tmp_path / "s.db")
    fake = _Fake(die_on="sw03", writer=os.getpid())  # sw03 is on the second worker (odd indexes)
    summary = asyncio.run(run_scan(targets, store, ScanOptions(workers=2, processes=2, **FAST),
                                   collectors={"ssh": fake}))
    rows = {r["device"]: r for r in store.scan_devices(summary.scan_id)}
    assert sorted(rows) == [t.name for t in targets]  # every device has its row
    assert summary.ok == 0 and summary.failed == 12 and summary.cancelled == 0
    died = {name for name, r in rows.items() if r["error_kind"] == "internal"}
    assert "sw03" in died and died <= {t.name for t in targets[1::2]}
    for name in died:
        assert "worker process collecting it exited with status 3" in rows[name]["error"]
    # The other worker's devices are untouched by it.
    assert {rows[t.name]["error_kind"] for t in targets[0::2]} == {"command"}
    assert store.scans()[-1]["status"] == "completed"
    store.close()


def test_worker_log_records_reach_the_writer_scrubbed(tmp_path, caplog):
    secret = "s3cr3t-community-value"
    redactor = Redactor()
    redactor.add([secret])
    store = Store(tmp_path / "s.db")
    with caplog.at_level(logging.INFO):
        summary = asyncio.run(run_scan(_targets(4), store, ScanOptions(workers=2, processes=2, **FAST),
                                       redactor=redactor, collectors={"ssh": _Fake(say=secret)}))
    assert summary.failed == 4
    said = [r for r in caplog.records if "the device said" in r.getMessage()]
    assert sorted(r.getMessage().split(":")[0] for r in said) == [f"sw{i:02d}" for i in range(4)]
    assert all(r.process != os.getpid() for r in said)  # they came from the workers
    assert secret not in caplog.text
    store.close()


def _alive_with(marker: str) -> list[int]:
    """Processes whose command line holds ``marker`` (a worker is a fork: the writer's command line)."""
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if marker in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(pid))
            except OSError:
                continue
    return found


def test_ctrl_c_with_workers_cancels_in_flight_and_leaves_no_process(tmp_path):
    with LabThread(fleet.scale_fleet(30, latency=0.5, jitter=0.1)) as lab:
        write_inventory(lab.devices, tmp_path / "inv")
        db = tmp_path / "ctrl-c.db"
        cmd = [sys.executable, "-m", "agent.cli", "scan", "-i", str(tmp_path / "inv"), "--db", str(db),
               "--workers", "10", "--no-progress", "--processes", "2"]
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(5)
        workers = [p for p in _alive_with(str(db)) if p != proc.pid]
        assert len(workers) == 2, workers
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, (out, err)
        assert "Traceback" not in err and "interrupted" in out
        assert _alive_with(str(db)) == []  # the workers went with it
        store = Store(db)
        scan = store.scans()[-1]
        rows = store.scan_devices(scan["id"])
        assert scan["status"] == "interrupted" and 0 < len(rows) < 30
        assert {r["error_kind"] for r in rows if r["status"] == "failed"} == {"cancelled"}
        assert (scan["devices_ok"], scan["devices_cancelled"]) == (
            sum(r["status"] == "ok" for r in rows), sum(r["error_kind"] == "cancelled" for r in rows))
        store.close()
