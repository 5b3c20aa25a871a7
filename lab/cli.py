"""The interactive CLI of one lab device session, independent of the SSH library.

Reads raw bytes, echoes what it consumes (typed-ahead input is echoed only when the CLI gets
to it, as on a real box, so a client waiting for its command echo never gets out of step),
answers with ``\\r\\n`` line endings and the platform's prompt.
"""
from __future__ import annotations

import asyncio
import random
from datetime import datetime, timezone
from enum import Enum
from functools import cache
from typing import Protocol

from . import faults, neighbour_text, profiles, slp
from .commands import Command, Match, Outcome, lookup
from .device import RunningDevice
from .dialects import DIALECTS

CR, LF, BS, DEL, CTRL_Z = 13, 10, 8, 127, 26


class Channel(Protocol):
    async def read(self) -> bytes: ...  # b"" at end of input

    def write(self, data: bytes) -> None: ...

    async def drain(self) -> None: ...

    def abort(self) -> None: ...  # drop the connection, as a crashing device would


class Mode(Enum):
    USER = ">"
    EXEC = "#"
    CONFIG = "(config)#"


# Commands every mode knows besides the profile's; the value is the dispatch key.
_LEAVE = [Command.of(w, "exit") for w in ("exit", "quit", "logout")]
_TERMINAL = Command.of("terminal", "terminal", takes_args=True)
_USER_TABLE = [*_LEAVE, _TERMINAL, Command.of("enable")]
_EXEC_TABLE = [*_LEAVE, _TERMINAL, Command.of("enable"), Command.of("disable"), Command.of("configure terminal")]
# In user EXEC only harmless commands exist; the rest needs 'enable', as on IOS and ASA.
_USER_VISIBLE = frozenset({"show version"})


@cache
def command_tables(profile_name: str) -> dict[Mode, list[Command]]:
    """What each mode accepts on devices of one profile; shared by all their sessions."""
    profile = profiles.load(profile_name)
    extra = [Command.of(c) for c in DIALECTS[profile.platform].extra_commands]
    shows = [Command.of(c, output=True) for c in profile.commands]
    if neighbour_text.supports(profile.platform):  # CDP / LLDP tables: per device, not profile templates
        shows += [Command.of(c, output=True) for c in neighbour_text.COMMANDS]
    return {
        Mode.USER: _USER_TABLE + extra + [c for c in shows if c.key in _USER_VISIBLE],
        Mode.EXEC: _EXEC_TABLE + extra + shows + slp.commands(profile),
    }


