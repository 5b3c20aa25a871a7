"""Real output variants of issue 13, through the whole device path (parse + normalise), on the
fixtures written for them (fixtures/parsers/**/*_synthetic.txt): classic IOS stack PIDs with their
licence suffix, IOS XR 7 without CPU brackets, NX-OS interim builds and version tails, engineering
build labels, classic (CSL) licensing."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import corpus_util  # noqa: F401 - puts the repo on sys.path
from agent.core.models import Capture
from agent.normalize import canonical_version, records_from_captures
from agent.slp.status import reporting_state

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "parsers"


def records(platform: str, *files: tuple[str, str]):
    caps = [Capture(device="dev", platform=platform, transport="ssh", command=cmd,
                    output=(FIX / rel).read_text(), started=0.0, ended=0.0, id=i)
            for i, (cmd, rel) in enumerate(files, start=1)]
    return records_from_captures("dev", platform, caps)


def test_classic_3750_stack_members_carry_the_orderable_pid():
    rec = records("cisco_ios", ("show version", "cisco_ios/show_version/c3750g_12_2_stack_3_synthetic.txt"))
    assert rec.facts.chassis_pid == "WS-C3750G-48TS-S"  # not the processor line's WS-C3750G-48TS
    members = {c.name: c.pid for c in rec.components}
    assert members == {"Switch 1": "WS-C3750G-48TS-S", "Switch 2": "WS-C3750G-48TS-E",
                       "Switch 3": "WS-C3750G-48PS-S"}  # not the table's suffix-less models
    assert rec.facts.version == "12.2(55)SE9"


def test_classic_3550_single_switch_pid_has_its_smi_suffix():
    rec = records("cisco_ios", ("show version", "cisco_ios/show_version/c3550_12_2_smi_synthetic.txt"))
    assert rec.facts.chassis_pid == "WS-C3550-48-SMI"
    assert [(c.pid, c.serial) for c in rec.components] == [("WS-C3550-48-SMI", "CAT0915X1AB")]


def test_xr7_ncs540_processor_line_without_cpu_gives_the_chassis_pid():
    rec = records("cisco_xr", ("show version", "cisco_xr/show_version/ncs540x_xr7_no_cpu_synthetic.txt"))
    assert rec.facts.chassis_pid == "N540X-6Z18G-SYS-A"
    assert rec.facts.hostname == "agg-pe-17" and rec.facts.version == "7.9.2"


def test_nxos_interim_build_is_kept_whole_and_tails_leave_the_canonical_version():
    interim = records("cisco_nxos", ("show version", "cisco_nxos/show_version/n9k_aci_interim_16_1_synthetic.txt"))
    assert interim.facts.version == "16.1(2.133b)"
    assert interim.facts.os_version == "16.1(2.133b) [build 16.1(2.133b)]"  # raw: as printed
    feature = records("cisco_nxos", ("show version", "cisco_nxos/show_version/n9k_10_2_3_feature_release_synthetic.txt"))
    assert feature.facts.version == "10.2(3)"
    assert feature.facts.os_version == "10.2(3) [Feature Release]"
    assert canonical_version("cisco_nxos", "10.2.3") == feature.facts.version


def test_engineering_build_label_is_not_the_version():
    rec = records("cisco_xe", ("show version", "cisco_xe/show_version/asr1002_engineering_label_synthetic.txt"))
    assert rec.facts.os_version == "15.3(20121015:193729)"  # the IOS line's release, not the label
    assert "2012-10-15" not in rec.facts.version
    assert not any("build label" in p for p in rec.problems)


def test_engineering_build_with_only_a_label_has_an_unknown_version_and_a_problem():
    rec = records("cisco_xe", ("show version", "cisco_xe/show_version/c9300_label_only_synthetic.txt"))
    assert rec.facts.os_version == "" and rec.facts.version == ""
    assert [p for p in rec.problems if "build label" in p] == [
        "show version: no release version printed, only the build label '2019-10-31_17.49_jdoe': version unknown"]
    assert rec.facts.chassis_pid == "C9300-24U"  # the rest of the device is still read


def test_classic_licensing_is_recorded_not_a_parse_error_and_not_smart_licensing():
    rec = records("cisco_ios",
                  ("show version", "cisco_ios/show_version/c3750x_15_2_license_level_synthetic.txt"),
                  ("show license status", "cisco_ios/show_license_status/c3750x_csl_level_synthetic.txt"))
    assert rec.problems == []
    st = rec.license_status
    assert st is not None and st.licensing == "classic" and st.smart_licensing_enabled is False
    assert (st.license_level, st.license_type, st.next_reload_level) == ("ipbase", "Permanent", "ipbase")
    assert st.udi_serial == "FDO1234X0YZ"  # the chassis, as for every licence status without its own UDI
    assert rec.licenses == []  # nothing for the Smart Licensing usage report
    state = reporting_state(st, date(2026, 12, 5))
    assert state.status == "not-slp"
    assert state.reason == "not Smart Licensing, classic licence state recorded (ipbase, Permanent)"


def test_classic_licence_feature_blocks_are_typed_records():
    rec = records("cisco_ios", ("show version", "cisco_ios/show_version/c3750x_15_2_license_level_synthetic.txt"),
                  ("show license", "cisco_ios/show_license/c3750x_15_0_synthetic.txt"))
    st = rec.license_status
    assert st is not None and st.licensing == "classic"
    in_use = [f["feature"] for f in st.classic_licenses if f.get("state") == "Active, In Use"]
    assert in_use == ["ipbase"]
    assert reporting_state(st, date(2026, 12, 5)).status == "not-slp"


def test_smart_licensing_output_is_never_read_as_classic():
    rec = records("cisco_xe", ("show license status", "cisco_xe/show_license_status/classic_registered.txt"))
    assert rec.license_status is not None and rec.license_status.licensing == ""


def _xe_netconf(software_version: str) -> str:
    return ('<rpc-reply xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><data>'
            '<device-hardware-data xmlns="http://cisco.com/ns/yang/Cisco-IOS-XE-device-hardware-oper"><device-hardware>'
            "<device-inventory><hw-type>hw-type-chassis</hw-type><hw-dev-index>0</hw-dev-index>"
            "<part-number>C9300-24U</part-number><serial-number>FOC2301X0AB</serial-number>"
            "<hw-description>Cisco Catalyst 9300 Series</hw-description></device-inventory>"
            f"<device-system-data><software-version>{software_version}</software-version></device-system-data>"
            "</device-hardware></device-hardware-data></data></rpc-reply>")


def test_netconf_software_version_skips_a_build_label_for_the_release():
    import parsers

    label = ("Cisco IOS XE Software, Version 2019-10-31_17.49_jdoe\n"
             "Cisco IOS Software [Amsterdam], Catalyst L3 Switch Software (CAT9K_IOSXE), "
             "Experimental Version 17.2.20191101:003833 [mcp_dev-jdoe 101]")
    facts = parsers.parse("cisco_xe", "netconf:device-hardware", _xe_netconf(label)).facts
    assert facts["os_version"] == "17.2.20191101:003833"
    release = parsers.parse("cisco_xe", "netconf:device-hardware",
                            _xe_netconf("Cisco IOS XE Software, Version 17.09.04a")).facts
    assert release["os_version"] == "17.09.04a"
