"""``ibagent export nautobot|netbox`` (issue 17 item 4): the desired state from a real scan of the
lab, the CSV import files, and the NetBox push (dry run, --apply, idempotent, never a delete)
through pynetbox against the fake NetBox of tests/sot/netbox_fake.py.  The Nautobot push is tested
against a real Nautobot in tests/sot/test_nautobot_roundtrip.py."""
from __future__ import annotations

import importlib.util
import asyncio
import csv
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from agent.collect.inventory import load_inventory
from agent.collect.scan import ScanOptions, run_scan
from agent.contracts import ContractLine
from agent.core.models import FleetItem
from agent.sot.desired import NAME_MAX, contracts_from_lines, items_from_fleet
from agent.sot.plan import Plan, plan_items
from agent.store import Store
from agent.store.fleet import fleet_items
from lab import fleet
from lab.inventory import write_inventory
from lab.server import LabThread
from truth_checks import truth_items

sys.path.insert(0, str(Path(__file__).resolve().parent / "sot"))
from netbox_fake import TOKEN, FakeNetbox, device  # noqa: E402

# pynetbox is in the test extra; a machine without it skips the NetBox tests, saying so (under
# .ci/run, IBAGENT_CI=1, they run or fail).
needs_pynetbox = pytest.mark.skipif(importlib.util.find_spec("pynetbox") is None and not os.environ.get("IBAGENT_CI"),
                                    reason="pynetbox is not installed (pip install '.[test]')")

REPO = Path(__file__).resolve().parents[1]
LAB = ("hq-acc-stk01", "dc1-leaf01")
FAST = dict(connect_timeout=5, command_timeout=5, deadline=60, retries=1, retry_backoff=0.2)


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("export")
    specs = [s for s in fleet.demo_fleet(latency=0.01, jitter=0.25) if s.name in LAB]
    with LabThread(specs) as lab:
        write_inventory(lab.devices, tmp / "inv")
        store = Store(tmp / "ib.db")
        asyncio.run(run_scan(load_inventory(tmp / "inv").targets, store, ScanOptions(workers=4, **FAST)))
        items = fleet_items(store)
        store.close()
        yield {"lab": lab, "db": tmp / "ib.db", "tmp": tmp, "fleet": items}


def _ibagent(*args, env=None, check=0):
    proc = subprocess.run([sys.executable, "-m", "agent.cli", *args], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, **(env or {})}, timeout=300)
    if check is not None:
        assert proc.returncode == check, (proc.stdout[-2000:], proc.stderr[-2000:])
    return proc


# -- desired state and plan: pure --------------------------------------------------------------------

def test_items_named_uniquely_and_clipped():
    fleet_rows = [FleetItem("SER1", "PID-A", "PID-A=", "d1", name="Transceiver", cls="optic"),
                  FleetItem("SER2", "PID-A", "PID-A", "d1", name="Transceiver", cls="optic"),
                  FleetItem("SER3", "PID-B", "PID-B", "d1", name="x" * 200, cls="module")]
    items = items_from_fleet(fleet_rows)
    names = [i.name for i in items]
    assert len(set(names)) == 3 and all(len(n) <= NAME_MAX for n in names)
    assert "Transceiver SER1" in names and "Transceiver SER2" in names
    assert {i.part_id for i in items} == {"PID-A=", "PID-A", "PID-B"}


def test_contracts_span_their_lines_and_name_their_devices():
    fleet_rows = [FleetItem("S1", "P", "P", "d1"), FleetItem("S2", "P", "P", "d2")]
    lines = [ContractLine("S1", "P", "P", "C1", "SNT", date(2026, 1, 1), date(2026, 12, 31)),
             ContractLine("S2", "P", "P", "C1", "SNT", date(2025, 6, 1), date(2027, 5, 31)),
             ContractLine("S9", "P", "P", "C1", "SNT", date(2025, 6, 1), date(2027, 5, 31)),
             ContractLine("S2", "P", "P", "", "SNT", None, None)]
    (c,), notes = contracts_from_lines(lines, fleet_rows)
    assert (c.name, c.start, c.end, c.devices) == ("C1", date(2025, 6, 1), date(2027, 5, 31), {"d1", "d2"})
    assert notes == ["contract C1: 1 serial(s) on no scanned device (S9)"]


def test_plan_creates_updates_and_never_deletes():
    want = items_from_fleet([FleetItem("S1", "P", "P", "d1", name="a"), FleetItem("S2", "P", "P", "d1", name="b"),
                             FleetItem("S3", "P", "P", "d1", name="c"), FleetItem("S4", "P", "P", "gone", name="a")])
    existing = [{"id": 1, "device": "d1", "name": "a", "part_id": "P", "serial": "S1", "description": "ibagent"},
                {"id": 2, "device": "d1", "name": "b", "part_id": "P", "serial": "OLD", "description": "ibagent"},
                {"id": 3, "device": "d1", "name": "hand-made", "part_id": "X", "serial": "H", "description": ""}]
    plan = Plan("t")
    plan_items(plan, want, existing, {"d1": 10})
    kinds = sorted((c.kind, c.key) for c in plan.changes)
    assert kinds == [("create", "d1 / c"), ("update", "d1 / b")]
    update = next(c for c in plan.changes if c.kind == "update")
    assert update.fields == {"serial": "S2"} and update.before == {"serial": "OLD"} and update.target_id == 2
    assert plan.unchanged["inventory item"] == 1 and plan.left_alone["inventory item"] == 1
    assert plan.notes == ["device 'gone' is not in the target: its 1 item(s) skipped (no device is created)"]
    text = plan.text(applied=False)
    assert "update inventory item d1 / b: serial: 'OLD' -> 'S2'" in text and "never deleted" in text


