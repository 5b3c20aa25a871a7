"""Issue 12, item 4 (NETCONF): a hello without its end marker, and a reply that never ends, end the
device as ``garbage`` within a time bound and with the scan process's memory bounded.

Each case runs a real ``ibagent scan`` in a child process against a hostile peer on loopback
(``lab.hostile``) and reads the child's own peak RSS from ``os.wait4``.  Before the cap, an endless
hello grew one scan to 564 MB in 15 s and 1.2 GB in 45 s; the timeouts below are generous (30 s),
so only the byte cap can end the fast cases in time.
"""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from lab.hostile import HostileNetconf

ROOT = Path(__file__).resolve().parents[2]
RSS_LIMIT_MIB = 200
CAP = "a NETCONF message went on past 16 MiB without its end marker"


def scan_child(tmp: Path, port: int, timeout: float) -> tuple[int, float, int, str]:
    """(exit code, seconds, peak RSS MiB, output) of ``ibagent scan`` of one NETCONF host at ``port``."""
    inv = tmp / "inv"
    inv.mkdir(exist_ok=True)
    (inv / "hosts.yaml").write_text(yaml.safe_dump({"hostile": {
        "hostname": "127.0.0.1", "platform": "cisco_xe", "username": "admin", "password": "${HOSTILE_PW}",
        "data": {"transports": ["netconf"], "netconf_port": port}}}))
    cmd = [sys.executable, "-m", "agent.cli", "scan", "-i", str(inv), "--db", str(tmp / "ib.db"), "--no-progress",
           "--connect-timeout", str(timeout), "--command-timeout", str(timeout), "--deadline", str(3 * timeout),
           "--retries", "0"]
    env = {**os.environ, "HOSTILE_PW": "hostile-test-pw", "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore"}
    out = tmp / "out.txt"
    started = time.monotonic()
    with out.open("wb") as sink:
        child = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT, env=env, cwd=tmp)
        _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    return child.returncode, time.monotonic() - started, usage.ru_maxrss // 1024, out.read_text()


def _device_row(tmp: Path) -> tuple[str, str, str]:
    with sqlite3.connect(tmp / "ib.db") as db:
        return db.execute("SELECT status, error_kind, error FROM devices WHERE device = 'hostile'").fetchone()


@pytest.mark.parametrize("mode, reason", [
    ("endless-hello", f"NETCONF hello: {CAP}"),
    ("huge-reply", f"netconf:hardware: {CAP}"),
    ("huge-chunk", f"netconf:hardware: {CAP}"),  # base:1.1 framing, one chunk announced as 4 GB
])
def test_endless_netconf_message_fails_fast_and_small(tmp_path, mode, reason):
    with HostileNetconf(mode) as peer:
        code, seconds, rss, output = scan_child(tmp_path, peer.port, timeout=30)
    assert code == 1, output
    assert _device_row(tmp_path) == ("failed", "garbage", reason)
    assert f"hostile                  garbage    {reason}" in output
    assert seconds < 20, f"{mode}: took {seconds:.1f}s"
    assert rss < RSS_LIMIT_MIB, f"{mode}: peak RSS {rss} MiB"
    assert peer.sent < 64 * 2**20, "the client must have hung up soon after the cap"


def test_hello_that_starts_and_never_ends_is_garbage_at_the_connect_timeout(tmp_path):
    with HostileNetconf("slow-hello") as peer:
        code, seconds, rss, output = scan_child(tmp_path, peer.port, timeout=3)
    status, kind, error = _device_row(tmp_path)
    assert (code, status, kind) == (1, "failed", "garbage"), output
    assert error.startswith("NETCONF hello not ended within 3s (") and error.endswith(" bytes without its end marker)")
    assert seconds < 15 and rss < RSS_LIMIT_MIB


def test_hello_cut_off_by_the_peer_is_a_disconnect_not_an_internal_error(tmp_path):
    with HostileNetconf("endless-hello", limit=2 * 2**20) as peer:  # 2 MiB of hello, then the session ends
        code, seconds, rss, output = scan_child(tmp_path, peer.port, timeout=30)
    status, kind, error = _device_row(tmp_path)
    assert (code, status, kind) == (1, "failed", "disconnect"), output
    assert error.startswith("NETCONF session closed during the hello (") and " bytes without its end marker): " in error
    assert len(error) < 400 and seconds < 20 and rss < RSS_LIMIT_MIB
