"""Normalisation on real captures from the corpus: stacks, StackWise Virtual / VSS, FEX,
ASR 9000 line cards and optics, ISR built-in NIMs, virtual stack rows, ASA failover units."""
from __future__ import annotations

import os

import pytest

import corpus_util as cu
from agent.core.models import Capture
from agent.normalize import records_from_captures

ROOT = cu.corpus_root()
if not ROOT.is_dir():
    if os.environ.get("CI"):
        pytest.fail(f"corpus not found at {ROOT}", pytrace=False)
    pytest.skip(f"corpus not found at {ROOT}", allow_module_level=True)


def records(platform: str, *files: tuple[str, str], device: str = "dev"):
    caps = [Capture(device=device, platform=platform, transport="ssh", command=cmd,
                    output=(ROOT / rel).read_text(), started=0.0, ended=0.0, id=i)
            for i, (cmd, rel) in enumerate(files, start=1)]
    return records_from_captures(device, platform, caps)


def by_name(rec):
    return {c.name: c for c in rec.components}


def contractable(rec):
    return [c for c in rec.components if c.contractable]


# ------------------------------------------------------------------ stacks and virtual stack rows


def test_catalyst_3850_stack_five_members_virtual_row_and_cables():
    rec = records("cisco_xe", ("show inventory", "iosxe/show_inventory/genie__generic_rv1_ShowInventory_golden_output_iosxe_c3850.txt"))
    comps = by_name(rec)
    members = [c for c in rec.components if c.cls == "stack-member"]
    assert [m.name for m in members] == [f"Switch {n}" for n in range(1, 6)]
    assert all(m.contractable for m in members)
    assert len({m.serial for m in members}) == 5
    stack_row = comps["c38xx Stack"]
    assert not stack_row.contractable and "virtual stack row" in stack_row.reason
    assert stack_row.serial == comps["Switch 1"].serial
    # Each stack cable shows up on both ports it joins: one item, the second listing is a duplicate.
    cables = [c for c in rec.components if c.pid == "STACK-T1-50CM"]
    assert len(cables) == 10 and len([c for c in cables if c.contractable]) == 5
    assert comps["Switch 3 - Power Supply A"].parent == "Switch 3"
    assert comps["StackPort4/1"].parent == "Switch 4"
    assert rec.facts.chassis_serial == comps["Switch 1"].serial


@pytest.mark.parametrize("rel,row,member", [
    ("iosxe/show_inventory/genie__iosxe_cat9k_c9300_ShowInventory_golden_output_2.txt", "c93xx Stack", "Switch 1"),
    ("iosxe/show_inventory/genie__iosxe_cat9k_c9300_ShowInventory_golden_output_c9500.txt", "c93xx Stack", "Switch 2"),
    ("iosxe/show_inventory/oxidized__ios_C9200L-24P-4G_17.09.04a.txt", "c92xxL Stack", "Switch 1"),
])
def test_virtual_stack_row_repeating_a_member_serial(rel, row, member):
    comps = by_name(records("cisco_xe", ("show inventory", rel)))
    assert comps[row].serial == comps[member].serial
    assert not comps[row].contractable and comps[row].reason.startswith("virtual stack row")
    assert comps[member].contractable


def test_stack_show_version_members_roles_and_active_chassis():
    rec = records("cisco_xe", ("show version", "iosxe/show_version/unicon__iosxe_mock_stack__stack_exec.txt"))
    assert rec.facts.roles == ["Switch 1", "Switch 2 Active", "Switch 3", "Switch 4", "Switch 5"]
    assert (rec.facts.chassis_pid, rec.facts.chassis_serial) == ("WS-C3850-24P", "FCW1914C0JJ")
    # No inventory captured: every member is still a separate contractable item.
    assert [(c.name, c.serial) for c in contractable(rec)] == [
        ("Switch 1", "FOC1914U0LK"), ("Switch 2", "FCW1914C0JJ"), ("Switch 3", "FOC1914X0MX"),
        ("Switch 4", "FCW1914C0FX"), ("Switch 5", "FOC1914X0KJ")]
    assert rec.facts.version == "16.12.20200403"


def test_stack_roles_completed_from_license_ha_udi_list():
    rec = records("cisco_xe",
                  ("show version", "iosxe/show_version/genie__iosxe_ShowVersion_golden_output_9500h_svl.txt"),
                  ("show license all", "iosxe/show_license_all/genie__iosxe_ShowLicenseAll_golden_output_2.txt"))
    # Different devices in the corpus: roles stay as show version states them when serials don't match.
    assert rec.facts.roles == ["Switch 1", "Switch 2"]


# ------------------------------------------------------------------ StackWise Virtual and VSS


