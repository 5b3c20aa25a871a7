"""Unit tests of the normalisation rules (agent/normalize.py docstring, FORMATS.md section 4)."""
from __future__ import annotations

import pytest

import corpus_util  # noqa: F401 - puts the repo on sys.path
import parsers
from agent.core.models import Capture, RawComponent
from agent.normalize import (
    base_pid,
    canonical_serial,
    canonical_version,
    classify,
    is_refurbished,
    records_from_captures,
    version_key,
)

# ------------------------------------------------------------------ serials


@pytest.mark.parametrize("raw,canon", [
    ("FOC2611X0AB", "FOC2611X0AB"),
    ("  foc2611x0ab  ", "FOC2611X0AB"),
    ("SN: FOC2611X0AB", "FOC2611X0AB"),
    ("S:FXS1712Q1R8", "FXS1712Q1R8"),
    ("S/N: JAE2445044T", "JAE2445044T"),
    ("Serial Number: ABC123", "ABC123"),
    ("JMX8318372GB     ", "JMX8318372GB"),
    ('"FCW2303D16Y"', "FCW2303D16Y"),
    ("INL24374088-A", "INL24374088-A"),  # hyphen suffix kept
    ("DTS2552D511-B", "DTS2552D511-B"),
    ("N/A", ""), ("NA", ""), ("None", ""), ("<empty>", ""), ("-", ""), ("", ""), (None, ""), ("0000000", ""),
])
def test_canonical_serial(raw, canon):
    assert canonical_serial(raw) == canon


@pytest.mark.parametrize("serial", ["9NZ7O74FICQ", "9A5BHB00D2D", "9A5GDAFMPL1", "FOC0O0O0O0", "E289E87566C"])
def test_canonical_serial_never_swaps_o_and_zero(serial):
    assert canonical_serial(serial) == serial
    assert canonical_serial(serial.lower()) == serial


def test_canonical_serial_idempotent():
    for raw in ("SN: foc1", " S:FXS1 ", "9nz7o74ficq"):
        once = canonical_serial(raw)
        assert canonical_serial(once) == once


# ------------------------------------------------------------------ PIDs


@pytest.mark.parametrize("pid,base,refurb", [
    ("WS-SUP720-3BXL=", "WS-SUP720-3BXL", False),
    ("NM-1FE-TX=", "NM-1FE-TX", False),
    ("C9300-48P-RF", "C9300-48P", True),
    ("C9300-48P-RF=", "C9300-48P", True),
    ("C9300-48P-A", "C9300-48P-A", False),  # bundle suffix is significant
    ("ISR4331/K9", "ISR4331/K9", False),  # /K9 is significant
    ("PID: X    ,".split(":")[1].strip(" ,"), "X", False),
    ("ASAv", "ASAv", False),  # case kept
    ("  N9K-C93180YC-EX     ", "N9K-C93180YC-EX", False),
    ("", "", False),
])
def test_base_pid_and_refurbished(pid, base, refurb):
    assert base_pid(pid) == base
    assert is_refurbished(pid) is refurb


# ------------------------------------------------------------------ versions


@pytest.mark.parametrize("platform,a,b", [
    ("cisco_xe", "17.09.04a", "17.9.4a"),
    ("cisco_xe", "17.03.03 - SMU-PATCHED", "17.3.3"),
    ("cisco_xe", "17.07.01prd16", "17.7.1"),
    ("cisco_xe", "16.06.05", "16.6.5"),
    ("cisco_xe", "17.06.01", "17.6.1"),
    ("cisco_ios", "17.09.04a", "17.9.4a"),  # IOS XE collected as cisco_ios
    ("cisco_xe", "03.06.07E", "3.6.7E"),
    ("cisco_xe", "03.13.04.S - Extended Support Release", "3.13.4S"),
    ("cisco_nxos", "10.2(3)", "10.2.3"),
    ("cisco_nxos", "10.2(3) [Feature Release]", "10.2.3"),
    ("cisco_nxos", "10.4(3) [build 10.4(2)IMG9(0.27)]", "10.4(3)"),
    ("cisco_nxos", "9.3(10)", "9.3.10"),
    ("cisco_xr", "6.4.2[Default]", "6.4.2"),
    ("cisco_xr", "7.9.2 LNT", "7.9.2"),
    ("cisco_asa", "9.14(2)15", "9.14.2.15"),
    ("cisco_asa", "9.14(2)15 <context>", "9.14(2)15"),
    ("cisco_ios", "Cisco IOS Software, C2960 Software (C2960-LANBASEK9-M), Version 15.0(2)SE4, RELEASE SOFTWARE (fc1)", "15.0(2)SE4"),
])
def test_versions_that_are_equal(platform, a, b):
    assert canonical_version(platform, a) == canonical_version(platform, b)


