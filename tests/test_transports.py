"""Three transports, one fleet: SSH, NETCONF and SNMP each alone see the same contractable items
(except what docs/TRANSPORTS.md lists), a host's transport list falls back and complements, the same
item seen twice is one item, disagreements are problems, and the CLI forces a transport.
"""
from __future__ import annotations

import asyncio
import json
import os
import stat

import pytest
import yaml

from agent.cli import main as cli_main
from agent.collect.inventory import load_inventory
from agent.core.models import Capture, Target
from agent.normalize import canonical_version
from agent.collect.scan import ScanOptions, _normalise_outcome, _Outcome, _Part, run_scan
from agent.store import Store
from agent.store.views import device_rows
from collectors.base import CollectResult
from lab import entities, fleet, profiles
from lab import snmp as lab_snmp
from lab.inventory import SECRETS_FILE, write_inventory
from lab.server import LabThread
from parsers.snmp import version_from_descr

for _env, _value in zip((lab_snmp.AUTH_KEY_ENV, lab_snmp.PRIV_KEY_ENV), lab_snmp.snmp_credentials({})[1:]):
    os.environ.setdefault(_env, _value)

FAST = dict(connect_timeout=2, command_timeout=2, deadline=40, retries=1, retry_backoff=0.2, snmp_timeout=2,
            snmp_retries=1)
# What a transport cannot see on the demo fleet (docs/TRANSPORTS.md): NETCONF has no agent on ASA and
# classic IOS, so those devices are not collected over NETCONF at all.
NOT_SEEN = {"netconf": {"dc1-fw01-pri", "dc1-fw01-sec", "br01-acc-sw01"}, "snmp": set(), "ssh": set()}
# Fault devices: SSH/NETCONF session faults mean nothing to SNMP, which answers those normally.
SNMP_SILENT = {"lab-fault-auth", "lab-fault-hang"}


@pytest.fixture(scope="module")
def lab():
    with LabThread(fleet.demo_fleet(latency=0.01, jitter=0.25), peers=("netconf", "snmp")) as running:
        yield running


def _scan(lab, tmp, transports=None, force=None, edit=None, devices=None):
    inv = tmp / "inv"
    write_inventory(devices or lab.devices, inv, transports=transports)
    if edit:
        hosts = yaml.safe_load((inv / "hosts.yaml").read_text())
        edit(hosts)
        (inv / "hosts.yaml").write_text(yaml.safe_dump(hosts, sort_keys=False))
    inventory = load_inventory(inv)
    store = Store(tmp / "ib.db")
    summary = asyncio.run(run_scan(inventory.targets, store, ScanOptions(workers=20, transport=force, **FAST)))
    return store, summary


def _items(store, scan_id) -> dict[str, set]:
    out: dict[str, set] = {}
    for r in device_rows(store, scan_id):
        if r["contractable"]:
            out.setdefault(r["device"], set()).add((r["serial"], r["base_pid"]))
    return out


# ------------------------------------------------------------------ the lab's three views agree


@pytest.mark.parametrize("profile", profiles.available())
def test_peer_fixtures_match_the_ground_truth(profile):
    peer = entities.load(profile)
    rows = entities.cli_rows(profile)
    prof = profiles.load(profile)
    values = {"hostname": "h", **{t: f"SN{i:08d}" for i, (t, _) in enumerate(prof.serial_kinds)}}
    ents = entities.device_entities(profile, values)
    with_serial = {(e.serial, e.pid) for e in ents if e.serial}
    from lab.truth import build

    truth = build(prof, values)
    assert {(i.serial, i.pid) for i in truth.items} <= with_serial  # every item, with its PID
    assert {r.name for r in rows} - {e.name for e in ents} <= {"0/RSP0", "0/RSP1", "0/0", "0/1"}  # XR admin twins
    assert canonical_version(prof.platform, version_from_descr(peer.sys_descr)) == \
        canonical_version(prof.platform, prof.os_version)
    assert all(e.parent < e.index for e in ents)


