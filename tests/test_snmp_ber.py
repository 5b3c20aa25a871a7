"""collectors/snmp_ber.py (the hand-written SNMPv1/v2c codec) against pysnmp/pyasn1, the reference:
the same answer decodes to the same evidence lines, our requests decode in pyasn1 to what we
meant, and hostile bytes end in ProtocolError only, within bounds.  collectors/snmp_udp.py against
small agents on 127.0.0.1 written here with pysnmp's encoder: v1 GETNEXT walks, tooBig, retries,
answers that must be refused.
"""
from __future__ import annotations

import asyncio
import time

import pytest
from hypothesis import given, settings, strategies as st
from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api

from collectors import snmp_ber as ber
from collectors.base import CollectError
from collectors.snmp import ENT_COLUMNS, ENT_PHYSICAL_ENTRY, walk
from collectors.snmp_pysnmp import snmprec_line
from collectors.snmp_udp import UdpSession, WireRequest

V1, V2 = api.PROTOCOL_MODULES[api.SNMP_VERSION_1], api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]


def _response(varbinds, *, version=1, community="public", request_id=7, status=0, index=0) -> bytes:
    mod = V1 if version == 0 else V2
    pdu = mod.GetResponsePDU()
    mod.apiPDU.set_defaults(pdu)
    mod.apiPDU.set_request_id(pdu, request_id)
    mod.apiPDU.set_error_status(pdu, status)
    mod.apiPDU.set_error_index(pdu, index)
    mod.apiPDU.set_varbinds(pdu, varbinds)
    msg = mod.Message()
    mod.apiMessage.set_defaults(msg)
    mod.apiMessage.set_community(msg, community)
    mod.apiMessage.set_pdu(msg, pdu)
    return encoder.encode(msg)


# ------------------------------------------------------------------ differential: same lines as pysnmp

oids = st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=20).flatmap(
    lambda rest: st.sampled_from([(1, 3), (0, 39), (2, 999)]).map(lambda head: head + tuple(rest)))
values = st.one_of(
    st.binary(max_size=300).map(V2.OctetString),
    st.text(max_size=60).map(lambda t: V2.OctetString(t.encode("utf-8"))),
    st.integers(-2**31, 2**31 - 1).map(V2.Integer32),
    st.integers(0, 2**32 - 1).map(V2.Counter32),
    st.integers(0, 2**32 - 1).map(V2.Gauge32),
    st.integers(0, 2**32 - 1).map(V2.TimeTicks),
    st.integers(0, 2**64 - 1).map(V2.Counter64),
    st.binary(min_size=4, max_size=4).map(V2.IpAddress),
    st.binary(max_size=40).map(V2.Opaque),
    oids.map(V2.ObjectIdentifier),
    st.sampled_from([V2.null, V2.NoSuchObject(""), V2.NoSuchInstance(""), V2.EndOfMibView("")]),
)


@settings(max_examples=120, deadline=None)
@given(st.lists(st.tuples(oids, values), max_size=20), st.integers(0, 2**31 - 1), st.binary(max_size=40))
def test_decoded_lines_equal_pysnmps(varbinds, request_id, community):
    data = _response(varbinds, request_id=request_id, community=community)
    ours = ber.decode_message(data)
    theirs, _ = decoder.decode(data, asn1Spec=V2.Message())
    assert (ours.version, ours.community, ours.request_id, ours.pdu_type) == (1, community, request_id, ber.RESPONSE)
    reference = [snmprec_line(tuple(o), v) for o, v in V2.apiPDU.get_varbinds(V2.apiMessage.get_pdu(theirs))]
    assert [ber.snmprec_line(*vb) for vb in ours.varbinds] == reference
    assert [vb[0] for vb in ours.varbinds] == [tuple(o) for o, _ in varbinds]