def test_stackwise_virtual_c9606r_keeps_both_chassis():
    rec = records("cisco_xe", ("show inventory", "iosxe/show_inventory/genie__iosxe_rv2_ShowInventory_golden_output_2.txt"))
    comps = by_name(rec)
    chassis = [c for c in rec.components if c.cls == "chassis"]
    assert [(c.name, c.serial) for c in chassis] == [("Switch 1 Chassis", "FXS2410Q1MA"), ("Switch 2 Chassis", "FXS2410Q1MH")]
    assert all(c.contractable and not c.parent for c in chassis)
    assert comps["Switch 2 Slot 6 Linecard"].parent == "Switch 2 Chassis"
    assert comps["TwentyFiveGigE2/6/0/11"].parent == "Switch 2 Slot 6 Linecard"
    assert comps["FortyGigabitEthernet2/2/0/1"].serial == "JPC2012003Z-B"


def test_stackwise_virtual_c9500x_supervisor_row_is_a_duplicate_of_its_chassis():
    comps = by_name(records("cisco_xe", ("show inventory", "iosxe/show_inventory/genie__iosxe_ShowInventory_golden_output_7.txt")))
    for n in (1, 2):
        ch, sup = comps[f"Switch {n} Chassis"], comps[f"Switch {n} Slot 1 Supervisor"]
        assert ch.contractable and ch.serial == sup.serial
        assert not sup.contractable and "duplicate" in sup.reason
    assert comps["HundredGigE2/0/1"].parent == "Switch 2 Chassis"


def test_stackwise_virtual_show_version_lists_both_switches():
    rec = records("cisco_xe", ("show version", "iosxe/show_version/genie__iosxe_ShowVersion_golden_output_9500h_svl.txt"))
    assert [(c.name, c.pid, c.serial) for c in contractable(rec)] == [
        ("Switch 1", "C9606R", "FXS2522Q2PC"), ("Switch 2", "C9606R", "FXS2522Q2PV")]


def test_vss_catalyst_4500_both_chassis_and_virtual_slots():
    rec = records("cisco_xe", ("show inventory", "iosxe/show_inventory/genie__iosxe_ShowInventory_golden_output_3.txt"))
    comps = by_name(rec)
    assert [c.name for c in rec.components if c.cls == "chassis"] == ["Switch1 System", "Switch2 System"]
    assert comps["Switch1 System"].contractable and comps["Switch2 System"].contractable
    assert comps["TenGigabitEthernet1/3/1"].parent == "Switch1 Supervisor 3 (virtual slot 3)"
    assert comps["TenGigabitEthernet2/1/1"].parent == "Switch2 Supervisor 1 (virtual slot 11)"
    assert comps["Switch2 Linecard 3 (virtual slot 13)"].parent == "Switch2 System"
    third_party = comps["TenGigabitEthernet1/3/3"]
    assert third_party.pid == "Unspecified" and not third_party.contractable


def test_vss_4500x_chassis_without_pid_takes_the_supervisor_row():
    rec = records("cisco_xe", ("show inventory", "iosxe/show_inventory/ansible__ios_ios_facts_show_inventory.txt"))
    comps = by_name(rec)
    assert not comps["Switch1 System"].contractable  # printed without PID
    sup = comps["Switch1 Supervisor 1 (virtual slot 1)"]
    assert sup.contractable and sup.pid == "WS-C4500X-16" and sup.serial == comps["Switch1 System"].serial
    assert (rec.facts.chassis_pid, rec.facts.chassis_serial) == ("WS-C4500X-16", "JAE19270BQF")
    # A DAC cable joining the two VSS members is listed on both ends: one item.
    assert comps["TenGigabitEthernet1/1/1"].contractable and not comps["TenGigabitEthernet2/1/1"].contractable


# ------------------------------------------------------------------ FEX


def test_nexus_fex_units_are_separate_items():
    rec = records("cisco_nxos", ("show inventory", "nxos/show_inventory/genie__generic_ShowInventory_golden_output_nxos_2.txt"))
    comps = by_name(rec)
    fex = [c for c in rec.components if c.cls == "fex"]
    assert [(c.name, c.pid, c.serial) for c in fex] == [
        ("FEX 106 CHASSIS", "N2K-C2248TP-E-1GE", "FOX2129PR28"), ("FEX 108 CHASSIS", "N2K-C2248TP-E-1GE", "FOX2131P982")]
    assert all(c.contractable for c in fex)
    board = comps["FEX 106 Module 1"]
    assert board.parent == "FEX 106 CHASSIS" and not board.contractable  # the FEX's own board, same PID
    assert comps["FEX 106 Power Supply 2"].parent == "FEX 106 CHASSIS" and comps["FEX 106 Power Supply 2"].cls == "psu"
    assert comps["FEX 108 Fan 1"].cls == "fan" and not comps["FEX 108 Fan 1"].contractable  # SN: N/A