def test_each_transport_alone_sees_what_ssh_sees(lab, tmp_path_factory):
    scans = {t: _scan(lab, tmp_path_factory.mktemp(t), force=t) for t in ("ssh", "netconf", "snmp")}
    ssh_store, ssh_summary = scans["ssh"]
    baseline = _items(ssh_store, ssh_summary.scan_id)
    healthy = [d for d in lab.devices if not d.faults]
    assert set(baseline) >= {d.name for d in healthy}
    for transport, (store, summary) in scans.items():
        items = _items(store, summary.scan_id)
        rows = {r["device"]: r for r in store.scan_devices(summary.scan_id)}
        for device in healthy:
            if device.name in NOT_SEEN[transport]:
                assert rows[device.name]["status"] == "failed" and rows[device.name]["error_kind"] == "config"
                continue
            assert rows[device.name]["status"] == "ok", (transport, device.name, rows[device.name]["error"])
            assert rows[device.name]["transport"] == transport
            assert items[device.name] == baseline[device.name], (transport, device.name)
            assert rows[device.name]["chassis_serial"] == device.truth.chassis_serial
            assert rows[device.name]["version"] == canonical_version(device.platform, device.truth.os_version)
        if transport == "snmp":
            for name in ("lab-fault-disconnect", "lab-fault-garbage", "lab-fault-slow"):
                assert rows[name]["status"] == "ok"
            assert {rows[n]["error_kind"] for n in SNMP_SILENT} == {"timeout"}
        for r in device_rows(store, summary.scan_id):
            assert r["transport"] == transport
        store.close()


def test_transport_list_merges_and_complements(lab, tmp_path):
    healthy = [d for d in lab.devices if not d.faults]  # the faulty ones: test_fallback_...
    store, summary = _scan(lab, tmp_path, transports=["netconf", "ssh", "snmp"], devices=healthy)
    rows = {r["device"]: r for r in store.scan_devices(summary.scan_id)}
    items = _items(store, summary.scan_id)
    for device in healthy:
        row = rows[device.name]
        assert row["status"] == "ok", row["error"]
        truth = {(i.serial, i.pid.rstrip("=")) for i in device.truth.physical}
        assert items[device.name] == truth  # the same item seen twice is one item
        assert json.loads(row["problems"]) == []
        licenses = store.licenses_of(summary.scan_id, device.name)
        status = store.license_status_of(summary.scan_id, device.name)
        if device.platform in ("cisco_asa", "cisco_ios"):
            assert row["transport"] == "ssh"  # no NETCONF agent: SSH is the first transport tried
        else:
            # NETCONF has no Smart Licensing status (and no licences at all on NX-OS / XR): SSH complements.
            assert row["transport"] == "netconf+ssh"
            assert status is not None and status.transport == "ssh"
            expected = "netconf" if device.platform == "cisco_xe" else "ssh"
            assert {u.transport for u in licenses} == {expected}
            assert {u.license for u in licenses} == {t.license for t in device.truth.licenses}
            assert {r["transport"] for r in device_rows(store, summary.scan_id) if r["device"] == device.name} == \
                {"netconf"}
    # SNMP would add nothing SSH or NETCONF did not already give: it was never asked.
    assert store.db.execute("SELECT COUNT(*) FROM captures WHERE transport='snmp'").fetchone()[0] == 0
    store.close()


def test_fallback_on_connect_timeout_and_auth(lab, tmp_path):
    names = ["hq-acc-stk01", "dc1-pe01", "lab-fault-auth", "lab-fault-disconnect"]
    chosen = [lab.device(n) for n in names]

    def edit(hosts):
        hosts["hq-acc-stk01"]["data"].update(transports=["netconf", "ssh"], netconf_port=9)  # refused
        hosts["dc1-pe01"]["data"].update(transports=["snmp", "ssh"])
        hosts["dc1-pe01"]["data"]["snmp_community"] = "${IBAGENT_TEST_WRONG_COMMUNITY}"  # silence: timeout
        hosts["lab-fault-auth"]["data"]["transports"] = ["ssh", "netconf", "snmp"]  # auth, auth, timeout
        hosts["lab-fault-disconnect"]["data"]["transports"] = ["snmp", "ssh"]  # SNMP fine, SSH drops

    os.environ["IBAGENT_TEST_WRONG_COMMUNITY"] = "not-a-lab-community"
    store, summary = _scan(lab, tmp_path, edit=edit, devices=chosen)
    rows = {r["device"]: r for r in store.scan_devices(summary.scan_id)}
    assert (rows["hq-acc-stk01"]["status"], rows["hq-acc-stk01"]["transport"]) == ("ok", "ssh")
    assert (rows["dc1-pe01"]["status"], rows["dc1-pe01"]["transport"]) == ("ok", "ssh")
    auth = rows["lab-fault-auth"]
    # The headline is the refused password, not the SNMP silence that followed it (issue 11, item 7);
    # every attempt's failure is kept.
    assert (auth["status"], auth["error_kind"], auth["transport"]) == ("failed", "auth", "ssh")
    assert [(e["transport"], e["kind"]) for e in store.errors_of(summary.scan_id) if e["device"] == "lab-fault-auth"] \
        == [("ssh", "auth"), ("netconf", "auth"), ("snmp", "timeout")]
    kinds = {(r["transport"], r["error_kind"]) for r in store.db.execute(
        "SELECT transport, error_kind FROM captures WHERE device='hq-acc-stk01'")}
    assert ("ssh", None) in kinds
    # A complement that fails leaves the device collected, and says what is missing and why.
    broken = rows["lab-fault-disconnect"]
    assert (broken["status"], broken["transport"]) == ("ok", "snmp")
    problems = json.loads(broken["problems"])
    assert any(p.startswith("ssh could not complement") and "disconnect" in p for p in problems), problems
    store.close()


