"""Fallback keeps every reason (issue 11, item 7), over the lab's SSH, NETCONF and SNMP peers:
each failed attempt is stored with its transport, the device's headline is the most informative
one, and the scan summary, ``ibagent errors`` and ``ibagent devices --failed`` show them all.
"""
from __future__ import annotations

import asyncio
import csv
import io
import json
import os

import pytest
import yaml

from agent.cli import main as cli_main
from agent.collect.inventory import load_inventory
from agent.collect.scan import ScanOptions, run_scan
from agent.store import Store
from agent.store.failures import FAILURE_COLUMNS, FLEET_FAILURES_SQL
from lab import fleet
from lab.inventory import write_inventory
from lab.server import LabThread

NAMES = ("hq-acc-stk01", "dc1-pe01", "dc1-fw01-pri", "cloud-rtr01")
WRONG_PASSWORD_ENV, WRONG_COMMUNITY_ENV = "IBAGENT_TEST_WRONG_PASSWORD", "IBAGENT_TEST_WRONG_COMMUNITY"
ENABLE_HINT = "enable needed but no enable_secret in the inventory for this host"


@pytest.fixture(scope="module")
def lab():
    specs = [s for s in fleet.demo_fleet(latency=0.01, jitter=0.25) if s.name in NAMES]
    with LabThread(specs, peers=("netconf", "snmp")) as running:
        yield running


def _inventory(lab, directory, names=NAMES, broken=True):
    """[netconf, ssh, snmp] everywhere; with ``broken``: cloud-rtr01 has a wrong password and a wrong
    community, hq-acc-stk01's NETCONF port is closed, dc1-fw01-pri (ASA, needs enable) has no
    enable_secret and SSH only."""
    write_inventory([lab.device(n) for n in names], directory, transports=["netconf", "ssh", "snmp"])
    hosts = yaml.safe_load((directory / "hosts.yaml").read_text())
    if broken:
        for name, data in hosts.items():
            if name == "cloud-rtr01":
                data["password"] = "${" + WRONG_PASSWORD_ENV + "}"
                data["data"].update(snmp_community="${" + WRONG_COMMUNITY_ENV + "}", snmp_timeout=1, snmp_retries=0)
            elif name == "hq-acc-stk01":
                data["data"]["netconf_port"] = 9  # refused: NETCONF fails to connect, SSH collects
            elif name == "dc1-fw01-pri":
                data["data"].pop("enable_secret")
                data["data"]["transports"] = ["ssh"]
    (directory / "hosts.yaml").write_text(yaml.safe_dump(hosts, sort_keys=False))
    return directory


@pytest.fixture(scope="module")
def scanned(lab, tmp_path_factory):
    os.environ[WRONG_PASSWORD_ENV] = "not-the-lab-password"
    os.environ[WRONG_COMMUNITY_ENV] = "not-a-lab-community"
    tmp = tmp_path_factory.mktemp("fallback")
    db = str(tmp / "ib.db")
    inv = _inventory(lab, tmp / "inv")
    capture = pytest.MonkeyPatch()
    out = io.StringIO()
    capture.setattr("sys.stdout", out)
    try:
        code = cli_main(["scan", "-i", str(inv), "--db", db, "--no-progress", "--connect-timeout", "3", "-q"])
    finally:
        capture.undo()
    return db, code, out.getvalue(), tmp


def _cli(capsys, *args) -> str:
    capsys.readouterr()
    assert cli_main(list(args)) == 0
    return capsys.readouterr().out


def _json(capsys, *args) -> list[dict]:
    return json.loads(_cli(capsys, *args, "--format", "json"))


def test_headline_is_the_auth_refusal_and_every_attempt_is_stored(scanned):
    db, code, _, _ = scanned
    assert code == 1
    store = Store(db)
    scan_id = store.latest_scan_id()
    rows = {r["device"]: r for r in store.scan_devices(scan_id)}
    cloud = rows["cloud-rtr01"]
    assert (cloud["status"], cloud["error_kind"], cloud["transport"]) == ("failed", "auth", "netconf")
    assert "no SNMP answer" not in cloud["error"]
    errors = [(e["transport"], e["kind"]) for e in store.errors_of(scan_id) if e["device"] == "cloud-rtr01"]
    assert errors == [("netconf", "auth"), ("ssh", "auth"), ("snmp", "timeout")]
    # Collected over SSH after NETCONF was refused: ok, and the NETCONF failure is kept.
    hq = rows["hq-acc-stk01"]
    assert (hq["status"], hq["transport"], hq["error_kind"]) == ("ok", "ssh", None)
    assert [(e["transport"], e["kind"]) for e in store.errors_of(scan_id) if e["device"] == "hq-acc-stk01"] == \
        [("netconf", "connect")]
    assert rows["dc1-pe01"]["status"] == "ok"
    assert not [e for e in store.errors_of(scan_id) if e["device"] == "dc1-pe01"]
    # The ASA without enable_secret says so, instead of "enable refused".
    fw = rows["dc1-fw01-pri"]
    assert (fw["status"], fw["error_kind"]) == ("failed", "auth") and ENABLE_HINT in fw["error"]
    scan = store.scans()[-1]
    assert (scan["status"], scan["devices_ok"], scan["devices_failed"], scan["devices_cancelled"]) == \
        ("completed", 2, 2, 0)
    store.close()


