"""Hostile NETCONF peers on loopback, for the tests and the bench of bounded input (issue 12).

One asyncssh listener that accepts any login and then misbehaves as ``mode`` says:

- ``endless-hello``: a ``<hello>`` that never reaches its end marker, sent as fast as the client reads;
- ``slow-hello``: the start of a hello, then a trickle that never ends it;
- ``huge-reply``: a proper hello (base:1.0), then a reply to the first request that never ends;
- ``huge-chunk``: a proper hello offering base:1.1, then one chunk announced as 4 GB that never ends.

Every peer stops by itself: it sends at most ``limit`` bytes per session and for at most
``seconds``; it listens on loopback only.  It runs in a thread with its own event loop, like
``lab.server.LabThread``.
"""
from __future__ import annotations

import asyncio
import threading

import asyncssh

from .server import check_loopback

MODES = ("endless-hello", "slow-hello", "huge-reply", "huge-chunk")
NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
EOM = b"]]>]]>"
_HELLO_START = (f'<?xml version="1.0" encoding="UTF-8"?><hello xmlns="{NC}"><capabilities>'
                f"<capability>{NC}</capability>").encode()


def _hello(base11: bool) -> bytes:
    extra = b"<capability>urn:ietf:params:netconf:base:1.1</capability>" if base11 else b""
    return _HELLO_START + extra + b"</capabilities><session-id>7</session-id></hello>" + EOM


class _Server(asyncssh.SSHServer):
    def __init__(self, peer: "HostileNetconf") -> None:
        self._peer = peer

    def connection_made(self, conn) -> None:
        self._peer.connections += 1

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return True


class HostileNetconf:
    def __init__(self, mode: str, host: str = "127.0.0.1", *, limit: int = 256 * 2**20, seconds: float = 60.0,
                 piece: int = 64 * 1024) -> None:
        if mode not in MODES:
            raise ValueError(f"mode {mode!r} is not one of {', '.join(MODES)}")
        check_loopback(host)
        self.mode, self.host, self.limit, self.seconds, self.piece = mode, host, limit, seconds, piece
        self.port = 0
        self.connections = 0
        self.sent = 0  # bytes of filler sent, all sessions
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    async def _session(self, process: asyncssh.SSHServerProcess) -> None:
        try:
            if self.mode in ("huge-reply", "huge-chunk"):
                process.stdout.write(_hello(self.mode == "huge-chunk"))
                seen = b""
                while b"<get" not in seen and b"rpc" not in seen:  # the client's hello, then its request
                    data = await asyncio.wait_for(process.stdin.read(65536), self.seconds)
                    if not data:
                        return
                    seen = (seen + data)[-4096:]
                head = b'<rpc-reply message-id="101" xmlns="' + NC.encode() + b'"><data>'
                process.stdout.write((b"\n#4294967295\n" + head) if self.mode == "huge-chunk" else head)
            else:
                process.stdout.write(_HELLO_START)
            filler = b"<capability>urn:example:" + b"x" * 200 + b"</capability>"
            block = filler * max(1, self.piece // len(filler))
            slow = self.mode == "slow-hello"
            deadline = asyncio.get_running_loop().time() + self.seconds
            sent = 0
            while sent < self.limit and asyncio.get_running_loop().time() < deadline:
                out = filler if slow else block
                process.stdout.write(out)
                await process.stdout.drain()
                sent += len(out)
                self.sent += len(out)
                if slow:
                    await asyncio.sleep(0.2)
        except (asyncssh.Error, ConnectionError, BrokenPipeError, asyncio.TimeoutError):
            pass  # the client gave up: what these peers are for
        finally:
            process.exit(0)

    async def _main(self, key) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        acceptor = await asyncssh.listen(
            self.host, 0, server_host_keys=[key], server_factory=lambda: _Server(self),
            process_factory=self._session, encoding=None, line_editor=False, allow_scp=False,
            x11_forwarding=False, agent_forwarding=False)
        self.port = acceptor.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            await asyncio.wait_for(self._stop.wait(), self.seconds * 4)
        except asyncio.TimeoutError:
            pass
        acceptor.close()

    def start(self) -> "HostileNetconf":
        key = asyncssh.generate_private_key("ssh-ed25519")
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(key),), name="hostile-netconf",
                                        daemon=True)
        self._thread.start()
        if not self._ready.wait(30):
            raise TimeoutError("hostile NETCONF peer did not start")
        return self

    def stop(self) -> None:
        if self._thread is not None and self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(timeout=30)
        self._thread = None

    def __enter__(self) -> "HostileNetconf":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
