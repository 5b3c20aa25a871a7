"""SSH actions for the Smart Licensing offline round trip: commands that change a device's
state, and moving files to and from its flash, all over SSH.

Built on ``collectors.ssh``'s login, prompt learning and ``_Shell`` reader, so an action talks
to a device exactly as a scan does and fails with the same error kinds.  Like every collector
this module never interprets answers beyond "did the device refuse": what an output means is
``agent.slp``'s business.

Files move by SCP (what IOS XE and NX-OS offer air-gapped from the agent's side; the device
needs ``ip scp server enable`` / ``feature scp-server``).  Each transfer uses its own SSH
connection: IOS serves one channel per connection, so an SCP channel next to an open shell
is not something to rely on.  Reading a file back can fall back to ``more <file>`` in the CLI;
that path turns CRLF into LF and cannot promise the bytes, so the caller checks the size the
device lists (``file_size``) before trusting it.
"""
from __future__ import annotations

import asyncio
import re
import tempfile
import time
from pathlib import Path

import asyncssh

from agent.core import platforms
from agent.core.models import Capture, Target
from collectors.base import CollectError
from collectors.ssh import _clean, _Shell, connect, open_shell

# Device-side failures that are not a refused command: '%Error opening bootflash:x (No such file
# or directory)', '% Error: ...', 'ERROR: ...'.
_ERROR_LINE = re.compile(r"^\s*(?:%\s*Error\b.*|ERROR:.*|%\s*\S.*\b(?:failed|denied|not found|No such file)\b.*)$",
                         re.I | re.M)
# Interactive confirmations some file commands ask ('Delete filename [x]?', '[confirm]', NX-OS
# '(yes/no/abort)   [y]'): each is answered with Enter, which takes the default shown.
_CONFIRM = re.compile(r"(?:\[confirm\]|\]\?\s*|\(yes/no(?:/abort)?\)\s*\[\w\]\s*)$")
MAX_FILE = 64 * 1024 * 1024


def device_error(text: str, platform: str | None = None) -> str | None:
    """The device's own error line if it refused (``platform``'s refusal lines) or failed the command, else None."""
    refusal = platforms.refusal(text, platform)
    if refusal:
        return refusal
    m = _ERROR_LINE.search(text[:4000])
    return m.group(0).strip() if m else None


class CliSession:
    """One logged-in CLI at the privileged prompt, set up like a scan's (paging off)."""

    def __init__(self, target: Target, conn, chan, shell: _Shell, prompt: str, command_timeout: float) -> None:
        self.target = target
        self.conn = conn
        self.chan = chan
        self.shell = shell
        self.prompt = prompt
        self.command_timeout = command_timeout

    @classmethod
    async def open(cls, target: Target, *, connect_timeout: float = 15.0,
                   command_timeout: float = 60.0) -> "CliSession":
        plat = platforms.get(target.platform)
        conn = await connect(target, connect_timeout=connect_timeout)  # host key checked first (target.host_keys)
        try:
            chan, shell, prompt = await open_shell(conn, target, plat, connect_timeout=connect_timeout,
                                                   command_timeout=command_timeout)
            session = cls(target, conn, chan, shell, prompt, command_timeout)
            for setup in plat.ssh.setup:
                await session.run(setup)
            return session
        except BaseException as exc:
            conn.abort()
            if isinstance(exc, (asyncssh.Error, ConnectionError)):
                raise CollectError("disconnect", f"connection lost: {getattr(exc, 'reason', None) or exc}") from None
            raise

    async def __aenter__(self) -> "CliSession":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        try:
            self.chan.write("exit\n")
            self.chan.close()
        except (asyncssh.Error, ConnectionError, OSError):
            pass
        self.conn.close()
        try:
            await asyncio.wait_for(self.conn.wait_closed(), 5)
        except (asyncio.TimeoutError, asyncssh.Error, OSError):
            self.conn.abort()

    async def run(self, command: str, *, timeout: float | None = None, glued_prompt: bool = False,
                  max_confirms: int = 0) -> Capture:
        """Send one command and return what it printed (echo and prompt removed).

        ``glued_prompt``: the output may not end with a newline (``more`` of a file without one),
        so the prompt can arrive glued to its last line.  ``max_confirms``: answer that many
        interactive confirmations with Enter.  A refusal or ``% Error`` sets the capture's error
        (kind ``command``); a lost session or silence raises :class:`CollectError` (the session is
        then unusable).
        """
        prompt = self.prompt
        timeout = timeout or self.command_timeout

        def done(tail: str) -> bool:
            return tail.endswith(prompt) if glued_prompt else tail == prompt

        def matcher(tail: str) -> bool:
            return done(tail) or (max_confirms > 0 and bool(_CONFIRM.search(tail)))

        started = time.time()
        pieces = []
        confirms = 0
        try:
            self.chan.write(command + "\n")
            while True:
                piece = await self.shell.read_until(matcher, timeout)
                pieces.append(piece)
                tail = piece.replace("\r", "").rsplit("\n", 1)[-1]
                if done(tail) or confirms >= max_confirms:
                    break
                confirms += 1
                self.chan.write("\n")
        except CollectError as exc:
            # The session is out of step with the device now: no further command may use it.
            raise CollectError(exc.kind, f"{command!r}: {exc.message}") from None
        except (asyncssh.Error, ConnectionError) as exc:
            raise CollectError("disconnect", f"connection lost: {getattr(exc, 'reason', None) or exc}") from None
        text = _clean("".join(pieces), command, prompt)
        problem = device_error(text, self.target.platform)
        return Capture(self.target.name, self.target.platform, "ssh", command, text, started, time.time(),
                       f"device refused or failed the command: {problem}" if problem else None,
                       "command" if problem else None)


