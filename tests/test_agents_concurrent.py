"""Issue 16 item 5: three agents, each a separate process with its own lab site, scan at the same
time into one PostgreSQL store; the merged fleet must hold every device of every lab with every
serial the labs' ground truth prints, each device held by the agent that scanned it, nothing
claimed twice and nothing lost.  Only 127.0.0.1 (and 127.0.k.1, the same loopback interface)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import pytest

from lab.device import ENABLE_ENV, PASSWORD_ENV, USERNAME_ENV, default_credentials
from lab.process import LabProcess

REPO = Path(__file__).resolve().parents[1]
AGENTS = ("east", "west", "plant")
PER_SITE = 6


def _env() -> dict[str, str]:
    user, password, enable = default_credentials()
    env = {**os.environ, USERNAME_ENV: user, PASSWORD_ENV: password, ENABLE_ENV: enable}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def _cli(*args: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "agent.cli", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.fixture(scope="module")
def labs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("agents")
    with ExitStack() as stack:
        started = []
        for k, agent in enumerate(AGENTS):
            # Each site its own slice of the scale fleet (distinct names and serials) on its own address.
            lab = LabProcess(fleet="scale", count=PER_SITE, first=k * PER_SITE, latency=0.05,
                             host=f"127.0.{k}.1" if k else "127.0.0.1", inventory_dir=tmp / f"inv-{agent}")
            stack.enter_context(lab)
            started.append(lab)
        yield dict(zip(AGENTS, started))


def test_three_agents_scan_concurrently_into_one_postgresql_store(labs, pg_url):
    env = _env()
    t0 = time.monotonic()
    procs = {agent: _cli("scan", "--agent", agent, "-i", str(lab.inventory_dir), "--db", pg_url,
                         "--no-progress", "--processes", "1", "-q", env=env)
             for agent, lab in labs.items()}
    outputs = {agent: p.communicate(timeout=300)[0] for agent, p in procs.items()}
    elapsed = time.monotonic() - t0
    for agent, p in procs.items():
        # The scale fleet has no faulty devices: every device of every site must be collected.
        assert p.returncode == 0, f"agent {agent} exited {p.returncode}:\n{outputs[agent]}"

    from agent.store import Store
    from agent.store.views import device_rows

    store = Store(pg_url, readonly=True)
    try:
        scans = store.db.execute("SELECT id, agent, status, started, ended FROM scans ORDER BY id").fetchall()
        found: dict[str, set[str]] = {}
        for row in device_rows(store):
            found.setdefault(row["device"], set()).add(row["serial"])
        held = {r["device"]: r["agent"] for r in store.db.execute(
            "SELECT d.device, s.agent FROM device_latest l JOIN devices d ON d.scan_id = l.last_attempt "
            "AND d.device = l.device JOIN scans s ON s.id = d.scan_id")}
    finally:
        store.close()
    # One completed scan per agent, and they overlapped in time (the point of a lock per scope).
    assert sorted(r["agent"] for r in scans) == sorted(AGENTS)
    assert all(r["status"] == "completed" for r in scans)
    spans = sorted((r["started"], r["ended"]) for r in scans)
    assert spans[1][0] < spans[0][1], f"the scans ran one after another ({spans}; {elapsed:.1f} s in all)"
    # The merged fleet: every device of every lab, held by its own agent, every printed serial found.
    truth = {d.name: (agent, {i.serial for i in d.truth.physical if i.serial}) for agent, lab in labs.items()
             for d in lab.devices}
    assert set(found) == set(truth)
    assert held == {name: agent for name, (agent, _) in truth.items()}
    for name, (_, serials) in truth.items():
        assert serials <= found[name], (name, serials - found[name])

    # 'ibagent agents' names the three, each with its own devices, and no device claimed by two.
    p = _cli("agents", "--db", pg_url, "--json", "--devices", env=env)
    out = p.communicate(timeout=60)[0]
    assert p.returncode == 0, out
    rows = {r["agent"]: r for r in json.loads(out)}
    assert set(rows) == set(AGENTS)
    for agent in AGENTS:
        assert rows[agent]["devices"] == PER_SITE, rows[agent]
        assert set(rows[agent]["device_names"]) == {n for n, (a, _) in truth.items() if a == agent}
        assert rows[agent]["status"] == "completed" and rows[agent]["contested"] == 0, rows[agent]