def test_nexus_fixed_switch_slot_row_repeats_chassis():
    rec = records("cisco_nxos", ("show inventory", "nxos/show_inventory/ntc__cisco_nxos_show_inventory2.txt"))
    comps = by_name(rec)
    assert comps["Chassis"].contractable
    assert not comps["Slot 1"].contractable and "duplicate of 'Chassis'" in comps["Slot 1"].reason
    assert comps["Ethernet1/1"].parent == "Slot 1"
    assert not comps["Ethernet1/1"].contractable  # FiberStore optic: no Cisco PID
    assert rec.facts.chassis_pid == "N9K-C93180YC-EX"


# ------------------------------------------------------------------ ASR 9000 line cards and optics


def test_asr9k_linecards_mpas_and_optics():
    rec = records("cisco_xr", ("show inventory", "iosxr/show_inventory/genie__iosxr_ShowInventory_golden_output_3.txt"))
    comps = by_name(rec)
    assert {c.name for c in rec.components if c.cls == "supervisor"} == {"module 0/RSP0/CPU0", "module 0/RSP1/CPU0"}
    assert {c.name for c in rec.components if c.cls == "linecard"} == {
        "module 0/0/CPU0", "module 0/1/CPU0", "module 0/2/CPU0", "module 0/4/CPU0"}
    assert comps["module 0/0/1"].cls == "module" and comps["module 0/0/1"].parent == "module 0/0/CPU0"
    assert comps["module mau 0/0/1/1"].parent == "module 0/0/1"  # optic in an MPA
    assert comps["TenGigE0/0/1/2"].parent == "module 0/0/1"
    assert comps["module mau TenGigE0/4/CPU0/14"].parent == "module 0/4/CPU0"  # optic on a fixed line card
    assert comps["module mau TenGigE0/4/CPU0/14"].cls == "optic" and comps["module mau TenGigE0/4/CPU0/14"].contractable
    assert not comps["module mau 0/0/0/4"].contractable  # PID N/A
    assert not comps["TenGigE0/0/1/3"].contractable  # no serial


def test_asr9006_admin_inventory_chassis_fans_power():
    rec = records("cisco_xr", ("admin show inventory", "iosxr/admin_show_inventory/ntc__cisco_xr_admin_show_inventory.txt"))
    comps = by_name(rec)
    assert (rec.facts.chassis_pid, rec.facts.chassis_serial) == ("ASR-9006", "JCY98XR393D")
    assert comps["chassis ASR-9006"].cls == "chassis"
    assert comps["fan0 0/FT0/SP"].cls == "fan" and not comps["fan0 0/FT0/SP"].contractable
    assert comps["power-module 0/PS0/M0/SP"].cls == "psu" and comps["power-module 0/PS0/M0/SP"].parent == "chassis ASR-9006"
    assert comps["module mau 0/1/0/0"].parent == "module 0/1/0"


def test_xr_show_and_admin_inventory_listing_the_same_items_keep_one():
    rel = "iosxr/admin_show_inventory/ntc__cisco_xr_admin_show_inventory.txt"
    rec = records("cisco_xr", ("show inventory", rel), ("admin show inventory", rel))
    assert len(rec.components) == 9
    assert {c.capture_id for c in rec.components} == {1}


def test_xr_64bit_admin_inventory_rack_and_cards():
    comps = by_name(records("cisco_xr", ("admin show inventory", "iosxr/admin_show_inventory/ntc__cisco_xr_admin_show_inventory4.txt")))
    assert comps["Rack 0"].cls == "chassis" and comps["Rack 0"].pid == "R-IOSXRV9000-CC"
    assert comps["0/0"].cls == "linecard" and comps["0/0"].parent == "Rack 0"
    assert comps["0/RP0"].cls == "supervisor"


# ------------------------------------------------------------------ ISR built-in NIMs


def test_isr4331_built_in_nim_and_controllers():
    rec = records("cisco_xe", ("show inventory", "iosxe/show_inventory/genie__iosxe_ShowInventory_golden_output_isr4k.txt"))
    comps = by_name(rec)
    assert comps["Chassis"].contractable
    assert not comps["module 0"].contractable  # built-in NIM controller, no serial
    assert not comps["NIM subslot 0/0"].contractable  # built-in front-panel ports
    assert comps["NIM subslot 0/1"].contractable and comps["NIM subslot 0/1"].parent == "module 0"
    assert comps["subslot 0/0 transceiver 2"].parent == "NIM subslot 0/0"
    rp = comps["module R0"]
    assert not rp.contractable and "repeats its PID" in rp.reason