def test_summary_shows_every_attempt(scanned):
    _, _, out, _ = scanned
    lines = out.splitlines()
    head = next(i for i, line in enumerate(lines) if line.strip().startswith("cloud-rtr01"))
    assert lines[head].split()[1] == "auth"
    attempts = [line.split(None, 2)[:2] for line in lines[head + 1:head + 4]]
    assert attempts == [["netconf", "auth"], ["ssh", "auth"], ["snmp", "timeout"]]
    assert "no SNMP answer" in lines[head + 3]
    assert "collected although a transport failed: 1" in out
    fell_back = next(i for i, line in enumerate(lines) if line.strip() == "hq-acc-stk01")
    assert lines[fell_back + 1].split()[:2] == ["netconf", "connect"]
    assert ENABLE_HINT in out


def test_errors_lists_every_failed_attempt_of_the_latest_scan(scanned, capsys):
    db = scanned[0]
    rows = _json(capsys, "errors", "--db", db)
    assert [(r["device"], r["transport"], r["kind"], r["status"]) for r in rows] == [
        ("cloud-rtr01", "netconf", "auth", "failed"), ("cloud-rtr01", "ssh", "auth", "failed"),
        ("cloud-rtr01", "snmp", "timeout", "failed"), ("dc1-fw01-pri", "ssh", "auth", "failed"),
        ("hq-acc-stk01", "netconf", "connect", "ok"),
    ]
    assert all(r["reason"] and r["at"] and r["scan_id"] == rows[0]["scan_id"] for r in rows)
    assert {r["site"] for r in rows} == {"cloud", "dc1", "hq"}


def test_errors_filters(scanned, capsys):
    db = scanned[0]
    pick = lambda *a: [(r["device"], r["transport"]) for r in _json(capsys, "errors", "--db", db, *a)]  # noqa: E731
    assert pick("--kind", "auth") == [("cloud-rtr01", "netconf"), ("cloud-rtr01", "ssh"), ("dc1-fw01-pri", "ssh")]
    assert pick("--transport", "snmp") == [("cloud-rtr01", "snmp")]
    assert pick("--kind", "auth", "--transport", "ssh") == [("cloud-rtr01", "ssh"), ("dc1-fw01-pri", "ssh")]
    assert pick("--device", "dc1-*") == [("dc1-fw01-pri", "ssh")]
    assert pick("--device", "hq-acc-stk01", "--device", "dc1-fw01-pri") == \
        [("dc1-fw01-pri", "ssh"), ("hq-acc-stk01", "netconf")]
    assert pick("--site", "hq") == [("hq-acc-stk01", "netconf")]
    assert pick("--kind", "garbage") == []


