"""NETCONF end to end on 127.0.0.1: the lab's server (framing, hello, subtree filters, errors) and
collectors/netconf.py against it (every platform with an agent, every fault kind, ncclient's send tick).
"""
from __future__ import annotations

import asyncio
import re
import socket
import statistics
import time

import asyncssh
import pytest
from lxml import etree

import parsers
from agent.core.models import Credential, Target
from agent.normalize import records_from_captures
from collectors.base import CollectError
from collectors.netconf import NetconfCollector, netconf_profile
from lab import fleet
from lab.netconf import BASE_10, BASE_11, EOM, NC
from lab.server import LabThread
from truth_checks import assert_records_match_truth

HEALTHY = ("hq-acc-stk01", "hq-core-svl01", "dc1-leaf01", "dc1-pe01", "br01-rtr01", "cloud-rtr01")


@pytest.fixture(scope="module")
def lab():
    with LabThread(fleet.demo_fleet(latency=0.0, jitter=0.0), peers=("netconf",)) as running:
        yield running


def _target(device, **options) -> Target:
    return Target(name=device.name, host=device.host, platform=device.platform, port=device.port,
                  credential=Credential(device.username, device.password),
                  options={"netconf_port": device.netconf_port, **options})


def _collect(collector, target):
    sink: list = []

    async def run():
        await collector.collect(target, sink)

    try:
        asyncio.run(run())
    except CollectError as exc:
        return sink, exc
    return sink, None


# ------------------------------------------------------------------ the server, spoken to by hand


class _Raw:
    """A bare NETCONF-over-SSH client: the framing is the test's, not ncclient's."""

    def __init__(self, device):
        self.device = device

    async def __aenter__(self):
        self.conn = await asyncssh.connect(self.device.host, self.device.netconf_port, username=self.device.username,
                                           password=self.device.password, known_hosts=None, client_keys=(),
                                           agent_path=None)
        self.writer, self.reader, _ = await self.conn.open_session(subsystem="netconf", encoding=None)
        self.buf = b""
        self.chunked = False
        return self

    async def __aexit__(self, *exc):
        self.conn.close()
        await self.conn.wait_closed()

    async def read(self) -> bytes:
        while True:
            if not self.chunked and EOM in self.buf:
                msg, self.buf = self.buf.split(EOM, 1)
                return msg
            if self.chunked:
                out, rest = b"", self.buf
                while True:
                    m = re.match(rb"\n#(\d+|#)\n", rest)
                    if not m:
                        break
                    if m.group(1) == b"#":
                        self.buf = rest[m.end():]
                        return out
                    size = int(m.group(1))
                    if len(rest) < m.end() + size:
                        break
                    out += rest[m.end():m.end() + size]
                    rest = rest[m.end() + size:]
            data = await asyncio.wait_for(self.reader.read(65536), 5)
            if not data:
                return b""
            self.buf += data

    def send(self, xml: str) -> None:
        data = xml.encode()
        self.writer.write(b"\n#%d\n%s\n##\n" % (len(data), data) if self.chunked else data + EOM)

    async def hello(self, *caps: str) -> etree._Element:
        server = etree.fromstring(await self.read())
        body = "".join(f"<capability>{c}</capability>" for c in caps)
        self.send(f'<hello xmlns="{NC}"><capabilities>{body}</capabilities></hello>')
        self.chunked = BASE_11 in caps
        return server

    async def rpc(self, body: str, message_id: str = "1") -> etree._Element:
        self.send(f'<rpc xmlns="{NC}" message-id="{message_id}">{body}</rpc>')
        return etree.fromstring(await self.read())


def _run(coro):
    return asyncio.run(coro)


def test_hello_base10_framing_get_and_close(lab):
    device = lab.device("dc1-pe01")

    async def go():
        async with _Raw(device) as nc:
            server = await nc.hello(BASE_10)
            caps = [c.text for c in server.iter(f"{{{NC}}}capability")]
            assert BASE_10 in caps and BASE_11 in caps
            assert any("Cisco-IOS-XR-invmgr-oper" in c for c in caps)
            assert server.find(f"{{{NC}}}session-id").text.isdigit()
            reply = await nc.rpc('<get><filter type="subtree"><system-time xmlns="http://cisco.com/ns/yang/'
                                 'Cisco-IOS-XR-shellutil-oper"><uptime/></system-time></filter></get>', "42")
            assert reply.get("message-id") == "42"
            assert reply.findtext(".//{*}host-name") == device.hostname
            closed = await nc.rpc("<close-session/>", "43")
            assert closed.find(f"{{{NC}}}ok") is not None
            assert await asyncio.wait_for(nc.reader.read(), 5) == b""  # the server ends the session
    _run(go())