def test_v1_response_and_error_fields():
    data = _response([((1, 3, 6, 1, 2, 1, 1, 5, 0), V1.OctetString(b"sw1"))], version=0, community="c1",
                     status=2, index=1, request_id=99)
    r = ber.decode_message(data)
    assert (r.version, r.community, r.request_id, r.error_status, r.error_index) == (0, b"c1", 99, 2, 1)
    assert ber.snmprec_line(*r.varbinds[0]) == "1.3.6.1.2.1.1.5.0|4|sw1"


@given(st.lists(oids, min_size=1, max_size=10), st.integers(0, 2**31 - 1), st.integers(0, 2**31 - 1))
def test_our_requests_decode_in_pyasn1(request_oids, request_id, reps):
    bulk = ber.encode_request(1, b"secret-ish", ber.GETBULK, request_id, request_oids, max_repetitions=reps)
    msg, rest = decoder.decode(bulk, asn1Spec=V2.Message())
    pdu = V2.apiMessage.get_pdu(msg)
    assert rest == b"" and bytes(V2.apiMessage.get_community(msg)) == b"secret-ish"
    assert int(V2.apiBulkPDU.get_request_id(pdu)) == request_id
    assert int(V2.apiBulkPDU.get_max_repetitions(pdu)) == reps and int(V2.apiBulkPDU.get_non_repeaters(pdu)) == 0
    assert [tuple(o) for o, _ in V2.apiBulkPDU.get_varbinds(pdu)] == [tuple(o) for o in request_oids]
    get = ber.encode_request(0, b"c", ber.GETNEXT, request_id, request_oids)
    msg, _ = decoder.decode(get, asn1Spec=V1.Message())
    assert msg.getComponentByPosition(2).getName() == "get-next-request"


# ------------------------------------------------------------------ hostile bytes

GOOD = _response([((1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1, 11, 1000), V2.OctetString(b"FOC1234X0AB")),
                  ((1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1, 5, 1000), V2.Integer32(3))])


def test_every_truncation_is_a_protocol_error():
    for cut in range(len(GOOD)):
        with pytest.raises(ber.ProtocolError):
            ber.decode_message(GOOD[:cut])


@settings(max_examples=500, deadline=None)
@given(st.integers(0, len(GOOD) - 1), st.integers(0, 255), st.binary(max_size=8))
def test_mutations_give_a_message_or_a_protocol_error(position, byte, tail):
    data = GOOD[:position] + bytes((byte,)) + GOOD[position + 1:] + tail
    try:
        ber.decode_message(data)
    except ber.ProtocolError:
        pass


def _wrap(varbind_body: bytes) -> bytes:
    """A v2c response around one hand-built varbind body (name + value TLVs)."""
    def tlv(tag: bytes, body: bytes) -> bytes:  # definite length, short or long form
        n = len(body)
        return tag + (bytes((n,)) if n < 128 else bytes((0x81 if n < 256 else 0x82,)) + n.to_bytes(1 if n < 256 else 2, "big")) + body

    vbl = tlv(b"\x30", tlv(b"\x30", varbind_body))
    pdu = tlv(b"\xa2", b"\x02\x01\x07\x02\x01\x00\x02\x01\x00" + vbl)
    return tlv(b"\x30", b"\x02\x01\x01\x04\x01c" + pdu)


NAME = b"\x06\x03\x2b\x06\x01"


