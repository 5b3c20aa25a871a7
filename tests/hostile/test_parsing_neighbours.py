"""Hostile neighbour tables (issue 17 on issue 12's rules): a device chooses what it announces and
what its neighbours announce reaches it.  Huge entry counts are bounded (more than
parsers.neighbours.MAX_ENTRIES is refused by name, in bounded time), very long lines are cut,
control characters never pass through, deep JSON is a ParseError; each parse ends in bounded time.
The long-line and generated attacks of test_parsing_hostile_lines.py cover these commands too (they
are in parsers.COMMANDS)."""
from __future__ import annotations

import json
import time

import pytest

import parsers
from parsers.neighbours import MAX_ENTRIES, MAX_FIELD, MAX_TEXT

CDP_ENTRY = ("-------------------------\nDevice ID: sw{i}.corp.invalid\nEntry address(es): \n  IP address: 127.0.{a}.{b}\n"
             "Platform: cisco WS-C2960X-48FPD-L,  Capabilities: Switch IGMP \n"
             "Interface: GigabitEthernet1/0/1,  Port ID (outgoing port): GigabitEthernet0/1\nHoldtime : 137 sec\n\n"
             "Version :\nCisco IOS Software, Version 15.2(7)E4\n\nadvertisement version: 2\n")


def _cdp(n: int) -> str:
    return "".join(CDP_ENTRY.format(i=i, a=i // 250 % 250, b=i % 250 + 1) for i in range(n))


def _timed(fn, *args):
    t0 = time.perf_counter()
    try:
        out = fn(*args)
    except parsers.ParseError as exc:
        out = exc
    return out, time.perf_counter() - t0


def test_the_bound_itself_parses_and_one_more_is_refused_by_name():
    result, took = _timed(parsers.parse, "cisco_xe", "show cdp neighbors detail", _cdp(MAX_ENTRIES))
    assert len(result.neighbours) == MAX_ENTRIES and took < 20, took
    refused, took = _timed(parsers.parse, "cisco_xe", "show cdp neighbors detail", _cdp(MAX_ENTRIES + 1))
    assert isinstance(refused, parsers.ParseError) and "more than 20000 entries" in str(refused)
    assert "cisco_xe" in str(refused) and "show cdp neighbors detail" in str(refused) and took < 20


def test_snmp_rows_past_the_bound_are_refused():
    rows = "\n".join(f"1.3.6.1.4.1.9.9.23.1.2.1.1.6.{i}.1|4|sw{i}" for i in range(MAX_ENTRIES + 1))
    refused, took = _timed(parsers.parse, "cisco_xe", "snmp:cdpCacheTable", rows)
    assert isinstance(refused, parsers.ParseError) and "neighbour rows" in str(refused) and took < 20


@pytest.mark.parametrize("command,line", [
    ("show cdp neighbors detail", "Device ID: " + "a" * 60_000),
    ("show cdp neighbors detail", "Platform: " + "x," * 30_000 + "Capabilities: " + "Router " * 5_000),
    ("show cdp neighbors detail", "Interface: " + "Gi" * 30_000 + ",  Port ID (outgoing port): " + "p" * 30_000),
    ("show lldp neighbors detail", "System Name: " + " " * 60_000 + "x"),
    ("show lldp neighbors detail", "Enabled Capabilities: " + "B," * 30_000),
])
def test_very_long_lines_are_cut_in_bounded_time(command, line):
    text = "------\n" + line + "\nLocal Intf: Gi1/0/1\nChassis id: 0000.0c9f.3344\nDevice ID: x\n"
    result, took = _timed(parsers.parse, "cisco_xe", command, text)
    assert took < 0.5, took
    for n in result.neighbours:
        for value in (n.device_id, n.platform, n.local_port, n.remote_port, n.system_name):
            assert len(value) <= MAX_FIELD
        assert len(n.capabilities) <= 32 and len(n.description) <= MAX_TEXT


def test_many_addresses_and_text_lines_are_bounded():
    text = ("Device ID: sw1\nEntry address(es): \n" + "".join(f"  IP address: 127.0.{i // 250}.{i % 250}\n" for i in range(5000))
            + "Version :\n" + "line\n" * 10_000 + "\nInterface: Gi1/0/1,  Port ID (outgoing port): Gi0/1\n")
    (n,) = parsers.parse("cisco_xe", "show cdp neighbors detail", text).neighbours
    assert len(n.addresses) == 64 and n.description.count("\n") < 24 and n.remote_port == "Gi0/1"


def test_control_characters_in_a_cli_device_id_never_pass():
    text = "Device ID: evil\x1b[2J\x07sw\x00.corp.invalid\nInterface: Gi1/0/1,  Port ID (outgoing port): Gi0/1\n"
    (n,) = parsers.parse("cisco_xe", "show cdp neighbors detail", text).neighbours
    assert n.device_id == "evilsw.corp.invalid" and n.hostname == "evilsw"  # the escape sequence is gone whole


def test_deep_json_is_a_parse_error():
    deep = "[" * 100_000 + "]" * 100_000
    refused, took = _timed(parsers.parse, "cisco_nxos", "show cdp neighbors detail | json", "{\"a\": " + deep + "}")
    assert isinstance(refused, parsers.ParseError) and took < 2
    wide = json.dumps({"TABLE_nbor_detail": {"ROW_nbor_detail": [{"sys_name": "x"}] * (MAX_ENTRIES + 1)}})
    refused, _ = _timed(parsers.parse, "cisco_nxos", "show lldp neighbors detail | json", wide)
    assert isinstance(refused, parsers.ParseError)


def test_c1_controls_line_separators_and_json_escapes_are_escaped():
    """What the CLI cleaning lets through: an 8-bit CSI (U+009B), U+2028, and controls a JSON string
    spells as \\u escapes."""
    text = "Device ID: sw\u009b2J\u2028x\nInterface: Gi1/0/1,  Port ID (outgoing port): Gi\u00850/1\nVersion :\nIOS \u009b31m\n"
    (n,) = parsers.parse("cisco_xe", "show cdp neighbors detail", text).neighbours
    assert n.device_id == "sw\\x9b2J\\u2028x" and n.remote_port == "Gi\\x850/1" and n.software == "IOS \\x9b31m"
    doc = json.dumps({"TABLE_nbor_detail": {"ROW_nbor_detail": {"sys_name": "a\u001b[2Jb", "l_port_id": "Eth1/1"}}})
    (n,) = parsers.parse("cisco_nxos", "show lldp neighbors detail | json", doc).neighbours
    assert n.device_id == "a\\x1b[2Jb" and n.hostname == "a\\x1b[2jb"
    for value in (n.device_id, n.name, n.hostname):
        assert value.isprintable()