@pytest.mark.parametrize("platform,raw,canon", [
    ("cisco_xe", "17.09.04a", "17.9.4a"),
    ("cisco_xe", "17.03.03 - SMU-PATCHED", "17.3.3"),
    ("cisco_xe", "17.07.01prd16", "17.7.1"),
    ("cisco_nxos", "7.0(3)I7(9)", "7.0(3)I7(9)"),  # train kept
    ("cisco_nxos", "6.0(2)U6(10)", "6.0(2)U6(10)"),
    ("cisco_nxos", "8.4(2b)", "8.4(2b)"),
    # Cisco's own form is the canonical one; tails dropped, interim builds kept whole (issue 13).
    ("cisco_nxos", "10.2(3)", "10.2(3)"),
    ("cisco_nxos", "10.2(3) [Feature Release]", "10.2(3)"),
    ("cisco_nxos", "10.3(4a) [Maintenance Release]", "10.3(4a)"),
    ("cisco_nxos", "9.3(8) [build 9.3(8)]", "9.3(8)"),
    ("cisco_nxos", "10.2.3", "10.2(3)"),
    ("cisco_nxos", "16.1(2.133b)", "16.1(2.133b)"),
    ("cisco_nxos", "8.1(1) [build 8.1(0.129)] [gdb]", "8.1(1)"),
    ("cisco_ios", "15.3(20121015:193729)", "15.3(20121015:193729)"),  # IOSd engineering build, whole
    ("cisco_xr", "7.5.2", "7.5.2"),
    ("cisco_xr", "24.1.1", "24.1.1"),
    ("cisco_xr", "6.1.4.10I[Default]", "6.1.4.10I"),
    ("cisco_asa", "9.14(2)15", "9.14(2)15"),
    ("cisco_asa", "8.4(1)", "8.4(1)"),
    ("cisco_ios", "15.2(2)E8", "15.2(2)E8"),
    ("cisco_ios", "12.2(55)SE8", "12.2(55)SE8"),
    ("cisco_xe", "15.3(2)S1", "15.3(2)S1"),
    ("cisco_xe", "", ""),
])
def test_canonical_version(platform, raw, canon):
    assert canonical_version(platform, raw) == canon


@pytest.mark.parametrize("platform,a,b", [
    ("cisco_nxos", "16.1(2.133b)", "16.1"),  # an interim build is not every 16.1 release
    ("cisco_nxos", "16.1(2.133b)", "16.1(2)"),
    ("cisco_nxos", "10.2(3)", "10.2(4)"),
    ("cisco_ios", "15.3(20121015:193729)", "15.3"),
])
def test_versions_that_differ(platform, a, b):
    assert canonical_version(platform, a) != canonical_version(platform, b)


@pytest.mark.parametrize("platform,older,newer", [
    ("cisco_xe", "17.9.4", "17.9.4a"),
    ("cisco_xe", "17.9.4a", "17.10.1"),
    ("cisco_xe", "16.12.4", "17.03.03"),
    ("cisco_xe", "03.06.07E", "16.06.05"),
    ("cisco_nxos", "9.3(9)", "9.3(10)"),
    ("cisco_nxos", "7.0(3)I7(9)", "9.3(6)"),
    ("cisco_nxos", "10.2(3)", "10.4(3)"),
    ("cisco_nxos", "16.1(1)", "16.1(2.133b)"),
    ("cisco_nxos", "16.1(2.133b)", "16.1(3)"),
    ("cisco_xr", "7.5.2", "24.1.1"),
    ("cisco_xr", "6.9.2", "7.11.1"),
    ("cisco_asa", "9.14(2)15", "9.14(3)"),
    ("cisco_asa", "9.8(4)10", "9.14(2)15"),
    ("cisco_ios", "15.2(2)E8", "15.2(2)E10"),
    ("cisco_ios", "12.2(55)SE8", "15.0(2)SE4"),
])
def test_version_key_orders_releases(platform, older, newer):
    assert version_key(platform, older) < version_key(platform, newer)


# ------------------------------------------------------------------ classification


