"""NETCONF collector on ncclient: one ``<get>`` per subtree filter of the platform's ``netconf:`` data.

Which filters, in which order, which of them may be refused, and the default port (830) come
from ``agent/core/platform_defs/<platform>.yaml``; a host's ``data: {netconf_port: N}`` overrides the
port.  Each reply is kept raw (``<rpc-reply>`` XML) as a Capture named ``netconf:<filter>``;
``parsers.netconf`` reads it.  A platform without a ``netconf:`` section (ASA, classic IOS)
has no NETCONF agent: the scan does not plan this transport for it.

ncclient is blocking, so each device runs in a worker thread of a pool, as
``collectors.ssh_netmiko`` does.

Evidence (issue 12): each Capture's ``raw`` is the reply document's bytes exactly as the device
sent them, chunk framing and end marker removed (``collectors.netconf_frames``, which reads the
framing in ncclient's place); ``output`` is that reply as text, what ``parsers.netconf`` reads.
A reply that failed keeps what was read of it.

The server's host key is judged by ``target.host_keys`` (``collectors.paramiko_keys``) after the
key exchange and before ncclient's first authentication request.  One message (the hello, a
reply) may take at most ``MAX_MESSAGE`` bytes before its end marker, the SSH collector's budget
for one command's output: a hello or reply that goes on past it, or a hello that starts and does
not end within the connect timeout, ends the device as ``garbage``.

Why the session class below: ncclient queues every outgoing RPC for its session thread, which
sits in ``select(timeout=TICK)`` (TICK = 0.1 s) and only looks at the queue between selects.
An RPC issued while the thread is idle therefore waits for that select to time out: measured
on the lab, every ``<get>`` and the ``<close-session>`` took 0.10-0.11 s with a device that
answers at once, i.e. ~0.3 s of pure waiting per device (three RPCs).  Lowering TICK would
turn every idle session thread into a busy poll; instead ``_DirectSendSession`` writes the
framed RPC to the SSH channel from the calling thread (paramiko channels take one writer and
one reader thread concurrently), while ncclient's own thread keeps reading and dispatching
replies unchanged.  Same bytes on the wire, no sleeps.  ``direct_send=False`` restores stock
behaviour (kept for the benchmark's comparison).
"""
from __future__ import annotations

import asyncio
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Mapping

from agent.core import platforms
from agent.core.models import Capture, Target
from agent.core.secret import reveal
from collectors.base import CollectError
from collectors.netconf_frames import Frames

NC_NS = "urn:ietf:params:xml:ns:netconf:base:1.0"
DEFAULT_PORT = 830
# What one NETCONF message (the hello, a reply) may take on the wire before its end marker: the
# same budget as one SSH command's output (collectors.ssh).  Past it the device is ``garbage``.
MAX_MESSAGE = 16 * 1024 * 1024
_READ_SIZE = 256 * 1024

_session_class = None
# ncclient (and paramiko under it) is imported on first use, from pool threads, and its
# make_device_handler imports ncclient.devices.<name> on every call; a hundred threads doing that
# at once trip over a half-initialised package ("cannot access submodule 'devices'"), so imports
# and handler creation happen under this lock.
_import_lock = threading.Lock()


def _load_ncclient() -> None:
    with _import_lock:
        import ncclient.manager  # noqa: F401
        import ncclient.operations  # noqa: F401
        import ncclient.transport.ssh  # noqa: F401

        _session_classes()


