"""Unit tests of the parsers package API and of behaviours the fixtures do not pin down."""
from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

import corpus_util  # noqa: F401 - puts the repo on sys.path
import parsers
from parsers import _fsm, canonical_command

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "parsers"

INV = """NAME: "Chassis", DESCR: "Cisco ASR1002-X Chassis"
PID: ASR1002-X         , VID: V07, SN: FOX1111P1M1

NAME: "Power Supply Module 0", DESCR: "Cisco ASR1002-X AC Power Supply"
PID: ASR1002-PWR-AC    , VID: V02, SN: ART1111F11E
"""


# ------------------------------------------------------------------ API surface


@pytest.mark.parametrize("platform", ["cisco_xe", "cisco_ios", "iosxe", "IOS", "cisco_nxos", "nxos", "cisco_xr", "iosxr", "cisco_asa", "asa"])
def test_platform_aliases(platform):
    assert len(parsers.parse(platform, "show inventory", INV).components) == 2


@pytest.mark.parametrize("command,canon", [
    ("show version", "show version"), ("sh ver", "show version"), ("sho   versi", "show version"),
    ("SHOW VERSION", "show version"), ("show_version", "show version"), ("sh inv", "show inventory"),
    ("admin show inventory", "admin show inventory"), ("adm sh inv", "admin show inventory"),
    ("sh lic sum", "show license summary"), ("show license usage", "show license usage"),
    ("sh lic stat", "show license status"), ("show license udi", "show license udi"), ("sh lic all", "show license all"),
])
def test_command_spellings(command, canon):
    assert canonical_command(command) == (canon, False)


def test_json_command_spellings():
    assert canonical_command("show inventory | json") == ("show inventory", True)
    assert canonical_command("show version | json-pretty") == ("show version", True)
    assert canonical_command("show_inventory_json") == ("show inventory", True)


@pytest.mark.parametrize("platform,command,text,needle", [
    ("junos", "show version", INV, "unknown platform"),
    ("cisco_xe", "show running-config", INV, "unsupported command"),
    ("cisco_xe", "show license frobnicate", INV, "unsupported command"),
    ("cisco_ios", "show license", INV, "classic licence"),
    ("cisco_xe", "show inventory", "", "empty output"),
    ("cisco_xe", "show inventory", "\r\n  \n", "empty output"),
    ("cisco_xe", "show inventory", "              ^\n% Invalid input detected at '^' marker.\n", "Invalid input"),
    ("cisco_nxos", "show inventory", "% Invalid command at '^' marker.", "Invalid command"),
    ("cisco_xe", "show version", "this is not a show version\nat all\n", "no version"),
    ("cisco_xe", "show license status", "random words\n", "Smart Licensing"),
    ("cisco_xe", "show version | json", "{}", "NX-OS"),
    ("cisco_nxos", "show version | json", "not json", "not NX-OS JSON"),
])
def test_parse_error_names_platform_and_command(platform, command, text, needle):
    with pytest.raises(parsers.ParseError) as exc:
        parsers.parse(platform, command, text)
    msg = str(exc.value)
    assert needle in msg
    assert exc.value.platform and exc.value.command
    assert (exc.value.platform in msg) and (exc.value.command in msg)


def test_parse_error_is_a_value_error_and_single_class():
    assert issubclass(parsers.ParseError, ValueError)
    from parsers._util import ParseError as inner

    assert inner is parsers.ParseError


def test_bytes_are_accepted():
    assert len(parsers.parse("cisco_xe", "show inventory", INV.encode()).components) == 2


# ------------------------------------------------------------------ cleaning


def test_terminal_noise_is_ignored():
    noisy = (
        "Load for five secs: 1%/0%; one minute: 0%; five minutes: 0%\r\n"
        "Time source is NTP, 11:43:15.743 UTC Wed Nov 17 2021\r\n"
        "router#show inventory\r\n"
        + INV.replace("\n", "\r\n").replace('NAME: "Power', ' --More-- \x08\x08\x08\x08\x08\x08\x08\x08\x08\x08          \x08\x08\x08\x08\x08\x08\x08\x08\x08\x08NAME: "Power')
        + "router#"
    )
    clean = parsers.parse("cisco_xe", "show inventory", INV)
    dirty = parsers.parse("cisco_xe", "show inventory", noisy)
    assert dirty.components == clean.components


def test_inventory_values_as_read_but_unpadded():
    text = 'Name: "GigabitEthernet1/0", DESCR: ""\nPID: SFCT-739SMZ-CS1 G3, VID: G3.1, SN: JMX8318372GB     \n'
    (row,) = parsers.parse("cisco_asa", "show inventory", text).components
    assert (row.name, row.descr, row.pid, row.vid, row.serial) == ("GigabitEthernet1/0", "", "SFCT-739SMZ-CS1 G3", "G3.1", "JMX8318372GB")


