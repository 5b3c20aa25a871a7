"""SNMPv3 interop: both engines (the hand-written wire path and pysnmp) against one snmpsim agent on
127.0.0.1 that has a USM user for every security level and protocol pair the collector offers, and
the same recording for every context.  Each user must give the same captures through both engines,
and the values the recording holds; wrong keys / unknown users / unknown contexts end with the
same error kind on both engines.
"""
from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from agent.core.models import Target
from agent.core.secret import Secret
from collectors import snmp_ber as ber, snmp_usm
from collectors.base import CollectError
from collectors.snmp import SnmpCollector
from lab import snmp as lab_snmp

CONTEXT = "v3ctx"
ENTRY = "1.3.6.1.2.1.47.1.1.1.1"
# A small recording written for this test: system group and two entities, text, hex and integers.
RECORDING = "".join(f"{line}\n" for line in [
    "1.3.6.1.2.1.1.1.0|4x|436973636f20494f5320536f6674776172650d0a76657273696f6e2031372e39",
    "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.9.1.2494",
    "1.3.6.1.2.1.1.5.0|4|v3-sw01",
    f"{ENTRY}.2.1|4|Chassis one", f"{ENTRY}.2.2|4|Power supply",
    f"{ENTRY}.4.1|2|0", f"{ENTRY}.4.2|2|1",
    f"{ENTRY}.5.1|2|3", f"{ENTRY}.5.2|2|6",
    f"{ENTRY}.7.1|4|Switch 1", f"{ENTRY}.7.2|4|PS 1|x",
    f"{ENTRY}.10.1|4|17.9.4", f"{ENTRY}.10.2|4|",
    f"{ENTRY}.11.1|4|FOC0001X1Y2", f"{ENTRY}.11.2|4|LIT0002A3B4",
    f"{ENTRY}.13.1|4|C9300-48P", f"{ENTRY}.13.2|4|PWR-C1-715WAC",
    f"{ENTRY}.16.1|2|2", f"{ENTRY}.16.2|2|1",
])
# user -> (auth proto, auth key, priv proto, priv key); names as the inventory spells them.  Two
# passwords for every user: each distinct Secret value is one more needle for the suite's secrets
# sweep (tests/suite_sweep.py), and the keys differ per user anyway (protocol, hash, extension).
AUTH_PW, PRIV_PW = "v3-interop-auth", "v3-interop-priv"
USERS = {
    "u-none": (None, None, None, None),
    **{f"u-{auth.lower()}": (auth, AUTH_PW, None, None) for auth in ("MD5", "SHA", "SHA256")},
    **{f"u-{auth.lower()}-{priv.lower()}": (auth, AUTH_PW, priv, PRIV_PW) for auth, priv in (
        ("SHA", "AES"), ("MD5", "DES"), ("SHA", "3DES"), ("SHA224", "AES192"), ("SHA384", "AES256"),
        ("SHA512", "AES"), ("MD5", "AES256"), ("SHA", "AES192BLMT"), ("MD5", "AES256BLMT"))},
}
EXPECTED_ENTITY_LINES = [line for line in RECORDING.splitlines() if line.startswith(ENTRY)]


@pytest.fixture(scope="module")
def agent():
    with tempfile.TemporaryDirectory(prefix="ibagent-test-snmpv3-") as tmp:
        root = Path(tmp)
        for d in ("data", "cache", "variation"):
            (root / d).mkdir()
        (root / "data" / f"{CONTEXT}.snmprec").write_text(RECORDING)
        port = lab_snmp._free_udp_port("127.0.0.1")
        args = [f"--data-dir={root / 'data'}", f"--agent-udpv4-endpoint=127.0.0.1:{port}"]
        for user, (auth, auth_key, priv, priv_key) in USERS.items():
            args.append(f"--v3-user={user}")
            if auth:
                args += [f"--v3-auth-key={auth_key}", f"--v3-auth-proto={auth}"]
            if priv:
                args += [f"--v3-priv-key={priv_key}", f"--v3-priv-proto={priv}"]
        (root / "args").write_text("\n".join(args) + "\n")
        (root / "args").chmod(0o600)
        env = dict(os.environ, SNMPSIM_ALLOW_ROOT="true")
        log = root / "log"
        with open(log, "wb") as out:  # a file, not a pipe: nobody has to keep reading it
            proc = subprocess.Popen(
                [*lab_snmp._command(), f"--cache-dir={root / 'cache'}", f"--variation-modules-dir={root / 'variation'}",
                 "--log-level=error", f"--args-from-file={root / 'args'}"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env)
        try:
            deadline = time.monotonic() + 60
            while lab_snmp.READY_MARK not in log.read_text("utf-8", "replace"):
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("snmpsim did not start: " + log.read_text("utf-8", "replace")[-2000:])
                time.sleep(0.1)
            try:
                _wait_answering(port)
            except BaseException:
                print(log.read_text())
                raise
            yield port
        finally:
            proc.terminate()
            proc.wait(10)


def _wait_answering(port: int) -> None:
    """snmpsim prints its ready line before it has localised every user's keys (seconds, in pure Python)
    and bound its socket: poll with a v2c GET (community = context name) until it answers."""
    request = ber.encode_request(1, CONTEXT.encode(), ber.GET, 1, [(1, 3, 6, 1, 2, 1, 1, 5, 0)])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.5)
        sock.connect(("127.0.0.1", port))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                sock.send(request)
                sock.recv(65_535)
                return
            except OSError as exc:  # refused (not bound yet) or timed out
                last = exc
                time.sleep(0.2)
    pytest.fail(f"snmpsim does not answer on {port}: {last!r}")


