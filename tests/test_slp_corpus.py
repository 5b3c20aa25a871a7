"""Real captures (../shared/corpus/*/show_license_*) parse into the SLP state fields the report uses:
transport, policy per licence class with its source, last ACK, next deadline, last report push,
trust code per stack member, reservation, UDIs; and classic Smart Licensing is told apart.

Expected values are read off each capture by hand (the text is quoted beside the assertions
where it is not obvious), not from another parser.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

import corpus_util as cu
import parsers
from agent.slp.clock import parse_cli_time
from agent.slp.status import policy_text, reporting_state

ROOT = cu.corpus_root()
if not (ROOT.is_dir() and any(ROOT.glob("*/show_license_*/*.txt"))):
    pytest.skip(f"corpus not found at {ROOT} (set IBAGENT_CORPUS)", allow_module_level=True)

PLATFORM = {"iosxe": "cisco_xe", "asa": "cisco_asa", "nxos": "cisco_nxos", "iosxr": "cisco_xr"}


def parse(rel: str):
    path = ROOT / rel
    platform_dir, slug = path.parts[-3], path.parts[-2]
    return parsers.parse(PLATFORM[platform_dir], slug, path.read_text())


def status(rel: str):
    st = parse(rel).license_status
    assert st is not None, rel
    return st


CUSTOM = "Customer Policy"
DEFAULT = "CISCO default"


def test_status_custom_policy_cslu_stack():
    st = status("iosxe/show_license_status/genie__iosxe_ShowLicenseStatus_golden_output1.txt")
    assert st.slp_enabled is True
    assert (st.transport_type, st.transport_address) == ("cslu", "")  # 'Cslu address: <empty>'
    assert st.policy_name == "Custom Policy" and st.ack_required == "yes (Customer Policy)"
    assert st.policy_installed == "Installed On Oct 14 11:37:52 2021 UTC"
    assert st.policy["perpetual"] == {"first_report_days": (365, CUSTOM), "reporting_frequency_days": (0, CUSTOM),
                                      "report_on_change_days": (90, CUSTOM)}
    assert st.policy["subscription"] == {"first_report_days": (90, CUSTOM), "reporting_frequency_days": (90, CUSTOM),
                                         "report_on_change_days": (90, CUSTOM)}
    assert st.policy["enforced"]["first_report_days"] == (365, CUSTOM)
    assert st.policy["export"]["reporting_frequency_days"] == (90, CUSTOM)
    assert st.last_ack_received == "Oct 14 12:10:32 2021 UTC"
    assert st.next_ack_deadline == "Jan 12 12:10:32 2022 UTC"
    assert st.last_report_push == "Oct 14 12:09:30 2021 UTC"
    assert st.reporting_push_interval == "30 days"  # printed '30  days'
    assert st.trust_codes == [
        {"role": "Active", "udi_pid": "C9300-24UX", "udi_serial": "FCW2303D16Y", "installed": "Oct 14 11:37:52 2021 UTC"},
        {"role": "Standby", "udi_pid": "C9300-24U", "udi_serial": "FHH2043P09E", "installed": "Oct 14 11:37:52 2021 UTC"},
        {"role": "Member", "udi_pid": "C9300-48T", "udi_serial": "FCW2139L056", "installed": "Oct 14 11:37:53 2021 UTC"},
    ]
    assert policy_text(st).startswith("Custom Policy (Customer Policy): perpetual 365/0/90, subscription 90/90/90")


def test_status_transport_off_cisco_default_edt():
    st = status("iosxe/show_license_status/ntc__cisco_ios_show_license_status2.txt")
    assert st.slp_enabled is True and st.transport_type == "Transport Off"
    assert st.policy_installed == "Merged from multiple sources." and st.ack_required == "yes (CISCO default)"
    # The Cisco default policy table of FORMATS.md 2.4.
    assert {c: tuple(v[0] for v in st.policy[c].values()) for c in st.policy} == {
        "perpetual": (365, 0, 90), "subscription": (90, 90, 90), "enforced": (0, 0, 0), "export": (0, 0, 0)}
    assert {v[1] for c in st.policy.values() for v in c.values()} == {DEFAULT}
    assert (st.last_ack_received, st.next_ack_deadline) == ("Nov 08 10:31:23 2023 EDT", "Feb 06 10:31:23 2024 EDT")
    assert st.last_report_push == "Nov 09 11:18:00 2023 EDT"
    assert st.trust_codes == []  # 'Trust Code Installed: <none>'
    ack = parse_cli_time(st.last_ack_received)
    assert ack.when.isoformat() == "2023-11-08T14:31:23+00:00" and ack.note == ""


def test_status_smart_transport_single_trust_code_and_lowercase_zone():
    st = status("iosxe/show_license_status/ntc__cisco_ios_show_license_status3.txt")
    assert (st.transport_type, st.transport_address) == ("Smart", "https://smartreceiver.cisco.com/licservice/license")
    assert st.policy_name == "SLE Policy"
    assert st.policy["subscription"]["reporting_frequency_days"] == (111, CUSTOM)
    assert st.trust_codes == [{"role": "", "udi_pid": "", "udi_serial": "", "installed": "Dec 03 08:23:45 2021 UTC"}]
    st4 = status("iosxe/show_license_status/ntc__cisco_ios_show_license_status4.txt")
    assert st4.reporting_push_interval == "0 (no reporting)"
    assert st4.next_ack_deadline == "Aug 03 09:03:25 2025 est"
    # 'est' in lower case is still US Eastern Standard Time.
    assert parse_cli_time(st4.next_ack_deadline).when.isoformat() == "2025-08-03T14:03:25+00:00"


@pytest.mark.parametrize("rel", [
    "iosxe/show_license_status/genie__iosxe_ShowLicenseStatus_golden_output2.txt",
    "iosxe/show_license_status/ntc__cisco_ios_show_license_status1.txt",
    "iosxe/show_license_all/genie__iosxe_ShowLicenseAll_golden_output_3.txt",
    "asa/show_license_all/ntc__cisco_asa_show_license_all.txt",
    "asa/show_license_all/ntc__cisco_asa_show_license_all3.txt",
    "asa/show_license_all/ntc__cisco_asa_show_license_all5.txt",
])
def test_classic_smart_licensing_is_not_slp(rel):
    st = status(rel)
    assert st.slp_enabled is None and st.smart_licensing_enabled is True
    assert st.registration_status in ("REGISTERED", "UNREGISTERED")
    state = reporting_state(st, parse_cli_time("Jan 01 00:00:00 2025 UTC").when.date())
    assert state.status == "not-slp" and "classic Smart Licensing" in state.reason


def test_classic_registration_authorization_and_reservation():
    st = status("iosxe/show_license_status/ntc__cisco_ios_show_license_status1.txt")
    assert (st.registration_status, st.authorization_status) == ("REGISTERED", "OUT OF COMPLIANCE")
    assert st.transport_type == "Callhome"
    csr = status("iosxe/show_license_all/genie__iosxe_ShowLicenseAll_golden_output_3.txt")
    assert csr.reservation == "DISABLED"  # 'Reservation Info' block: 'License reservation: DISABLED'
    assert (csr.udi_pid, csr.udi_serial) == ("CSR1000V", "9NZ7O74FICQ")
    asa = status("asa/show_license_all/ntc__cisco_asa_show_license_all3.txt")
    assert (asa.registration_status, asa.authorization_status) == ("UNREGISTERED", "EVAL MODE")


def test_show_license_all_never_acked_with_first_report_deadline():
    r = parse("iosxe/show_license_all/genie__iosxe_ShowLicenseAll_golden_output.txt")
    st = r.license_status
    assert st.slp_enabled is True and st.last_ack_received == "" and st.next_ack_deadline == "Feb 07 10:32:11 2022 UTC"
    assert (st.udi_pid, st.udi_serial) == ("C9300-24UX", "FCW2303D16Y")
    assert [(u["role"], u["udi_serial"]) for u in st.ha_udis] == [
        ("Active", "FCW2303D16Y"), ("Standby", "FHH2043P09E"), ("Member", "FCW2139L056")]
    assert {(lic.license, lic.entitlement_tag, lic.count, lic.license_type) for lic in r.licenses} == {
        ("network-advantage", "C9300-24 Network Advantage", 2, "Perpetual"),
        ("dna-advantage", "C9300-24 DNA Advantage", 2, "Subscription"),
        ("network-advantage", "C9300-48 Network Advantage", 1, "Perpetual"),
        ("dna-advantage", "C9300-48 DNA Advantage", 1, "Subscription")}
    day = parse_cli_time(st.next_ack_deadline).when.date()
    assert reporting_state(st, day - timedelta(days=10)).status == "never-acked"
    late = reporting_state(st, day + timedelta(days=3))
    assert late.status == "overdue" and late.days == -3 and "never acknowledged" in late.reason


def test_show_license_all_ist_trust_codes_glued_lines_and_no_deadline():
    st = status("iosxe/show_license_all/genie__iosxe_ShowLicenseAll_golden_output_4.txt")
    # 'INSTALLED on Apr 23 15:28:43 2025 IST    Valid on ...' glued on one line, per member.
    assert [(t["role"], t["udi_pid"], t["udi_serial"], t["installed"]) for t in st.trust_codes] == [
        ("Active", "C9350-48T", "FOC2820Y07F", "Apr 23 15:28:43 2025 IST"),
        ("Standby", "C9350-48P", "FOC2823Y0QC", "Apr 23 15:28:43 2025 IST"),
        ("Member", "C9350-24T", "FOC2823Y1LN", "Apr 23 15:28:43 2025 IST")]
    assert st.last_ack_received == "Apr 23 15:28:43 2025 IST" and st.next_ack_deadline == ""
    assert st.reporting_push_interval == "0 (no reporting)"
    state = reporting_state(st, parse_cli_time("May 01 00:00:00 2025 UTC").when.date())
    assert state.status == "ok" and "no next deadline" in state.reason and "India" in state.reason


def test_show_license_all_unknown_zone_kept_and_noted():
    st = status("iosxe/show_license_all/genielibs__mock_data__execute.txt")
    assert st.next_ack_deadline == "Jul 04 21:11:50 2023 pacific"
    t = parse_cli_time(st.next_ack_deadline)
    assert t.zone == "pacific" and t.when.isoformat() == "2023-07-04T21:11:50+00:00" and "unknown time zone" in t.note
    state = reporting_state(st, t.when.date())
    assert state.status == "due" and "unknown time zone 'pacific', read as UTC" in state.reason


def test_show_license_all_four_member_stack_trust_codes():
    st = status("iosxe/show_license_all/genie__iosxe_ShowLicenseAll_golden_output_3_4M.txt")
    assert [t["udi_serial"] for t in st.trust_codes] == ["FOC2705Y8X0", "FOC2705Y8XF", "FOC2718Y66X", "FOC2719YOHR"]
    assert [u["role"] for u in st.ha_udis] == ["Active", "Standby", "Member", "Member"]
    assert st.policy["perpetual"]["reporting_frequency_days"] == (60, CUSTOM)


@pytest.mark.parametrize("rel", [
    "iosxe/show_license_status/genie__iosxe_ShowLicenseStatus_golden_output1.txt",
    "iosxe/show_license_status/ntc__cisco_ios_show_license_status2.txt",
    "iosxe/show_license_status/ntc__cisco_ios_show_license_status3.txt",
    "iosxe/show_license_status/ntc__cisco_ios_show_license_status4.txt",
    "iosxe/show_license_all/genie__iosxe_ShowLicenseAll_golden_output_2.txt",
    "iosxe/show_license_all/genie__iosxe_ShowLicenseAll_golden_output_3_4M.txt",
    "iosxe/show_license_all/genielibs__mock_data__execute.txt",
])
def test_deadline_is_last_ack_plus_a_policy_interval(rel):
    """FORMATS.md 2.4's rule, on every capture that shows both: deadline - last ACK is one of the
    policy's day values (the parser read the right lines, the clock reader the right dates)."""
    st = status(rel)
    gap = (parse_cli_time(st.next_ack_deadline).when - parse_cli_time(st.last_ack_received).when).days
    values = {v[0] for attrs in st.policy.values() for v in attrs.values() if v[0]}
    assert gap in values, (gap, values)


