"""Collecting neighbours (issue 17): the commands and tables are platform data, a refused or failed
neighbour table never fails a device nor drags in another transport, and the lab prints, for every
platform, tables that ibagent's parsers read back as the lab's topology says."""
from __future__ import annotations

import asyncio
import time

import pytest

import parsers
from agent.collect.scan import _covered, _provides
from agent.core import platforms
from agent.core.models import Capture, Target
from agent.normalize import records_from_captures
from collectors.base import CollectError
from collectors.snmp import NEIGHBOUR_WALKS, SnmpCollector
from lab import fleet, neighbour_text
from lab.device import RunningDevice
from lab.neighbours import build
from lab.server import resolve

CDP, LLDP = "show cdp neighbors detail", "show lldp neighbors detail"


@pytest.mark.parametrize("name", platforms.names())
def test_neighbour_commands_are_optional_platform_data(name):
    plat = platforms.get(name)
    commands = [c for c in plat.ssh.commands if c in (CDP, LLDP)]
    tables = plat.snmp.get("neighbour_tables") or ()
    if name == "cisco_asa":  # neither protocol on an ASA: nothing sent, over any transport
        assert commands == [] and not tables and "neighbours" not in _provides("snmp", name)
        return
    assert commands == [CDP, LLDP] and set(commands) <= plat.ssh.optional
    assert all(plat.ssh.provides[c] == ("neighbours",) for c in commands)
    assert set(tables) <= set(NEIGHBOUR_WALKS) and tables and "neighbours" in _provides("snmp", name)


def test_a_refused_or_disabled_table_still_covers_the_datum():
    now = time.time()
    refused = Capture("r1", "cisco_xe", "ssh", LLDP, "% Invalid input detected at '^' marker.", now, now,
                      error="device rejected the command", error_kind="command")
    off = Capture("r1", "cisco_xe", "ssh", CDP, "% CDP is not enabled", now, now)
    assert _covered("ssh", "cisco_xe", [refused, off]) == {"neighbours"}  # so no other transport is run for it


def test_a_failed_snmp_walk_is_a_failed_capture_not_a_failed_device():
    class Silent:
        async def bulk(self, cursors, n):
            raise CollectError("timeout", "no SNMP answer within 2s")

    sink: list[Capture] = []
    target = Target(name="sw1", host="127.0.0.1", platform="cisco_xe", transports=("snmp",))
    asyncio.run(SnmpCollector()._neighbours(target, Silent(), "cdpCacheTable", 25, sink))
    [cap] = sink
    assert cap.command == "snmp:cdpCacheTable" and cap.error_kind == "timeout" and not cap.ok
    assert "neighbours" not in _covered("snmp", "cisco_xe", sink)


def test_an_empty_snmp_walk_is_a_table_read_with_no_entry():
    for command, protocol in (("snmp:cdpCacheTable", "cdp"), ("snmp:lldpRemTable", "lldp")):
        result = parsers.parse("cisco_xe", command, "")
        assert result.neighbours == [] and [(s.protocol, s.state) for s in result.neighbour_status] == [(protocol, "read")]
    with pytest.raises(parsers.ParseError):
        parsers.parse("cisco_xe", "snmp:entPhysicalTable", "")  # any other empty walk is still nothing


def _lab(n_scale: int = 0):
    specs = fleet.demo_fleet() if not n_scale else fleet.scale_fleet(n_scale)
    devices = [RunningDevice(s, "127.0.0.1", 0) for s in resolve(specs)]
    return devices, build(devices)


@pytest.mark.parametrize("which", ["demo", "scale"])
def test_what_the_lab_prints_is_its_topology(which):
    devices, topo = _lab(0 if which == "demo" else 40)
    for d in devices:
        d.neighbour_links, d.neighbour_off = topo.links.get(d.name), topo.off.get(d.name, frozenset())
        for command, protocol in neighbour_text.COMMANDS.items():
            text = d.output(command)
            if not neighbour_text.supports(d.platform):
                assert text is None  # the ASA: the command does not exist
                continue
            result = parsers.parse(d.platform, command, text.replace("\r\n", "\n"))
            [status] = result.neighbour_status
            if protocol in d.neighbour_off:
                assert status.state == "not-enabled" and not result.neighbours
                continue
            want = [(lk.local_port, lk.remote.device_id, lk.remote_port) for lk in d.neighbour_links
                    if lk.protocol == protocol]
            if protocol == "lldp":  # LLDP names a box by its System Name
                want = [(p, next(lk.remote.system_name for lk in d.neighbour_links if lk.local_port == p), r)
                        for p, _, r in want]
            assert [(n.local_port, n.device_id, n.remote_port) for n in result.neighbours] == want, (d.name, command)


def test_the_lab_topology_is_deterministic_and_says_who_is_off():
    (_, a), (_, b) = _lab(), _lab()
    assert [u.to_dict() for u in a.unlisted] == [u.to_dict() for u in b.unlisted]
    assert any(a.off.values())
    # A scale lab: one set of strangers per twelve healthy devices (105 announce here: nine sets),
    # each with a unique name; a stranger whose only seer has its protocol off is seen by nobody.
    _, big = _lab(120)
    names = [u.name for u in big.unlisted]
    assert len(names) == len(set(names)) and 6 * 9 <= len(names) <= 8 * 9
    assert {n.rsplit("-g", 1)[-1] for n in names if "-g" in n} == {str(g) for g in range(1, 9)}