def _target(port: int, user: str, **extra) -> Target:
    auth, auth_key, priv, priv_key = USERS.get(user, USERS["u-sha-aes"])
    options = {"snmp_version": "3", "snmp_port": port, "snmp_user": user, "snmp_context": CONTEXT,
               "snmp_auth_proto": auth, "snmp_auth_key": Secret(auth_key) if auth_key else None,
               "snmp_priv_proto": priv, "snmp_priv_key": Secret(priv_key) if priv_key else None,
               "snmp_timeout": 1, "snmp_retries": 0}
    options.update(extra)
    return Target(name=f"dev-{user}", host="127.0.0.1", platform="cisco_xe", options=options)


def _collect(engine: str, *targets: Target):
    async def run():
        collector = SnmpCollector(timeout=1, retries=0, max_repetitions=3, engine=engine)
        out = []
        for target in targets:
            sink: list = []
            try:
                await collector.collect(target, sink)
                out.append(([c.output for c in sink], None))
            except CollectError as exc:
                out.append(([c.output for c in sink], exc))
        return out

    return asyncio.run(run())


@pytest.mark.parametrize("user", list(USERS))
def test_every_user_gives_the_same_captures_on_both_engines(agent, user):
    (wire, error), = _collect("wire", _target(agent, user))
    assert error is None, error
    (theirs, error), = _collect("pysnmp", _target(agent, user))
    assert error is None, error
    assert wire == theirs
    system, entities, *neighbour_tables = wire  # then the CDP / LLDP walks (issue 17), the same on both engines
    assert "1.3.6.1.2.1.1.5.0|4|v3-sw01" in system.splitlines()
    assert "1.3.6.1.2.1.1.1.0|4x|436973636f" in system  # CR LF inside: kept as hex
    # Every recorded column value of the eight columns (the '|' in a name is kept as hex).
    assert len(entities.splitlines()) == len(EXPECTED_ENTITY_LINES)
    assert f"{ENTRY}.7.2|4x|{'PS 1|x'.encode().hex()}" in entities.splitlines()


@pytest.mark.parametrize("change,kind", [
    ({"snmp_auth_key": Secret("not-the-auth-key")}, "auth"),
    ({"snmp_priv_key": Secret("not-the-priv-key")}, "auth"),
    ({"snmp_user": "u-nobody"}, "auth"),
    ({"snmp_auth_proto": "MD5"}, "auth"),
    ({"snmp_context": "no-such-context"}, "timeout"),  # snmpsim drops it without a report
])
def test_refusals_are_classified_as_pysnmp_does(agent, change, kind):
    target = _target(agent, "u-sha-aes", **change)
    results = {engine: _collect(engine, target, _target(agent, "u-sha-aes"))[:2] for engine in ("wire", "pysnmp")}
    for engine, ((_, error), (after, good)) in results.items():
        assert isinstance(error, CollectError) and error.kind == kind, (engine, error)
        assert good is None and after  # the same run goes on with good credentials
    assert "not-the" not in str(results["wire"][0][1])


def test_a_fleet_sharing_credentials_expands_each_password_once(agent):
    before = snmp_usm.stats["expansions"]
    _collect("wire", *(_target(agent, "u-sha-aes", snmp_context=CONTEXT) for _ in range(5)))
    # auth and priv passwords: at most one 1 MiB expansion each (none if an earlier test did it).
    assert snmp_usm.stats["expansions"] - before <= 2


def test_unknown_engine_is_rediscovered(agent):
    """A cached engine ID the agent no longer has (a replaced box on the same address) -> one new discovery."""
    async def run():
        collector = SnmpCollector(timeout=1, retries=0, engine="wire")
        sink: list = []
        await collector.collect(_target(agent, "u-sha-aes"), sink)
        for entry in collector._engine_ids.values():
            entry[0] = b"\x80\x00\x00\x09\x03stale-engine"
        sink = []
        await collector.collect(_target(agent, "u-sha-aes"), sink)
        return [c.output for c in sink]

    system, entities, *_ = asyncio.run(run())  # then the CDP / LLDP walks (issue 17)
    assert "v3-sw01" in system and entities


def test_clock_out_of_window_resyncs_once(agent):
    """Our notion of the agent's clock behind its own: an authenticated notInTimeWindow, then one resend."""
    async def run():
        collector = SnmpCollector(timeout=1, retries=0, engine="wire")
        await collector.collect(_target(agent, "u-sha"), [])
        for entry in collector._engine_ids.values():
            entry[1:3] = [0, 0]  # what an agent that keeps its clock out of discovery reports
        sink: list = []
        await collector.collect(_target(agent, "u-sha"), sink)
        return [c.output for c in sink]

    system, *_ = asyncio.run(run())  # then the table walks (issue 17: CDP / LLDP too)
    assert "v3-sw01" in system
