"""The telnet client (collectors/telnet.py) against a small asyncio telnet server written here
(telnet_server.TelnetLab): option refusal, commands split across reads, the login in the stream,
auth failures after one try, the enable step, output caps and silence.  The real telnetd is in
test_telnet_interop.py."""
from __future__ import annotations

import asyncio
import socket
import time

import pytest

from agent.core.models import Credential, Target
from agent.normalize import records_from_captures
from collectors.base import CollectError
from collectors.telnet import DONT, DO, IAC, WILL, WONT, Negotiator, TelnetCollector
from telnet_server import ECHO, NAWS, NEW_ENVIRON, SGA, TTYPE, TelnetLab
from truth_checks import assert_records_match_truth

USER, PASSWORD, ENABLE = "labuser", "lab-pass-1", "lab-enable-1"


def _target(port: int, *, password: str = PASSWORD, enable: str = ENABLE, platform: str = "cisco_ios") -> Target:
    return Target(name="tn-sw1", host="127.0.0.1", platform=platform, transports=("telnet",),
                  credential=Credential(USER, password, enable), options={"telnet_port": port})


async def _run(lab: TelnetLab, **target_kw):
    await lab.start()
    collector = TelnetCollector(connect_timeout=3, command_timeout=3)
    sink: list = []
    try:
        await collector.collect(_target(lab.port, **target_kw), sink)
    except CollectError as exc:
        return collector, sink, exc
    finally:
        await lab.stop()
    return collector, sink, None


def _collect(lab: TelnetLab, **target_kw):
    """(collector, captures, CollectError or None) of one collection of ``lab``'s device."""
    return asyncio.run(_run(lab, **target_kw))


# ------------------------------------------------------------------ the stream parser


def test_negotiator_refuses_all_but_echo_and_sga():
    n = Negotiator()
    text, replies = n.feed(bytes([IAC, WILL, ECHO, IAC, WILL, SGA, IAC, DO, SGA, IAC, DO, TTYPE, IAC, DO, NAWS,
                                  IAC, WILL, NEW_ENVIRON]) + b"Username: ")
    assert text == b"Username: "
    assert replies == bytes([IAC, DO, ECHO, IAC, DO, SGA, IAC, WILL, SGA, IAC, WONT, TTYPE, IAC, WONT, NAWS,
                             IAC, DONT, NEW_ENVIRON])
    # Asked again for what is already on: no answer (no negotiation loop); a refusal is repeated.
    assert n.feed(bytes([IAC, WILL, ECHO, IAC, DO, TTYPE]))[1] == bytes([IAC, WONT, TTYPE])
    # The server turning echo off is acknowledged once.
    assert n.feed(bytes([IAC, WONT, ECHO]))[1] == bytes([IAC, DONT, ECHO])
    assert n.feed(bytes([IAC, WONT, ECHO]))[1] == b""


def test_negotiator_same_result_whatever_the_chunking():
    stream = (b"line one\r\n" + bytes([IAC, 241]) + b"two\r\0three" + bytes([IAC, IAC]) + b"\xfe"
              + bytes([IAC, 250, TTYPE, 1, IAC, IAC, 9, IAC, 240]) + b"\r" + b"\0" + b"end#"
              + bytes([IAC, DO, NAWS]))
    whole = Negotiator().feed(stream)
    assert whole[0] == b"line one\r\ntwo\rthree\xff\xfe\rend#"
    assert whole[1] == bytes([IAC, WONT, NAWS])
    for size in (1, 2, 3, 5):
        n = Negotiator()
        parts = [n.feed(stream[i:i + size]) for i in range(0, len(stream), size)]
        assert b"".join(p[0] for p in parts) == whole[0], size
        assert b"".join(p[1] for p in parts) == whole[1], size


# ------------------------------------------------------------------ against the asyncio server


@pytest.mark.parametrize("noisy", [False, True], ids=["plain", "noisy"])
def test_collects_a_lab_device(noisy):
    lab = TelnetLab(noisy=noisy)
    collector, sink, error = _collect(lab)
    assert error is None, error
    assert all(c.transport == "telnet" for c in sink)
    assert sink[0].command == "prompt" and sink[0].output.endswith("#")
    commands = [c for c in sink[1:]]
    assert [c.command for c in commands][:2] == ["show version", "show inventory"]
    for cap in commands:
        assert "\xff" not in cap.output and "\0" not in cap.output
        assert cap.raw is not None and cap.output.splitlines()[0] in cap.raw.decode("utf-8", "replace")
    if noisy:
        # The bytes as received keep the telnet commands; the text has none.
        assert all(bytes([IAC, 241]) in c.raw for c in commands)
    records = records_from_captures("tn-sw1", "cisco_ios", sink)
    assert_records_match_truth(records, lab.device.truth)
    assert collector.sent_in_clear == {"tn-sw1"}
    # What the client answered: echo and go-ahead accepted, nothing else.
    answered = {bytes(c) for c in lab.connections[0].commands}
    assert answered == {bytes([IAC, DO, ECHO]), bytes([IAC, DO, SGA]), bytes([IAC, WONT, TTYPE]),
                        bytes([IAC, WONT, NAWS]), bytes([IAC, WONT, NEW_ENVIRON])}