def test_isr_built_in_nim_repeating_chassis_serial():
    text = (ROOT / "iosxe/show_inventory/genie__iosxe_ShowInventory_golden_output_isr4k.txt").read_text()
    # Some releases print the chassis serial on the built-in NIM row.
    text = text.replace('PID: ISR4331-3x1GE     , VID: V01  , SN:            ',
                        'PID: ISR4331-3x1GE     , VID: V01  , SN: FDO2201A0SR')
    rec = records_from_captures("r", "cisco_xe", [Capture("r", "cisco_xe", "ssh", "show inventory", text, 0, 0, id=1)])
    nim = by_name(rec)["NIM subslot 0/0"]
    assert nim.serial == "FDO2201A0SR" and not nim.contractable and "repeating the chassis serial" in nim.reason
    assert [c.name for c in contractable(rec) if c.serial == "FDO2201A0SR"] == ["Chassis"]


# ------------------------------------------------------------------ ASA


def test_asa_failover_unit_is_its_own_item():
    # Two units of failover pairs, each collected as its own device: each is one chassis item.
    a = records("cisco_asa", ("show version", "asa/show_version/ntc__cisco_asa_show_version3.txt"), device="asa-a")
    assert "Failover unit" in a.facts.roles
    assert [(c.pid, c.serial, c.contractable) for c in a.components] == [("ASA5516", "JAD222605K8", True)]
    b = records("cisco_asa", ("show version", "asa/show_version/unicon__asa_mock_data__asa_enable_more.txt"), device="asa-b")
    assert "Failover unit" in b.facts.roles
    assert a.components[0].identity != (b.components[0].serial, b.components[0].base_pid)


def test_asa_inventory_chassis_serial_wins_over_show_version_board_serial():
    rec = records("cisco_asa",
                  ("show version", "asa/show_version/oxidized__asa_5512_9.12-4-67_single-context.txt"),
                  ("show inventory", "asa/show_inventory/oxidized__asa_5512_9.12-4-67_single-context.txt"))
    assert rec.facts.chassis_serial == "FGL17AAAAAA"  # show version prints FCH17AAAAAA (board)
    assert rec.facts.chassis_pid == "ASA5512"
    assert rec.facts.version == "9.12(4)67"


def test_asa_smart_license_all():
    rec = records("cisco_asa", ("show license all", "asa/show_license_all/ntc__cisco_asa_show_license_all5.txt"))
    st = rec.license_status
    assert (st.registration_status, st.authorization_status, st.slp_enabled) == ("REGISTERED", "AUTHORIZED", None)
    assert (st.udi_pid, st.udi_serial, st.reservation) == ("ASAv", "9X61HSQEA6Z", "DISABLED")
    assert [(x.license, x.entitlement_tag, x.udi_serial) for x in rec.licenses] == [
        ("ASAv50 Standard - 10G", "ASAv-STD-10G", "9X61HSQEA6Z")]


# ------------------------------------------------------------------ Smart Licensing on a real stack


def test_c9300_stack_licensing_from_four_captures():
    rec = records("cisco_xe",
                  ("show license summary", "iosxe/show_license_summary/genie__iosxe_ShowLicenseSummary_golden_output4.txt"),
                  ("show license usage", "iosxe/show_license_usage/genie__iosxe_ShowLicenseUsage_golden_output1.txt"),
                  ("show license status", "iosxe/show_license_status/genie__iosxe_ShowLicenseStatus_golden_output1.txt"),
                  ("show license all", "iosxe/show_license_all/genie__iosxe_ShowLicenseAll_golden_output.txt"))
    tags = sorted((x.entitlement_tag, x.count) for x in rec.licenses)
    assert tags == [("C9300-24 DNA Advantage", 2), ("C9300-24 Network Advantage", 2),
                    ("C9300-48 DNA Advantage", 1), ("C9300-48 Network Advantage", 1)]
    assert {(x.udi_pid, x.udi_serial) for x in rec.licenses} == {("C9300-24UX", "FCW2303D16Y")}
    st = rec.license_status
    assert st.slp_enabled is True and st.transport_type == "cslu"
    assert st.policy["perpetual"]["first_report_days"] == (365, "Customer Policy")
    assert st.last_ack_received == "Oct 14 12:10:32 2021 UTC"
    assert [(t["role"], t["udi_serial"]) for t in st.trust_codes] == [
        ("Active", "FCW2303D16Y"), ("Standby", "FHH2043P09E"), ("Member", "FCW2139L056")]
