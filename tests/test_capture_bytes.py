"""Captures keep the exact bytes received, and their sha256 is over those bytes (issue 12, item 6),
for the transports beyond the asyncssh driver (tests/hostile/test_files_store.py has that one):
netmiko (``--ssh-driver netmiko``), NETCONF (ncclient, both framings) and SNMP (snmpsim).

Each end-to-end test makes a lab device send bytes a decoder would lose or rewrite (Latin-1 and
invalid UTF-8 on the CLI; non-canonical XML split into chunks inside a UTF-8 character; octet
strings that are not UTF-8 or hold line separators), records what the lab sent, scans it into a
store, and compares the stored blob with those bytes.  Then it parses the stored text again, as
``ibagent parse`` would, and checks the records against the device's ground truth.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import re

import pytest

import parsers
from agent.cli import main as cli_main
from agent.collect.inventory import load_inventory
from agent.collect.scan import ScanOptions, run_scan
from agent.core.models import Capture
from agent.core.redact import Redactor
from agent.normalize import records_from_captures
from agent.store import Store
from collectors.netconf_frames import Frames
from collectors.recv_recorder import OutputTooLarge, RecvRecorder
from collectors.snmp import snmprec_line
from lab import fleet
from lab import netconf as lab_netconf
from lab import slp as lab_slp
from lab import snmp as lab_snmp
from lab.cli import Session
from lab.inventory import write_inventory
from lab.server import LabThread
from truth_checks import assert_records_match_truth

DEVICE = "hq-acc-stk01"  # cisco_xe: SSH, NETCONF and SNMP in the lab
FAST = dict(workers=1, connect_timeout=5, command_timeout=5, deadline=40)


def _scan(lab, tmp_path, transports, **options):
    """Scan the lab into a new store as ``ibagent scan`` does (the inventory's secrets to the redactor)."""
    inventory = load_inventory(write_inventory(lab.devices, tmp_path / "inv", transports=transports))
    store = Store(tmp_path / "ib.db")
    summary = asyncio.run(run_scan(inventory.targets, store, ScanOptions(**{**FAST, **options}),
                                   redactor=Redactor(inventory.secrets)))
    return store, summary


def _rows(store, transport):
    return store.db.execute("SELECT * FROM captures WHERE device=? AND transport=? ORDER BY id",
                            (DEVICE, transport)).fetchall()


def _reparse(store, rows, platform):
    """The records the stored texts give when parsed again (the ``ibagent parse`` code path)."""
    caps = [Capture(DEVICE, platform, r["transport"], r["command"], store.capture_text(r["id"]), 0.0, 0.0)
            for r in rows if r["error"] is None]
    return records_from_captures(DEVICE, platform, caps)


def _spec():
    return [s for s in fleet.demo_fleet(latency=0.0, jitter=0.0) if s.name == DEVICE]


def _cli_parse(path, data: bytes, platform: str, command: str, capsys) -> dict:
    """``ibagent parse`` on a file holding a capture's stored bytes: its records as JSON."""
    path.write_bytes(data)
    capsys.readouterr()
    assert cli_main(["parse", str(path), "--platform", platform, "--command", command, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


# ------------------------------------------------------------------ netmiko

# What the device prints in place of the marker: Latin-1 (0xFC), then bytes that are no UTF-8 at all.
MARKER = "Site: Muenchen-ROW"
ODD = b"Site: M\xfcnchen \xff\xfe\x80 row\x1b[0m"


def test_netmiko_capture_keeps_the_bytes_netmiko_decodes_away(tmp_path, monkeypatch, capsys):
    real_output, real_emit = lab_slp.output, Session._emit
    sent: list[bytes] = []

    def output(device, command):
        text = real_output(device, command)
        return MARKER + "\r\n" + text if command == "show version" and text else text

    async def emit(self, data: bytes):
        data = data.replace(MARKER.encode(), ODD)
        sent.append(data)
        await real_emit(self, data)

    monkeypatch.setattr(lab_slp, "output", output)
    monkeypatch.setattr(Session, "_emit", emit)
    with LabThread(_spec()) as lab:
        store, summary = _scan(lab, tmp_path, ["ssh"], ssh_driver="netmiko", command_timeout=10)
        try:
            assert summary.ok == 1, summary
            rows = _rows(store, "ssh")
            by_command = {r["command"]: r for r in rows}
            row = by_command["show version"]
            raw, text = store.capture_bytes(row["id"]), store.capture_text(row["id"])
            reparsed = _reparse(store, rows, lab.device(DEVICE).platform)
            truth = lab.device(DEVICE).truth
            stored_serials = {s for (s,) in store.db.execute(
                "SELECT serial FROM components WHERE device=? AND serial != ''", (DEVICE,))}
            every = [(r, store.capture_bytes(r["id"])) for r in rows]
        finally:
            store.close()
    (version_out,) = [d for d in sent if ODD in d]
    prompt = every[0][1]
    assert every[0][0]["command"] == "prompt" and prompt == b"\r\nhq-acc-stk01#"
    # Exactly what the device sent while the command ran: the prompt netmiko asks for again before
    # each command, the command's echo, its output, the prompt.
    assert raw == prompt + b"show version\r\n" + version_out
    assert row["sha256"] == hashlib.sha256(raw).hexdigest()
    # netmiko's text (decoded with errors ignored, line ends unified) is kept beside, and parsed.
    assert "Site: Mnchen  row" in text and "\r" not in text
    assert row["text_sha256"] == hashlib.sha256(text.encode()).hexdigest()
    for r, data in every:  # every capture of the device, the prompt's included, hashes its bytes
        assert data and r["sha256"] == hashlib.sha256(data).hexdigest(), r["command"]
    assert_records_match_truth(reparsed, truth)
    assert {c.serial for c in reparsed.components if c.serial} == stored_serials
    inventory = next(data for r, data in every if r["command"] == "show inventory")
    out = _cli_parse(tmp_path / "inventory.txt", inventory, truth.platform, "show inventory", capsys)
    assert {c["serial"] for c in out["components"] if c["serial"]} == stored_serials


@pytest.mark.parametrize("driver", ["asyncssh", "netmiko"])
def test_a_secret_the_device_prints_is_masked_in_the_stored_bytes(tmp_path, monkeypatch, driver):
    """The bytes are kept exactly, with one exception: a secret of the run (here the login
    password, echoed by the device between bytes that are not UTF-8) never reaches the store."""
    import os

    from lab.device import PASSWORD_ENV

    password = os.environ[PASSWORD_ENV].encode()
    real_output, real_emit = lab_slp.output, Session._emit

    def output(device, command):
        text = real_output(device, command)
        return MARKER + "\r\n" + text if command == "show version" and text else text

    async def emit(self, data: bytes):
        await real_emit(self, data.replace(MARKER.encode(), b"pw=\xe9" + password + b"\xff."))

    monkeypatch.setattr(lab_slp, "output", output)
    monkeypatch.setattr(Session, "_emit", emit)
    with LabThread(_spec()) as lab:
        store, summary = _scan(lab, tmp_path, ["ssh"], ssh_driver=driver, command_timeout=10)
        try:
            assert summary.ok == 1, summary
            row = {r["command"]: r for r in _rows(store, "ssh")}["show version"]
            raw = store.capture_bytes(row["id"])
        finally:
            store.close()
    assert password not in raw and password not in (tmp_path / "ib.db").read_bytes()
    assert b"pw=\xe9********\xff." in raw  # only the secret masked: the bytes around it as received
    assert row["sha256"] == hashlib.sha256(raw).hexdigest()


def test_netmiko_output_over_its_budget_is_garbage_and_bounded(tmp_path, monkeypatch):
    import collectors.recv_recorder as recv_recorder

    monkeypatch.setattr(recv_recorder, "MAX_SPAN", 64 * 1024)  # 16 MiB in production: the test is quicker
    real_output = lab_slp.output
    flood = "".join(f"NAME: \"slot {i}\", DESCR: \"{'x' * 60}\"\r\n" for i in range(4000))  # ~330 KiB

    def output(device, command):
        return flood if command == "show inventory" else real_output(device, command)

    monkeypatch.setattr(lab_slp, "output", output)
    with LabThread(_spec()) as lab:
        store, summary = _scan(lab, tmp_path, ["ssh"], ssh_driver="netmiko", command_timeout=20)
        try:
            row = {r["command"]: r for r in _rows(store, "ssh")}["show inventory"]
            raw = store.capture_bytes(row["id"])
        finally:
            store.close()
    assert summary.failures == [(DEVICE, "garbage", "'show inventory': output exceeded 65536 bytes without a prompt")]
    assert row["error_kind"] == "garbage" and 64 * 1024 < len(raw) <= 64 * 1024 + 65536
    assert raw.startswith(b"\r\nhq-acc-stk01#show inventory\r\nNAME: \"slot 0\"")


# ------------------------------------------------------------------ NETCONF

def _odd_xml(doc: bytes) -> bytes:
    """The same document as a device might write it, not as lxml would: another declaration,
    attributes in another order across lines, CR LF and tabs between elements, a comment with
    non-ASCII text, a CDATA section and a character reference."""
    doc = doc.replace(b"<?xml version='1.0' encoding='UTF-8'?>\n", b'<?xml version="1.0"   encoding="UTF-8" ?>\r\n')
    doc = re.sub(rb'<rpc-reply xmlns="([^"]+)" message-id="([^"]+)">',
                 lambda m: b"<rpc-reply\r\n    message-id='%s'\txmlns = \"%s\"  >" % (m[2], m[1]), doc)
    doc = doc.replace(b"<data>", "<data><!-- caf\u00e9 \u00fcber alles \u2014 r\u00e9sum\u00e9 -->\r\n".encode(), 1)
    doc = doc.replace(b"</device-inventory>", b"</device-inventory>\r\n\t  ")
    doc = re.sub(rb"<hw-description>([^<]*)</hw-description>", rb"<hw-description><![CDATA[\1]]></hw-description>",
                 doc, count=1)
    doc = re.sub(rb"<serial-number>F", b"<serial-number>&#70;", doc, count=1)
    return doc


def _odd_chunks(message: bytes) -> bytes:
    """RFC 6242 chunks cut every 37 bytes and once inside a two-byte UTF-8 character."""
    cut = message.find("\u00e9".encode())
    cuts = sorted({*range(37, len(message), 37), *([cut + 1] if cut > 0 else [])})
    parts = [message[a:b] for a, b in zip([0, *cuts], [*cuts, len(message)])]
    return b"".join(b"\n#%d\n%s" % (len(p), p) for p in parts) + b"\n##\n"


@pytest.mark.parametrize("framing", ["chunked", "end-marker"])
def test_netconf_capture_is_the_reply_document_as_sent(tmp_path, monkeypatch, capsys, framing):
    real_reply, real_frame = lab_netconf._reply, lab_netconf._Framing.frame
    sent: list[bytes] = []

    def reply(rpc, body):
        doc = _odd_xml(real_reply(rpc, body))
        if framing == "end-marker":
            doc = b"\n" + doc + b"\r\n  "  # blanks around the document, inside the message
        sent.append(doc)
        return doc

    def frame(self, message: bytes) -> bytes:
        return _odd_chunks(message) if self.chunked else real_frame(self, message)

    monkeypatch.setattr(lab_netconf, "_reply", reply)
    monkeypatch.setattr(lab_netconf._Framing, "frame", frame)
    if framing == "end-marker":  # the device offers base:1.0 only: ]]>]]> framing throughout
        monkeypatch.setattr(lab_netconf, "BASE_11", "urn:ibagent:test:no-base-1.1")
    with LabThread(_spec(), peers=("netconf",)) as lab:
        store, summary = _scan(lab, tmp_path, ["netconf"])
        try:
            assert summary.ok == 1, summary
            rows = _rows(store, "netconf")
            stored = [store.capture_bytes(r["id"]) for r in rows]
            texts = [store.capture_text(r["id"]) for r in rows]
            reparsed = _reparse(store, rows, lab.device(DEVICE).platform)
            truth = lab.device(DEVICE).truth
        finally:
            store.close()
    assert [r["command"] for r in rows] == ["netconf:hardware", "netconf:version", "netconf:licenses", "netconf:cdp",
                                            "netconf:lldp"]  # the last two: IOS XE's CDP / LLDP models (issue 17)
    assert stored == sent[: len(rows)]  # byte for byte: not re-serialised, framing removed
    assert b"<![CDATA[" in stored[0] and b"&#70;" in stored[0] and "caf\u00e9".encode() in stored[0]
    for row, data, text in zip(rows, stored, texts):
        assert row["sha256"] == hashlib.sha256(data).hexdigest()
        if framing == "chunked":  # the text parsed is those bytes as UTF-8: nothing kept beside
            assert text == data.decode() and row["text_sha256"] is None
        else:  # ncclient's text is the message without the blanks around it: kept beside
            assert text == data.decode().strip() and row["text_sha256"] == hashlib.sha256(text.encode()).hexdigest()
    assert_records_match_truth(reparsed, truth)
    out = _cli_parse(tmp_path / "reply.xml", stored[0], truth.platform, "netconf:hardware", capsys)
    assert {c["serial"] for c in out["components"] if c["serial"]} == \
        {c.serial for c in reparsed.components if c.serial and c.transport == "netconf"}


def test_netconf_failed_reply_keeps_what_was_read(monkeypatch):
    from agent.core.models import Credential, Target
    from collectors.base import CollectError
    from collectors.netconf import NetconfCollector
    from lab import faults

    noise: list[bytes] = []
    real_noise = faults.noise
    monkeypatch.setattr(faults, "noise", lambda rng, *a: noise.append(real_noise(rng, *a)) or noise[-1])
    names = ("lab-fault-garbage", "lab-fault-disconnect")
    specs = [s for s in fleet.demo_fleet(latency=0.0, jitter=0.0) if s.name in names]
    got = {}
    with LabThread(specs, peers=("netconf",)) as lab:
        for name in names:
            d = lab.device(name)
            target = Target(name=d.name, host=d.host, platform=d.platform, port=d.port,
                            credential=Credential(d.username, d.password), options={"netconf_port": d.netconf_port})
            sink: list = []
            with pytest.raises(CollectError) as err:
                asyncio.run(NetconfCollector(connect_timeout=3, command_timeout=3).collect(target, sink))
            got[name] = (err.value.kind, sink[-1])
    kind, cap = got["lab-fault-garbage"]
    assert kind == "garbage" and cap.error_kind == "garbage" and cap.output == ""
    assert len(cap.raw) >= 13 and noise[0].startswith(cap.raw)  # the noise as it came, up to the refusal
    kind, cap = got["lab-fault-disconnect"]
    assert kind == "disconnect" and cap.error_kind == "disconnect"
    assert cap.raw.startswith(b"\n#") and b"<rpc-reply" in cap.raw  # half a chunk: its header and payload so far


def test_netconf_reply_that_is_not_utf8_is_garbage_with_its_bytes_kept(monkeypatch):
    from agent.core.models import Credential, Target
    from collectors.base import CollectError
    from collectors.netconf import NetconfCollector

    real_reply, sent = lab_netconf._reply, []

    def reply(rpc, body):
        doc = real_reply(rpc, body).replace(b"<data>", b"<data><!-- Caf\xe9 -->", 1)  # Latin-1, said to be UTF-8
        sent.append(doc)
        return doc

    monkeypatch.setattr(lab_netconf, "_reply", reply)
    with LabThread(_spec(), peers=("netconf",)) as lab:
        d = lab.device(DEVICE)
        target = Target(name=d.name, host=d.host, platform=d.platform, port=d.port,
                        credential=Credential(d.username, d.password), options={"netconf_port": d.netconf_port})
        sink: list = []
        with pytest.raises(CollectError) as err:
            asyncio.run(NetconfCollector(connect_timeout=3, command_timeout=3).collect(target, sink))
    assert err.value.kind == "garbage" and "encoding" in err.value.message
    assert sink[-1].error_kind == "garbage" and sink[-1].raw == sent[0]  # the whole reply, as sent


class _Session:
    def __init__(self):
        from ncclient.transport.session import NetconfBase

        self._base = NetconfBase.BASE_10
        self.messages: list[str] = []

    def _dispatch_message(self, text):
        self.messages.append(text)


def test_frames_reads_both_framings_in_any_pieces():
    from ncclient.transport.session import NetconfBase

    session = _Session()
    frames = Frames(session)
    hello = b"<hello>\xc3\xa9</hello>"
    stream = b"  " + hello + b"]]>]]>\n"
    for i in range(len(stream)):  # one byte a read: the end marker split every way
        frames.parse(stream[i : i + 1])
    assert session.messages == ["<hello>\u00e9</hello>"]
    assert frames.take(session.messages[0]) == b"  " + hello
    session._base = NetconfBase.BASE_11  # after the hello; the '\n' left over is not a header
    reply = "<rpc-reply>r\u00e9sum\u00e9 \u2014 ok</rpc-reply>".encode()
    wire = _odd_chunks(reply) * 2
    for i in range(0, len(wire), 5):
        frames.parse(wire[i : i + 5])
    assert session.messages[1:] == [reply.decode()] * 2
    assert frames.take(session.messages[2]) == reply and frames.take(session.messages[1]) is None
    assert not frames.partial()


def test_frames_refuses_what_is_not_a_chunk_and_keeps_a_broken_message():
    from ncclient.transport.errors import NetconfFramingError
    from ncclient.transport.session import NetconfBase

    session = _Session()
    session._base = NetconfBase.BASE_11
    frames = Frames(session)
    frames.parse(b"\n#5\nab")
    assert frames.partial() == b"\n#5\nab"  # what was read of the message, as it came
    frames.parse(b"cde\n#3\nxyz")
    assert frames.partial() == b"abcdexyz"
    with pytest.raises(NetconfFramingError):
        frames.parse(b"garbage, not a header")
    frames = Frames(session)
    with pytest.raises(UnicodeDecodeError):
        frames.parse(b"\n#4\nM\xfcn!\n##\n")  # not UTF-8: the reply fails, its bytes stay evidence
    assert frames.partial() == b"M\xfcn!" and session.messages == []


# ------------------------------------------------------------------ netmiko's recorder, alone

class _Channel:
    def __init__(self, reads):
        self.reads = list(reads)

    def recv(self, nbytes):
        return self.reads.pop(0) if self.reads else b""


def test_recorder_keeps_each_span_and_bounds_it():
    channel = _Channel([b"show x\r\n\xff", b"\xfe#", b"more"])
    recorder = RecvRecorder(channel, limit=16)
    assert channel.recv(99) == b"show x\r\n\xff" and channel.recv(99) == b"\xfe#"
    assert recorder.take() == b"show x\r\n\xff\xfe#" and recorder.take() == b""
    channel.reads = [b"0123456789abcdef", b"!"]
    channel.recv(99)
    with pytest.raises(OutputTooLarge):
        channel.recv(99)  # the 17th byte of one span


# ------------------------------------------------------------------ SNMP

def _values(lines):
    """{oid: (type, the value's bytes)} from snmprec lines (``x`` types hex-decoded)."""
    out = {}
    for line in lines:
        oid, tag, value = line.split("|", 2)
        out[oid] = (tag.rstrip("x"), bytes.fromhex(value) if tag.endswith("x") else value.encode())
    return out


def test_snmprec_line_is_lossless_for_every_octet_string():
    from pysnmp.proto import rfc1902

    oid = (1, 3, 6, 1, 2, 1, 1, 1, 0)
    for value in (b"plain text", "caf\u00e9".encode(), b"M\xfcnchen", b"\xff\xfe", b"a|b", b"two\r\nlines",
                  "line\u2028separator".encode(), "next\u0085line".encode(), "no\u00a0break".encode(),
                  "zero\u200bwidth".encode(), b"", b"\x00\x01"):
        line = snmprec_line(oid, rfc1902.OctetString(value))
        assert len(line.splitlines()) == 1, line  # one varbind, one line, whatever the value
        assert _values([line])["1.3.6.1.2.1.1.1.0"] == ("4", value), line
    assert snmprec_line(oid, rfc1902.OctetString("caf\u00e9".encode())).endswith("|4|caf\u00e9")  # readable stays text
    assert snmprec_line(oid, rfc1902.IpAddress("127.0.0.1")).endswith("|64|127.0.0.1")


DESCR_OID = "1.3.6.1.2.1.47.1.1.1.1.2.{}"
DESCR = "Stack\u2028member\u0085one"  # valid UTF-8 that str.splitlines cuts in three
SYS_DESCR_BYTES = b"Cisco IOS Software \xe9\xff\xfe "  # then the lab's own sysDescr


def test_snmp_capture_holds_every_byte_the_agent_sent(tmp_path, monkeypatch, capsys):
    real_recording = lab_snmp.recording
    served: dict[str, tuple[str, bytes]] = {}

    def recording(device):
        lines = real_recording(device).splitlines()
        first_descr = next(i for i, line in enumerate(lines) if line.startswith(DESCR_OID.format("")))
        oid = lines[first_descr].split("|", 1)[0]
        lines[first_descr] = f"{oid}|4x|{DESCR.encode().hex()}"
        for i, line in enumerate(lines):
            if line.startswith("1.3.6.1.2.1.1.1.0|"):
                sys_descr = _values([line])["1.3.6.1.2.1.1.1.0"][1]
                lines[i] = f"1.3.6.1.2.1.1.1.0|4x|{(SYS_DESCR_BYTES + sys_descr).hex()}"
        served.update(_values(lines))
        return "".join(line + "\n" for line in lines)

    monkeypatch.setattr(lab_snmp, "recording", recording)
    with LabThread(_spec(), peers=("snmp",)) as lab:
        store, summary = _scan(lab, tmp_path, ["snmp"])
        try:
            assert summary.ok == 1, summary
            rows = _rows(store, "snmp")
            stored = {r["command"]: store.capture_bytes(r["id"]) for r in rows}
            texts = {r["command"]: store.capture_text(r["id"]) for r in rows}
            platform = lab.device(DEVICE).platform
            reparsed = _reparse(store, rows, platform)
        finally:
            store.close()
    # (and the CDP / LLDP tables the lab's topology gives it, issue 17: every byte of those too)
    assert set(stored) == {"snmp:system", "snmp:entPhysicalTable", "snmp:cdpCacheTable", "snmp:lldpRemTable"}
    for command, data in stored.items():
        assert data == texts[command].encode()  # the lines' bytes, nothing beside them
        got = _values(data.decode().splitlines())
        assert got and all(served[oid] == value for oid, value in got.items()), command
    assert _values(stored["snmp:system"].decode().splitlines())["1.3.6.1.2.1.1.1.0"][1].startswith(SYS_DESCR_BYTES)
    assert any(line.endswith(DESCR.encode().hex()) for line in stored["snmp:entPhysicalTable"].decode().splitlines())
    # Parsed again from the store: the description whole, the inventory as the device's truth.
    table = parsers.parse(platform, "snmp:entPhysicalTable", texts["snmp:entPhysicalTable"])
    assert DESCR in [c.descr for c in table.components] + [table.facts.get("chassis_descr")]
    assert {c.serial for c in reparsed.components if c.serial} >= {lab.device(DEVICE).truth.chassis_serial}
    out = _cli_parse(tmp_path / "table.snmprec", stored["snmp:entPhysicalTable"], platform, "snmp:entPhysicalTable",
                     capsys)
    assert DESCR in [c["descr"] for c in out["components"]] + [out["facts"].get("chassis_descr")]
