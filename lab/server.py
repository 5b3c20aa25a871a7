"""The lab: one asyncssh listener per device on loopback, all in one event loop.

``start_lab`` / ``Lab`` for async code, ``LabThread`` for sync code (pytest): the same lab
running in a background thread with its own loop.  With ``peers=("netconf", "snmp")`` the same
devices also answer NETCONF (one more listener each, ``lab.netconf``) and SNMP (one snmpsim
process for the whole lab, ``lab.snmp``); ``RunningDevice.netconf_port`` / ``snmp_port`` say where.
"""
from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import itertools
import random
import threading
import time
from collections.abc import Iterable
from functools import cache, partial

import asyncssh

from . import faults, flash_scp
from .cli import Session
from .device import DeviceSpec, RunningDevice

_LISTEN_BATCH = 256  # concurrent listen() calls while starting a big lab


# The lab's host key is the same in every run: ibagent trusts a host's key on first use and refuses
# a changed one (agent.core.hostkeys), so a lab restarted on the same ports (``--base-port``, or a
# port the OS hands out again) must look like the same devices.  A fixed private key is harmless
# here: the lab listens on loopback only.  Tests that need an impostor make keys of their own.
LAB_KEY_SEED = hashlib.sha256(b"ibagent lab host key").digest()


@cache
def host_key() -> asyncssh.SSHKey:
    """One Ed25519 host key, shared by every device (generating 2,000 is slow) and every run."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    pem = Ed25519PrivateKey.from_private_bytes(LAB_KEY_SEED).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption())
    return asyncssh.import_private_key(pem)


def check_loopback(host: str) -> None:
    # The lab must never be reachable from, or reach, anything but this machine.
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"lab devices listen on loopback only, not {host!r}")


class _ProcessChannel:
    """Adapts an asyncssh server process to the byte channel ``cli.Session`` speaks."""

    def __init__(self, process: asyncssh.SSHServerProcess) -> None:
        self._process = process

    async def read(self) -> bytes:
        while True:
            try:
                return await self._process.stdin.read(4096)
            except (asyncssh.TerminalSizeChanged, asyncssh.BreakReceived, asyncssh.SignalReceived):
                continue

    def write(self, data: bytes) -> None:
        self._process.stdout.write(data)

    async def drain(self) -> None:
        await self._process.stdout.drain()

    def abort(self) -> None:
        self._process.channel.get_connection().abort()


class _DeviceServer(asyncssh.SSHServer):
    def __init__(self, lab: "Lab", device: RunningDevice) -> None:
        self._lab = lab
        self._device = device
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._lab._connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        self._lab._connections.discard(self._conn)

    def begin_auth(self, username: str) -> bool:
        return True  # always ask for a password, even for unknown users, like a real box

    def password_auth_supported(self) -> bool:
        return True

    async def validate_password(self, username: str, password: str) -> bool:
        spec = self._device.spec
        if spec.login_delay > 0:
            await asyncio.sleep(spec.login_delay)
        if faults.AUTH_FAIL in spec.faults:
            return False
        return username == spec.username and password == spec.password


async def _serve_process(lab: "Lab", device: RunningDevice, process: asyncssh.SSHServerProcess) -> None:
    # A per-session generator: jitter and noise are reproducible per (seed, device, session).
    rng = random.Random(f"{device.spec.seed}/{device.name}/{next(lab._session_ids)}")
    session = Session(device, _ProcessChannel(process), rng)
    try:
        if process.command is not None:
            status = await session.run_exec(process.command)
        else:
            await session.run_shell()
            status = 0
        process.exit(status)
    except (BrokenPipeError, ConnectionError, asyncssh.Error):
        pass  # the client went away; nothing left to tell it


# Transports besides SSH a lab can serve (``peers=``): see lab/netconf.py and lab/snmp.py.
PEERS = ("netconf", "snmp")


class Lab:
    """Running lab devices.  ``devices`` in spec order; ``await close()`` stops everything."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.devices: list[RunningDevice] = []
        self._acceptors: list[asyncssh.SSHAcceptor] = []
        self._connections: set[asyncssh.SSHServerConnection] = set()
        self._session_ids = itertools.count()
        self.netconf = None  # lab.netconf.NetconfServer when started with peers=("netconf", ...)
        self.snmp = None  # lab.snmp.SnmpAgent when started with peers=(..., "snmp")
        self.peer_startup: dict[str, float] = {}  # seconds each peer took to come up
        self.topology = None  # lab.neighbours.Topology: the CDP / LLDP tables and their truth

    def device(self, name: str) -> RunningDevice:
        for d in self.devices:
            if d.name == name:
                return d
        raise KeyError(name)

    async def _listen(self, spec: DeviceSpec) -> RunningDevice:
        device = RunningDevice(spec, self.host, 0)
        acceptor = await asyncssh.listen(
            self.host,
            spec.port,
            server_host_keys=[host_key()],
            server_factory=partial(_DeviceServer, self, device),
            process_factory=partial(_serve_process, self, device),
            encoding=None,  # the CLI writes bytes: real devices are not always valid UTF-8
            line_editor=False,  # echo and line editing are the emulated device's job
            x11_forwarding=False,
            agent_forwarding=False,
            # SCP into the device's flash (lab/flash_scp.py): the SLP offline round trip copies files this way.
            sftp_factory=flash_scp.sftp_factory(device),
            allow_scp=True,
        )
        self._acceptors.append(acceptor)
        device.port = acceptor.sockets[0].getsockname()[1]
        return device

    async def close(self) -> None:
        for acceptor in self._acceptors:
            acceptor.close()
        if self.netconf is not None:
            for acceptor in self.netconf.acceptors:
                acceptor.close()
        for conn in list(self._connections):
            conn.abort()
        await asyncio.gather(*(a.wait_closed() for a in self._acceptors), return_exceptions=True)
        self._acceptors.clear()
        if self.netconf is not None:
            await self.netconf.close()
        if self.snmp is not None:
            await self.snmp.close()

    async def _start_netconf(self) -> None:
        from .netconf import NetconfServer, hardware_model

        started = time.perf_counter()
        self.netconf = NetconfServer(self)
        # ASA and classic IOS have no NETCONF agent: no listener, so a client is refused as by the real box.
        served = [d for d in self.devices if hardware_model(d)]
        for start in range(0, len(served), _LISTEN_BATCH):
            await asyncio.gather(*(
                self.netconf.listen(d, partial(_DeviceServer, self, d), host_key())
                for d in served[start : start + _LISTEN_BATCH]
            ))
        self.peer_startup["netconf"] = time.perf_counter() - started

    async def _start_snmp(self) -> None:
        from .snmp import SnmpAgent

        self.snmp = SnmpAgent(self.host)
        await self.snmp.start(self.devices)
        for device in self.devices:
            device.snmp_port = self.snmp.port
        self.peer_startup["snmp"] = self.snmp.startup_seconds