class Session:
    def __init__(self, device: RunningDevice, channel: Channel, rng: random.Random) -> None:
        self.device = device
        self.profile = device.profile_def
        self.dialect = DIALECTS[self.profile.platform]
        self.channel = channel
        self.rng = rng
        self.mode = Mode.USER if self.profile.login_mode == "user" else Mode.EXEC
        self.timestamps = self.dialect.timestamp
        self.garbled = False
        self._inbuf = bytearray()
        self._eof = False
        self._skip_lf = False
        self._tables = command_tables(self.profile.name)

    # ------------------------------------------------------------------ output helpers

    def prompt(self) -> str:
        return f"{self.profile.prompt_node}{self.device.hostname}{self.mode.value}{self.dialect.prompt_space}"

    def _write(self, text: str) -> None:
        self.channel.write(text.encode("utf-8", "replace"))

    def _write_prompt(self) -> None:
        self._write(self.prompt())

    async def _emit(self, data: bytes) -> None:
        if faults.SLOW in self.device.faults:
            chunk, pause = max(1, self.device.spec.slow_chunk), self.device.spec.slow_pause
            for i in range(0, len(data), chunk):
                self.channel.write(data[i : i + chunk])
                await self.channel.drain()
                await asyncio.sleep(pause)
        else:
            self.channel.write(data)
            await self.channel.drain()

    async def _latency(self) -> None:
        spec = self.device.spec
        if spec.latency > 0:
            await asyncio.sleep(spec.latency * self.rng.uniform(1 - spec.jitter, 1 + spec.jitter))

    # ------------------------------------------------------------------ input

    async def _fill(self) -> bool:
        if self._eof:
            return False
        data = await self.channel.read()
        if not data:
            self._eof = True
            return False
        self._inbuf += data
        return True

    async def read_line(self, echo: bool = True) -> str | None:
        """One line as typed, or None at end of input.  Ctrl-Z comes back as '\\x1a'."""
        chars: list[str] = []
        echoed = bytearray()
        while True:
            if not self._inbuf:
                if echoed:
                    self.channel.write(bytes(echoed))
                    echoed.clear()
                if not await self._fill():
                    return None
            c = self._inbuf.pop(0)
            if self._skip_lf and c == LF:
                self._skip_lf = False
                continue
            self._skip_lf = False
            if c in (CR, LF):
                self._skip_lf = c == CR
                self.channel.write(bytes(echoed) + b"\r\n")
                return "".join(chars)
            if c == CTRL_Z:
                self.channel.write(bytes(echoed) + b"^Z\r\n")
                return "\x1a"
            if c in (BS, DEL):
                if chars:
                    chars.pop()
                    if echo:
                        echoed += b"\b \b"
                continue
            if c < 32 or c > 126:  # tabs, '?' help and the like are not emulated
                continue
            chars.append(chr(c))
            if echo:
                echoed.append(c)

    async def _swallow(self) -> None:
        """Hung device: read and ignore everything until the client gives up."""
        while await self._fill():
            self._inbuf.clear()

    # ------------------------------------------------------------------ sessions

    async def run_shell(self) -> None:
        if faults.HANG in self.device.faults:
            await self._swallow()
            return
        self._write("\r\n")
        self._write_prompt()
        while True:
            line = await self.read_line()
            if line is None or not await self.execute(line):
                return

    async def run_exec(self, command: str) -> int:
        """An SSH 'exec' request: one command, no echo, no prompt; the exit status."""
        if faults.HANG in self.device.faults:
            await self._swallow()
            return 255
        self.mode = Mode.EXEC
        match = lookup(command, self._tables[Mode.EXEC])
        if match.outcome is not Outcome.FOUND:
            self._write(self._error(match, command, prompt_len=0))
            return 1
        if not match.command.output:
            return 0  # 'terminal length 0' and friends: nothing to say on a one-shot channel
        return 0 if await self._show(match.command.key, prompt=False) else 255

    async def execute(self, line: str) -> bool:
        """Run one typed line; False when the session is over."""
        if self.garbled:
            await self._emit(faults.noise(self.rng, 256))
            return True
        if self.mode is Mode.CONFIG:
            return self._config(line)
        if not line.strip():
            self._write_prompt()
            return True
        match = lookup(line, self._tables[self.mode])
        if match.outcome is not Outcome.FOUND:
            self._write(self._error(match, line, prompt_len=len(self.prompt())))
            self._write_prompt()
            return True
        key = match.command.key
        if key.startswith(slp.KEY_PREFIX) and not match.command.output:
            return await slp.execute(self, key, line)
        if match.command.output:
            return await self._show(key)
        if key == "exit":
            return False
        if key == "terminal":
            self._terminal(match.args)
        elif key == "enable" and self.mode is Mode.USER:
            return await self._enable()
        elif key == "disable":
            self.mode = Mode.USER
        elif key == "configure terminal":
            if self.dialect.config_banner:
                self._write(self.dialect.config_banner + "\r\n")
            self.mode = Mode.CONFIG
        elif key == "show curpriv":
            self._curpriv()
        self._write_prompt()
        return True

    # ------------------------------------------------------------------ command handlers

    def _error(self, match: Match, line: str, prompt_len: int) -> str:
        if match.outcome is Outcome.AMBIGUOUS:
            text = f'% Ambiguous command:  "{line.strip()}"\r\n'
        elif match.outcome is Outcome.INCOMPLETE:
            text = self.dialect.incomplete + "\r\n"
        else:
            text = " " * (prompt_len + match.column) + "^\r\n" + self.dialect.invalid + "\r\n"
        return text + ("\r\n" if self.dialect.blank_after_error else "")

    def _terminal(self, args: tuple[str, ...]) -> None:
        # Paging and width are accepted and ignored: output is never paged.  XR can drop the
        # timestamp it prints before each command.
        if args[-3:] == ("exec", "prompt", "no-timestamp") and args[:1] != ("no",):
            self.timestamps = False
        elif args[-3:] == ("exec", "prompt", "timestamp"):
            self.timestamps = self.dialect.timestamp

    def _curpriv(self) -> None:
        level, mode = ("15", "P_PRIV") if self.mode is not Mode.USER else ("1", "P_UNPR")
        self._write(f"Username : enable_{level}\r\nCurrent privilege level : {level}\r\nCurrent Mode/s : {mode}\r\n")

    async def _enable(self) -> bool:
        self._write("Password: ")
        secret = await self.read_line(echo=False)
        if secret is None:
            return False
        if secret == self.device.enable_password:
            self.mode = Mode.EXEC
        else:
            self._write(self.dialect.enable_denied + "\r\n" + ("\r\n" if self.dialect.blank_after_error else ""))
        self._write_prompt()
        return True

    def _config(self, line: str) -> bool:
        # Configuration is accepted and forgotten: the lab only needs the mode round trip
        # (netmiko's ASA driver sets 'terminal width' from config mode).
        if line == "\x1a" or line.strip().lower() in ("end", "exit"):
            self.mode = Mode.EXEC
        self._write_prompt()
        return True

    async def _show(self, command: str, prompt: bool = True) -> bool:
        await self._latency()
        text = slp.output(self.device, command) or ""  # profile text with live licensing state
        if text and not text.endswith("\r\n"):
            text += "\r\n"
        if self.timestamps:
            now = datetime.now(timezone.utc)
            stamp = f"{now:%a %b} {now.day:2d} {now:%H:%M:%S}.{now.microsecond // 1000:03d} UTC"
            text = stamp + "\r\n" + text
        if faults.PATHOLOGICAL in self.device.faults and command == faults.PATHOLOGICAL_COMMAND:
            text = faults.pathological(text)
        if faults.GARBAGE in self.device.faults:
            self.garbled = True
            await self._emit(faults.noise(self.rng))
            return True
        data = text.encode()
        if faults.DISCONNECT in self.device.faults and command == faults.DISCONNECT_COMMAND:
            self.channel.write(faults.split_for_disconnect(data))
            await self.channel.drain()
            self.channel.abort()
            return False
        if prompt:
            data += self.prompt().encode()
        await self._emit(data)
        return True