# A listing line: size, then the date (IOS "Nov 22 2026 14:36:39 +00:00", NX-OS "Nov 22 14:36:39 2026"), then the name.
_DIR_ENTRY = r"(\d+)\s+[A-Z][a-z]{2}\s+\d{1,2}\s.*?\s"


async def file_size(session: CliSession, path: str) -> tuple[int | None, Capture]:
    """The size ``dir <path>`` lists for one file (IOS and NX-OS layouts), None if not listed."""
    cap = await session.run(f"dir {path}")
    name = re.split(r"[:/]", path)[-1]
    if cap.ok and name:
        m = re.search(_DIR_ENTRY + re.escape(name) + r"\s*$", cap.output, re.M)
        if m:
            return int(m.group(1)), cap
    return None, cap


async def read_file_cli(session: CliSession, path: str) -> tuple[bytes | None, Capture]:
    """A text file through ``more``: line endings come back as LF, so the bytes are only as good
    as the size check the caller makes against ``file_size``."""
    cap = await session.run(f"more {path}", glued_prompt=True)
    if not cap.ok:
        return None, cap
    return cap.output.encode("utf-8", "surrogateescape"), cap


def _scp_failure(op: str, path: str, exc: BaseException) -> CollectError:
    reason = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
    return CollectError("command", f"SCP {op} {path} failed: {reason} (does the device run an SCP server? "
                        "IOS XE: 'ip scp server enable', NX-OS: 'feature scp-server')")


async def scp_get(target: Target, path: str, *, connect_timeout: float = 15.0, timeout: float = 60.0) -> bytes:
    """The exact bytes of ``path`` on the device (e.g. ``bootflash:x_rum.txt``), by SCP."""
    async def get(conn, local: Path) -> bytes:
        await asyncio.wait_for(asyncssh.scp((conn, path), str(local)), timeout)
        if local.stat().st_size > MAX_FILE:
            raise CollectError("garbage", f"{path} is larger than {MAX_FILE // 2**20} MiB")
        return local.read_bytes()

    return await _scp("get", target, path, Path("file"), get, connect_timeout, timeout)


async def scp_put(target: Target, data: bytes, path: str, *, connect_timeout: float = 15.0,
                  timeout: float = 60.0) -> None:
    """Write ``data`` to ``path`` on the device (e.g. ``bootflash:ACK_x.txt``), by SCP."""
    async def put(conn, local: Path) -> None:
        local.write_bytes(data)
        await asyncio.wait_for(asyncssh.scp(str(local), (conn, path)), timeout)

    await _scp("put", target, path, Path(re.split(r"[:/]", path)[-1]), put, connect_timeout, timeout)


async def _scp(op: str, target: Target, path: str, local_name: Path, transfer, connect_timeout: float,
               timeout: float):
    """One SCP transfer: connect (the host key checked before any credential, as for a scan's
    session: ``collectors.ssh.connect``), ``transfer(conn, local file in a private temp dir)``, and
    every failure as a CollectError that says what to check on the device."""
    conn = await connect(target, connect_timeout=connect_timeout)
    try:
        async with conn:
            with tempfile.TemporaryDirectory(prefix="ibagent-scp-") as tmp:
                return await transfer(conn, Path(tmp) / local_name)
    except CollectError:
        raise
    except asyncio.TimeoutError:
        raise CollectError("timeout", f"SCP {op} {path} did not finish within {timeout:g}s") from None
    except (asyncssh.Error, OSError, ConnectionError) as exc:
        raise _scp_failure(op, path, exc) from None
