"""SNMPv3 requests of one device over its own connected UDP socket: engine discovery, time window,
reports, with collectors/snmp_v3.py's message and collectors/snmp_usm.py's security.

The exchange (RFC 3414 section 4): a discovery request (no user, no engine ID, reportable) draws a
usmStatsUnknownEngineIDs report carrying the agent's engine ID, boots and time; requests then
go authenticated (and encrypted) with keys localised to that engine.  An agent whose clock we
got wrong answers notInTimeWindow in an *authenticated* report: we take its boots/time and
resend once.  An unknownEngineIDs report to a cached engine (the agent was replaced) means one
new discovery.  The other reports end the device with the same error kinds as the pysnmp path
(collectors/snmp_pysnmp.py): unknown user, wrong digest, decryption error, unsupported level ->
``auth``; unknown / unavailable context -> ``config``; no answer -> ``timeout``.

An answer counts only when it comes from the agent's address (connected socket), carries the
request's msgID, and, for a Response, the request's security level, our user and engine ID, a
correct digest, a time inside the window (RFC 3414 3.2 step 7: not older than 150 s behind what
the agent last told us), our context name and the request-id; a Report needs the msgID only
(RFC 3412 7.2.11: reports are how an agent says it could not read the request), and only an
authenticated one moves our notion of the agent's clock.  Anything else is dropped and, if
nothing good arrives, named in the ``garbage`` error instead of a plain timeout.

Discovery results are kept per (host, port) in the collector's run (``EngineCache``), as pysnmp
keeps them in its engine: devices behind one address (a proxy, the lab) pay one discovery.
"""
from __future__ import annotations

import asyncio
import secrets

from collectors import snmp_ber as ber, snmp_v3 as v3
from collectors.base import CollectError
from collectors.snmp_udp import send_and_wait
from collectors.snmp_usm import AUTH_FLAG, PRIV_FLAG, REPORTABLE, Credentials, UsmError

TIME_WINDOW = 150  # seconds, RFC 3414 2.2.3
MAX_BOOTS = 0x7FFF_FFFF
_USM_STATS = (1, 3, 6, 1, 6, 3, 15, 1, 1)
NOT_IN_TIME_WINDOW, UNKNOWN_ENGINE_ID = _USM_STATS + (2, 0), _USM_STATS + (4, 0)
REPORTS = {
    _USM_STATS + (1, 0): ("auth", "unsupported security level"),
    _USM_STATS + (3, 0): ("auth", "unknown user name"),
    _USM_STATS + (5, 0): ("auth", "wrong digest"),
    _USM_STATS + (6, 0): ("auth", "decryption error"),
    (1, 3, 6, 1, 6, 3, 12, 1, 4, 0): ("config", "unknown context"),
    (1, 3, 6, 1, 6, 3, 12, 1, 5, 0): ("config", "unavailable context"),
}
_CACHE_LIMIT = 65_536


class EngineCache(dict):
    """(host, port) -> [engine ID, boots, time, loop time when learnt]; bounded."""

    def remember(self, key, value) -> None:
        if key not in self and len(self) >= _CACHE_LIMIT:
            self.pop(next(iter(self)))
        self[key] = value


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.accept = None  # the session's check of one datagram: a result, or None to keep waiting
        self.waiter: asyncio.Future | None = None
        self.garbage: str | None = None
        self.lost = False

    def datagram_received(self, data: bytes, addr) -> None:
        waiter, accept = self.waiter, self.accept
        if waiter is None or waiter.done() or accept is None:
            return
        try:
            result = accept(data)
        except (ber.ProtocolError, UsmError) as exc:
            self.garbage = str(exc)
            return
        if result is not None:
            waiter.set_result(result)

    def error_received(self, exc: Exception) -> None:  # ICMP errors: the agent may still answer a retry
        pass

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True