def test_password_only_vty():
    _, sink, error = _collect(TelnetLab(ask_username=False))
    assert error is None, error
    assert any(c.command == "show inventory" and c.ok for c in sink)


@pytest.mark.parametrize("profile,in_clear", [("c2960x_stack2", True), ("c9300_stack3", False)],
                         ids=["needs-enable", "lands-privileged"])
def test_vty_without_login(profile, in_clear):
    # 'no login' on the vty: no credential asked; the enable secret, when the device needs it, still
    # goes in clear, and the device is listed for it.
    lab = TelnetLab(profile, login=False)
    collector, sink, error = _collect(lab, platform=lab.device.platform)
    assert error is None, error
    assert any(c.command == "show inventory" and c.ok for c in sink)
    assert collector.sent_in_clear == ({"tn-sw1"} if in_clear else set())
    assert not any(b"lab-pass-1" in c.raw for c in lab.connections)


def test_login_refused_is_auth_and_the_password_is_sent_once():
    lab = TelnetLab()
    collector, sink, error = _collect(lab, password="wrong-pass-9")
    assert error is not None and error.kind == "auth"
    assert "% Login invalid" in error.message
    assert "wrong-pass-9" not in error.message
    assert lab.connections[0].raw.count(b"wrong-pass-9") == 1
    assert sink == [] and collector.sent_in_clear == {"tn-sw1"}


def test_enable_refused_is_auth():
    _, sink, error = _collect(TelnetLab(), enable="wrong-enable-9")
    assert error is not None and error.kind == "auth" and "enable" in error.message


def test_negotiation_flood_ends_fast():
    # After the login the server sends nothing but IAC NOP: no text, and each command is a turn of the
    # parser's loop.  Unbounded, 16 MiB of them held the event loop for 12 s.
    lab = TelnetLab(flood=bytes([IAC, 241]) * 65536)
    started = time.process_time()
    _, _, error = _collect(lab)
    assert error is not None and error.kind == "garbage" and "telnet commands" in error.message
    assert time.process_time() - started < 2  # server included


def test_raw_bytes_capped_without_text():
    # One endless subnegotiation: cheap to skip, never text, but the raw bytes grow: the 16 MiB cap.
    lab = TelnetLab(flood=bytes([IAC, 250, 24]) + b"x" * 65535)
    started = time.monotonic()
    _, _, error = _collect(lab)
    assert error is not None and error.kind == "garbage" and "16 MiB" in error.message
    assert time.monotonic() - started < 30


@pytest.mark.parametrize("flood", [bytes([IAC, DO, TTYPE]) * 20000, bytes([IAC, 250, 24]) + bytes([IAC, IAC]) * 30000],
                         ids=["repeated-DO", "IAC-IAC-inside-a-subnegotiation"])
def test_other_command_floods_are_bounded(flood):
    # A repeated DO is refused each time (RFC 854 allows no silence there); 0xFF pairs inside a
    # subnegotiation cost a turn each: both are held to the same budget.
    started = time.process_time()
    _, _, error = _collect(TelnetLab(flood=flood))
    assert error is not None and error.kind == "garbage" and "telnet commands" in error.message
    assert time.process_time() - started < 2


def test_silent_server_times_out():
    async def run():
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            await TelnetCollector(connect_timeout=0.5).collect(_target(port), [])
        finally:
            server.close()
    with pytest.raises(CollectError) as info:
        asyncio.run(run())
    assert info.value.kind == "timeout" and info.value.transient


def test_refused_connection():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nobody listens there now
    with pytest.raises(CollectError) as info:
        asyncio.run(TelnetCollector(connect_timeout=2).collect(_target(port), []))
    assert info.value.kind == "connect"


def test_bad_port_is_config():
    t = Target(name="x", host="127.0.0.1", platform="cisco_ios", credential=Credential(USER, PASSWORD),
               options={"telnet_port": "twenty-three"})
    with pytest.raises(CollectError) as info:
        asyncio.run(TelnetCollector().collect(t, []))
    assert info.value.kind == "config"
