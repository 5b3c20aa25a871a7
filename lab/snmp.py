"""The lab's SNMP agent: one ``snmpsim-command-responder`` process serving every device on one UDP port.

Each device gets one snmprec recording (SNMPv2-MIB system group + ENTITY-MIB entPhysicalTable)
generated from its ground truth and profile (``lab.entities``), named after the device's own
community: snmpsim serves a file to the community of its name and, for SNMPv3, to the context
of the same name (so a lab community is at most 32 characters).  One SNMPv3 USM user with
SHA authentication and AES privacy is configured for every device.

Why one process and one port rather than one engine per device: snmpsim spends about 80 ms
building each SNMP engine, so a 500-device lab would take over a minute to start; one engine
with N recordings starts in well under a second plus ~15 ms per recording (dominated by
snmpsim indexing each file with ``dbm.dumb``).

Faults: a device with ``auth_fail`` or ``hang_after_login`` gets no recording, so its
community is unknown and the agent stays silent, which is what a real agent does for a wrong
community (and an unresponsive one for everything).  The session faults (disconnect, garbage,
slow output) have no meaning for a UDP request/response and do not change SNMP answers.

The agent binds a loopback address only (``lab.server.check_loopback``).
"""
from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import socket
import sys
import tempfile
from collections import deque
from collections.abc import Iterable, Mapping
from pathlib import Path

from . import entities, faults, neighbour_text
from .device import RunningDevice

USER_ENV = "IBAGENT_LAB_SNMP_USER"
AUTH_KEY_ENV = "IBAGENT_LAB_SNMP_AUTH_KEY"
PRIV_KEY_ENV = "IBAGENT_LAB_SNMP_PRIV_KEY"
DEFAULT_USER = "ibagent-lab"
DEFAULT_AUTH_KEY = "lab-auth-key"
DEFAULT_PRIV_KEY = "lab-priv-key"
AUTH_PROTO = "SHA"
PRIV_PROTO = "AES"
READY_MARK = "Listening at UDP/IPv4 endpoint"
SILENT_FAULTS = frozenset({faults.AUTH_FAIL, faults.HANG})

SYS_DESCR = (1, 3, 6, 1, 2, 1, 1, 1, 0)
ENT_PHYSICAL_ENTRY = (1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1)


def snmp_credentials(env: Mapping[str, str] | None = None) -> tuple[str, str, str]:
    """(v3 user, auth key, priv key) the lab agent accepts."""
    env = os.environ if env is None else env
    return (env.get(USER_ENV) or DEFAULT_USER, env.get(AUTH_KEY_ENV) or DEFAULT_AUTH_KEY,
            env.get(PRIV_KEY_ENV) or DEFAULT_PRIV_KEY)


def new_community(device: RunningDevice) -> str:
    # Random per lab run: a community is a secret, and the inventory only ever references it.
    return f"lab{device.spec.index:05d}{secrets.token_hex(6)}"


def _value(tag: int, value: object) -> str:
    text = str(value)
    if tag == 4 and (any(not (32 <= ord(ch) < 127) for ch in text) or "|" in text):
        return f"4x|{text.encode('utf-8').hex()}"
    return f"{tag}|{text}"


def recording(device: RunningDevice) -> str:
    """The device's snmprec text: ``OID|type|value`` lines in OID order."""
    peer = entities.load(device.profile)
    truth = device.truth
    rows: list[tuple[tuple[int, ...], str]] = [
        ((1, 3, 6, 1, 2, 1, 1, 1, 0), _value(4, peer.sys_descr)),
        ((1, 3, 6, 1, 2, 1, 1, 2, 0), _value(6, peer.sys_object_id)),
        ((1, 3, 6, 1, 2, 1, 1, 3, 0), _value(67, 8_640_000 + 3_600 * (device.spec.index or 0))),
        ((1, 3, 6, 1, 2, 1, 1, 4, 0), _value(4, "noc@lab.invalid")),
        ((1, 3, 6, 1, 2, 1, 1, 5, 0), _value(4, device.hostname)),
        ((1, 3, 6, 1, 2, 1, 1, 6, 0), _value(4, device.site)),
        ((1, 3, 6, 1, 2, 1, 1, 7, 0), _value(2, 6)),
    ]
    for e in entities.device_entities(device.profile, device.values):
        columns = {
            2: (4, e.descr), 4: (2, e.parent), 5: (2, entities.CLASS_NUMBERS[e.cls]), 6: (2, -1 if not e.parent else 0),
            7: (4, e.name), 8: (4, e.vid), 9: (4, ""), 10: (4, truth.os_version if e.cls == "chassis" else ""),
            11: (4, e.serial), 12: (4, "Cisco Systems, Inc." if e.pid else ""), 13: (4, e.pid), 14: (4, ""),
            15: (4, ""), 16: (2, 1 if e.fru else 2),
        }
        for col, (tag, value) in columns.items():
            rows.append((ENT_PHYSICAL_ENTRY + (col, e.index), _value(tag, value)))
    # CDP / LLDP MIB rows of its links (lab.neighbour_text), none without a topology.
    rows += [(oid, f"{tag}|{value}") for oid, tag, value in neighbour_text.snmp_rows(device)]
    rows.sort()
    return "".join(".".join(map(str, oid)) + "|" + value + "\n" for oid, value in rows)


