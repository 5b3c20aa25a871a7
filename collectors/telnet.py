"""Telnet collector: for the old access switches that offer nothing else.  Opt-in per host or group
(``transports: [telnet]``; the inventory refuses it in the defaults), because the username and
password cross the network in clear: the scan summary names every device they were sent to.

Everything after the login is the SSH collector's, imported rather than copied: its reader
(``collectors.ssh._Shell``: prompt matching on the tail, silence timeouts, the 16 MiB output cap,
exact bytes kept), the pager answered with a space (``_read_paged``, when ``terminal length 0`` is
refused), ``_clean``, the enable step and its error kinds, the command list and the refusal lines
from the platform data.  What is telnet's own lives here:

- **The wire** (RFC 854/855): in-band commands are taken out of the text and answered.  Only what a
  Cisco vty needs is accepted: the server may echo (ECHO) and both sides suppress go-ahead (SGA);
  terminal type, window size, environment, linemode, authentication and encryption are refused.
  ``IAC IAC`` is a data byte 0xFF and ``CR NUL`` a bare CR.  The capture's ``raw`` keeps the bytes
  exactly as received, negotiation included; its text has none of it.
- **The login happens in the stream**: the device asks ``Username:`` (AAA / ``login local``) and
  ``Password:`` (or only ``Password:``, a line password), and says ``% Login invalid`` /
  ``% Authentication failed`` or asks again when it refuses: kind ``auth``, after one try (a
  second would only repeat the same password in clear).

Why a client of our own rather than telnetlib (deprecated in 3.11, gone in 3.13) or telnetlib3:
a capture must keep the bytes received with their IAC sequences, which telnetlib3 consumes before
the application sees the stream; the refusal policy above is a few lines here and a set of option
handlers to override there; and the whole client (an asyncio.Protocol and a state machine) is
smaller than the adapter would be.  Speed was not the reason: a session is dominated by the device.
"""
from __future__ import annotations

import asyncio
import re

from agent.core import platforms
from agent.core.models import Capture, Target
from agent.core.secret import reveal
from collectors.base import CollectError
from collectors.ssh import _LOGIN_PROMPT, _MAX_OUTPUT, _PASSWORD_PROMPT, _enable, _Shell, run_commands

DEFAULT_PORT = 23

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
ECHO, SGA = 1, 3
# What the server may turn on for itself (it echoes what we type; no go-ahead), and for us (no go-ahead).
_SERVER_MAY = frozenset({ECHO, SGA})
_CLIENT_MAY = frozenset({SGA})

_DATA, _IAC, _OPTION, _SUB, _SUB_IAC = range(5)
# Telnet commands one session may send (a Cisco vty or telnetd sends a dozen).  Each costs a turn of
# the parser's Python loop (about 1.5 us): a server flooding IAC NOP up to the 16 MiB cap would hold
# the scan's event loop for 12 s; this budget ends it after about 0.1 s, kind 'garbage'.
MAX_COMMANDS = 65536

# Cisco's refusals of a login: '% Login invalid' (login local), '% Authentication failed' (AAA),
# '% Access denied', '% Bad passwords' (line password, after the last try).
_LOGIN_REFUSED = re.compile(r"^\s*+%\s*+(?:Login invalid|Authentication failed|Access denied|Bad passwords?)\b.*",
                            re.I | re.M)


def telnet_port(target: Target) -> int:
    """The host's ``data.telnet_port``, else 23 (``port`` is SSH's, as NETCONF has ``netconf_port``)."""
    value = target.options.get("telnet_port")
    try:
        port = int(value) if value is not None else DEFAULT_PORT
    except (TypeError, ValueError):
        port = 0
    if not 0 < port < 65536:
        raise CollectError("config", f"data.telnet_port {value!r} is not a TCP port")
    return port