@pytest.mark.parametrize("value, reason", [
    (b"\x4a\x01\x00", "unknown value type"),
    (b"\x02\x06\x01\x00\x00\x00\x00\x00", "INTEGER of 6"),
    (b"\x02\x05\x01\x00\x00\x00\x00", "out of range"),
    (b"\x41\x05\x01\x00\x00\x00\x00", "out of range"),
    (b"\x05\x01\x00", "with content"),
    (b"\x24\x03\x04\x01\x41", "constructed"),
    (b"\x04\x80\x41\x00\x00", "indefinite length"),
    (b"\x04\x85\x00\x00\x00\x00\x01\x41", "bad length field"),
    (b"\x04\x7f\x41", "runs past"),
    (b"\x06\x02\x2b\x81", "ends inside"),
    (b"\x06\x03\x2b\x80\x01", "leading 0x80"),
    (b"\x06\x07\x2b\x90\x80\x80\x80\x80\x00", "over 32 bits"),
    (b"\x06\x00", "empty OID"),
    (b"\x04\x01\x41\x05\x00", "bytes after the value"),
])
def test_hostile_values_are_refused_with_a_reason(value, reason):
    with pytest.raises(ber.ProtocolError, match=reason):
        ber.decode_message(_wrap(NAME + value))
    assert ber.decode_message(_wrap(NAME + b"\x04\x01\x41")).varbinds == [((1, 3, 6, 1), 4, b"A")]


def test_too_many_oid_arcs_and_trailing_bytes():
    long_oid = b"\x06\x81\x83" + b"\x2b" + b"\x01" * 130
    with pytest.raises(ber.ProtocolError, match="more than 128"):
        ber.decode_message(_wrap(long_oid + b"\x05\x00"))
    with pytest.raises(ber.ProtocolError, match="after the message"):
        ber.decode_message(GOOD + b"\x00")


def test_a_full_datagram_of_varbinds_decodes_in_bounded_time():
    many = [((1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1, 2, i), V2.OctetString(b"x")) for i in range(3000)]
    data = _response(many)
    assert len(data) < ber.MAX_MESSAGE
    started = time.process_time()
    assert len(ber.decode_message(data).varbinds) == 3000
    assert time.process_time() - started < 2  # ~0.02 s here; pyasn1 takes ~1 s for the same bytes
    with pytest.raises(ber.ProtocolError, match="message of"):
        ber.decode_message(b"\x30\x84" + b"\x00" * ber.MAX_MESSAGE)


# ------------------------------------------------------------------ the UDP session against agents written here


class Agent(asyncio.DatagramProtocol):
    """A table served with pysnmp's encoder on 127.0.0.1; ``mode`` makes it misbehave."""

    def __init__(self, table: dict, version: int = 1, community: str = "good-one", mode: str = "") -> None:
        self.table = sorted(table.items())
        self.version, self.community, self.mode = version, community, mode
        self.requests: list = []

    def connection_made(self, transport) -> None:
        self.transport = transport

    def _next(self, oid):
        for name, value in self.table:
            if name > oid:
                return name, value
        return None

    def datagram_received(self, data, addr) -> None:
        mod = V1 if self.version == 0 else V2
        msg, _ = decoder.decode(data, asn1Spec=mod.Message())
        pdu = mod.apiMessage.get_pdu(msg)
        if bytes(mod.apiMessage.get_community(msg)) != self.community.encode():
            return  # as real agents: silence
        request_id = int(mod.apiPDU.get_request_id(pdu))
        self.requests.append(request_id)
        asked = [tuple(o) for o, _ in mod.apiPDU.get_varbinds(pdu)]
        if self.mode == "drop-first" and len(self.requests) == 1:
            return
        if self.mode == "garbage":
            self.transport.sendto(b"\x30\x03\x02\x01", addr)
            return
        if self.mode == "other-id":
            request_id += 1
        kind = pdu.getTagSet()
        status = index = 0
        answer = []
        if kind == mod.GetRequestPDU.tagSet:
            answer = [(o, dict(self.table).get(o, V2.NoSuchObject(""))) for o in asked]
        elif kind == mod.GetNextRequestPDU.tagSet:
            for i, o in enumerate(asked):
                found = self._next(o)
                if found is None:
                    status, index, answer = 2, i + 1, [(o, V1.null) for o in asked]  # SNMPv1 end of MIB
                    break
                answer.append(found)
        else:
            reps = int(V2.apiBulkPDU.get_max_repetitions(pdu))
            if self.mode == "too-big" and reps > 2:
                status, index, answer = 1, 0, []
            else:
                cursors = list(asked)
                for _ in range(reps):
                    for i, o in enumerate(cursors):
                        found = self._next(o) or (o, V2.EndOfMibView(""))
                        cursors[i] = found[0]
                        answer.append(found)
        community = "another-one" if self.mode == "other-community" else self.community
        self.transport.sendto(_response(answer, version=self.version, community=community, request_id=request_id,
                                        status=status, index=index), addr)