@pytest.mark.parametrize("name,descr,pid,cls", [
    ("Chassis", "Cisco ISR4331 Chassis", "ISR4331/K9", "chassis"),
    ("Rack 0", "ASR 9906 4 Line Card Slot Chassis", "ASR-9906", "chassis"),
    ("chassis ASR-9006", "ASR 9006 4 Line Card Slot Chassis with V2 AC PEM", "ASR-9006", "chassis"),
    ("Switch 1 Chassis", "Cisco Catalyst 9600 Series 6 Slot Chassis", "C9606R", "chassis"),
    ("c93xx Stack", "c93xx Stack", "C9300-24T", "other"),
    ("FEX 106 CHASSIS", "N2K-C2248TP-E-1GE  CHASSIS", "N2K-C2248TP-E-1GE", "fex"),
    ("Power Supply 1", "Nexus9000 C9396PX Chassis Power Supply", "N9K-PAC-650W", "psu"),
    ("power-module 0/PS0/M0/SP", "3kW AC V2 Power Module", "PWR-3KW-AC-V2", "psu"),
    ("Fan 1", "Nexus9000 C9396PX Chassis Fan Module", "N9K-C9300-FAN2", "fan"),
    ("fantray 0/FT0/SP", "ASR-9006 Fan Tray V2", "ASR-9006-FAN-V2", "fan"),
    ("TenGigabitEthernet1/1/1", "SFP-10GBase-SR", "SFP-10G-SR", "optic"),
    ("module mau 0/1/0/0", "10GBASE-LR SFP+ Module for SMF", "SFP-10G-LR", "optic"),
    ("Ethernet1/1", "FiberStore", "", "optic"),
    ("subslot 0/0 transceiver 2", "GE T", "SFP-GE-T", "optic"),
    ("module 0/RSP0/CPU0", "ASR9K Route Switch Processor with 440G/slot Fabric and 6GB", "A9K-RSP440-TR", "supervisor"),
    ("Slot 3 Supervisor", "Cisco Catalyst 9400 Series Supervisor 1 Module", "C9400-SUP-1", "supervisor"),
    ("module 0/1/CPU0", "160G Modular Linecard, Packet Transport Optimized", "A9K-MOD160-TR", "linecard"),
    ("0/0", "24X10G/1G Packet Transport Optimized LC", "A9K-24X10GE-1G-TR", "linecard"),
    ("module 0/1/0", "ASR 9000 8-port 10GE Modular Port Adapter", "A9K-MPA-8X10GE", "module"),
    ("NIM subslot 0/1", "NIM-ES2-4", "NIM-ES2-4", "module"),
    ("NIM subslot 0/0", "Front Panel 3 ports Gigabitethernet Module", "ISR4331-3x1GE", "module"),
    ("Switch 1 FRU Uplink Module 1", "8x10G Uplink Module", "C9300-NM-8X", "module"),
    ("StackPort1/1", "StackPort1/1", "STACK-T1-50CM", "other"),
])
def test_classify(name, descr, pid, cls):
    got, reason = classify(RawComponent(name=name, descr=descr, pid=pid, serial="X"), stacked=True)
    assert got == cls, reason
    assert reason


def test_switch_row_is_a_stack_member_only_on_a_stack():
    row = RawComponent(name="Switch 1", descr="C9300-24T", pid="C9300-24T", serial="FCW1")
    assert classify(row, stacked=True)[0] == "stack-member"
    assert classify(row, stacked=False)[0] == "chassis"


# ------------------------------------------------------------------ records_from_captures

INV = """NAME: "Chassis", DESCR: "Cisco ISR4331 Chassis"
PID: ISR4331/K9        , VID: V04  , SN: FDO2201A0SR

NAME: "NIM subslot 0/0", DESCR: "Front Panel 3 ports Gigabitethernet Module"
PID: ISR4331-3x1GE     , VID: V01  , SN: FDO2201A0SR

NAME: "Power Supply Module 0", DESCR: "250W AC Power Supply for Cisco ISR 4330"
PID: PWR-4330-AC=      , VID: V02  , SN: sn: pst2150n1e2
"""
VER = """Cisco IOS XE Software, Version 17.09.04a
Cisco IOS Software [Cupertino], ISR Software (X86_64_LINUX_IOSD-UNIVERSALK9-M), Version 17.9.4a, RELEASE SOFTWARE (fc3)
rtr1 uptime is 1 week, 2 days, 3 hours, 4 minutes
cisco ISR4331/K9 (1RU) processor with 1795979K/6147K bytes of memory.
Processor board ID FDO2201A0SR
"""


def _cap(command, output, transport="ssh", id=1, error=None):
    return Capture(device="r1", platform="cisco_xe", transport=transport, command=command, output=output,
                   started=0.0, ended=1.0, error=error, id=id)


