"""The round trip against a real Nautobot (issue 17, item 5): ibagent reads its inventory from
Nautobot's REST API, scans the lab (127.0.0.1 only), pushes inventory items and DLM contracts back
(dry run first, then --apply, then again: nothing changes), and the test reads them back through
the API and compares them with the lab's hand-written ground truth (lab/truth.py).

Every step runs the ``ibagent`` command as a user would (a subprocess, token by environment
reference), so the CLI wiring is what is tested, not a shortcut around it.
"""
from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab import fleet
from lab.device import ENABLE_ENV, PASSWORD_ENV, default_credentials
from lab.server import LabThread

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nautobot_seed import SeedDevice, seed  # noqa: E402
from nautobot_server import TIMINGS  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
# Six healthy demo devices over the four platforms the issue names (IOS, IOS XE, NX-OS, IOS XR).
LAB = ("hq-acc-stk01", "hq-core-svl01", "br01-rtr01", "br01-acc-sw01", "dc1-leaf01", "dc1-pe01")
ROLE = {"hq-acc-stk01": "access", "br01-acc-sw01": "access", "hq-core-svl01": "core", "br01-rtr01": "wan",
        "dc1-leaf01": "leaf", "dc1-pe01": "wan"}
LOCATION = {"hq": "hq", "branch01": "branch", "dc1": "dc1"}


def _ibagent(*args: str, env: dict[str, str], check: int | None = 0) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "agent.cli", *args], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=600)
    if check is not None:
        assert proc.returncode == check, (proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:])
    return proc


@pytest.fixture(scope="module")
def world(nautobot, tmp_path_factory):
    """The lab running, Nautobot seeded with it (plus three devices the reader must leave out),
    the inventory files beside, and the environment a user would have."""
    import pynautobot

    tmp = tmp_path_factory.mktemp("sot")
    specs = [s for s in fleet.demo_fleet(latency=0.01, jitter=0.25) if s.name in LAB]
    with LabThread(specs) as lab:
        api = pynautobot.api(nautobot.url, token=nautobot.token)
        devices = [SeedDevice(d.name, d.platform, LOCATION[d.site], ROLE[d.name], d.port,
                              tags=["ibagent"] if d.name != "br01-acc-sw01" else []) for d in lab.devices]
        devices += [
            SeedDevice("sot-no-ip", "cisco_xe", "hq", "access", 1, address=False),  # skipped: no primary IP
            SeedDevice("sot-junos", "Juniper Junos", "hq", "access", 1),  # skipped: a platform we do not read
            SeedDevice("sot-planned", "cisco_xe", "hq", "access", 1, status="Planned"),  # filtered out by status
        ]
        t = time.monotonic()
        seed(api, devices)
        TIMINGS["seed"] = round(time.monotonic() - t, 1)
        user = default_credentials()[0]
        (tmp / "defaults.yaml").write_text(
            f"username: {user}\npassword: ${{{PASSWORD_ENV}}}\ndata:\n  enable_secret: ${{{ENABLE_ENV}}}\n")
        env = {**os.environ, "NAUTOBOT_TOKEN": nautobot.token, "PYTHONPATH": str(REPO)}
        yield {"lab": lab, "api": api, "tmp": tmp, "env": env, "url": nautobot.url}


