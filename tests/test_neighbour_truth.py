"""Issue 17 acceptance: the demo lab announces devices that are in no inventory; a scan collects
every device's CDP / LLDP tables and the gap report names each of them with its platform and the
devices that see it, and never a listed device.  The truth is lab.neighbours' data, not a parse
of what the lab printed.  Over SSH (the demo's transport), over SNMP (the CDP / LLDP MIBs) and over
NETCONF (IOS XE's cdp-oper / lldp-oper: only the IOS XE devices' tables are read that way)."""
from __future__ import annotations

import asyncio
import csv
import os

import pytest

from agent.cli import main as cli_main
from agent.collect.inventory import load_inventory
from agent.collect.scan import ScanOptions, run_scan
from agent.reconcile.neighbours_store import gap_report
from agent.store import Store
from agent.store import neighbours as stored
from lab import fleet
from lab import snmp as lab_snmp
from lab.inventory import write_inventory
from lab.server import LabThread

for _env, _value in zip((lab_snmp.AUTH_KEY_ENV, lab_snmp.PRIV_KEY_ENV), lab_snmp.snmp_credentials({})[1:]):
    os.environ.setdefault(_env, _value)

FAST = dict(connect_timeout=2, command_timeout=2, deadline=40, retries=1, retry_backoff=0.2, snmp_timeout=2,
            snmp_retries=1)


@pytest.fixture(scope="module")
def lab():
    with LabThread(fleet.demo_fleet(latency=0.01, jitter=0.25), peers=("snmp", "netconf")) as running:
        yield running


@pytest.fixture(scope="module")
def scans(lab, tmp_path_factory):
    """One store per transport, each scanned once."""
    out = {}
    for transport in ("ssh", "snmp", "netconf"):
        tmp = tmp_path_factory.mktemp(transport)
        write_inventory(lab.devices, tmp / "inv")
        inventory = load_inventory(tmp / "inv")
        store = Store(tmp / "ib.db")
        asyncio.run(run_scan(inventory.targets, store, ScanOptions(workers=20, transport=transport, **FAST)))
        out[transport] = (store, tmp)
    yield out
    for store, _ in out.values():
        store.close()


def _truth(lab):
    return {u.name: u for u in lab.lab.topology.unlisted}


def test_the_lab_truth_has_every_kind_of_stranger(lab):
    truth = _truth(lab)
    cisco = [u for u in truth.values() if u.cisco]
    assert len(cisco) >= 5 and any(not u.cisco for u in truth.values())
    assert any(not u.addresses for u in cisco) and any(len(u.addresses) == 1 for u in cisco)
    assert any(len(u.addresses) > 1 and any(":" in a for a in u.addresses) for u in cisco)
    assert any("(" in u.device_id and u.serial for u in cisco)  # NX-OS name(SERIAL)
    assert any("." in u.device_id for u in cisco)  # domain-suffixed
    assert any(len(u.seers) > 1 for u in cisco)  # several devices see one neighbour
    # Some lab devices have a protocol off, and say so.
    assert any(off for off in lab.lab.topology.off.values())


@pytest.mark.parametrize("transport", ["ssh", "snmp"])
def test_every_unlisted_neighbour_is_reported_with_its_platform_and_seers(lab, scans, transport):
    store, _ = scans[transport]
    report = gap_report(store)
    truth = _truth(lab)
    got = {u.name: u for u in report.cisco}
    want = {name: u for name, u in truth.items() if u.cisco}
    assert set(got) == set(want)
    for name, u in want.items():
        g = got[name]
        assert g.seers == list(u.seers), name
        assert {(s.device, s.local_port) for s in g.seen_by} == set(u.seen_by), name
        if transport == "ssh" or "cdp" in g.protocols:  # SNMP walks no LLDP-MED: a phone's model is CLI-only
            assert g.platform == u.platform, name
        assert set(g.addresses) == set(u.addresses), name
        assert g.serial == (u.serial if transport == "ssh" or "(" in u.device_id else g.serial), name
        assert all(s.capture_id for s in g.seen_by), name  # evidence: the capture each was read from
    # Non-Cisco neighbours are counted, not listed.
    assert {u.name for u in report.other} == {name for name, u in truth.items() if not u.cisco}
    # No listed device is reported: every name the lab gave its own devices is absent.
    listed = {d.name for d in lab.devices} | {d.hostname for d in lab.devices}
    assert not listed & {u.name for u in report.cisco + report.other}


def test_refusals_are_answers_and_the_asa_is_not_asked(lab, scans):
    store, _ = scans["ssh"]
    by_device = {dn.device: dn for dn in stored.latest(store)}
    for d in lab.devices:
        if d.faults:
            continue
        if d.platform == "cisco_asa":
            assert d.name not in by_device  # no neighbour command on an ASA: nothing stored, nothing failed
            continue
        states = {s.protocol: s.state for s in by_device[d.name].status}
        want = {p: ("not-enabled" if p in d.neighbour_off else "read") for p in ("cdp", "lldp")}
        assert states == want, d.name
    rows = {r["device"]: r for r in store.scan_devices(store.latest_scan_id())}
    for d in lab.devices:
        if not d.faults:
            assert rows[d.name]["status"] == "ok", d.name  # CDP off or no command: never a failed device


