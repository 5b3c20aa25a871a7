"""SNMP end to end on 127.0.0.1: the lab's snmpsim agent and collectors/snmp.py (v2c, v3 authPriv
SHA/AES, wrong community, wrong v3 keys, silent agents, one engine per run, the snmprec captures).
"""
from __future__ import annotations

import asyncio
import os
import time

import pytest

import parsers
from agent.core.models import Target
from agent.normalize import records_from_captures
from collectors.base import CollectError
from collectors.snmp import ENT_COLUMNS, SnmpCollector
from lab import fleet, snmp as lab_snmp
from lab.server import LabThread
from truth_checks import assert_records_match_truth

HEALTHY = ("hq-acc-stk01", "hq-core-svl01", "dc1-leaf01", "dc1-pe01", "dc1-fw01-pri", "br01-rtr01",
           "br01-acc-sw01", "cloud-rtr01")
USER, AUTH_KEY, PRIV_KEY = lab_snmp.snmp_credentials({})


@pytest.fixture(scope="module")
def lab():
    with LabThread(fleet.demo_fleet(latency=0.0, jitter=0.0), peers=("snmp",)) as running:
        yield running


def _v2c(device, **extra) -> Target:
    return Target(name=device.name, host=device.host, platform=device.platform,
                  options={"snmp_port": device.snmp_port, "snmp_community": device.snmp_community, **extra})


def _v3(device, **extra) -> Target:
    options = {"snmp_port": device.snmp_port, "snmp_version": "3", "snmp_user": USER, "snmp_auth_key": AUTH_KEY,
               "snmp_priv_key": PRIV_KEY, "snmp_auth_proto": "SHA", "snmp_priv_proto": "AES",
               "snmp_context": device.snmp_community, **extra}
    return Target(name=device.name, host=device.host, platform=device.platform, options=options)


def _collect(collector: SnmpCollector, *targets: Target):
    """Collect ``targets`` in one event loop (one scan run); [(captures, error)] per target."""
    async def run():
        out = []
        for target in targets:
            sink: list = []
            try:
                await collector.collect(target, sink)
                out.append((sink, None))
            except CollectError as exc:
                out.append((sink, exc))
        return out

    return asyncio.run(run())


def _check_against_truth(device, sink) -> None:
    # Then the CDP / LLDP tables the platform's data names (issue 17; none on an ASA).
    from collectors.snmp import NEIGHBOUR_WALKS
    from agent.core import platforms

    walks = [NEIGHBOUR_WALKS[t][0] for t in platforms.get(device.platform).snmp.get("neighbour_tables") or ()]
    assert [c.command for c in sink] == ["snmp:system", "snmp:entPhysicalTable", *walks]
    for cap in sink:
        assert cap.ok and cap.transport == "snmp"
        for line in cap.output.splitlines():
            oid, tag, _ = line.split("|", 2)  # snmprec: OID|type|value
            assert oid[0].isdigit() and tag in ("2", "4", "4x", "6", "67")
    columns = {int(line.split("|")[0].split(".")[11]) for line in sink[1].output.splitlines()}
    assert columns == set(ENT_COLUMNS)  # only the eight columns ibagent reads
    records = records_from_captures(device.name, device.platform, sink)
    truth = device.truth
    assert_records_match_truth(records, truth)
    assert all(c.transport == "snmp" for c in records.components)


@pytest.mark.parametrize("engine", ["wire", "pysnmp"])
def test_v2c_every_platform_and_one_engine(lab, engine):
    collector = SnmpCollector(timeout=2, retries=1, engine=engine)
    devices = [lab.device(n) for n in HEALTHY]
    results = _collect(collector, *(_v2c(d) for d in devices))
    for device, (sink, error) in zip(devices, results):
        assert error is None, (device.name, error)
        _check_against_truth(device, sink)
    # The wire engine builds no pysnmp engine for v2c; the pysnmp engine builds one for the run.
    assert collector.engines_created == (0 if engine == "wire" else 1)


def test_v3_authpriv_sha_aes(lab):
    collector = SnmpCollector(timeout=2, retries=1)
    devices = [lab.device(n) for n in ("hq-core-svl01", "dc1-pe01", "dc1-leaf01")]
    results = _collect(collector, *(_v3(d) for d in devices), _v2c(devices[0]))
    for device, (sink, error) in zip(devices, results):
        assert error is None, (device.name, error)
        _check_against_truth(device, sink)
    assert results[-1][1] is None
    assert collector.engines_created == 0  # both versions over the wire: no pysnmp engine built
    pysnmp = SnmpCollector(timeout=2, retries=1, engine="pysnmp")
    again = _collect(pysnmp, *(_v3(d) for d in devices), _v2c(devices[0]))
    assert [[c.output for c in sink] for sink, _ in again] == [[c.output for c in sink] for sink, _ in results]
    assert pysnmp.engines_created == 1  # v2c and one v3 key set share the run's engine


