"""SNMPv1/v2c requests of one device over its own connected UDP socket (asyncio), with
collectors/snmp_ber.py's codec: what collectors/snmp.py uses for community-based versions.

One socket per device session: ``connect()`` makes the kernel drop datagrams from any other
address, so an answer can only come from the agent asked; one fd per device in flight, like SSH.
An answer is taken only when it is a Response PDU carrying the request's request-id, version and
community; anything else is dropped, as pysnmp does.  A retry resends the same message (same
request-id), so a late answer to the first try still counts.  ICMP port-unreachable is ignored
(the request times out, as with pysnmp: a filtered agent looks the same).  If undecodable bytes
arrived meanwhile, the timeout says so (``garbage``) instead of "no answer".

The community is inside the datagrams only: nothing here logs, formats or keeps the message
bytes beyond the request in flight.
"""
from __future__ import annotations

import asyncio
import secrets

from collectors import snmp_ber as ber
from collectors.base import CollectError


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.expect: tuple[int, int, bytes] | None = None  # (request-id, version, community)
        self.waiter: asyncio.Future | None = None
        self.garbage: str | None = None
        self.lost = False

    def datagram_received(self, data: bytes, addr) -> None:
        waiter, expect = self.waiter, self.expect
        if waiter is None or waiter.done() or expect is None:
            return  # a late duplicate, or nothing asked
        try:
            response = ber.decode_message(data)
        except ber.ProtocolError as exc:
            self.garbage = str(exc)
            return
        if response.request_id != expect[0]:
            return  # an answer to an earlier request of this session
        if response.pdu_type != ber.RESPONSE or response.version != expect[1] or response.community != expect[2]:
            self.garbage = (f"answer with PDU type 0x{response.pdu_type:02x}, version {response.version}"
                            f"{'' if response.community == expect[2] else ', another community'}")
            return
        waiter.set_result(response)

    def error_received(self, exc: Exception) -> None:  # ICMP errors: the agent may still answer a retry
        pass

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True


class UdpSession:
    """Requests to one agent; ``async with UdpSession.open(...)`` closes the socket."""

    def __init__(self, transport, protocol: _Protocol, version: int, community: bytes, timeout: float,
                 retries: int, hint: str) -> None:
        self._transport, self._protocol = transport, protocol
        self.version, self._community = version, community
        self.timeout, self.retries, self._hint = timeout, retries, hint
        self._next_id = secrets.randbits(30) + 1  # unpredictable: a blind spoofer must guess it

    @classmethod
    async def open(cls, host: str, port: int, *, version: int, community: bytes, timeout: float, retries: int,
                   hint: str = "") -> UdpSession:
        loop = asyncio.get_running_loop()
        try:
            transport, protocol = await loop.create_datagram_endpoint(_Protocol, remote_addr=(host, port))
        except OSError as exc:
            raise CollectError("connect", f"cannot address {host}:{port}: {exc.strerror or exc}") from None
        return cls(transport, protocol, version, community, timeout, retries, hint)

    async def __aenter__(self) -> UdpSession:
        return self

    async def __aexit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._transport.close()

    async def request(self, pdu_type: int, oids, what: str, max_repetitions: int = 0) -> ber.Response:
        """Send one request and return the agent's answer (error-status not checked here)."""
        request_id = self._next_id
        self._next_id = (self._next_id % 0x7FFF_FFFE) + 1
        message = ber.encode_request(self.version, self._community, pdu_type, request_id, oids,
                                     max_repetitions=max_repetitions)
        protocol = self._protocol
        protocol.expect, protocol.garbage = (request_id, self.version, self._community), None
        try:
            response = await send_and_wait(self._transport, protocol, message, self.timeout, self.retries)
            if response is not None:
                return response
        finally:
            protocol.waiter = protocol.expect = None
        if protocol.garbage:
            raise CollectError("garbage", f"no usable SNMP answer to {what}: {protocol.garbage}")
        wait = f"{self.timeout:g}s x {self.retries + 1}"
        raise CollectError("timeout", f"no SNMP answer to {what} within {wait}{self._hint}")


async def send_and_wait(transport, protocol, message: bytes, timeout: float, retries: int):
    """Send ``message`` and wait up to ``timeout`` for the protocol to hand its waiter an accepted
    answer, sending again ``retries`` times; None when every wait expired or the socket was lost.
    v1/v2c here and v3 (snmp_v3udp) share it: the protocol decides what it accepts."""
    loop = asyncio.get_running_loop()
    for _ in range(retries + 1):
        waiter = loop.create_future()
        protocol.waiter = waiter
        transport.sendto(message)
        timer = loop.call_later(timeout, _expire, waiter)
        try:
            answer = await waiter
        finally:
            timer.cancel()
        if answer is not None:
            return answer
        if protocol.lost:
            break
    return None


def _expire(waiter: asyncio.Future) -> None:
    if not waiter.done():
        waiter.set_result(None)


class TooBig(Exception):
    """The agent answered tooBig: ask again for fewer rows."""


class ColumnEnded(Exception):
    """SNMPv1 noSuchName on a GETNEXT: the varbind at ``position`` (0-based) is past the end of the MIB."""

    def __init__(self, position: int) -> None:
        super().__init__(position)
        self.position = position


class WireRequest:
    """collectors/snmp.py's request interface (get / bulk / line) over a UdpSession: SNMPv1 walks
    with GETNEXT (one row per request), SNMPv2c with GETBULK."""

    def __init__(self, session: UdpSession) -> None:
        self.session = session

    def close(self) -> None:
        self.session.close()

    def _check(self, response: ber.Response, what: str, count: int, walking: bool = False) -> list:
        status = response.error_status
        if status:
            if status == 1:
                raise TooBig()
            if walking and status == 2 and self.session.version == 0 and 1 <= response.error_index <= count:
                raise ColumnEnded(response.error_index - 1)
            name = ber.ERROR_NAMES[status] if 0 <= status < len(ber.ERROR_NAMES) else str(status)
            raise CollectError("command", f"agent answered {what} with error-status {name} at {response.error_index}")
        return [(oid, tag == ber.END_OF_MIB_VIEW, (tag, value)) for oid, tag, value in response.varbinds]

    async def get(self, oids) -> list:
        oids = [tuple(int(x) for x in o.split(".")) if isinstance(o, str) else o for o in oids]
        response = await self.session.request(ber.GET, oids, "GET system")
        return self._check(response, "GET system", len(oids))

    async def bulk(self, cursors, max_repetitions: int) -> list:
        if self.session.version == 0:
            response = await self.session.request(ber.GETNEXT, cursors, "GETNEXT entPhysicalTable")
            return self._check(response, "GETNEXT entPhysicalTable", len(cursors), walking=True)
        response = await self.session.request(ber.GETBULK, cursors, "GETBULK entPhysicalTable", max_repetitions)
        return self._check(response, "GETBULK entPhysicalTable", len(cursors))

    @staticmethod
    def line(oid: tuple[int, ...], value) -> str | None:
        return ber.snmprec_line(oid, *value)
