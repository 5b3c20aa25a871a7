"""The lab's Smart Licensing simulation, driven over SSH as an operator would: flash file
commands with their confirmations, save-usage modes, RUM report states, import errors, the SCP
server, and refusals on platforms without SLP."""
from __future__ import annotations

import asyncio
import json
import re
import xml.etree.ElementTree as ET

import asyncssh
import pytest

from agent.collect.inventory import load_inventory
from agent.slp.rum import parse_rum
from collectors.ssh_actions import CliSession, file_size, scp_get, scp_put
from lab import fleet
from lab import slp as lab_slp
from lab.dialects import DIALECTS
from lab.inventory import write_inventory
from lab.server import LabThread


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    names = ("hq-acc-stk01", "dc1-leaf01", "cloud-rtr01", "dc1-pe01", "dc1-fw01-pri", "br01-acc-sw01")
    with LabThread([s for s in fleet.demo_fleet(latency=0.0) if s.name in names]) as running:
        inv = tmp_path_factory.mktemp("inv")
        write_inventory(running.devices, inv)
        running.targets = {t.name: t for t in load_inventory(inv).targets}
        yield running


def run(lab, name, *commands, **kw):
    async def go():
        async with await CliSession.open(lab.targets[name], connect_timeout=5, command_timeout=5) as s:
            return [await s.run(c, **kw) for c in commands]
    return asyncio.run(go())


def test_save_modes_and_report_states(lab):
    dev = lab.device("cloud-rtr01")
    st = lab_slp.state(dev)
    acked = [r.report_id for r in st.reports if r.state == "ACK"]
    closed = [r.report_id for r in st.reports if r.state != "ACK"]
    assert acked and closed
    caps = run(lab, "cloud-rtr01",
               "license smart save usage unreported file bootflash:u.txt",
               "license smart save usage all file bootflash:a.txt",
               "license smart save usage days 2 file bootflash:d.txt",
               f"license smart save usage rum-id {acked[0]} file bootflash:r.txt",
               "show license rum id all", "show license status")
    assert all(c.ok and c.output == "" for c in caps[:4])
    assert parse_rum(st.files["u.txt"]).report_ids == closed
    assert sorted(parse_rum(st.files["a.txt"]).report_ids) == sorted(acked + closed)
    assert parse_rum(st.files["d.txt"]).report_ids == []  # the unreported ones are a week old
    assert parse_rum(st.files["r.txt"]).report_ids == [acked[0]]
    table = caps[4].output
    assert table.startswith("Smart Licensing Usage Report:") and f"{acked[0]:<20}ACK" in table
    assert "Last report file write: " + lab_slp.cli_time(st.file_write) in caps[5].output


def test_rum_file_shape(lab):
    dev = lab.device("hq-acc-stk01")
    run(lab, "hq-acc-stk01", "license smart save usage unreported file bootflash:shape.txt")
    data = lab_slp.state(dev).files["shape.txt"]
    root = ET.fromstring(data)
    assert root.tag == "smartLicense" and [c.tag for c in root][0] == "smartLicenseSystemInfo"
    reports = root.findall("RUMReport")
    doc = json.loads(reports[0].text)
    assert isinstance(doc["payload"], str) and doc["header"] == {"type": "rum"}  # payload: an escaped JSON string
    assert set(doc["signature"]) == {"sudi", "signing_type", "key", "value"}
    payload = json.loads(doc["payload"])
    assert payload["meta"]["entitlement_tag"].startswith("regid.2017-05.com.cisco.")
    assert abs(payload["meta"]["report_id"] - payload["measurements"][0]["start_time"]) < 10  # id ~ epoch
    assert [m["role"] for m in payload["meta"]["ha_udi"]] == ["Active", "Standby", "Member"]
    assert not data.endswith(b"\n")


def test_flash_commands_ios(lab):
    st = lab_slp.state(lab.device("hq-acc-stk01"))
    st.put("junk.txt", b"x" * 123)
    listing, more, gone, force = run(lab, "hq-acc-stk01", "dir bootflash:", "more bootflash:junk.txt",
                                     "delete bootflash:junk.txt", "more bootflash:junk.txt", max_confirms=2,
                                     glued_prompt=True)  # 'x' * 123 has no newline: the prompt follows it
    assert re.search(r"-rw-\s+123\s+\w{3} \d\d \d{4} [\d:]{8} \+00:00  junk.txt", listing.output)
    assert "bytes total (" in listing.output and more.output == "x" * 123
    assert "Delete filename [junk.txt]? " in gone.output and "Delete bootflash:/junk.txt? [confirm]" in gone.output
    assert "junk.txt" not in st.files
    assert not force.ok and "%Error opening bootflash:/junk.txt (No such file or directory)" in force.output
    st.put("junk2.txt", b"y")
    (cap,) = run(lab, "hq-acc-stk01", "delete /force bootflash:junk2.txt")
    assert cap.ok and cap.output == "" and "junk2.txt" not in st.files
    size, _ = asyncio.run(_size(lab, "hq-acc-stk01", "bootflash:packages.conf"))
    assert size == len(st.files["packages.conf"])


async def _size(lab, name, path):
    async with await CliSession.open(lab.targets[name], connect_timeout=5, command_timeout=5) as s:
        return await file_size(s, path)