def test_udi_table_and_ha_list():
    old = status("iosxe/show_license_udi/genie__iosxe_ShowLicenseUdi_golden_output1.txt")
    assert (old.udi_pid, old.udi_serial) == ("ASR1006", "NWG1512050G")
    new = status("iosxe/show_license_udi/genie__iosxe_ShowLicenseUdi_golden_output2.txt")
    assert [u["udi_serial"] for u in new.ha_udis] == ["FOC2705Y8X0", "FOC2705Y8XF", "FOC2718Y66X", "FOC2719YOHR"]


def test_usage_and_summary_rows():
    summary = parse("iosxe/show_license_summary/genie__iosxe_ShowLicenseSummary_golden_output2.txt").licenses
    assert [(u.license, u.entitlement_tag, u.count, u.status) for u in summary] == [
        ("network-premier_5G", "ESR_P_5G_P", 1, "IN USE"), ("dna-premier_5G", "DNA_P_5G_P", 1, "IN USE"),
        ("hseck9", "DNA_HSEC", 1, "IN USE")]
    usage = parse("iosxe/show_license_usage/genie__iosxe_ShowLicenseUsage_golden_output1.txt").licenses
    assert [(u.count, u.license_type, u.enforcement) for u in usage][:2] == [
        (2, "Perpetual", "NOT ENFORCED"), (2, "Subscription", "NOT ENFORCED")]
    nxos = parse("nxos/show_license_usage/ntc__cisco_nxos_show_license_usage_ver10.txt").licenses
    assert [(u.license, u.count, u.license_type, u.status) for u in nxos] == [
        ("LAN_ENTERPRISE_SERVICES_PKG", 1, "Generic", "IN USE")]


def test_every_corpus_licence_capture_parses():
    for path in sorted(ROOT.glob("*/show_license_*/*.txt")):
        if path.parts[-2] == "show_license_authorization":
            continue  # not a collected command
        result = parsers.parse(PLATFORM[path.parts[-3]], path.parts[-2], path.read_text())
        assert result.licenses or result.license_status is not None, path