class V3Session:
    """SNMPv3 requests to one agent, with the ``request`` interface of collectors.snmp_udp.UdpSession."""

    version = 3  # WireRequest walks with GETBULK for anything but v1

    def __init__(self, transport, protocol: _Protocol, credentials: Credentials, context_name: bytes,
                 timeout: float, retries: int, cache: EngineCache, key) -> None:
        self._transport, self._protocol = transport, protocol
        self.credentials, self.context_name = credentials, context_name
        self.timeout, self.retries = timeout, retries
        self._cache, self._key = cache, key
        self._next_id = secrets.randbits(30) + 1  # msgID and request-id: unpredictable for a blind spoofer
        self._keys = None
        self._engine = cache.get(key)  # [engine ID, boots, time, loop time]

    @classmethod
    async def open(cls, host: str, port: int, *, credentials: Credentials, context_name: str, timeout: float,
                   retries: int, cache: EngineCache) -> V3Session:
        loop = asyncio.get_running_loop()
        try:
            transport, protocol = await loop.create_datagram_endpoint(_Protocol, remote_addr=(host, port))
        except OSError as exc:
            raise CollectError("connect", f"cannot address {host}:{port}: {exc.strerror or exc}") from None
        return cls(transport, protocol, credentials, context_name.encode("utf-8"), timeout, retries, cache, (host, port))

    def close(self) -> None:
        self._transport.close()

    def _id(self) -> int:
        value = self._next_id
        self._next_id = (value % 0x7FFF_FFFE) + 1
        return value

    def _clock(self) -> tuple[int, int]:
        engine_id, boots, time, learnt = self._engine
        return boots, min(MAX_BOOTS, time + int(asyncio.get_running_loop().time() - learnt))

    def _learn(self, engine_id: bytes, boots: int, time: int) -> None:
        self._engine = [engine_id, boots, time, asyncio.get_running_loop().time()]
        self._cache.remember(self._key, self._engine)

    # ---------------------------------------------------------------- one exchange

    async def _exchange(self, message: bytes, accept, what: str):
        protocol = self._protocol
        protocol.accept, protocol.garbage = accept, None
        try:
            result = await send_and_wait(self._transport, protocol, message, self.timeout, self.retries)
            if result is not None:
                return result
        finally:
            protocol.waiter = protocol.accept = None
        if protocol.garbage:
            raise CollectError("garbage", f"no usable SNMP answer to {what}: {protocol.garbage}")
        raise CollectError("timeout", f"no SNMP answer to {what} within {self.timeout:g}s x {self.retries + 1}"
                                      " (agent down or filtered)")

    async def _discover(self, what: str) -> None:
        msg_id = self._id()
        pdu = ber.encode_pdu(ber.GET, self._id(), [])
        message = v3.encode_request(msg_id=msg_id, flags=REPORTABLE, engine_id=b"", boots=0, time=0, user=b"",
                                    keys=None, context_engine_id=b"", context_name=b"", pdu=pdu)

        def accept(data: bytes):
            m = v3.decode(data)
            if m.msg_id != msg_id:
                return None
            if m.flags & (AUTH_FLAG | PRIV_FLAG):
                raise ber.ProtocolError("discovery answered at a security level it was not asked")
            if not 5 <= len(m.engine_id) <= 32:
                raise ber.ProtocolError(f"discovery answered with an engine ID of {len(m.engine_id)} octets")
            m.scoped_pdu(None)  # well formed, whatever it reports
            return m

        found = await self._exchange(message, accept, f"SNMPv3 engine discovery before {what}")
        self._learn(found.engine_id, found.boots, found.time)
        self._keys = None

    def _check_response(self, m: v3.Message, data: bytes, flags: int):
        """(pdu, authenticated) of an answer with our msgID, after its security checks."""
        creds = self.credentials
        if m.flags & AUTH_FLAG:
            if not flags & AUTH_FLAG:
                raise ber.ProtocolError("authenticated answer to an unauthenticated request")
            if m.engine_id != self._engine[0] or m.user != creds.user:
                raise ber.ProtocolError("answer from another engine ID or user")
            self._keys.verify(data, *m.auth_span)
            boots, latest = self._engine[1], self._engine[2]
            if m.boots > boots or (m.boots == boots and m.time > latest):
                self._learn(m.engine_id, m.boots, m.time)  # authenticated: the agent's clock moved on
            elif m.boots == MAX_BOOTS or m.boots < boots or m.time < self._clock()[1] - TIME_WINDOW:
                raise ber.ProtocolError("authenticated answer outside the time window (a replay?)")
            return m.scoped_pdu(self._keys if m.flags & PRIV_FLAG else None), True
        return m.scoped_pdu(None), False

    async def request(self, pdu_type: int, oids, what: str, max_repetitions: int = 0) -> ber.Response:
        """Send one request (discovering the engine first if needed) and return the agent's Response."""
        resynced = rediscovered = False
        if self._engine is None:
            await self._discover(what)
            rediscovered = True
        while True:
            if self._keys is None:
                self._keys = self.credentials.localized(self._engine[0])
            kind, payload = await self._one(pdu_type, oids, what, max_repetitions)
            if kind == "response":
                return payload
            oid, authenticated = payload
            if oid == NOT_IN_TIME_WINDOW and not resynced and authenticated:
                resynced = True  # _check_response took the agent's boots and time
                continue
            if not rediscovered and (oid == UNKNOWN_ENGINE_ID or oid in REPORTS):
                # An engine ID from the cache may be stale (another box now answers on that address: a
                # pysnmp agent then says unknownUserName, others unknownEngineID): learn it again, once.
                old = self._engine[0]
                rediscovered = True
                await self._discover(what)
                if oid == UNKNOWN_ENGINE_ID or self._engine[0] != old:
                    continue
            if oid in REPORTS:
                kind, reason = REPORTS[oid]
                if kind == "auth":
                    raise CollectError("auth", f"SNMPv3 authentication failed: {reason} (wrong key or protocol?)")
                raise CollectError("config", f"SNMPv3 context refused: {reason}")
            name = ".".join(map(str, oid)) if oid else "nothing"
            if oid == NOT_IN_TIME_WINDOW:
                raise CollectError("connect", f"SNMP {what} failed: agent still reports notInTimeWindow")
            raise CollectError("connect", f"SNMP {what} failed: agent reported {name}")

    async def _one(self, pdu_type: int, oids, what: str, max_repetitions: int):
        creds = self.credentials
        flags = creds.flags | REPORTABLE
        msg_id, request_id = self._id(), self._id()
        boots, time = self._clock()
        engine_id = self._engine[0]
        pdu = ber.encode_pdu(pdu_type, request_id, oids, 0, max_repetitions)
        message = v3.encode_request(msg_id=msg_id, flags=flags, engine_id=engine_id, boots=boots, time=time,
                                    user=creds.user, keys=self._keys, context_engine_id=engine_id,
                                    context_name=self.context_name, pdu=pdu)

        def accept(data: bytes):
            m = v3.decode(data)
            if m.msg_id != msg_id:
                return None  # an answer to an earlier request of this session
            (_, name, (kind, rid, status, index, varbinds)), authenticated = self._check_response(m, data, flags)
            if kind == ber.REPORT:
                return "report", (varbinds[0][0] if varbinds else None, authenticated)
            if kind != ber.RESPONSE:
                raise ber.ProtocolError(f"answer with PDU type 0x{kind:02x}")
            if (m.flags & (AUTH_FLAG | PRIV_FLAG)) != (flags & (AUTH_FLAG | PRIV_FLAG)):
                raise ber.ProtocolError("answer at another security level than the request")
            if rid != request_id:
                return None
            if name != self.context_name:
                raise ber.ProtocolError("answer for another context")
            return "response", ber.Response(3, b"", kind, rid, status, index, varbinds)

        return await self._exchange(message, accept, what)