def resolve(specs: Iterable[DeviceSpec]) -> list[DeviceSpec]:
    """Fill defaults and check that names and serial namespaces are unique."""
    resolved = [spec.resolved(i) for i, spec in enumerate(specs)]
    for attr in ("name", "index"):
        seen: set[object] = set()
        dupes = {v for v in (getattr(s, attr) for s in resolved) if v in seen or seen.add(v)}
        if dupes:
            raise ValueError(f"duplicate device {attr}s: {', '.join(sorted(map(str, dupes))[:10])}")
    return resolved


async def start_lab(specs: Iterable[DeviceSpec], host: str = "127.0.0.1", peers: Iterable[str] = ()) -> Lab:
    """Start every device's SSH listener, and the NETCONF server / SNMP agent named in ``peers``.

    The peers are opt-in: the SNMP agent costs ~15 ms per device to start (snmpsim indexes each
    recording), which an SSH-only lab of thousands of devices should not pay.
    """
    check_loopback(host)
    peers = tuple(peers)
    unknown = set(peers) - set(PEERS)
    if unknown:
        raise ValueError(f"unknown lab peers {sorted(unknown)} (known: {', '.join(PEERS)})")
    resolved = resolve(specs)
    lab = Lab(host)
    host_key()
    try:
        for start in range(0, len(resolved), _LISTEN_BATCH):
            batch = resolved[start : start + _LISTEN_BATCH]
            lab.devices += await asyncio.gather(*(lab._listen(s) for s in batch))
        # Who announces whom over CDP / LLDP (before the SNMP agent writes its recordings).
        from .neighbours import attach

        lab.topology = attach(lab.devices)
        # snmpsim starts in its own process meanwhile: the two overlap.
        jobs = [lab._start_netconf()] if "netconf" in peers else []
        jobs += [lab._start_snmp()] if "snmp" in peers else []
        results = await asyncio.gather(*jobs, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
    except BaseException:
        await lab.close()
        raise
    return lab


class LabThread:
    """A lab in a background thread with its own event loop, for synchronous callers.

    with LabThread(specs) as lab:
        ConnectHandler(**lab.devices[0].netmiko_params())
    """

    def __init__(
        self, specs: Iterable[DeviceSpec], host: str = "127.0.0.1", start_timeout: float = 120.0,
        peers: Iterable[str] = (),
    ) -> None:
        self._specs = list(specs)
        self._host = host
        self._peers = tuple(peers)
        self._start_timeout = start_timeout
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self.lab: Lab | None = None

    @property
    def devices(self) -> list[RunningDevice]:
        if self.lab is None:
            raise RuntimeError("lab not started")
        return self.lab.devices

    def device(self, name: str) -> RunningDevice:
        if self.lab is None:
            raise RuntimeError("lab not started")
        return self.lab.device(name)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            self.lab = await start_lab(self._specs, self._host, self._peers)
        except BaseException as exc:  # handed to the starting thread
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        await self._stop.wait()
        await self.lab.close()

    def start(self) -> "LabThread":
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),), name="ibagent-lab", daemon=True)
        self._thread.start()
        if not self._ready.wait(self._start_timeout):
            raise TimeoutError("lab did not start in time")
        if self._error is not None:
            self._thread.join()
            raise self._error
        return self

    def stop(self) -> None:
        if self._thread is None:
            return
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)
        self._thread = None

    def __enter__(self) -> "LabThread":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
