"""Neighbours (issue 17, parsing): the record's derived forms and the cisco rule, the refusals that
are answers, the SNMP rows fixtures (fixtures/neighbours/snmp/<platform>__<case>.snmprec beside its
.yml: adding a case is adding those two files), and what ntc-templates loses on the same fixtures
(why parsers/neighbours.py reads them itself)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

import corpus_util  # noqa: F401 - puts the repo on sys.path
import parsers
from agent.core.models import Neighbour, cisco_ouis, cisco_rule, mac_oui, neighbour_names
from parsers import _fsm
from test_parsers_fixtures import _as_dict

REPO = Path(__file__).resolve().parents[1]
SNMP_CASES = sorted((REPO / "fixtures" / "neighbours" / "snmp").glob("*.snmprec"))
CLI_CASES = sorted((REPO / "fixtures" / "parsers").glob("*/show_*_neighbors_detail/*.txt"))


@pytest.mark.parametrize("device_id,expected", [
    ("leaf-101.fabric.invalid(FDO21120U8N)", ("leaf-101.fabric.invalid", "leaf-101", "FDO21120U8N")),
    ("Core-SW1.Corp.Invalid", ("core-sw1.corp.invalid", "core-sw1", "")),
    ("sw1(backup)", ("sw1(backup)", "sw1(backup)", "")),  # letters only: a word, not a serial
    ("sw1(12345678)", ("sw1(12345678)", "sw1(12345678)", "")),  # digits only: not a serial either
    ("(FDO21120U8N)", ("(fdo21120u8n)", "(fdo21120u8n)", "")),  # nothing before it: no name to strip it from
    ("127.0.1.2", ("127.0.1.2", "127.0.1.2", "")),
    ("0000.0c9f.3344", ("0000.0c9f.3344", "0000.0c9f.3344", "")),
    ("::ffff:127.0.1.2", ("::ffff:127.0.1.2", "::ffff:127.0.1.2", "")),
])
def test_neighbour_names(device_id, expected):
    assert neighbour_names(device_id) == expected


def test_record_derives_its_forms_once_whoever_builds_it():
    n = Neighbour("cdp", "Eth1/1", "Spine-1.fabric.invalid(FDO21120U8N)", platform="N9K-C9364C")
    assert (n.name, n.hostname, n.serial, n.serial_source, n.cisco) == (
        "spine-1.fabric.invalid", "spine-1", "FDO21120U8N", "device-id", True)
    # The normaliser fills in the device that saw it: the derived forms follow, they are never passed.
    seen = dataclasses.replace(n, local_device="leaf-101")
    assert seen.local_device == "leaf-101" and seen.name == n.name and seen.cisco
    # An announced LLDP-MED serial wins over a device-id suffix.
    med = Neighbour("lldp", "Gi1/0/5", "SEP00112233AABB", serial="FCH2233A0BC", serial_source="lldp-med")
    assert (med.serial, med.serial_source) == ("FCH2233A0BC", "lldp-med")
    with pytest.raises(dataclasses.FrozenInstanceError):
        n.cisco = False  # type: ignore[misc]


@pytest.mark.parametrize("kw,expected", [
    ({"platform": "cisco WS-C2960X-48FPD-L"}, True),
    ({"platform": "Cisco IP Phone 8845"}, True),
    ({"platform": "N9K-C93180YC-EX"}, True),  # NX-OS: no 'cisco' word, a PID's shape
    ({"platform": "AIR-AP2802I-E-K9"}, True),
    ({"description": "Cisco Nexus Operating System (NX-OS) Software 9.3(8)"}, True),
    ({"manufacturer": "Cisco Systems, Inc."}, True),
    ({"chassis_id": "0000.0c9f.3344"}, True),  # 00000C: Cisco's first OUI
    ({"chassis_id": "00:00:0C:9F:33:44"}, True),
    ({"platform": "VMware ESX", "description": "Releasever 0x0A00"}, False),  # speaks CDP, is no Cisco
    ({"description": "Debian GNU/Linux 12 (bookworm)", "chassis_id": "0200.5e00.0a07"}, False),
    ({"platform": "Franciscoware 3"}, False),  # the word, not a part of one
    ({"chassis_id": "127.0.4.5"}, False),
    ({}, False),
])
def test_cisco_rule(kw, expected):
    assert cisco_rule(**kw) is expected


def test_cisco_ouis_are_the_registry_table():
    ouis = cisco_ouis()
    assert len(ouis) > 1000 and "00000C" in ouis and all(len(o) == 6 for o in ouis)
    assert mac_oui("0000.0c9f.3344") == "00000C" and mac_oui("not a mac") == "" and mac_oui("0000.0c9f.33") == ""


@pytest.mark.parametrize("platform,command,text,state", [
    ("cisco_xe", "show cdp neighbors detail", "% CDP is not enabled\n", "not-enabled"),
    ("cisco_xe", "sh cdp nei det", "c8kv#sh cdp nei det\n% CDP is not enabled\nc8kv#", "not-enabled"),
    ("cisco_nxos", "show lldp neighbors detail", "LLDP is not enabled\n", "not-enabled"),
    ("cisco_xr", "show lldp neighbors detail", "Sun Dec  6 02:11:02.331 UTC\n% LLDP is not enabled\n", "not-enabled"),
    ("cisco_ios", "show lldp neighbors detail", "       ^\n% Invalid input detected at '^' marker.\n", "not-supported"),
    ("cisco_asa", "show cdp neighbors detail", "ERROR: % Invalid input detected at '^' marker.\n", "not-supported"),
    ("cisco_nxos", "show lldp neighbors detail | json", "% Invalid command at '^' marker.\n", "not-supported"),
])
def test_refusals_are_answers_not_failures(platform, command, text, state):
    result = parsers.parse(platform, command, text)
    assert result.neighbours == []
    (status,) = result.neighbour_status
    assert status.state == state and status.protocol in command and status.detail


@pytest.mark.parametrize("text", ["garbage\nmore garbage\n", "Device\n", "%%%\n"])
def test_text_with_no_table_is_a_parse_error(text):
    with pytest.raises(parsers.ParseError, match="neighbour"):
        parsers.parse("cisco_xe", "show cdp neighbors detail", text)


def test_json_only_where_nxos_prints_it():
    with pytest.raises(parsers.ParseError, match="NX-OS only"):
        parsers.parse("cisco_xe", "show cdp neighbors detail | json", '{"TABLE_cdp_neighbor_detail_info": {}}')
    with pytest.raises(parsers.ParseError, match="JSON"):
        parsers.parse("cisco_nxos", "show lldp neighbors detail | json", '{"TABLE_other": {}}')
    assert parsers.parse("cisco_nxos", "show lldp neighbors detail | json", "{}").neighbour_status[0].state == "read"


def test_every_platform_has_both_commands_and_asa_none():
    """The acceptance line: CDP and LLDP detail fixtures on IOS XE, NX-OS, IOS XR (and IOS); ASA
    has neither command, its fixtures are the refusal."""
    for platform in ("cisco_ios", "cisco_xe", "cisco_nxos", "cisco_xr"):
        for slug in ("show_cdp_neighbors_detail", "show_lldp_neighbors_detail"):
            read = [p for p in CLI_CASES if p.parent.parent.name == platform and p.parent.name == slug
                    and "neighbours" in (yaml.safe_load(p.with_suffix(".yml").read_text()) or {})]
            assert read, f"{platform}/{slug}: no case with entries"
    for slug in ("show_cdp_neighbors_detail", "show_lldp_neighbors_detail"):
        for p in (REPO / "fixtures" / "parsers" / "cisco_asa" / slug).glob("*.txt"):
            assert parsers.parse("cisco_asa", slug.replace("_", " "), p.read_text()).neighbour_status[0].state == "not-supported"


@pytest.mark.parametrize("path", SNMP_CASES, ids=[p.name for p in SNMP_CASES])
def test_snmp_rows(path: Path):
    platform = path.name.split("__", 1)[0]
    expected = yaml.safe_load(path.with_suffix(".yml").read_text())
    assert _as_dict(parsers.parse(platform, "snmp:neighbours", path.read_text())) == expected


def test_snmp_rows_fixtures_exist():
    assert len(SNMP_CASES) >= 2
    for p in SNMP_CASES:
        assert p.with_suffix(".yml").is_file(), p


def test_snmp_control_characters_escaped_and_octets_decoded():
    cdp = "1.3.6.1.4.1.9.9.23.1.2.1.1."
    hostile_id = ("\x1b]0;pwn\x07evil" + "x" * 400).encode().hex()
    rows = [f"{cdp}6.3.1|4x|{hostile_id}", f"{cdp}3.3.1|2|20",
            f"{cdp}4.3.1|4x|{'00' * 15}01", f"{cdp}9.3.1|4x|00000009"]
    (n,) = parsers.parse("cisco_xe", "snmp:cdp", "\n".join(rows)).neighbours
    assert "\x1b" not in n.device_id and "\x07" not in n.device_id and n.device_id.startswith("\\x1b]0;pwn\\x07evil")
    assert len(n.device_id) <= 255
    assert n.addresses == ("::1",) and n.capabilities == ("Router", "Switch") and n.local_port == "ifIndex 3"
    # An address whose length does not fit its type is dropped, not guessed.
    rows[2] = f"{cdp}4.3.1|4x|7f000001"
    assert parsers.parse("cisco_xe", "snmp:cdp", "\n".join(rows)).neighbours[0].addresses == ()


def test_snmp_inventory_walk_has_no_neighbour_status():
    """An entPhysicalTable walk is not a neighbour table: no status, so 'not read' stays 'not read'."""
    text = "1.3.6.1.2.1.1.5.0|4|sw1\n"
    result = parsers.parse("cisco_xe", "snmp:system", text)
    assert result.neighbours == [] and result.neighbour_status == []


# ntc-templates on the same fixtures: what each loses (docs/ARCHITECTURE.md, "Neighbours").
def _ntc(platform: str, slug: str, text: str) -> list[dict]:
    ntc_platform = "cisco_ios" if platform == "cisco_xe" else platform
    path = _fsm.template_path("none", slug.replace("_", " "), ntc_platform)
    assert path is not None and "ntc_templates" in str(path)
    return _fsm.parse_rows(path, text)


def test_ntc_templates_lose_what_these_fixtures_hold():
    fx = REPO / "fixtures" / "parsers"
    xe_cdp = (fx / "cisco_xe/show_cdp_neighbors_detail/c9300_access_synthetic.txt").read_text()
    rows = _ntc("cisco_xe", "show_cdp_neighbors_detail", xe_cdp)
    first = next(r for r in rows if r["neighbor_name"].startswith("dist-sw1"))
    assert first["mgmt_address"] == "127.0.1.2"  # one address: the IPv6 ones and the management ones are gone
    ours = parsers.parse("cisco_xe", "show cdp neighbors detail", xe_cdp).neighbours[0]
    assert len(ours.addresses) + len(ours.mgmt_addresses) == 5
    nx_lldp = (fx / "cisco_nxos/show_lldp_neighbors_detail/n9k_leaf_synthetic.txt").read_text()
    names = [r["neighbor_name"] for r in _ntc("cisco_nxos", "show_lldp_neighbors_detail", nx_lldp)]
    assert len(parsers.parse("cisco_nxos", "show lldp neighbors detail", nx_lldp).neighbours) == 3
    assert len(names) < 3 or "null" in names  # the chassis-id-only entry is lost or named 'null'


# ---------------------------------------------------------------- through the normaliser and `ibagent parse`

def test_the_normaliser_ties_each_neighbour_to_the_device_that_saw_it(tmp_path, capsys):
    import json as _json
    import time as _time

    from agent.cli import main
    from agent.core.models import Capture
    from agent.normalize import records_from_captures

    cdp_dir = REPO / "fixtures" / "parsers" / "cisco_xe" / "show_cdp_neighbors_detail"
    read = next(p for p in sorted(cdp_dir.glob("*.txt")) if "not enabled" not in p.read_text())
    refused = REPO / "fixtures" / "parsers" / "cisco_asa" / "show_cdp_neighbors_detail"
    now = _time.time()
    caps = [Capture("edge-1", "cisco_xe", "ssh", "show cdp neighbors detail", read.read_text(), now, now)]
    records = records_from_captures("edge-1", "cisco_xe", caps)
    assert records.neighbours and {n.local_device for n in records.neighbours} == {"edge-1"}
    assert [(s.protocol, s.state) for s in records.neighbour_status] == [("cdp", "read")]
    # A refusal is an answer: the device is not 'unparseable' for it.
    asa = next(iter(sorted(refused.glob("*.txt"))))
    caps = [Capture("fw-1", "cisco_asa", "ssh", "show cdp neighbors detail", asa.read_text(), now, now)]
    records = records_from_captures("fw-1", "cisco_asa", caps)
    assert records.neighbours == [] and records.neighbour_status[0].state == "not-supported"
    # `ibagent parse` shows them (json), so a capture can be checked by hand as a scan would read it.
    assert main(["parse", str(read), "--platform", "cisco_xe", "--command", "show cdp neighbors detail",
                 "--format", "json"]) == 0
    out = _json.loads(capsys.readouterr().out)
    assert len(out["neighbours"]) == len(records_from_captures(
        "x", "cisco_xe", [Capture("x", "cisco_xe", "file", "show cdp neighbors detail", read.read_text(), now, now)]
    ).neighbours)
    assert out["neighbour_status"] == [{"protocol": "cdp", "state": "read", "detail": ""}]