def test_flash_commands_nxos(lab):
    st = lab_slp.state(lab.device("dc1-leaf01"))
    st.put("n.txt", b"abc")
    listing, asked = run(lab, "dc1-leaf01", "dir bootflash:", "delete bootflash:n.txt", max_confirms=1)
    assert re.search(r"^\s+3\s+\w{3} \d\d [\d:]{8} \d{4}  n.txt$", listing.output, re.M)
    assert "Usage for bootflash://sup-local" in listing.output
    assert '(yes/no/abort)   [y]' in asked.output and "n.txt" not in st.files
    st.put("m.txt", b"abc")
    run(lab, "dc1-leaf01", "delete bootflash:m.txt no-prompt")
    assert "m.txt" not in st.files


def test_import_errors_leave_the_device_alone(lab):
    dev = lab.device("cloud-rtr01")
    st = lab_slp.state(dev)
    st.put("notack.txt", b"<smartLicense><RUMReport/></smartLicense>")
    st.put("garbled.txt", b"\x00\x01 not xml")
    other = lab_slp.make_ack({"udi_pid": "C8000V", "udi_serial_number": "9OTHERDEVICE"}, [1])
    st.put("other.txt", other)
    before = (st.last_ack, st.deadline, st.imports)
    caps = run(lab, "cloud-rtr01", "license smart import bootflash:missing.txt", "license smart import bootflash:notack.txt",
               "license smart import bootflash:garbled.txt", "license smart import bootflash:other.txt",
               "license smart import flashx:other.txt")
    said = [c.output.strip() for c in caps]
    assert said == [
        "%Error opening bootflash:/missing.txt (No such file or directory)",
        "% Error: Import Data Failed: the file holds no usage acknowledgement",
        "% Error: Import Data Failed: the file is not a valid acknowledgement (XML is damaged)",
        f"% Error: Import Data Failed: the acknowledgement is not for this product instance (UDI C8000V:{st.udis[0][2]})",
        "%Error opening flashx:other.txt (Invalid file system)",
    ]
    assert all(not c.ok for c in caps)
    assert (st.last_ack, st.deadline, st.imports) == before


def test_import_updates_status_and_opens_the_next_cycle(lab):
    dev = lab.device("dc1-leaf01")
    st = lab_slp.state(dev)
    run(lab, "dc1-leaf01", "license smart save usage unreported file bootflash:x.txt")
    ids = parse_rum(st.files["x.txt"]).report_ids
    st.put("ack.txt", lab_slp.cssm_ack(st.files["x.txt"]))
    imp, status, table = run(lab, "dc1-leaf01", "license smart import bootflash:ack.txt", "show license status",
                             "show license rum id all")
    assert imp.ok and imp.output.strip() == "Import Data Successful"
    assert f"Last ACK received: {lab_slp.cli_time(st.last_ack)}" in status.output
    assert f"Next ACK deadline: {lab_slp.cli_time(st.deadline)}" in status.output
    assert (st.deadline - st.last_ack).days == 90  # NX-OS generic licence: subscription frequency
    assert all(f"{i:<20}ACK" in table.output for i in ids) and "OPEN" in table.output


def test_cssm_refuses_an_altered_usage_file(lab):
    dev = lab.device("hq-acc-stk01")
    run(lab, "hq-acc-stk01", "license smart save usage all file bootflash:all.txt")
    data = lab_slp.state(dev).files["all.txt"]
    assert lab_slp.cssm_ack(data).startswith(b"<smartLicense><smartLicenseRumAck>")
    altered = data.replace(b'\\"value\\":\\"3\\"', b'\\"value\\":\\"1\\"', 1)
    assert altered != data
    with pytest.raises(lab_slp.CssmRejected, match="signature"):
        lab_slp.cssm_ack(altered)


@pytest.mark.parametrize("name", ["dc1-pe01", "dc1-fw01-pri", "br01-acc-sw01"])
def test_platforms_without_slp_refuse_the_commands(lab, name):
    save, imp = run(lab, name, "license smart save usage unreported file flash:x", "license smart import flash:x")
    dialect = DIALECTS[lab.device(name).platform]
    assert dialect.invalid in save.output and dialect.invalid in imp.output
    assert not save.ok and not imp.ok


def test_reporting_frequency_follows_the_profile_policy(lab):
    # Perpetual-only ISR would use 365; the stack has a subscription licence under a 90-day custom policy.
    assert lab_slp.state(lab.device("hq-acc-stk01")).frequency_days == 90
    assert lab_slp.state(lab.device("cloud-rtr01")).frequency_days == 90


def test_scp_server(lab):
    target = lab.targets["cloud-rtr01"]
    st = lab_slp.state(lab.device("cloud-rtr01"))
    payload = bytes(range(256)) * 10  # binary-safe both ways
    asyncio.run(scp_put(target, payload, "bootflash:bin.dat", connect_timeout=5, timeout=5))
    assert st.files["bin.dat"] == payload
    assert asyncio.run(scp_get(target, "bootflash:bin.dat", connect_timeout=5, timeout=5)) == payload

    async def sftp():
        async with asyncssh.connect(target.host, target.port, username=target.credential.username,
                                    password=target.credential.password.reveal(), known_hosts=None) as conn:
            async with conn.start_sftp_client() as client:
                return await client.listdir("bootflash:")

    with pytest.raises((asyncssh.SFTPError, asyncssh.Error)):
        asyncio.run(sftp())  # IOS has an SCP server, not an SFTP one


def test_abbreviated_save_command(lab):
    (cap,) = run(lab, "cloud-rtr01", "lic sma sav usa unrep fi bootflash:abbr.txt")
    assert cap.ok and "abbr.txt" in lab_slp.state(lab.device("cloud-rtr01")).files