def _session_classes():
    """(capped session, the same with RPCs written by the caller, MessageTooLarge): the module docstring
    says why; built on first use because ncclient and paramiko are imported only then."""
    global _session_class
    if _session_class is None:
        import paramiko
        from ncclient.transport.errors import TransportError
        from ncclient.transport.session import MSG_DELIM, NetconfBase
        from ncclient.transport.ssh import SSHSession

        class MessageTooLarge(TransportError):
            """A message (the hello or a reply) went on past MAX_MESSAGE without its end marker."""

        class _Preference(paramiko.HostKeys):
            """What ncclient's connect reads of its host keys: ``lookup`` gives the host-key
            algorithms to negotiate (the trusted key types'), ``check`` never vouches for a key,
            so every key goes to ``unknown_host_cb``, that is to the policy."""

            def __init__(self, algorithms: list[str]) -> None:
                super().__init__()
                self._algorithms = algorithms

            def __len__(self) -> int:
                return len(self._algorithms)

            def lookup(self, hostname):
                return dict.fromkeys(self._algorithms)

            def check(self, hostname, key) -> bool:
                return False

        class _CappedSession(SSHSession):
            """ncclient's session with two guards.  A message may not exceed MAX_MESSAGE bytes
            on the wire before its end marker: ncclient itself buffers without limit, so a hello
            that never ends grew one scan past 1 GB.  And the host key is judged by the target's
            policy (``check``), never by ~/.ssh/known_hosts."""

            def __init__(self, device_handler, check=None):
                super().__init__(device_handler)
                self._frames = Frames(self)
                self.pending = 0  # bytes read since the last whole message
                self.check = check
                if check is not None and check.types:
                    self._host_keys = _Preference(check.algorithms())

            def load_known_hosts(self, filename=None):
                pass  # the policy decides (see the class docstring)

            # ncclient sets its own reader here (in __init__, after connecting, on a SAX fallback);
            # the session always reads through Frames, which keeps each message's bytes.
            parser = property(lambda self: self._frames, lambda self, _ignored: None)

            def _transport_read(self):
                # Bigger reads than ncclient's 4 KiB: fewer wake-ups of the session thread.
                data = self._channel.recv(_READ_SIZE)
                self.pending += len(data)
                if self.pending > MAX_MESSAGE:
                    raise MessageTooLarge(f"a NETCONF message went on past {MAX_MESSAGE // 2**20} MiB "
                                          "without its end marker")
                return data

            def _dispatch_message(self, raw):
                self.pending = 0
                return super()._dispatch_message(raw)

        class _DirectSendSession(_CappedSession):
            def __init__(self, device_handler, check=None):
                super().__init__(device_handler, check)
                self._write_lock = threading.Lock()

            def send(self, message):
                if not self.connected or self._channel is None:
                    raise TransportError("Not connected to NETCONF server")
                data = message.encode()
                if self._base == NetconfBase.BASE_11:
                    data = b"\n#%d\n%s\n##\n" % (len(data), data)
                else:
                    data += MSG_DELIM
                with self._write_lock:
                    self._channel.sendall(data)

        _session_class = (_CappedSession, _DirectSendSession, MessageTooLarge)
    return _session_class


def netconf_profile(platform: str) -> Mapping[str, Any] | None:
    """The platform's ``netconf:`` section, or None when it has no NETCONF agent."""
    try:
        return platforms.get(platform).netconf
    except platforms.UnknownPlatform:
        return None


def netconf_port(target: Target, profile: Mapping[str, Any] | None = None) -> int | None:
    """The port NETCONF is reached on: the host's ``data.netconf_port``, else the platform's, else 830
    (None when the inventory's value is not a number)."""
    profile = netconf_profile(target.platform) if profile is None else profile
    try:
        return int(target.options.get("netconf_port") or (profile or {}).get("port") or DEFAULT_PORT)
    except (TypeError, ValueError):
        return None


def _filter_xml(body: str) -> str:
    # A whole <filter> element: ncclient's ('subtree', text) form accepts one top element only, and
    # a filter may name several (IOS XE 'version' asks two models).
    return f'<filter xmlns="{NC_NS}" type="subtree">{body.strip()}</filter>'