def _table(rows: int) -> dict:
    table = {(1, 3, 6, 1, 2, 1, 1, 5, 0): V2.OctetString(b"sw1")}
    for col in ENT_COLUMNS:
        for row in range(1, rows + 1):
            table[ENT_PHYSICAL_ENTRY + (col, row * 1000)] = V2.OctetString(f"c{col}r{row}".encode())
    table[(1, 3, 6, 1, 2, 1, 47, 1, 2, 1, 1, 2, 1)] = V2.OctetString(b"next table")
    return table


def _walk(agent: Agent, *, version: int = 1, community: str = "good-one", reps: int = 10, retries: int = 0,
          timeout: float = 0.3):
    async def run():
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: agent, local_addr=("127.0.0.1", 0))
        port = transport.get_extra_info("sockname")[1]
        try:
            session = await UdpSession.open("127.0.0.1", port, version=version, community=community.encode(),
                                            timeout=timeout, retries=retries)
            request = WireRequest(session)
            try:
                rows = await walk(request, [ENT_PHYSICAL_ENTRY + (c,) for c in ENT_COLUMNS], reps)
                return [request.line(oid, value) for oid, value in rows]
            finally:
                request.close()
        finally:
            transport.close()

    return asyncio.run(run())


def _expected(rows: int) -> list[str]:
    return sorted(f"{'.'.join(map(str, ENT_PHYSICAL_ENTRY + (c, r * 1000)))}|4|c{c}r{r}"
                  for c in ENT_COLUMNS for r in range(1, rows + 1))


@pytest.mark.parametrize("rows, reps", [(1, 10), (7, 3), (30, 25)])
def test_v2c_walk_reads_every_row_of_the_eight_columns(rows, reps):
    assert sorted(_walk(Agent(_table(rows)), reps=reps)) == _expected(rows)


def test_v1_walks_with_getnext_until_no_such_name():
    agent = Agent(_table(4), version=0)
    assert sorted(_walk(agent, version=0)) == _expected(4)
    assert len(agent.requests) == 5  # four rows, then the answer that carries the next table's OIDs


def test_v1_agent_that_ends_the_mib_inside_a_column():
    table = {k: v for k, v in _table(3).items() if k[:9] != (1, 3, 6, 1, 2, 1, 47, 1, 2)}
    assert sorted(_walk(Agent(table, version=0), version=0)) == _expected(3)  # noSuchName ends each column


def test_too_big_halves_the_repetitions():
    agent = Agent(_table(5), mode="too-big")
    assert sorted(_walk(agent, reps=16)) == _expected(5)


def test_a_retry_resends_the_same_request_id():
    agent = Agent(_table(2), mode="drop-first")
    assert sorted(_walk(agent, retries=1)) == _expected(2)
    assert agent.requests[0] == agent.requests[1]


@pytest.mark.parametrize("mode, kind", [("garbage", "garbage"), ("other-community", "garbage"),
                                        ("other-id", "timeout")])
def test_answers_that_are_not_ours_are_refused(mode, kind):
    with pytest.raises(CollectError) as caught:
        _walk(Agent(_table(2), mode=mode))
    assert caught.value.kind == kind
    assert "good-one" not in caught.value.message


def test_wrong_community_is_a_timeout_naming_no_community():
    with pytest.raises(CollectError) as caught:
        _walk(Agent(_table(2)), community="not-this-one", timeout=0.2, retries=1)
    assert caught.value.kind == "timeout" and "0.2s x 2" in caught.value.message
    assert "not-this-one" not in caught.value.message
