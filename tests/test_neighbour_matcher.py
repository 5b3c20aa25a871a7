"""The gap report's matching rule on the parser fixtures (issue 17): a neighbour is a known device by
address (an IPv4-mapped spelling too), by name with or without domain in any case, or by announced
serial, and by nothing looser; unknown entries merge over devices and protocols; the inventory
fragment writes only what can be scanned, with no credential."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import yaml

import parsers
from agent.reconcile.neighbours import KnownDevice, KnownIndex, unlisted
from agent.reconcile.neighbours_store import GapReport
from agent.reports.neighbours import inventory_fragment, render

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "parsers"


def _read(platform: str, command: str, case: str, seer: str):
    text = (FIX / platform / command.replace(" ", "_") / f"{case}.txt").read_text()
    return [replace(n, local_device=seer, source=command) for n in parsers.parse(platform, command, text).neighbours]


@pytest.fixture()
def cdp_xe():
    return _read("cisco_xe", "show cdp neighbors detail", "c9300_access_synthetic", "acc-sw1")


@pytest.fixture()
def lldp_xe():
    return _read("cisco_xe", "show lldp neighbors detail", "c9300_access_synthetic", "acc-sw1")


@pytest.fixture()
def cdp_nxos():
    return _read("cisco_nxos", "show cdp neighbors detail", "n9k_leaf_synthetic", "leaf-101")


def _names(entries, known):
    return {u.name for u in unlisted([(n, 1) for n in entries], KnownIndex.of(known))}


def test_nothing_known_lists_every_neighbour_once(cdp_xe):
    names = _names(cdp_xe, [])
    assert "dist-sw1" in names and "ap-lobby-2" in names and "esx-host-03" in names


@pytest.mark.parametrize("known", [
    KnownDevice("DIST-SW1"),  # inventory name, other case, no domain
    KnownDevice("core-a", hostname="dist-sw1.other-domain.invalid"),  # its own show version, another domain
    KnownDevice("Dist-Sw1.Campus-North.Building-7.Corp.Invalid"),  # the full name, other case
    KnownDevice("core-a", host="127.0.1.102"),  # the management address
    KnownDevice("core-a", host="::ffff:127.0.1.2"),  # an entry address, written the other way round
])
def test_a_known_device_is_matched_by_name_domain_case_or_address(cdp_xe, known):
    assert "dist-sw1" not in _names(cdp_xe, [known])
    assert "ap-lobby-2" in _names(cdp_xe, [known])  # and nothing else is taken for it


@pytest.mark.parametrize("known", [
    KnownDevice("dist-sw"),  # a prefix of its name is not its name
    KnownDevice("dist-sw1x"),
    KnownDevice("campus-north"),  # a domain label is not a name
    KnownDevice("core-a", host="127.0.1.10"),  # an address that shares a prefix
    KnownDevice("core-a", serials=("FDO21120U8", )),
])
def test_nothing_looser_matches(cdp_xe, known):
    assert "dist-sw1" in _names(cdp_xe, [known])


def test_a_serial_announced_in_the_device_id_matches_any_serial_of_the_fleet(cdp_nxos):
    assert "spine-1" in _names(cdp_nxos, [])
    assert "spine-1" not in _names(cdp_nxos, [KnownDevice("fabric-spine-a", serials=("PSU123", "FDO21120U8N"))])


def test_entries_merge_over_devices_and_protocols(cdp_xe, lldp_xe):
    other_seer = [replace(n, local_device="acc-sw2", local_port="Gi1/0/48") for n in cdp_xe]
    found = {u.name: u for u in unlisted([(n, 7) for n in cdp_xe + lldp_xe + other_seer], KnownIndex.of([]))}
    dist = found["dist-sw1"]
    assert dist.seers == ["acc-sw1", "acc-sw2"] and dist.protocols == ["cdp", "lldp"]
    assert dist.platform == "cisco C9500-48Y4C" and "Version 17.3.4" in dist.software
    assert {"127.0.1.2", "127.0.1.102"} <= set(dist.addresses)
    # The phone, seen over CDP and LLDP-MED: one neighbour, with the serial LLDP-MED announced.
    phone = found["sep00112233aabb"]
    assert phone.serial and phone.protocols == ["cdp", "lldp"]
    # Not Cisco: ESXi speaks CDP, an LLDP-only Linux host announces a non-Cisco MAC.
    assert not found["esx-host-03"].cisco and not found["0200.5eaa.0101"].cisco
    # A bare Cisco MAC chassis id is Cisco gear, kept apart from the rest.
    assert found["0000.0c9f.3344"].cisco


def test_the_inventory_fragment_writes_only_what_can_be_scanned(cdp_xe, cdp_nxos):
    found = unlisted([(n, 1) for n in cdp_xe + cdp_nxos], KnownIndex.of([]))
    report = GapReport(cisco=[u for u in found if u.cisco], other=[u for u in found if not u.cisco])
    text, written = inventory_fragment(report)
    hosts = yaml.safe_load(text) or {}
    assert written == len(hosts) and "esx-host-03" not in hosts  # non-Cisco: never written
    assert hosts["dist-sw1"]["platform"] == "cisco_xe" and hosts["dist-sw1"]["hostname"] == "127.0.1.102"
    assert hosts["spine-1"]["platform"] == "cisco_nxos"
    for name, host in hosts.items():
        assert set(host) == {"hostname", "platform", "data"}  # no username, password, secret
        assert "neighbour of" in host["data"]["source"]
    for u in report.cisco:
        if u.name not in hosts:
            assert f"# {u.name}" in text  # every one left out is said, with why
    # The table and CSV list the Cisco ones only unless asked.
    assert "esx-host-03" not in render(report, "csv") and "esx-host-03" in render(report, "csv", everything=True)


def test_link_local_addresses_are_not_an_inventory_address(cdp_xe):
    dist = next(n for n in cdp_xe if n.hostname == "dist-sw1")
    only_ll = replace(dist, addresses=("fe80::1",), mgmt_addresses=())
    [u] = unlisted([(only_ll, 1)], KnownIndex.of([]))
    assert u.inventory_address is None
    text, written = inventory_fragment(GapReport(cisco=[u]))
    assert written == 0 and "no usable address" in text


def test_hostile_names_stay_inside_yaml_and_comments(cdp_xe):
    dist = next(n for n in cdp_xe if n.hostname == "dist-sw1")
    evil = replace(dist, device_id="x: {a: 1}\n# injected", platform="cisco ISR4451\nhosts: evil")
    [u] = unlisted([(evil, 1)], KnownIndex.of([]))
    text, _ = inventory_fragment(GapReport(cisco=[u]))
    data = yaml.safe_load(text)
    assert list(data) == [u.name] and set(data[u.name]) == {"hostname", "platform", "data"}