def test_capture_is_the_agents_recording(lab):
    """What the collector stored parses to the same rows as the lab's own recording of the device."""
    device = lab.device("hq-acc-stk01")
    (sink, error), = _collect(SnmpCollector(max_repetitions=3), _v2c(device))  # many GETBULK rounds
    assert error is None
    ours = parsers.parse(device.platform, "snmp:entPhysicalTable", sink[1].output).components
    theirs = parsers.parse(device.platform, "snmp:recording", lab_snmp.recording(device)).components
    assert [(c.source_index, c.name, c.pid, c.serial, c.physical_class, c.parent_ref) for c in ours] == \
        [(c.source_index, c.name, c.pid, c.serial, c.physical_class, c.parent_ref) for c in theirs]
    system = parsers.parse(device.platform, "snmp:system", sink[0].output).facts
    assert system["sys_object_id"].startswith("1.3.6.1.4.1.9.") and "\n" in system["sys_descr"]
    assert "4x|" in sink[0].output  # sysDescr holds CR LF: kept as hex, as snmprec does


def test_wrong_community_is_a_quick_timeout(lab):
    device = lab.device("dc1-pe01")
    started = time.perf_counter()
    (_, error), = _collect(SnmpCollector(timeout=0.5, retries=1), _v2c(device, snmp_community="not-this-one"))
    assert error.kind == "timeout" and "community" in error.message
    assert time.perf_counter() - started < 3


@pytest.mark.parametrize("field", ["snmp_auth_key", "snmp_priv_key"])
def test_wrong_v3_key_is_auth(lab, field):
    device = lab.device("dc1-pe01")
    collector = SnmpCollector(timeout=1, retries=1)
    started = time.perf_counter()
    results = _collect(collector, _v3(device), _v3(device, **{field: "definitely-wrong"}), _v3(lab.device("dc1-leaf01")))
    assert results[0][1] is None
    error = results[1][1]
    assert isinstance(error, CollectError) and error.kind in ("auth", "timeout"), error
    assert error.kind == "auth" and "SNMPv3" in error.message
    assert results[2][1] is None  # the good key set still works after a bad one
    assert time.perf_counter() - started < 10


def test_silent_agent_and_closed_port_time_out(lab):
    collector = SnmpCollector(timeout=0.5, retries=0)
    silent = lab.device("lab-fault-auth")  # no recording for its community: the agent says nothing
    results = _collect(collector, _v2c(silent), _v2c(lab.device("dc1-pe01"), snmp_port=9))
    assert [e.kind for _, e in results] == ["timeout", "timeout"]


def test_configuration_errors(lab):
    device = lab.device("dc1-pe01")
    cases = [
        _v2c(device, snmp_community=None),
        _v3(device, snmp_user=None),
        _v3(device, snmp_auth_proto="ROT13"),
        _v3(device, snmp_auth_key="short"),
        _v2c(device, snmp_version="4"),
    ]
    for _, error in _collect(SnmpCollector(timeout=0.5), *cases):
        assert error.kind == "config", error


def test_engine_from_the_environment(lab, monkeypatch):
    device = lab.device("dc1-pe01")
    monkeypatch.setenv("IBAGENT_SNMP_ENGINE", "pysnmp")
    collector = SnmpCollector(timeout=2)
    (sink, error), = _collect(collector, _v2c(device))
    assert error is None and collector.engines_created == 1  # the previous collector, as the bench runs it
    _check_against_truth(device, sink)
    monkeypatch.setenv("IBAGENT_SNMP_ENGINE", "fast-please")
    (_, error), = _collect(SnmpCollector(timeout=2), _v2c(device))
    assert error.kind == "config" and "IBAGENT_SNMP_ENGINE" in error.message


def test_lab_agent_is_loopback_only_and_one_process(lab):
    agent = lab.lab.snmp
    assert agent.host == "127.0.0.1" and agent.pid and os.path.exists(f"/proc/{agent.pid}")
    assert {d.snmp_port for d in lab.devices} == {agent.port}
    assert len({d.snmp_community for d in lab.devices}) == len(lab.devices)
    assert all(len(d.snmp_community) <= 32 for d in lab.devices)  # also the v3 context name
    assert "snmp_community" not in repr(lab.devices[0]) and "snmp_community" not in lab.devices[0].to_dict()