def test_records_from_captures_fills_everything():
    rec = records_from_captures("r1", "cisco_xe", [_cap("show version", VER, id=10), _cap("show inventory", INV, "netconf", 11)])
    f = rec.facts
    assert (f.hostname, f.os_version, f.version) == ("rtr1", "17.09.04a", "17.9.4a")
    assert (f.chassis_pid, f.chassis_serial, f.transport) == ("ISR4331/K9", "FDO2201A0SR", "ssh")
    by = {c.name: c for c in rec.components}
    assert by["Chassis"].contractable and by["Chassis"].cls == "chassis"
    nim = by["NIM subslot 0/0"]
    assert not nim.contractable and "repeating the chassis serial" in nim.reason  # ISR built-in NIM
    psu = by["Power Supply Module 0"]
    assert (psu.pid, psu.base_pid, psu.serial_raw, psu.serial) == ("PWR-4330-AC=", "PWR-4330-AC", "sn: pst2150n1e2", "PST2150N1E2")
    assert psu.parent == "Chassis"
    assert all(c.transport == "netconf" and c.capture_id == 11 for c in rec.components)
    assert rec.problems == []


def test_failed_and_unparseable_captures_become_problems():
    caps = [
        _cap("show version", VER),
        _cap("show inventory", "", error="timeout after 30 s"),
        _cap("show license udi", "% Invalid input detected at '^' marker."),
    ]
    rec = records_from_captures("r1", "cisco_xe", caps)
    assert rec.facts.hostname == "rtr1"
    assert len(rec.problems) == 2
    assert rec.problems[0].startswith("show inventory: capture failed")
    assert "show license udi" in rec.problems[1] and "optional" in rec.problems[1]
    # No inventory: the chassis comes from show version.
    assert [(c.name, c.pid, c.serial, c.contractable) for c in rec.components] == [("Chassis", "ISR4331/K9", "FDO2201A0SR", True)]


def test_nothing_usable_raises_parse_error():
    caps = [_cap("show version", "garbage\x00\x01"), _cap("show inventory", "% Invalid input detected at '^' marker.")]
    with pytest.raises(parsers.ParseError) as exc:
        records_from_captures("r1", "cisco_xe", caps)
    assert "cisco_xe" in str(exc.value)
    with pytest.raises(parsers.ParseError):
        records_from_captures("r1", "cisco_xe", [])


def test_same_item_from_two_captures_is_kept_once():
    inv = 'NAME: "module 0/RSP0/CPU0", DESCR: "RSP"\nPID: A9K-RSP440-TR, VID: V06, SN: FOC1808NEND\n'
    admin = inv + '\nNAME: "chassis ASR-9006", DESCR: "ASR 9006 Chassis"\nPID: ASR-9006, VID: V01, SN: FOX1\n'
    rec = records_from_captures("pe1", "cisco_xr", [
        Capture("pe1", "cisco_xr", "ssh", "show inventory", inv, 0, 0, id=1),
        Capture("pe1", "cisco_xr", "ssh", "admin show inventory", admin, 0, 0, id=2),
    ])
    assert [(c.name, c.capture_id) for c in rec.components] == [("module 0/RSP0/CPU0", 1), ("chassis ASR-9006", 2)]
    # Linked across captures: the admin listing's chassis is the RSP's parent.
    assert rec.components[0].parent == "chassis ASR-9006"
    assert (rec.facts.chassis_pid, rec.facts.chassis_serial) == ("ASR-9006", "FOX1")


def test_license_records_merge_truncated_tags_and_carry_udi():
    summary = """License Usage:
  License                 Entitlement Tag               Count Status
  -----------------------------------------------------------------------------
  network-advantage       (C9300-48 Network Advan...)       1 IN USE
"""
    usage = """network-advantage (C9300-48 Network Advantage):
  Description: C9300-48 Network Advantage
  Count: 1
  Version: 1.0
  Status: IN USE
  Export status: NOT RESTRICTED
  Feature Name: network-advantage
  Feature Description: C9300-48 Network Advantage
  Enforcement type: NOT ENFORCED
  License type: Perpetual
"""
    udi = "UDI: PID:C9300-48P,SN:FOC2611X0AB\n"
    rec = records_from_captures("sw", "cisco_xe", [
        _cap("show license summary", summary, id=1), _cap("show license usage", usage, id=2), _cap("show license udi", udi, id=3)])
    assert len(rec.licenses) == 1
    lic = rec.licenses[0]
    assert (lic.entitlement_tag, lic.count, lic.license_type) == ("C9300-48 Network Advantage", 1, "Perpetual")
    assert (lic.udi_pid, lic.udi_serial, lic.device, lic.transport) == ("C9300-48P", "FOC2611X0AB", "sw", "ssh")
    assert rec.license_status is not None and rec.license_status.udi_serial == "FOC2611X0AB"