def test_disagreeing_transports_are_problems_not_dropped(lab):
    device = lab.device("cloud-rtr01")
    target = Target(name=device.name, host=device.host, platform=device.platform)
    inventory = device.output("show inventory").replace("\r\n", "\n")
    version = device.output("show version").replace("\r\n", "\n")
    ssh = [Capture(device.name, device.platform, "ssh", "show version", version, 0, 0),
           Capture(device.name, device.platform, "ssh", "show inventory", inventory, 0, 0)]
    chassis = device.truth.chassis_serial
    recording = lab_snmp.recording(device).replace(chassis, "9ZZZZZZZZZZ")
    snmp = [Capture(device.name, device.platform, "snmp", "snmp:recording", recording, 0, 0)]
    outcome = _Outcome(CollectResult(target, "ssh+snmp"), ssh + snmp,
                       [_Part("ssh", ssh, {"inventory", "version"}), _Part("snmp", snmp, {"inventory", "version"})])
    records, error = _normalise_outcome(target, outcome)
    assert error is None
    serials = {(c.name, c.serial, c.transport) for c in records.components if c.name == "Chassis"}
    assert serials == {("Chassis", chassis, "ssh"), ("Chassis", "9ZZZZZZZZZZ", "snmp")}
    assert any("Chassis" in p and chassis in p and "9ZZZZZZZZZZ" in p for p in records.problems), records.problems
    # The same item seen by both transports stays one item.
    rp0 = [c for c in records.components if c.name == "module R0"]
    assert len(rp0) == 1 and rp0[0].transport == "ssh"


def test_cli_forces_a_transport_and_devices_json_names_it(lab, tmp_path, capsys):
    write_inventory([lab.device("dc1-leaf01"), lab.device("br01-rtr01")], tmp_path / "inv",
                    transports=["ssh"])
    db = str(tmp_path / "cli.db")
    assert cli_main(["scan", "-i", str(tmp_path / "inv"), "--db", db, "--transport", "snmp", "--no-progress",
                     "--connect-timeout", "3", "-q"]) == 0
    capsys.readouterr()
    assert cli_main(["devices", "--db", db, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and {r["transport"] for r in rows} == {"snmp"}
    assert {r["device"] for r in rows} == {"dc1-leaf01", "br01-rtr01"}


def test_lab_inventory_references_peer_secrets(lab, tmp_path):
    write_inventory(lab.devices, tmp_path / "v2", transports=["netconf", "ssh", "snmp"])
    hosts = yaml.safe_load((tmp_path / "v2" / "hosts.yaml").read_text())
    defaults = yaml.safe_load((tmp_path / "v2" / "defaults.yaml").read_text())
    secrets_file = tmp_path / "v2" / SECRETS_FILE
    assert defaults["credentials_file"] == SECRETS_FILE
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    for device in lab.devices:
        data = hosts[device.name]["data"]
        assert data["snmp_port"] == device.snmp_port and data.get("netconf_port") == device.netconf_port
        assert data["snmp_community"] == f"file:snmp_community_{device.name}"
        assert data["transports"] == ["netconf", "ssh", "snmp"]
    for path in (tmp_path / "v2").iterdir():
        if path.name != SECRETS_FILE:
            assert not any(d.snmp_community in path.read_text() for d in lab.devices)
    targets = {t.name: t for t in load_inventory(tmp_path / "v2").targets}
    assert targets["dc1-pe01"].options["snmp_community"] == lab.device("dc1-pe01").snmp_community
    write_inventory(lab.devices, tmp_path / "v3", snmp_version="3")
    data = yaml.safe_load((tmp_path / "v3" / "hosts.yaml").read_text())["dc1-pe01"]["data"]
    assert data["snmp_auth_key"] == "${" + lab_snmp.AUTH_KEY_ENV + "}"
    assert data["snmp_priv_key"] == "${" + lab_snmp.PRIV_KEY_ENV + "}"
    target = {t.name: t for t in load_inventory(tmp_path / "v3").targets}["dc1-pe01"]
    assert target.options["snmp_version"] == "3" and target.options["snmp_auth_key"] == lab_snmp.DEFAULT_AUTH_KEY