def test_errors_formats(scanned, capsys):
    db = scanned[0]
    table = _cli(capsys, "errors", "--db", db, "--kind", "timeout")
    header, rule, *body = table.splitlines()
    assert header.split() == list(FAILURE_COLUMNS)
    assert len(body) == 1 and "cloud-rtr01" in body[0] and "snmp" in body[0]
    text = _cli(capsys, "errors", "--db", db, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == FAILURE_COLUMNS and len(rows) == 5


def test_devices_failed_shows_each_attempt(scanned, capsys):
    db = scanned[0]
    table = _cli(capsys, "devices", "--db", db, "--failed")
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["device", "site", "platform"] and "reason" in lines[0]
    cloud = [line for line in lines if line.startswith("cloud-rtr01")]
    assert len(cloud) == 3 and sum(" * " in line for line in cloud) == 1
    assert any(" * " in line and " netconf " in line for line in cloud)
    assert any(line.startswith("dc1-fw01-pri") and ENABLE_HINT in line for line in lines)
    assert not any(line.startswith("hq-acc-stk01") for line in lines)  # collected: not failed
    devices = _json(capsys, "devices", "--db", db, "--failed")
    by_name = {d["device"]: d for d in devices}
    assert set(by_name) == {"cloud-rtr01", "dc1-fw01-pri"}
    cloud = by_name["cloud-rtr01"]
    assert (cloud["kind"], cloud["transport"], cloud["last_ok_scan"]) == ("auth", "netconf", None)
    assert [(f["transport"], f["kind"]) for f in cloud["failures"]] == \
        [("netconf", "auth"), ("ssh", "auth"), ("snmp", "timeout")]
    assert all(f["reason"] for f in cloud["failures"])


def test_devices_failed_by_site_and_agent(scanned, capsys):
    """--site/--agent narrow the failed devices to a site, or to the scans an agent ran: a device
    that never collected has no agent holding it in the fleet, but its failing scan has one."""
    db = scanned[0]
    everyone = _json(capsys, "devices", "--db", db, "--failed")
    agent = Store(db, readonly=True).scans()[-1]["agent"]
    assert agent and {d["agent"] for d in everyone} == {agent}
    site = next(d["site"] for d in everyone if d["device"] == "cloud-rtr01")
    at_site = _json(capsys, "devices", "--db", db, "--failed", "--site", site)
    assert "cloud-rtr01" in {d["device"] for d in at_site} and all(d["site"] == site for d in at_site)
    assert len(at_site) < len(everyone) or len({d["site"] for d in everyone}) == 1
    assert _json(capsys, "devices", "--db", db, "--failed", "--agent", agent) == everyone
    assert _json(capsys, "devices", "--db", db, "--failed", "--agent", "nobody-scanned-as-me") == []
    table = _cli(capsys, "devices", "--db", db, "--failed", "--site", "no-such-site")
    assert "cloud-rtr01" not in table


def test_fleet_failures_outlive_a_partial_scan(lab, scanned, capsys):
    """A later scan of other devices leaves the failed devices' latest attempt as it was: --fleet
    and ``devices --failed`` still show them; the latest scan alone does not."""
    db, _, _, tmp = scanned
    store = Store(db)
    first = store.latest_scan_id()
    store.close()
    inv = _inventory(lab, tmp / "partial", names=("dc1-pe01",), broken=False)
    assert cli_main(["scan", "-i", str(inv), "--db", db, "--no-progress", "-q"]) == 0
    assert _json(capsys, "errors", "--db", db) == []
    assert len(_json(capsys, "errors", "--db", db, "--scan", str(first))) == 5
    fleet_rows = _json(capsys, "errors", "--db", db, "--fleet")
    assert {(r["device"], r["scan_id"]) for r in fleet_rows} == \
        {("cloud-rtr01", first), ("dc1-fw01-pri", first), ("hq-acc-stk01", first)}
    assert {d["device"] for d in _json(capsys, "devices", "--db", db, "--failed")} == {"cloud-rtr01", "dc1-fw01-pri"}
    assert _json(capsys, "devices", "--db", db, "--failed", "--scan", str(first + 1)) == []
    # cloud-rtr01 rescanned with its right credentials: no longer failed in the fleet.
    inv = _inventory(lab, tmp / "fixed", names=("cloud-rtr01",), broken=False)
    assert cli_main(["scan", "-i", str(inv), "--db", db, "--no-progress", "-q"]) == 0
    assert {d["device"] for d in _json(capsys, "devices", "--db", db, "--failed")} == {"dc1-fw01-pri"}
    assert "cloud-rtr01" not in {r["device"] for r in _json(capsys, "errors", "--db", db, "--fleet")}


def test_errors_usage(scanned, tmp_path, capsys):
    db = scanned[0]
    assert cli_main(["errors", "--db", str(tmp_path / "none.db")]) == 2
    assert cli_main(["errors", "--db", db, "--scan", "999"]) == 2
    assert "no scan 999" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        cli_main(["errors", "--db", db, "--scan", "1", "--fleet"])
    assert exc.value.code == 2


@pytest.mark.parametrize("driver", ["asyncssh", "netmiko"])
def test_missing_enable_secret_is_named(lab, tmp_path, driver):
    """Both SSH drivers: no enable_secret names the missing secret; a wrong one is "enable refused"."""
    os.environ["IBAGENT_TEST_WRONG_ENABLE"] = "not-the-enable-secret"
    for name, secret in (("missing", None), ("wrong", "${IBAGENT_TEST_WRONG_ENABLE}")):
        write_inventory([lab.device("dc1-fw01-pri")], tmp_path / name, transports=["ssh"])
        hosts = yaml.safe_load((tmp_path / name / "hosts.yaml").read_text())
        hosts["dc1-fw01-pri"]["data"].pop("enable_secret")
        if secret:
            hosts["dc1-fw01-pri"]["data"]["enable_secret"] = secret
        (tmp_path / name / "hosts.yaml").write_text(yaml.safe_dump(hosts, sort_keys=False))
    options = ScanOptions(workers=1, connect_timeout=5, command_timeout=5, deadline=30, ssh_driver=driver)
    for directory, expected in ((tmp_path / "missing", ENABLE_HINT), (tmp_path / "wrong", "enable refused")):
        store = Store(tmp_path / f"{directory.name}.db")
        summary = asyncio.run(run_scan(load_inventory(directory).targets, store, options))
        (row,) = store.scan_devices(summary.scan_id)
        assert (row["status"], row["error_kind"]) == ("failed", "auth"), row["error"]
        assert expected in row["error"] and (expected == ENABLE_HINT) == (ENABLE_HINT in row["error"])
        store.close()


def test_fleet_failures_read_errors_once(tmp_path):
    """errors has no index by device: the fleet read must scan it once, not once per device."""
    store = Store(tmp_path / "plan.db")
    plan = [r["detail"] for r in store.db.execute("EXPLAIN QUERY PLAN " + FLEET_FAILURES_SQL, (None, None))]
    store.close()
    outer = [d for d in plan if d.startswith(("SCAN e", "SCAN l", "SEARCH l"))]
    assert outer[0] == "SCAN e" and not any(d == "SCAN l" for d in outer), plan
