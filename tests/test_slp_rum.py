"""RUM usage files and ACK files are read (report ids, UDIs) without being rewritten, and
damaged or hostile files are refused with a reason a person can act on."""
from __future__ import annotations

from pathlib import Path

import pytest

from agent.slp.rum import RumError, parse_ack, parse_rum

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "slp"


def test_ios_xe_rum_with_string_payloads():
    data = (FIX / "rum_iosxe_c8000v.xml").read_bytes()
    rum = parse_rum(data)
    assert rum.udi == ("C8000V", "9ABCDEF1234") and rum.hostname == "edge-rtr-01"
    assert rum.report_ids == [1751540012, 1751540013]
    assert rum.entitlement_tags[0].startswith("regid.2018-12.com.cisco.DNA_P_50M_A,1.0_")
    assert rum.software_version == "17.09.04a"
    assert (FIX / "rum_iosxe_c8000v.xml").read_bytes() == data  # read, never rewritten


def test_nxos_rum_with_object_payload():
    rum = parse_rum((FIX / "rum_nxos_object_payload.xml").read_bytes())
    assert rum.udi == ("N9K-C9364C-GX", "FDO00000001") and rum.report_ids == [1699000001]


def test_ack_names_its_udi_reports_and_policy():
    ack = parse_ack((FIX / "ack_c8000v.xml").read_bytes())
    assert ack.udis == [("C8000V", "9ABCDEF1234")] and ack.report_ids == [1751540012, 1751540013]
    assert (ack.acks, ack.policies) == (1, 1)


def test_ack_udi_found_in_plain_text():
    assert parse_ack((FIX / "ack_udi_text.xml").read_bytes()).udis == [("C9300-48UXM", "FCW2611A0AA")]


@pytest.mark.parametrize("name, why", [
    ("ack_truncated.xml", "not well-formed XML"),
    ("ack_entity.xml", "DOCTYPE/ENTITY"),
    ("rum_iosxe_c8000v.xml", "no <smartLicenseRumAck>"),
])
def test_bad_ack_files(name, why):
    with pytest.raises(RumError, match=why):
        parse_ack((FIX / name).read_bytes())


@pytest.mark.parametrize("data, why", [
    (b"", "empty"),
    (b"<html><body>login page</body></html>", "not <smartLicense>"),
    (b"<smartLicense><smartLicenseRumAck><data>{}</data></smartLicenseRumAck></smartLicense>", "no UDI"),
])
def test_more_bad_acks(data, why):
    with pytest.raises(RumError, match=why):
        parse_ack(data)


def test_bad_rum_files():
    with pytest.raises(RumError, match="not well-formed"):
        parse_rum(b"<smartLicense><RUMReport><![CDATA[{")
    with pytest.raises(RumError, match="payload"):
        parse_rum(b"<smartLicense><RUMReport><![CDATA[not json]]></RUMReport></smartLicense>")
    with pytest.raises(RumError, match="neither"):
        parse_rum(b"<smartLicense></smartLicense>")