def test_inventory_row_without_pid_line_is_not_lost():
    text = 'NAME: "a", DESCR: "first"\nNAME: "b", DESCR: "second"\nPID: X , VID: V01 , SN: S1\n'
    rows = parsers.parse("cisco_xe", "show inventory", text).components
    assert [(r.name, r.pid) for r in rows] == [("a", ""), ("b", "X")]


# ------------------------------------------------------------------ show version details


def test_ios_xe_smu_patched_version_kept_raw():
    text = ("Cisco IOS XE Software, Version 17.03.03 - SMU-PATCHED\n"
            "Cisco IOS Software [Amsterdam], Catalyst L3 Switch Software (CAT9K_IOSXE), Version 17.3.3, RELEASE SOFTWARE (fc7)\n"
            "sw1 uptime is 11 hours, 42 minutes\n"
            "cisco C9500-48Y4C (X86) processor with 1867864K/6147K bytes of memory.\n"
            "Processor board ID FDO25180ANN\n")
    f = parsers.parse("cisco_xe", "show version", text).facts
    assert f["os_version"] == "17.03.03 - SMU-PATCHED"
    assert f["versions_seen"] == ["17.03.03 - SMU-PATCHED", "17.3.3"]
    assert (f["hostname"], f["chassis_pid"], f["chassis_serial"]) == ("sw1", "C9500-48Y4C", "FDO25180ANN")


def test_xr_chassis_pid_derived_from_description():
    f = parsers.parse("cisco_xr", "show version", (FIXTURES / "cisco_xr/show_version/asr9006_cxr.txt").read_text()).facts
    assert f["chassis_pid"] == "ASR-9006" and f["hardware"] == ["ASR9K Series"]


def test_asa_context_and_failover_roles():
    f = parsers.parse("cisco_asa", "show version", (FIXTURES / "cisco_asa/show_version/fpr4k_context_failover.txt").read_text()).facts
    assert f["roles"] == ["Failover unit", "Multiple-context"] and f["multiple_context"] is True


# ------------------------------------------------------------------ licensing details


SLP_STATUS = """Smart Licensing Using Policy:
  Status: ENABLED

Transport:
  Type: Smart
  URL: https://smartreceiver.cisco.com/licservice/license
  Proxy:
    Address: proxy.example.net
    Port: 80
  VRF: <empty>

Policy:
  Policy in use: Merged from multiple sources.
  Reporting ACK required: yes (CISCO default)
  Unenforced/Non-Export Perpetual Attributes:
    First report requirement (days): 365 (CISCO default)
    Reporting frequency (days): 0 (CISCO default)
    Report on change (days): 90 (CISCO default)
  Unenforced/Non-Export Subscription Attributes:
    First report requirement (days): 90 (CISCO default)
    Reporting frequency (days): <none>
    Report on change (days): 90 (Customer Policy)

Usage Reporting:
  Last ACK received: <none>
  Next ACK deadline: Feb 07 10:32:11 2022 EDT
  Reporting push interval: 30  days
  Next report push: <empty>
  Last report push: None
  Last report file write: <none>

Trust Code Installed: Dec 03 08:23:45 2021 UTC
"""


def test_slp_status_fields():
    st = parsers.parse("cisco_xe", "show license status", SLP_STATUS).license_status
    assert st.slp_enabled is True
    assert (st.transport_type, st.transport_address) == ("Smart", "https://smartreceiver.cisco.com/licservice/license")
    assert st.policy_installed == "Merged from multiple sources." and st.ack_required == "yes (CISCO default)"
    assert st.policy["perpetual"] == {"first_report_days": (365, "CISCO default"), "reporting_frequency_days": (0, "CISCO default"),
                                      "report_on_change_days": (90, "CISCO default")}
    assert st.policy["subscription"]["reporting_frequency_days"] == (None, "")
    assert st.policy["subscription"]["report_on_change_days"] == (90, "Customer Policy")
    assert st.last_ack_received == "" and st.next_ack_deadline == "Feb 07 10:32:11 2022 EDT"
    assert st.reporting_push_interval == "30 days"
    assert st.next_report_push == st.last_report_push == st.last_report_file_write == ""
    assert st.trust_codes == [{"role": "", "udi_pid": "", "udi_serial": "", "installed": "Dec 03 08:23:45 2021 UTC"}]


def test_classic_smart_licensing_registration_and_authorization():
    st = parsers.parse("cisco_xe", "show license status",
                       (FIXTURES / "cisco_xe/show_license_status/classic_registered.txt").read_text()).license_status
    assert (st.smart_licensing_enabled, st.slp_enabled) == (True, None)
    assert (st.registration_status, st.authorization_status, st.transport_type) == ("REGISTERED", "AUTHORIZED", "Callhome")


def test_summary_keeps_truncated_tag_as_printed():
    lic = parsers.parse("cisco_xe", "show license summary",
                        (FIXTURES / "cisco_xe/show_license_summary/c9300_stack_truncated_tags.txt").read_text()).licenses
    assert lic[0].entitlement_tag == "C9300-24 Network Advan..." and lic[0].count == 2