def test_base11_chunked_framing_and_subtree_semantics(lab):
    device = lab.device("dc1-pe01")
    rack_serial = device.truth.chassis_serial

    async def go():
        async with _Raw(device) as nc:
            await nc.hello(BASE_10, BASE_11)
            assert nc.chunked
            # Content-match node: only the entity named 'Rack 0', and all of it.
            reply = await nc.rpc('<get><filter type="subtree"><inventory xmlns="http://cisco.com/ns/yang/'
                                 'Cisco-IOS-XR-invmgr-oper"><entities><entity><name>Rack 0</name></entity></entities>'
                                 '</inventory></filter></get>')
            entities = reply.findall(".//{*}entity")
            assert [e.findtext("{*}name") for e in entities] == ["Rack 0"]
            assert entities[0].findtext(".//{*}serial-number") == rack_serial
            # Selection nodes: just the leaves asked for, for every entity.
            reply = await nc.rpc('<get><filter type="subtree"><inventory xmlns="http://cisco.com/ns/yang/'
                                 'Cisco-IOS-XR-invmgr-oper"><entities><entity><name/><attributes><inv-basic-bag>'
                                 '<serial-number/></inv-basic-bag></attributes></entity></entities></inventory>'
                                 '</filter></get>')
            bags = reply.findall(".//{*}inv-basic-bag")
            assert len(bags) == 17 and all([c.tag.endswith("serial-number") for c in b] == [True] for b in bags)
            # A filter naming a model the device does not have selects nothing.
            reply = await nc.rpc('<get><filter type="subtree"><components xmlns="http://openconfig.net/yang/'
                                 'platform"/></filter></get>')
            assert len(reply.find(f"{{{NC}}}data")) == 0
    _run(go())


def test_rpc_errors(lab):
    device = lab.device("hq-acc-stk01")

    async def go():
        async with _Raw(device) as nc:
            await nc.hello(BASE_10, BASE_11)
            reply = await nc.rpc("<edit-config><target><running/></target></edit-config>", "7")
            assert reply.get("message-id") == "7"
            assert reply.findtext(".//{*}error-tag") == "operation-not-supported"
            reply = await nc.rpc('<get><filter type="xpath" select="/x"/></get>')
            assert reply.findtext(".//{*}error-tag") == "operation-not-supported"
            nc.send("<rpc><unclosed>")
            reply = etree.fromstring(await nc.read())
            assert reply.findtext(".//{*}error-tag") == "malformed-message"
            reply = await nc.rpc("<get/>")  # the session survives a malformed message
            assert reply.find(".//{*}device-inventory") is not None
    _run(go())
    with pytest.raises(parsers.ParseError, match="operation-not-supported"):
        parsers.parse("cisco_xe", "netconf:hardware",
                      f'<rpc-reply xmlns="{NC}"><rpc-error><error-tag>operation-not-supported</error-tag>'
                      "<error-message>nope</error-message></rpc-error></rpc-reply>")


def test_no_listener_for_platforms_without_netconf(lab):
    assert lab.device("dc1-fw01-pri").netconf_port is None
    assert lab.device("br01-acc-sw01").netconf_port is None
    assert netconf_profile("cisco_asa") is None and netconf_profile("cisco_ios") is None


# ------------------------------------------------------------------ the collector


@pytest.mark.parametrize("name", HEALTHY)
def test_collector_matches_ground_truth(lab, name):
    device = lab.device(name)
    sink, error = _collect(NetconfCollector(connect_timeout=5, command_timeout=5), _target(device))
    assert error is None, error
    profile = netconf_profile(device.platform)
    assert [c.command for c in sink] == [f"netconf:{n}" for n in profile["collect"]]
    assert all(c.ok and c.transport == "netconf" and c.output.lstrip().startswith("<") for c in sink)
    records = records_from_captures(device.name, device.platform, sink)
    truth = device.truth
    assert_records_match_truth(records, truth)
    if "licenses" in profile["collect"]:
        assert {u.license for u in records.licenses} == {t.license for t in truth.licenses}


@pytest.mark.parametrize("name,kind", [
    ("lab-fault-auth", "auth"), ("lab-fault-hang", "timeout"), ("lab-fault-disconnect", "disconnect"),
    ("lab-fault-garbage", "garbage"),
])
def test_collector_faults_are_typed(lab, name, kind):
    started = time.perf_counter()
    sink, error = _collect(NetconfCollector(connect_timeout=1.5, command_timeout=2), _target(lab.device(name)))
    assert isinstance(error, CollectError) and error.kind == kind, error
    assert len(error.message) < 300 and "\n" not in error.message
    assert time.perf_counter() - started < 6


def test_slow_device_completes(lab):
    sink, error = _collect(NetconfCollector(connect_timeout=3, command_timeout=5), _target(lab.device("lab-fault-slow")))
    assert error is None and sink and all(c.ok for c in sink)


def test_refused_port_and_missing_agent(lab):
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        free = sock.getsockname()[1]
    _, error = _collect(NetconfCollector(connect_timeout=2), _target(lab.device("hq-acc-stk01"), netconf_port=free))
    assert error.kind == "connect" and error.transient
    _, error = _collect(NetconfCollector(), _target(lab.device("dc1-fw01-pri")))
    assert error.kind == "config"


def test_ncclient_send_tick_is_avoided(lab):
    """ncclient queues RPCs for a session thread that polls every 0.1 s; the collector writes at once."""
    device = lab.device("dc1-leaf01")

    def rpc_times(direct: bool) -> list[float]:
        sink, error = _collect(NetconfCollector(connect_timeout=5, command_timeout=5, direct_send=direct),
                               _target(device))
        assert error is None
        return [c.ended - c.started for c in sink]

    stock = rpc_times(False)
    direct = rpc_times(True)
    assert statistics.median(stock) >= 0.08, stock  # the tick: every RPC waits out a 0.1 s select
    assert statistics.median(direct) < 0.05, direct
