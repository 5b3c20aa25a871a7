"""Telnet peers for the tests: a small asyncio telnet server in front of a lab device's CLI, and
Debian's real ``telnetd`` started per connection from an accept loop (as inetd would), serving
``lab.replay_shell``.

The asyncio server is written to exercise the client: it opens with what a Cisco vty and telnetd
send (WILL ECHO, WILL SGA, DO TERMINAL-TYPE, DO NAWS, DO NEW-ENVIRON), records every byte the client
sends back (options answered, credentials typed), asks ``Username:``/``Password:`` itself, and in
``noisy`` mode scatters telnet commands (IAC NOP, a repeated DO, a subnegotiation, CR NUL) through
every answer, each split across two writes, so the client's stream parser meets them at chunk
boundaries.  Everything listens on 127.0.0.1 only.
"""
from __future__ import annotations

import asyncio
import os
import random
import shlex
import shutil
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from lab.cli import Session
from lab.device import DeviceSpec, RunningDevice

IAC, DONT, DO, WONT, WILL, SB, SE, NOP = 255, 254, 253, 252, 251, 250, 240, 241
ECHO, SGA, TTYPE, NAWS, NEW_ENVIRON = 1, 3, 24, 31, 39
OPENING = bytes([IAC, WILL, ECHO, IAC, WILL, SGA, IAC, DO, TTYPE, IAC, DO, NAWS, IAC, DO, NEW_ENVIRON])
# Scattered through answers in noisy mode: a no-op, a repeated request, a subnegotiation, padding.
NOISE = bytes([IAC, NOP, IAC, DO, TTYPE, IAC, SB, TTYPE, 1, IAC, SE]) + b"\r\0"
REPO = Path(__file__).resolve().parents[2]


def strip_commands(data: bytes) -> tuple[bytes, list[bytes]]:
    """(data bytes, option commands) of what a client sent: enough for a client that only answers."""
    out, commands, i = bytearray(), [], 0
    while i < len(data):
        b = data[i]
        if b == IAC and i + 1 < len(data):
            verb = data[i + 1]
            if verb == IAC:
                out.append(IAC)
                i += 2
            elif verb in (WILL, WONT, DO, DONT) and i + 2 < len(data):
                commands.append(data[i:i + 3])
                i += 3
            else:
                commands.append(data[i:i + 2])
                i += 2
        else:
            out.append(b)
            i += 1
    return bytes(out), commands


@dataclass
class Seen:
    """What one connection's client sent."""

    raw: bytearray = field(default_factory=bytearray)
    commands: list[bytes] = field(default_factory=list)


class _Channel:
    """A lab Session's channel over a telnet connection (lab.cli.Channel)."""

    def __init__(self, reader, writer, seen: Seen, noisy: bool) -> None:
        self.reader, self.writer, self.seen, self.noisy = reader, writer, seen, noisy

    async def read(self) -> bytes:
        while True:  # b"" means end of input to the Session: a read of option answers only is not that
            data = await self.reader.read(4096)
            self.seen.raw += data
            text, commands = strip_commands(data)
            self.seen.commands += commands
            if text or not data:
                return text

    def write(self, data: bytes) -> None:
        data = data.replace(b"\xff", b"\xff\xff")
        if self.noisy and len(data) > 4:
            cut = len(data) // 2
            # A command split between two writes, and padding after a CR.
            self.writer.write(data[:cut] + NOISE[:3])
            self.writer.write(NOISE[3:] + data[cut:])
        else:
            self.writer.write(data)

    async def drain(self) -> None:
        await self.writer.drain()

    def abort(self) -> None:
        self.writer.transport.abort()