def test_the_lab_snmp_rows_read_back_as_its_links():
    devices, topo = _lab()
    for d in devices:
        d.neighbour_links, d.neighbour_off = topo.links.get(d.name), topo.off.get(d.name, frozenset())
        if not d.neighbour_links:
            continue
        text = "".join(".".join(map(str, oid)) + f"|{tag}|{value}\n" for oid, tag, value in neighbour_text.snmp_rows(d))
        records = records_from_captures(d.name, d.platform, [Capture(d.name, d.platform, "snmp", "snmp:cdpCacheTable",
                                                                     text, 0, 0)])
        got = sorted((n.protocol, n.local_port, n.device_id) for n in records.neighbours)
        want = sorted((lk.protocol, lk.local_port, lk.remote.device_id if lk.protocol == "cdp" else lk.remote.system_name)
                      for lk in d.neighbour_links if lk.protocol not in d.neighbour_off)
        assert got == want, d.name


_NC = "urn:ietf:params:xml:ns:netconf:base:1.0"


def _reply(body: str) -> str:
    return f'<rpc-reply xmlns="{_NC}" message-id="101"><data>{body}</data></rpc-reply>'


def test_ios_xe_neighbour_models_over_netconf():
    cdp = ('<cdp-neighbor-details xmlns="http://cisco.com/ns/yang/Cisco-IOS-XE-cdp-oper"><cdp-neighbor-detail>'
           '<device-id>1</device-id><device-name>Core-1.corp.invalid</device-name>'
           '<local-intf-name>GigabitEthernet1/0/1</local-intf-name><port-id>Te1/1/1</port-id>'
           '<capability><router/><switch/></capability><platform-name>cisco C9500-24Y4C</platform-name>'
           '<version>Cisco IOS Software [Dublin], Version 17.12.4&#x9b;2J\nline 2</version>'
           '<ip-address>127.0.7.1</ip-address><mgmt-address>127.0.7.2</mgmt-address></cdp-neighbor-detail>'
           '</cdp-neighbor-details>')
    result = parsers.parse("cisco_xe", "netconf:cdp", _reply(cdp))
    [n] = result.neighbours
    assert (n.device_id, n.hostname, n.local_port, n.remote_port, n.platform) == (
        "Core-1.corp.invalid", "core-1", "GigabitEthernet1/0/1", "Te1/1/1", "cisco C9500-24Y4C")
    assert n.capabilities == ("router", "switch") and n.addresses == ("127.0.7.1",) and n.mgmt_addresses == ("127.0.7.2",)
    assert "\x9b" not in n.software and "\\x9b" in n.software and n.cisco  # an 8-bit CSI is shown, not sent
    lldp = ('<lldp-entries xmlns="http://cisco.com/ns/yang/Cisco-IOS-XE-lldp-oper"><lldp-intf-details>'
            '<if-name>Gi1/0/2</if-name><lldp-neighbor-details><identifier>1</identifier>'
            '<chassis-id>0200.5e00.0001</chassis-id><port-id>eth0</port-id><system-name>build-1</system-name>'
            '<system-desc>Debian GNU/Linux 12</system-desc><mgmt-addrs><mgmt-addr>127.0.7.3</mgmt-addr></mgmt-addrs>'
            '</lldp-neighbor-details></lldp-intf-details></lldp-entries>')
    [m] = parsers.parse("cisco_xe", "netconf:lldp", _reply(lldp)).neighbours
    assert (m.local_port, m.device_id, m.mgmt_addresses, m.cisco) == ("Gi1/0/2", "build-1", ("127.0.7.3",), False)
    # No neighbour: IOS XE sends no empty list; the filter's reply is an empty <data/>: read, no entry.
    empty = parsers.parse("cisco_xe", "netconf:cdp", _reply(""))
    assert empty.neighbours == [] and [(s.protocol, s.state) for s in empty.neighbour_status] == [("cdp", "read")]
    # An rpc-error (the model is missing on this release) is no table.
    error = (f'<rpc-reply xmlns="{_NC}" message-id="1"><rpc-error><error-type>application</error-type>'
             '<error-tag>unknown-element</error-tag><error-severity>error</error-severity></rpc-error></rpc-reply>')
    with pytest.raises(parsers.ParseError):
        parsers.parse("cisco_xe", "netconf:cdp", error)


def test_openconfig_lldp_over_netconf():
    body = ('<lldp xmlns="http://openconfig.net/yang/lldp"><interfaces><interface><name>GigabitEthernet0/0/0/1</name>'
            '<neighbors><neighbor><id>x</id><state><system-name>edge-9.corp.invalid</system-name>'
            '<system-description>Cisco IOS XR Software, Version 7.3.2</system-description>'
            '<chassis-id>7069.5a00.0001</chassis-id><port-id>Gi0/0/0/3</port-id>'
            '<management-address>::FFFF:127.0.7.9</management-address></state>'
            '<capabilities><capability><name>oc-lldp-types:ROUTER</name><state><name>ROUTER</name>'
            '<enabled>true</enabled></state></capability><capability><name>MAC_BRIDGE</name><state>'
            '<enabled>false</enabled></state></capability></capabilities></neighbor></neighbors></interface>'
            '</interfaces></lldp>')
    for platform in ("cisco_xr", "cisco_nxos"):
        result = parsers.parse(platform, "netconf:lldp", _reply(body))
        [n] = result.neighbours
        assert (n.local_port, n.hostname, n.remote_port, n.chassis_id) == (
            "GigabitEthernet0/0/0/1", "edge-9", "Gi0/0/0/3", "7069.5a00.0001")
        assert n.mgmt_addresses == ("::ffff:127.0.7.9",) and n.capabilities == ("ROUTER",) and n.cisco
        assert [(s.protocol, s.state) for s in result.neighbour_status] == [("lldp", "read")]