class NetconfCollector:
    transport = "netconf"

    def __init__(
        self, *, connect_timeout: float = 15.0, command_timeout: float = 60.0, workers: int = 50,
        direct_send: bool = True,
    ) -> None:
        self.connect_timeout = connect_timeout
        self.command_timeout = command_timeout
        self.direct_send = direct_send
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="netconf")

    async def collect(self, target: Target, sink: list[Capture]) -> None:
        loop = asyncio.get_running_loop()
        # The thread cannot be cancelled; it ends by its own timeouts, and captures reach ``sink``
        # as they finish, so a device deadline still keeps what was read.
        await loop.run_in_executor(self._pool, self._collect_blocking, target, sink)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------ blocking part

    def _connect(self, target: Target, profile: Mapping[str, Any]):
        from ncclient import manager as nc_manager
        from ncclient.operations import RaiseMode
        from ncclient.transport.errors import AuthenticationError, SessionError, SSHError, TransportError
        from paramiko.ssh_exception import SSHException

        from collectors.paramiko_keys import ParamikoHostKeyCheck

        cred = target.credential
        if cred is None:
            raise CollectError("config", "no NETCONF credentials in the inventory")
        port = netconf_port(target, profile)
        if port is None:
            raise CollectError("config", f"netconf_port {target.options.get('netconf_port')!r} is not a port")
        with _import_lock:  # make_device_handler imports ncclient.devices.<name> on each call
            handler = nc_manager.make_device_handler({"name": profile.get("device_params", "default")})
        capped, direct, too_large = _session_classes()
        check = ParamikoHostKeyCheck(target, port)
        session = (direct if self.direct_send else capped)(handler, check)

        def judge(_host: str, _md5: str) -> bool:
            # Called by ncclient after the key exchange and before its first authentication request.
            return check.accept(session.transport.get_remote_server_key())

        try:
            try:
                session.connect(
                    target.host, port, timeout=self.connect_timeout, username=cred.username, password=reveal(cred.password),
                    hostkey_verify=target.host_keys is not None, unknown_host_cb=judge,
                    allow_agent=False, look_for_keys=False, ssh_config=None,
                )
            except Exception as exc:
                refused = check.refusal(exc)
                if refused is not None:
                    _close_quietly(session)
                    raise refused from None
                raise
        except AuthenticationError:
            raise CollectError("auth", "NETCONF login refused (authentication failed)") from None
        except too_large as exc:
            _close_quietly(session)
            raise CollectError("garbage", f"NETCONF hello: {exc}") from None
        except SessionError as exc:  # logged in, but no whole <hello> in time
            _close_quietly(session)
            if session.pending:
                raise CollectError("garbage", f"NETCONF hello not ended within {self.connect_timeout:g}s "
                                   f"({session.pending} bytes without its end marker)") from None
            raise CollectError("timeout", f"no NETCONF hello within {self.connect_timeout:g}s ({_short(exc)})") from None
        except socket.timeout:
            _close_quietly(session)
            raise CollectError("timeout", f"no NETCONF session within {self.connect_timeout:g}s", transient=True) from None
        except (SSHError, SSHException, EOFError, OSError) as exc:
            _close_quietly(session)
            reason = str(exc) or type(exc).__name__
            if "Could not open socket" in reason or isinstance(exc, ConnectionError):
                raise CollectError("connect", f"cannot connect to NETCONF port {port}: {reason}", transient=True) from None
            raise CollectError("connect", f"NETCONF over SSH failed: {_short(exc)}", transient=True) from None
        except TransportError as exc:  # logged in, then the session ended inside the hello (SessionCloseError)
            _close_quietly(session)
            raise CollectError("disconnect", f"NETCONF session closed during the hello ({session.pending} bytes "
                               f"without its end marker): {_short(exc)}") from None
        return nc_manager.Manager(session, handler, timeout=self.command_timeout, raise_mode=RaiseMode.NONE)

    def _collect_blocking(self, target: Target, sink: list[Capture]) -> None:
        _load_ncclient()
        from ncclient.operations.errors import TimeoutExpiredError
        from ncclient.transport.errors import NetconfFramingError, TransportError

        too_large = _session_classes()[2]
        profile = netconf_profile(target.platform)
        if not profile:
            raise CollectError("config", f"{target.platform} has no NETCONF agent with hardware models")
        filters = profile.get("filters") or {}
        optional = set(profile.get("optional") or ())
        mgr = self._connect(target, profile)
        frames = mgr._session.parser
        try:
            for name in profile.get("collect") or list(filters):
                command = f"netconf:{name}"
                started = time.time()
                try:
                    reply = mgr.get(filter=_filter_xml(filters[name]))
                except TimeoutExpiredError:
                    sink.append(Capture(target.name, target.platform, "netconf", command, "", started, time.time(),
                                        "no reply", "timeout", raw=frames.partial()))
                    raise CollectError("timeout", f"{command}: no reply within {self.command_timeout:g}s") from None
                except too_large as exc:
                    sink.append(Capture(target.name, target.platform, "netconf", command, "", started, time.time(),
                                        f"reply too large: {exc}", "garbage", raw=frames.partial()))
                    raise CollectError("garbage", f"{command}: {exc}") from None
                except (NetconfFramingError, UnicodeDecodeError) as exc:
                    # The session thread read bytes that are neither framing nor UTF-8.
                    sink.append(Capture(target.name, target.platform, "netconf", command, "", started, time.time(),
                                        f"unreadable reply: {_short(exc)}", "garbage", raw=frames.partial()))
                    raise CollectError("garbage", f"{command}: reply is not NETCONF (framing or encoding broken)") from None
                except (TransportError, EOFError, OSError) as exc:
                    sink.append(Capture(target.name, target.platform, "netconf", command, "", started, time.time(),
                                        f"session lost: {_short(exc)}", "disconnect", raw=frames.partial()))
                    raise CollectError("disconnect", f"{command}: session lost ({_short(exc)})") from None
                text = reply.xml or ""
                received = frames.take(reply.xml)  # the bytes behind that very text
                error = None
                if not reply.ok:
                    first = reply.errors[0] if reply.errors else None
                    error = f"rpc-error: {getattr(first, 'tag', '')}: {getattr(first, 'message', '') or ''}".strip(": ")
                sink.append(Capture(target.name, target.platform, "netconf", command, text, started, time.time(),
                                    error, "command" if error else None, raw=received))
                if error and name not in optional:
                    raise CollectError("command", f"{command} refused: {error}")
            try:
                mgr.close_session()
            except Exception:  # noqa: BLE001 - everything is collected; a rude close is not a failure
                pass
        finally:
            _close_quietly(mgr._session)


def _short(exc: BaseException) -> str:
    # ncclient puts the whole unread buffer into some messages; the first line says what happened.
    text = (str(exc) or type(exc).__name__).strip().splitlines()[0]
    return text if len(text) <= 160 else text[:157] + "..."


def _close_quietly(session) -> None:
    try:
        if session is not None and session.transport is not None:
            session.close()
    except Exception:  # noqa: BLE001 - closing a dead session must not mask the real error
        pass