class TelnetLab:
    """One lab device behind an asyncio telnet server on 127.0.0.1 (start() / stop())."""

    def __init__(self, profile: str = "c2960x_stack2", *, username: str = "labuser", password: str = "lab-pass-1",
                 enable: str = "lab-enable-1", noisy: bool = False, ask_username: bool = True,
                 after_login: bytes = b"", flood: bytes = b"", login: bool = True) -> None:
        spec = DeviceSpec(name="tn-sw1", profile=profile, username=username, password=password,
                          enable_password=enable).resolved(7)
        self.device = RunningDevice(spec, "127.0.0.1", 0)
        self.username, self.password = username, password
        self.noisy, self.ask_username = noisy, ask_username
        self.after_login, self.flood = after_login, flood
        self.login = login  # False: a vty with 'no login', straight to the CLI
        self.connections: list[Seen] = []
        self.server: asyncio.base_events.Server | None = None
        self.port = 0

    async def start(self) -> "TelnetLab":
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, reader, writer) -> None:
        seen = Seen()
        self.connections.append(seen)
        chan = _Channel(reader, writer, seen, self.noisy)
        session = Session(self.device, chan, random.Random(1))
        try:
            writer.write(OPENING + b"\r\nUser Access Verification\r\n\r\n")
            if not self.login or await self._login(session, chan):
                if self.flood:
                    while not writer.is_closing():
                        writer.write(self.flood)
                        await writer.drain()
                chan.write(self.after_login)
                await session.run_shell()
        except (ConnectionError, OSError, asyncio.CancelledError):
            pass  # the client hung up, or the test is over (a flood is cancelled at the loop's end)
        finally:
            writer.close()

    async def _login(self, session: Session, chan: _Channel) -> bool:
        for _ in range(3):
            user = self.username
            if self.ask_username:
                chan.write(b"Username: ")
                user = await session.read_line()
            chan.write(b"Password: ")
            secret = await session.read_line(echo=False)
            if user is None or secret is None:
                return False
            if user == self.username and secret == self.password:
                return True
            chan.write(b"% Login invalid\r\n\r\n")
        return False


# ------------------------------------------------------------------ Debian's telnetd


def telnetd_path() -> str | None:
    for candidate in ("/usr/sbin/telnetd", "/usr/sbin/in.telnetd", shutil.which("telnetd") or ""):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


class RealTelnetd:
    """Debian's telnetd on 127.0.0.1: an accept loop (a thread) starts ``telnetd -h -E LOGIN`` per
    connection with the socket as its stdin/stdout, as inetd does.  LOGIN is a small script running
    ``python3 -m lab.replay_shell PROFILE --login ...`` from this checkout, so no system login is
    involved and the device asks ``Username:``/``Password:`` itself."""

    def __init__(self, workdir: Path, profile: str, *, username: str, password: str, enable: str,
                 options: tuple[str, ...] = ()) -> None:
        self.workdir = workdir
        self.options = options  # more lab.replay_shell options: --motd TEXT, --no-term-length, --authz-fail
        self.binary = telnetd_path()
        self.profile = profile
        self.username, self.password, self.enable = username, password, enable
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.children: list[subprocess.Popen] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._stopping = False

    def _login_script(self) -> Path:
        script = self.workdir / "replay-login"
        extra = " ".join(shlex.quote(o) for o in self.options)
        # The environment telnetd hands its login program is not ours: everything is set here.
        # IBAGENT_LAB_ENABLE is how lab devices learn their enable secret (lab.device).
        script.write_text(
            "#!/bin/sh\n"
            f"cd {REPO}\n"
            f"export PYTHONPATH={REPO} IBAGENT_LAB_ENABLE='{self.enable}'\n"
            f"exec {sys.executable} -W ignore -m lab.replay_shell {self.profile} --hostname tn-real "
            f"--login --username '{self.username}' --password '{self.password}' {extra}\n"
        )
        script.chmod(0o700)
        return script

    def start(self) -> "RealTelnetd":
        self.script = self._login_script()
        self.sock.listen(16)
        self._thread.start()
        return self

    def _accept(self) -> None:
        while not self._stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                # -h: no host banner before login; -E: our login program instead of /bin/login.
                self.children.append(subprocess.Popen([self.binary, "-h", "-E", str(self.script)],
                                                      stdin=conn.fileno(), stdout=conn.fileno(),
                                                      stderr=subprocess.DEVNULL, close_fds=True))

    def stop(self) -> None:
        self._stopping = True
        # close() alone leaves a thread blocked in accept(); shutdown() wakes it.  A thread left over
        # would make later tests think forking is unsafe (agent.reports.forking.can_fork).
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        if self._thread.is_alive():
            self._thread.join(5)
        for child in self.children:
            if child.poll() is None:
                child.terminate()
            try:
                child.wait(5)
            except subprocess.TimeoutExpired:
                child.kill()