# -- the CLI on a real scan ----------------------------------------------------------------------------

def test_export_csv_files_carry_the_ground_truth(scanned):
    out = scanned["tmp"] / "csv"
    lab = scanned["lab"]
    contracts = scanned["tmp"] / "cov.csv"
    chassis = lab.device("dc1-leaf01").truth.chassis_serial
    contracts.write_text("serialNumber,productId,contractNumber,serviceLevel,coverageStartDate,coverageEndDate\n"
                         f"{chassis},{lab.device('dc1-leaf01').truth.chassis_pid},777,SNT,2026-01-01,2027-01-01\n")
    proc = _ibagent("export", "nautobot", "--db", str(scanned["db"]), "--out", str(out), "--contracts", str(contracts))
    assert "nautobot-inventory-items.csv" in proc.stdout
    with open(out / "nautobot-inventory-items.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["device__name", "name", "manufacturer__name", "part_id", "serial", "discovered",
                             "description"]
    for dev in lab.devices:
        got = {(r["serial"], r["part_id"].rstrip("=")) for r in rows if r["device__name"] == dev.name}
        assert got == truth_items(dev.truth), dev.name
    with open(out / "nautobot-dlm-contracts.csv", newline="") as fh:
        (contract,) = list(csv.DictReader(fh))
    assert contract == {"name": "777", "number": "777", "provider__name": "Cisco", "start": "2026-01-01",
                        "end": "2027-01-01", "support_level": "SNT", "contract_type": "Hardware"}
    with open(out / "nautobot-dlm-coverage.csv", newline="") as fh:
        assert [r["serial"] for r in csv.DictReader(fh)] == [chassis]
    _ibagent("export", "netbox", "--db", str(scanned["db"]), "--out", str(out))
    with open(out / "netbox-inventory-items.csv", newline="") as fh:
        nb_rows = list(csv.DictReader(fh))
    assert list(nb_rows[0])[:3] == ["device", "name", "manufacturer"] and len(nb_rows) == len(rows)


def test_export_refuses_literal_token_and_needs_a_destination(scanned):
    db = str(scanned["db"])
    proc = _ibagent("export", "netbox", "--db", db, "--push", "http://127.0.0.1:9", "--token", TOKEN, check=2)
    assert "never the token itself" in proc.stderr and TOKEN not in proc.stderr
    assert "say where" in _ibagent("export", "netbox", "--db", db, check=2).stderr
    assert "--apply writes" in _ibagent("export", "netbox", "--db", db, "--out", "x", "--apply", check=2).stderr


@needs_pynetbox
def test_netbox_push_dry_run_apply_idempotent(scanned):
    lab = scanned["lab"]
    devices = [device(i, d.name, "cisco-ios-xe", "hq", "access", d.port) for i, d in enumerate(lab.devices, 1)]
    env = {"NETBOX_TOKEN": TOKEN}
    db = str(scanned["db"])
    with FakeNetbox(devices, page=5) as nb:
        dry = _ibagent("export", "netbox", "--db", db, "--push", nb.url, env=env)
        assert "dry run, nothing written" in dry.stdout and nb.items == {}
        assert "create manufacturer Cisco" in dry.stdout
        assert TOKEN not in dry.stdout + dry.stderr
        _ibagent("export", "netbox", "--db", db, "--push", f"netbox+{nb.url}", "--apply", env=env)
        for d in lab.devices:
            got = {(i["serial"], i["part_id"].rstrip("=")) for i in nb.items.values() if i["device"]["name"] == d.name}
            assert got == truth_items(d.truth), d.name
        assert all(i["discovered"] and i["manufacturer"]["id"] for i in nb.items.values())
        again = _ibagent("export", "netbox", "--db", db, "--push", nb.url, env=env)
        assert f"0 to create, 0 to update, {len(nb.items)} unchanged" in again.stdout

        # Someone edits a serial by hand and adds an item of their own: the push puts the serial
        # back (saying old -> new) and leaves their item alone.
        first = min(nb.items)
        real = nb.items[first]["serial"]
        nb.items[first]["serial"] = "EDITED"
        nb.items[99_999] = {**nb.items[first], "id": 99_999, "name": "hand-made", "serial": "MINE"}
        diff = _ibagent("export", "netbox", "--db", db, "--push", nb.url, "--apply", env=env)
        assert f"serial: 'EDITED' -> '{real}'" in diff.stdout
        assert "left alone: 1 inventory item(s)" in diff.stdout
        assert nb.items[first]["serial"] == real and nb.items[99_999]["serial"] == "MINE"
        assert not any(verb == "DELETE" for verb, _ in nb.requests)