class Negotiator:
    """Takes telnet commands out of the received bytes and answers the server's option requests.

    ``feed(data)`` returns (text bytes, reply bytes).  State survives between calls, so a command
    split across two reads is handled.  An option is answered only when its state changes (RFC
    854's rule against negotiation loops); a refused request is refused each time it comes.
    """

    __slots__ = ("_state", "_verb", "_after_cr", "on", "commands")

    def __init__(self) -> None:
        self._state = _DATA
        self._verb = 0
        self._after_cr = False
        self.on: set[tuple[str, int]] = set()  # ("server" | "client", option) agreed on
        self.commands = 0  # telnet commands seen (an escaped 0xFF data byte counts): see MAX_COMMANDS

    @property
    def overrun(self) -> bool:
        return self.commands > MAX_COMMANDS

    def feed(self, data: bytes) -> tuple[bytes, bytes]:
        if self.overrun:
            return b"", b""
        text = bytearray()
        replies = bytearray()
        i, n = 0, len(data)
        while i < n:
            state = self._state
            if state == _DATA:
                j = data.find(b"\xff", i)
                end = n if j < 0 else j
                if end > i:
                    self._text(text, data[i:end])
                if j < 0:
                    break
                i, self._state = j + 1, _IAC
                self.commands += 1
                if self.commands > MAX_COMMANDS:
                    break  # the rest is not read: the session fails (_Wire)
                continue
            byte = data[i]
            i += 1
            if state == _IAC:
                if byte == IAC:
                    self._text(text, b"\xff")
                    self._state = _DATA
                elif byte in (WILL, WONT, DO, DONT):
                    self._verb, self._state = byte, _OPTION
                elif byte == SB:
                    self._state = _SUB
                else:  # NOP, GA, DM, BRK, IP, AO, AYT, EC, EL: nothing to show or answer
                    self._state = _DATA
            elif state == _OPTION:
                replies += self._answer(self._verb, byte)
                self._state = _DATA
            elif state == _SUB:
                # A subnegotiation is for an option we never accepted: skipped, never stored.
                j = data.find(b"\xff", i - 1)
                if j < 0:
                    break
                i, self._state = j + 1, _SUB_IAC
                self.commands += 1  # an IAC inside costs a turn too (IAC IAC runs would be free otherwise)
                if self.commands > MAX_COMMANDS:
                    break
            else:  # _SUB_IAC
                self._state = _DATA if byte == SE else _SUB
        return bytes(text), bytes(replies)

    def _text(self, out: bytearray, chunk: bytes) -> None:
        # NVT: CR NUL is a bare carriage return; the NUL is padding, not text.
        if self._after_cr and chunk[:1] == b"\0":
            chunk = chunk[1:]
        self._after_cr = False
        if chunk:
            chunk = chunk.replace(b"\r\0", b"\r")
            out += chunk
            self._after_cr = chunk.endswith(b"\r")

    def _answer(self, verb: int, option: int) -> bytes:
        if verb in (WILL, WONT):  # the server about itself
            side, allowed, yes, no = "server", _SERVER_MAY, DO, DONT
        else:  # the server about us
            side, allowed, yes, no = "client", _CLIENT_MAY, WILL, WONT
        key = (side, option)
        if verb in (WILL, DO):
            if option in allowed:
                if key in self.on:
                    return b""
                self.on.add(key)
                return bytes((IAC, yes, option))
            return bytes((IAC, no, option))
        if key in self.on:  # WONT / DONT of something agreed: acknowledge once
            self.on.discard(key)
            return bytes((IAC, no, option))
        return b""


class _TelnetShell(_Shell):
    """The SSH collector's reader, fed by the telnet stream: text without telnet commands for the
    prompt logic and the parsers, the bytes exactly as received for the evidence."""

    def __init__(self) -> None:
        super().__init__()
        self.raw_size = 0
        self.failure: CollectError | None = None

    def feed(self, raw: bytes, clean: bytes) -> None:
        self.raw.append(raw)
        self.raw_size += len(raw)
        if self.raw_size > _MAX_OUTPUT:
            # Negotiation alone can grow the raw bytes (a server repeating IAC NOP): the same cap.
            self.size = max(self.size, _MAX_OUTPUT + 1)
        text = self._decode(clean)
        if text:
            self.data_received(text, None)
        elif self.size > _MAX_OUTPUT and self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def take(self) -> str:
        self.raw_size = 0
        return super().take()

    def fail(self, error: CollectError) -> None:
        """End every read now and from now on with ``error`` (the stream is not to be trusted)."""
        self.failure = error
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def read_until(self, matcher, timeout: float) -> str:
        if self.failure is None:
            try:
                text = await super().read_until(matcher, timeout)
            except CollectError:
                if self.failure is None:
                    raise
            else:
                if self.failure is None:
                    return text
        raise CollectError(self.failure.kind, self.failure.message)