def test_the_cli_lists_them_and_writes_an_inventory(lab, scans, capsys, monkeypatch):
    store, tmp = scans["ssh"]
    out = tmp / "found.yaml"
    code = cli_main(["neighbours", "--db", str(tmp / "ib.db"), "--format", "csv", "--write-inventory", str(out)])
    assert code == 1  # found some
    rows = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    truth = _truth(lab)
    assert {r["name"] for r in rows} == {n for n, u in truth.items() if u.cisco}
    import yaml

    hosts = yaml.safe_load(out.read_text())
    text = out.read_text()
    for name, u in truth.items():
        if not u.cisco:
            assert name not in hosts
        elif not u.addresses:
            assert name not in hosts and f"# {name}: announces no usable address" in text
    assert hosts and all("password" not in str(h) and "username" not in h for h in hosts.values())
    assert {h["platform"] for h in hosts.values()} <= {"cisco_xe", "cisco_nxos", "cisco_xr", "cisco_ios"}
    assert hosts["leaf-9301"]["platform"] == "cisco_nxos" and hosts["leaf-9301"]["hostname"] == "127.0.9.21"
    # The fragment loads as an inventory (with a password reference from defaults, as a user would add).
    inv = tmp / "next"
    inv.mkdir()
    (inv / "hosts.yaml").write_text(text)
    (inv / "defaults.yaml").write_text("username: admin\npassword: ${IBAGENT_TEST_NEIGHBOUR_PW}\n")
    # A value found nowhere else: the suite's secrets sweep looks for every secret resolved.
    monkeypatch.setenv("IBAGENT_TEST_NEIGHBOUR_PW", "nbr-frag-Q7v2-secret")
    assert {t.name for t in load_inventory(inv).targets} == set(hosts)


def test_the_demo_writes_neighbours_csv_naming_each_unlisted_neighbour(demo_run):
    """Acceptance: `ibagent demo` writes neighbours.csv, each unlisted neighbour with its platform and
    the devices that see it, checked against the demo fleet's truth (computed here from the specs)."""
    from lab.device import RunningDevice
    from lab.neighbours import build
    from lab.server import resolve

    out, proc = demo_run
    assert "Cisco neighbour(s) in no inventory" in proc.stdout
    rows = {r["name"]: r for r in csv.DictReader((out / "neighbours.csv").read_text().splitlines())}
    devices = [RunningDevice(s, "127.0.0.1", 0) for s in resolve(fleet.demo_fleet())]
    truth = {u.name: u for u in build(devices).unlisted}
    assert set(rows) == set(truth)
    for name, u in truth.items():
        r = rows[name]
        assert r["cisco"] == ("yes" if u.cisco else "no"), name
        assert {part.split(" ")[0] for part in r["seen_by"].split("; ")} == set(u.seers), name
        if u.cisco:
            assert r["platform"] == u.platform, name
    # Cisco ones first, and no listed device anywhere in the file.
    flags = [r["cisco"] for r in rows.values()]
    assert flags == sorted(flags, key=lambda f: f != "yes")
    assert not ({d.name for d in devices} | {d.hostname for d in devices}) & set(rows)


def test_over_netconf_the_tables_give_the_same_answer(lab, scans):
    """IOS XE serves CDP and LLDP (its own models), IOS XR and NX-OS LLDP (openconfig-lldp)."""
    store, _ = scans["netconf"]
    report = gap_report(store)
    xe = {d.name for d in lab.devices if d.platform == "cisco_xe"}
    lldp = xe | {d.name for d in lab.devices if d.platform in ("cisco_xr", "cisco_nxos")}
    got = {u.name: u for u in report.cisco + report.other}
    for name, u in _truth(lab).items():
        seen_over = {dev: proto for dev, proto in _protocols(lab, u)}
        seers = sorted(d for d in set(u.seers) if d in xe or (d in lldp and "lldp" in seen_over.get(d, ())))
        if not seers:
            assert name not in got  # seen only by devices whose platform has no neighbour model here
            continue
        assert got[name].seers == seers and got[name].cisco == u.cisco, name
        if "cdp" in got[name].protocols:
            assert got[name].platform == u.platform, name
    listed = {d.name for d in lab.devices} | {d.hostname for d in lab.devices}
    assert not listed & set(got)


def test_reconcile_out_and_the_html_report_carry_the_list(demo_run, tmp_path, capsys):
    out, _ = demo_run
    html = (out / "report.html").read_text()
    assert "Cisco neighbours in no inventory" in html and "leaf-9301" in html and "linux-build-01" not in html
    code = cli_main(["reconcile", "--db", str(out / "ibagent.db"), "--contracts", str(out / "sample-contracts.csv"),
                     "--out", str(tmp_path)])
    assert code in (0, 1)
    assert "neighbours.csv" in capsys.readouterr().err
    beside = {r["name"]: r for r in csv.DictReader((tmp_path / "neighbours.csv").read_text().splitlines())}
    demo = {r["name"]: r for r in csv.DictReader((out / "neighbours.csv").read_text().splitlines())}
    assert beside == demo and beside


def _protocols(lab, u):
    """(lab device, the protocols over which it sees ``u``), from the topology."""
    for d in lab.devices:
        protos = {lk.protocol for lk in (d.neighbour_links or ()) if lk.remote.key == u.name}
        if protos:
            yield d.name, protos