def test_nxos_legacy_usage_table_goes_through_ntc_templates():
    path = _fsm.template_path("cisco_nxos", "show license usage", "cisco_nxos")
    assert path is not None and "ntc_templates" in str(path)
    lic = parsers.parse("cisco_nxos", "show license usage",
                        (FIXTURES / "cisco_nxos/show_license_usage/n7k_legacy_table.txt").read_text()).licenses
    assert ("LAN_ENTERPRISE_SERVICES_PKG", "In use") in [(x.license, x.status) for x in lic]


def test_asa_activation_key_license_all():
    text = ("Serial Number: JMX0938K0C0\nRunning Permanent Activation Key: 0x1 0x2 0x3 0x4 0x5\n"
            "Licensed features for this platform:\nMaximum VLANs : 150 perpetual\nThis platform has a Base license.\n")
    r = parsers.parse("cisco_asa", "show license all", text)
    assert r.facts == {"license_serial": "JMX0938K0C0", "platform_license": "Base"}
    assert r.license_status.smart_licensing_enabled is False and r.license_status.udi_serial == "JMX0938K0C0"


# ------------------------------------------------------------------ NX-OS JSON


def test_nxos_json_inventory_and_version():
    inv = json.dumps({"TABLE_inv": {"ROW_inv": [
        {"name": '"Chassis"', "desc": '"Nexus9000 C93180YC-EX chassis"', "productid": "N9K-C93180YC-EX", "vendorid": "V03", "serialnum": "FDO2236"},
        {"name": "Slot 1", "desc": "48x10/25G", "productid": "N9K-C93180YC-EX", "vendorid": "V03", "serialnum": "FDO2236"}]}})
    rows = parsers.parse("cisco_nxos", "show inventory | json", "sw# show inventory | json\n" + inv).components
    assert [(r.name, r.descr, r.pid, r.serial) for r in rows] == [
        ("Chassis", "Nexus9000 C93180YC-EX chassis", "N9K-C93180YC-EX", "FDO2236"), ("Slot 1", "48x10/25G", "N9K-C93180YC-EX", "FDO2236")]
    ver = json.dumps({"ins_api": {"outputs": {"output": {"body": {
        "host_name": "leaf1", "nxos_ver_str": "10.2(3)", "chassis_id": "Nexus9000 C93180YC-EX chassis",
        "proc_board_id": "FDO2236", "kern_uptm_days": 3, "kern_uptm_hrs": 4, "kern_uptm_mins": 5, "kern_uptm_secs": 6}}}}})
    f = parsers.parse("cisco_nxos", "show version | json", ver).facts
    assert (f["hostname"], f["os_version"], f["chassis_serial"], f["model"]) == ("leaf1", "10.2(3)", "FDO2236", "Nexus9000 C93180YC-EX chassis")
    assert f["uptime"] == "3 day(s), 4 hour(s), 5 minute(s), 6 second(s)"


def test_nxos_json_inventory_also_accepted_without_pipe_in_command():
    inv = json.dumps({"TABLE_inv": {"ROW_inv": {"name": "Chassis", "desc": "x", "productid": "N9K-C9504", "vendorid": "V01", "serialnum": "BR-549"}}})
    assert parsers.parse("cisco_nxos", "show inventory", inv).components[0].serial == "BR-549"


# ------------------------------------------------------------------ threads


def test_parse_is_thread_safe():
    cases = [(p.parent.parent.name, p.parent.name.replace("_", " "), p.read_text()) for p in sorted(FIXTURES.glob("*/*/*.txt"))]
    expected = [parsers.parse(*c) for c in cases]
    errors: list[str] = []

    def work():
        for _ in range(5):
            for c, want in zip(cases, expected):
                got = parsers.parse(*c)
                if got != want:
                    errors.append(c[0] + c[1])

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_parsers_import_only_models_and_platforms_from_agent():
    import re as _re

    pkg = Path(parsers.__file__).parent
    for py in pkg.glob("*.py"):
        for line in py.read_text().splitlines():
            m = _re.match(r"\s*(?:from|import)\s+(agent[\w.]*)", line)
            if m:
                assert m.group(1) in ("agent.core.models", "agent.core.platforms"), f"{py.name}: {line.strip()}"


def test_xr_64bit_hostname_from_echoed_prompt():
    body = (FIXTURES / "cisco_xr/show_version/xrv9k.txt").read_text()
    assert "hostname" not in parsers.parse("cisco_xr", "show version", body).facts  # XR 64-bit prints none
    echoed = "RP/0/RP0/CPU0:pe7#show version\n" + body + "\nRP/0/RP0/CPU0:pe7#"
    assert parsers.parse("cisco_xr", "show version", echoed).facts["hostname"] == "pe7"