class _Wire(asyncio.Protocol):
    """One telnet connection: received bytes through the Negotiator into a _TelnetShell; text written
    with NVT line ends (CR LF) and 0xFF doubled."""

    def __init__(self) -> None:
        self.shell = _TelnetShell()
        self.negotiator = Negotiator()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        text, replies = self.negotiator.feed(data)
        if replies and not self.transport.is_closing():
            self.transport.write(replies)
        self.shell.feed(data, text)
        if self.negotiator.overrun:
            self.transport.pause_reading()
            self.shell.fail(CollectError("garbage", f"the device sent more than {MAX_COMMANDS} telnet commands"))
        elif self.shell.raw_size > _MAX_OUTPUT:
            self.transport.pause_reading()  # the read fails 'garbage'; nothing more is kept

    def connection_lost(self, exc: Exception | None) -> None:
        self.shell.connection_lost(exc)

    def write(self, text: str) -> None:
        if self.transport is None or self.transport.is_closing():
            raise CollectError("disconnect", f"session closed: {self.shell.close_reason or 'closed by peer'}")
        self.transport.write(text.replace("\n", "\r\n").encode("utf-8").replace(b"\xff", b"\xff\xff"))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def open_wire(host: str, port: int, connect_timeout: float) -> _Wire:
    """A connected _Wire; refused, unreachable or slow connections are transient CollectErrors."""
    loop = asyncio.get_running_loop()
    try:
        _, wire = await asyncio.wait_for(loop.create_connection(_Wire, host, port), connect_timeout)
    except asyncio.TimeoutError:
        raise CollectError("timeout", f"no telnet connection within {connect_timeout:g}s", transient=True) from None
    except OSError as exc:
        raise CollectError("connect", f"cannot connect: {exc.strerror or exc}", transient=True) from None
    return wire


def _last_line(text: str) -> str:
    return text.replace("\r", "").rsplit("\n", 1)[-1]


def _refusal_line(text: str) -> str:
    m = _LOGIN_REFUSED.search(text)
    return f" ({m.group(0).strip()})" if m else ""


async def login(wire: _Wire, target: Target, plat: platforms.Platform, timeout: float,
                on_cleartext=None) -> str:
    """Answer the device's own login prompts; return the prompt line it ends at.

    One try: the device asking again, or saying it refused, is kind ``auth``.  ``on_cleartext`` is
    called before the first credential leaves (the scan lists these devices in its summary)."""
    cred = target.credential
    if cred is None:
        raise CollectError("config", "no telnet credentials in the inventory")
    shell = wire.shell
    any_prompt = plat.ssh.prompt.match

    def stop(tail: str) -> bool:
        return bool(any_prompt(tail) or _LOGIN_PROMPT.search(tail) or _PASSWORD_PROMPT.search(tail))

    sent: set[str] = set()
    seen = ""
    while True:
        try:
            text = await shell.read_until(stop, timeout)
        except CollectError as exc:
            seen += "".join(shell.buffer)
            if "password" in sent and exc.kind == "disconnect":
                raise CollectError("auth", "login refused: the device closed the session after the password"
                                   + _refusal_line(seen)) from None
            if exc.kind == "disconnect":
                raise CollectError("disconnect", f"closed the session during login ({exc.message})",
                                   transient=not sent) from None
            if exc.kind == "timeout":
                raise CollectError("timeout", f"login: {exc.message}", transient=not sent) from None
            raise
        seen += text
        last = _last_line(text)
        if any_prompt(last):
            return last
        step = "username" if _LOGIN_PROMPT.search(last) else "password"
        if step in sent:  # asked again: the first answer was refused
            raise CollectError("auth", "login refused" + (_refusal_line(text) or f" (the device asked for the {step} again)"))
        if not sent and on_cleartext is not None:
            on_cleartext(target.name)
        sent.add(step)
        wire.write((cred.username if step == "username" else reveal(cred.password)) + "\n")


class TelnetCollector:
    transport = "telnet"

    def __init__(
        self,
        *,
        connect_timeout: float = 15.0,
        command_timeout: float = 60.0,
        commands: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.connect_timeout = connect_timeout
        self.command_timeout = command_timeout
        self._commands = commands or {}
        # Devices this collector sent a username or password to, in clear: the scan summary names them.
        self.sent_in_clear: set[str] = set()

    async def collect(self, target: Target, sink: list[Capture]) -> None:
        plat = platforms.get(target.platform)
        port = telnet_port(target)
        if target.credential is None:
            raise CollectError("config", "no telnet credentials in the inventory")
        wire = await open_wire(target.host, port, self.connect_timeout)
        try:
            prompt_line = await login(wire, target, plat, self.connect_timeout, self.sent_in_clear.add)
            if prompt_line.rstrip().endswith(">") and plat.ssh.enable in ("always", "when_user_exec"):
                self.sent_in_clear.add(target.name)  # the enable secret goes in clear too (a vty without login)
                prompt_line = await _enable(wire, wire.shell, target, plat.ssh.prompt.match, self.command_timeout)
            await run_commands(wire, wire.shell, target, plat, prompt_line, "telnet",
                               self._commands.get(target.platform, plat.ssh.commands), self.command_timeout, sink)
            try:
                wire.write("exit\n")
            except CollectError:
                pass  # everything is collected: a device that already hung up is no failure
        finally:
            wire.close()