def test_round_trip(world):
    t0 = time.monotonic()
    lab, api, tmp, env, url = world["lab"], world["api"], world["tmp"], world["env"], world["url"]
    db = str(tmp / "ib.db")

    # 1. Inventory from Nautobot, filtered by status; the two unusable devices skipped, each with why.
    spec = f"nautobot+{url}/?status=Active&defaults={tmp / 'defaults.yaml'}"
    scan = _ibagent("scan", "-i", spec, "--db", db, "--connect-timeout", "5", "--command-timeout", "10", env=env)
    assert "skipped device 'sot-no-ip': no primary IP address" in scan.stderr
    assert "skipped device 'sot-junos': platform" in scan.stderr
    assert "sot-planned" not in scan.stderr + scan.stdout
    assert world["env"]["NAUTOBOT_TOKEN"] not in scan.stdout + scan.stderr
    from agent.store import Store
    from agent.store.fleet import device_states, fleet_items

    store = Store(db)
    try:
        fleet = fleet_items(store)
        states = {s.device: s for s in device_states(store)}
    finally:
        store.close()
    assert set(states) == set(LAB)
    assert all(s.latest_status == "ok" for s in states.values()), {d: s.latest_error for d, s in states.items()}

    # A role/tag filter narrows the same inventory (read only, no scan).
    from agent.collect.inventory import load_inventory
    narrowed = load_inventory(f"nautobot+{url}/?tag=ibagent&role=access&defaults={tmp / 'defaults.yaml'}", env=env)
    assert [t.name for t in narrowed.targets] == ["hq-acc-stk01"]
    assert narrowed.targets[0].port == lab.device("hq-acc-stk01").port
    at_hq = load_inventory(f"nautobot+{url}/?site=hq&status=Active&defaults={tmp / 'defaults.yaml'}", env=env)
    assert sorted(t.name for t in at_hq.targets) == ["hq-acc-stk01", "hq-core-svl01"]  # site= is a location
    assert {t.site for t in at_hq.targets} == {"hq"}
    from agent.collect.inventory import InventoryError
    with pytest.raises(InventoryError, match="HTTP 403") as refused:  # a wrong token: said, never shown
        load_inventory(spec, env={**env, "NAUTOBOT_TOKEN": "0" * 40})
    assert "0" * 40 not in str(refused.value)

    # 2. Contracts by hand: two contracts over serials the lab really has (chassis of four devices).
    chassis = {d.name: d.truth.chassis_serial for d in lab.devices}
    pid = {d.name: d.truth.chassis_pid for d in lab.devices}
    contracts = tmp / "coverage.csv"
    with open(contracts, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["serialNumber", "productId", "contractNumber", "serviceLevel", "coverageStartDate",
                    "coverageEndDate"])
        for name, number in (("hq-acc-stk01", "900100"), ("hq-core-svl01", "900100"), ("dc1-leaf01", "900200"),
                             ("dc1-pe01", "900200")):
            w.writerow([chassis[name], pid[name], number, "8X5XNBD", "2026-01-01", "2027-12-31"])

    # 3. The CSV import files, loaded the way Nautobot documents (its REST API takes text/csv, as
    # its import page does): one device's inventory items, and the DLM provider.  The dry run then
    # finds exactly those items unchanged: the CSV carries what the push would write.
    out = tmp / "csv"
    _ibagent("export", "nautobot", "--db", db, "--out", str(out), "--contracts", str(contracts), env=env)
    with open(out / "nautobot-inventory-items.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    pe_rows = [r for r in rows[1:] if r[0] == "dc1-pe01"]
    assert pe_rows
    _post_csv(url, "dcim/inventory-items", [rows[0], *pe_rows], env["NAUTOBOT_TOKEN"])
    if _dlm(api):
        _post_csv(url, "plugins/nautobot-device-lifecycle-mgmt/provider",
                  list(csv.reader(open(out / "nautobot-dlm-providers.csv", newline=""))), env["NAUTOBOT_TOKEN"])

    # 4. Dry run: says what it would create, writes nothing.
    dry = _ibagent("export", "nautobot", "--db", db, "--push", url, "--contracts", str(contracts), env=env)
    assert "dry run, nothing written" in dry.stdout
    assert "create inventory item hq-acc-stk01 / " in dry.stdout
    assert "create inventory item dc1-pe01" not in dry.stdout
    assert f"unchanged: {len(pe_rows)} inventory item(s)" in dry.stdout, dry.stdout
    assert "create contract 900100" in dry.stdout
    assert len(api.dcim.inventory_items.all()) == len(pe_rows)
    assert len(api.plugins.nautobot_device_lifecycle_mgmt.contract.all()) == 0 if _dlm(api) else True

    # 5. Apply, then read back through the API and compare with the ground truth.
    applied = _ibagent("export", "nautobot", "--db", db, "--push", url, "--contracts", str(contracts), "--apply",
                       env=env)
    assert "applied" in applied.stdout, applied.stdout
    by_device: dict[str, set] = {}
    for item in api.dcim.inventory_items.filter(depth=1):
        by_device.setdefault(dict(item)["device"]["name"], set()).add((item.serial, item.part_id.rstrip("=")))
    from truth_checks import truth_items
    for device in lab.devices:
        assert by_device.get(device.name) == truth_items(device.truth), device.name
    assert sum(len(v) for v in by_device.values()) == len(fleet)

    if _dlm(api):
        got = {c.name: c for c in api.plugins.nautobot_device_lifecycle_mgmt.contract.filter(depth=1, exclude_m2m=False)}
        assert set(got) == {"900100", "900200"}
        covered = {d["name"] for d in dict(got["900100"])["devices"]}
        assert covered == {"hq-acc-stk01", "hq-core-svl01"}
        assert str(got["900200"].end) == "2027-12-31" and got["900200"].support_level == "8X5XNBD"
        rel = api.extras.relationships.get(key="contractlcm_to_inventoryitem")
        tied = {dict(a)["destination_id"]: dict(a)["source_id"]
                for a in api.extras.relationship_associations.filter(relationship=rel.key)}
        items = {i.serial: i.id for i in api.dcim.inventory_items.all()}
        assert tied[items[chassis["dc1-leaf01"]]] == got["900200"].id
        assert tied[items[chassis["hq-acc-stk01"]]] == got["900100"].id
        assert len(tied) == 4

    # 6. Pushed again: nothing to do (idempotent), and nothing was ever deleted.
    again = _ibagent("export", "nautobot", "--db", db, "--push", url, "--contracts", str(contracts), env=env)
    assert "0 to create, 0 to update" in again.stdout, again.stdout

    # 7. The DLM contracts file imports as Nautobot documents it (names changed: these exist now).
    if _dlm(api):
        with open(out / "nautobot-dlm-contracts.csv", newline="") as fh:
            contract_rows = list(csv.reader(fh))
        assert contract_rows[0][0] == "name"
        _post_csv(url, "plugins/nautobot-device-lifecycle-mgmt/contract",
                  [contract_rows[0], *[["csv-" + r[0], *r[1:]] for r in contract_rows[1:]]], env["NAUTOBOT_TOKEN"])
        imported = api.plugins.nautobot_device_lifecycle_mgmt.contract.get(name="csv-900200")
        assert str(imported.end) == "2027-12-31" and imported.support_level == "8X5XNBD"

    # 8. A later contract file adds a device to 900100, on which someone has put a device by hand:
    # the update adds ours and keeps theirs (devices are never taken off a contract).
    if _dlm(api):
        app = api.plugins.nautobot_device_lifecycle_mgmt
        c100 = app.contract.get(name="900100", exclude_m2m=False)
        by_hand = api.dcim.devices.get(name="sot-planned").id
        app.contract.update([{"id": c100.id, "devices": [d["id"] for d in dict(c100)["devices"]] + [by_hand]}])
        with open(contracts, "a", newline="") as fh:
            csv.writer(fh).writerow([chassis["br01-rtr01"], pid["br01-rtr01"], "900100", "8X5XNBD", "2026-01-01",
                                     "2027-12-31"])
        more = _ibagent("export", "nautobot", "--db", db, "--push", url, "--contracts", str(contracts), "--apply",
                        env=env)
        assert "update contract 900100: devices:" in more.stdout, more.stdout
        after = app.contract.get(name="900100", depth=1, exclude_m2m=False)
        assert {d["name"] for d in dict(after)["devices"]} == {"hq-acc-stk01", "hq-core-svl01", "br01-rtr01",
                                                                "sot-planned"}
    TIMINGS["round_trip_test"] = round(time.monotonic() - t0, 1)


def _post_csv(url: str, endpoint: str, rows: list[list[str]], token: str) -> None:
    import io

    import requests

    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    resp = requests.post(f"{url}/api/{endpoint}/", data=buf.getvalue().encode(), timeout=60,
                         headers={"Authorization": f"Token {token}", "Content-Type": "text/csv",
                                  "Accept": "application/json"})
    assert resp.status_code == 201, (resp.status_code, resp.text[:2000])


def _dlm(api) -> bool:
    try:
        api.plugins.nautobot_device_lifecycle_mgmt.contract.count()
        return True
    except Exception:  # noqa: BLE001 - the app is not installed: 404
        return False