def serves(device: RunningDevice) -> bool:
    return not (device.faults & SILENT_FAULTS)


def _free_udp_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _command() -> list[str]:
    # The console script beside this interpreter (same environment), else the module itself.
    script = Path(sys.executable).with_name("snmpsim-command-responder")
    if script.exists():
        return [str(script)]
    found = shutil.which("snmpsim-command-responder")
    return [found] if found else [sys.executable, "-m", "snmpsim.commands.responder"]


class SnmpAgent:
    """snmpsim for a set of lab devices; ``await start(devices)``, ``await close()``."""

    def __init__(self, host: str = "127.0.0.1", env: Mapping[str, str] | None = None) -> None:
        self.host = host
        self.port = 0
        self._env = dict(os.environ if env is None else env)
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._drain: asyncio.Task[None] | None = None
        self.log: deque[str] = deque(maxlen=50)
        self.startup_seconds = 0.0

    async def start(self, devices: Iterable[RunningDevice], timeout: float = 120.0) -> None:
        from .server import check_loopback

        check_loopback(self.host)
        loop = asyncio.get_running_loop()
        started = loop.time()
        self._tmp = tempfile.TemporaryDirectory(prefix="ibagent-lab-snmp-")
        root = Path(self._tmp.name)
        data, cache, variations = root / "data", root / "cache", root / "variation"
        for d in (data, cache, variations):
            d.mkdir()
        for device in devices:
            device.snmp_community = device.snmp_community or new_community(device)
            if serves(device):
                (data / f"{device.snmp_community}.snmprec").write_text(recording(device))
        user, auth_key, priv_key = snmp_credentials(self._env)
        self.port = _free_udp_port(self.host)
        # Options go through a 0600 file so the v3 keys never show on a process list.
        args_file = root / "args"
        args_file.write_text("\n".join([
            f"--data-dir={data}", f"--agent-udpv4-endpoint={self.host}:{self.port}",
            f"--v3-user={user}", f"--v3-auth-key={auth_key}", f"--v3-auth-proto={AUTH_PROTO}",
            f"--v3-priv-key={priv_key}", f"--v3-priv-proto={PRIV_PROTO}",
        ]) + "\n")
        # Up to 256 varbinds an answer (snmpsim's default is 64): a whole entPhysicalTable in one or two
        # GETBULKs, as a real agent fills its answer up to the message size.
        args_file.chmod(0o600)
        env = dict(self._env)
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            env["SNMPSIM_ALLOW_ROOT"] = "true"  # snmpsim refuses to run as root otherwise
        # An empty variation-module directory: loading snmpsim's optional modules costs start-up time.
        self._proc = await asyncio.create_subprocess_exec(
            *_command(), f"--cache-dir={cache}", f"--variation-modules-dir={variations}", "--log-level=error",
            "--max-var-binds=256",
            f"--args-from-file={args_file}",
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        try:
            await asyncio.wait_for(self._wait_ready(), timeout)
        except BaseException:
            await self.close()
            raise
        self._drain = asyncio.create_task(self._pump(), name="lab-snmp-log")
        self.startup_seconds = loop.time() - started

    async def _wait_ready(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        while True:
            line = await self._proc.stderr.readline()
            if not line:
                await self._proc.wait()
                raise RuntimeError("snmpsim exited before it was ready:\n" + "\n".join(self.log))
            text = line.decode("utf-8", "replace").rstrip()
            self.log.append(text)
            if READY_MARK in text:
                return

    async def _pump(self) -> None:
        # Keep reading so snmpsim never blocks on a full stderr pipe.
        assert self._proc is not None and self._proc.stderr is not None
        while True:
            line = await self._proc.stderr.readline()
            if not line:
                return
            self.log.append(line.decode("utf-8", "replace").rstrip())

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    async def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except asyncio.TimeoutError:
                proc.kill()
                await proc.wait()
        if self._drain is not None:
            self._drain.cancel()
            await asyncio.gather(self._drain, return_exceptions=True)
            self._drain = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
