"""`ibagent demo` end to end: README command 1 works, and its reports show every status on the right items."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lab import sample_contracts


@pytest.fixture(scope="module")
def demo_out(demo_run):
    return demo_run  # one demo run for the whole session (tests/conftest.py)


def _rows(out: Path, name: str) -> list[dict]:
    doc = json.loads((out / "reports" / f"{name}.json").read_text())
    return doc["rows"] if isinstance(doc, dict) else doc


def test_demo_runs_and_exits_1_for_the_faulty_devices_only(demo_out):
    out, proc = demo_out
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    for kind in ("auth", "timeout", "disconnect", "garbage"):
        assert kind in proc.stdout
    assert "10 ok, 4 failed" in proc.stdout
    devices = json.loads((out / "devices.json").read_text())
    for key in ("hostname", "platform", "site", "name", "class", "pid", "base_pid", "serial", "version", "contractable"):
        assert all(key in d for d in devices)
    assert (out / "devices.csv").read_text().startswith("hostname,platform,site,name,class")
    assert (out / "ibagent.db").exists()


def test_demo_reports_every_status_on_the_right_items(demo_out):
    out, _ = demo_out
    deployed = {r["serial"]: r for r in json.loads(
        subprocess.run([sys.executable, "-m", "agent.cli", "reconcile", "--db", str(out / "ibagent.db"),
                        "--contracts", str(out / "sample-contracts.csv"), "--eox", str(out / "sample-eox.json"),
                        "--format", "json"], capture_output=True, text=True, timeout=120, check=True).stdout)}
    by_status: dict[str, set] = {}
    for r in deployed.values():
        by_status.setdefault(r["status"], set()).add((r["serial"], r["hostname"] or r["device"]))
    assert set(by_status) == {"covered", "expiring", "lapsed", "uncovered", "not-seen", "unverified", "rma-swap",
                              "end-of-support"}
    assert {s for s, _ in by_status["not-seen"]} == {sample_contracts.RETIRED_ISR[0]}
    assert {s for s, _ in by_status["unverified"]} == {sample_contracts.FAULT_SITE_ITEM[0]}
    assert {h for _, h in by_status["expiring"]} == {"br01-rtr01"}
    assert {h for _, h in by_status["lapsed"]} == {"cloud-rtr01"}
    assert {h for _, h in by_status["end-of-support"]} == {"br01-acc-sw01"}
    swaps = [deployed[s] for s, _ in by_status["rma-swap"]]
    assert len(swaps) == 2 and {r["seen"] for r in swaps} == {True, False}
    assert all(r["slot"] == "Switch 2" or r["name"] == "Switch 2" for r in swaps if r["seen"])
    # The quote lists the demo wrote hold the same items.
    assert {r["serial"] for r in _rows(out, "drop")} == {sample_contracts.RETIRED_ISR[0]}
    assert {r["serial"] for r in _rows(out, "transfer")} == {r["serial"] for r in swaps}
    assert (out / "reports" / "reconcile.xlsx").exists()
