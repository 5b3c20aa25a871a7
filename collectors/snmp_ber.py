"""BER for SNMPv1/v2c messages, by hand: encode GET / GETNEXT / GETBULK requests, decode responses.

Why not pysnmp/pyasn1 here: decoding one GETBULK answer through pyasn1 builds ~15 Python objects
per varbind (schema clones, tag sets, constraint checks), which was ~half of the SNMP collector's
CPU (docs/ARCHITECTURE.md, "SNMP on the wire").  An SNMPv1/v2c message has one fixed shape, so
this module reads that shape and nothing else, straight from the bytes:

    Message  SEQUENCE { version INTEGER, community OCTET STRING, pdu }
    pdu      [A2 response | A8 report ...] { request-id, error-status, error-index INTEGER,
                                             SEQUENCE OF SEQUENCE { name OID, value } }

Values come out as (oid tuple, BER tag, Python value): int for the integer types, bytes for the
octet-string types, a tuple for an OID, None for NULL and the v2 exceptions (noSuchObject,
noSuchInstance, endOfMibView).  ``snmprec_line`` turns one into the evidence line that
collectors/snmp.py stores, with the same rule as the pysnmp path (identical lines: tested).

Bounds for a hostile agent (every violation is a ``ProtocolError``, never an IndexError): the
definite length form only, at most 4 length octets, every length inside its parent, the fixed
nesting above (no recursion), primitive values only, OIDs of at most 128 sub-identifiers of at
most 32 bits, integers of at most 9 octets, unknown value tags refused.  A UDP datagram is at
most 64 KiB, so the decode is linear in at most 64 KiB.
"""
from __future__ import annotations

from collections.abc import Sequence

SEQUENCE, INTEGER, OCTET_STRING, NULL, OID = 0x30, 0x02, 0x04, 0x05, 0x06
IP_ADDRESS, COUNTER32, GAUGE32, TIMETICKS, OPAQUE, NSAP, COUNTER64, UINTEGER32 = (
    0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47)
NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW = 0x80, 0x81, 0x82
GET, GETNEXT, RESPONSE, GETBULK, REPORT = 0xA0, 0xA1, 0xA2, 0xA5, 0xA8

MAX_OID_ARCS = 128  # RFC 2578 section 3.5
MAX_MESSAGE = 65_535
ERROR_NAMES = ("noError", "tooBig", "noSuchName", "badValue", "readOnly", "genErr", "noAccess", "wrongType",
               "wrongLength", "wrongEncoding", "wrongValue", "noCreation", "inconsistentValue",
               "resourceUnavailable", "commitFailed", "undoFailed", "authorizationError", "notWritable",
               "inconsistentName")

_UNSIGNED = {COUNTER32: 0xFFFF_FFFF, GAUGE32: 0xFFFF_FFFF, TIMETICKS: 0xFFFF_FFFF, UINTEGER32: 0xFFFF_FFFF,
             COUNTER64: 0xFFFF_FFFF_FFFF_FFFF}
_OCTETS = frozenset({OCTET_STRING, IP_ADDRESS, OPAQUE, NSAP})
_EMPTY = frozenset({NULL, NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW})
# snmprec type of each integer tag (RFC 1902 application tags + 0x40, as snmpsim writes them).
_INT_TAGS = {INTEGER: "2", COUNTER32: "65", GAUGE32: "66", TIMETICKS: "67", COUNTER64: "70", UINTEGER32: "71"}


class ProtocolError(ValueError):
    """The bytes are not an SNMPv1/v2c message of the shape we asked for (the reason says where)."""


class Response:
    __slots__ = ("version", "community", "pdu_type", "request_id", "error_status", "error_index", "varbinds")

    def __init__(self, version, community, pdu_type, request_id, error_status, error_index, varbinds):
        self.version, self.community, self.pdu_type = version, community, pdu_type
        self.request_id, self.error_status, self.error_index = request_id, error_status, error_index
        self.varbinds = varbinds


# ------------------------------------------------------------------ encoding (requests)


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes((tag,)) + _length(len(body)) + body


def _uint(value: int) -> bytes:
    if value < 0:
        raise ValueError("only non-negative integers are sent")
    return _tlv(INTEGER, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def encode_oid(oid: Sequence[int]) -> bytes:
    if len(oid) < 2 or oid[0] > 2 or (oid[0] < 2 and oid[1] >= 40):
        raise ValueError(f"not an OID: {oid!r}")
    out = bytearray()
    for arc in (oid[0] * 40 + oid[1], *oid[2:]):
        if arc < 0:
            raise ValueError(f"not an OID: {oid!r}")
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out.extend(reversed(chunk))
    return _tlv(OID, bytes(out))


def encode_request(version: int, community: bytes, pdu_type: int, request_id: int, oids: Sequence[Sequence[int]],
                   non_repeaters: int = 0, max_repetitions: int = 0) -> bytes:
    """One request message; ``version`` is the wire value (0 = v1, 1 = v2c), values are NULL."""
    pdu = encode_pdu(pdu_type, request_id, oids, non_repeaters, max_repetitions)
    return _tlv(SEQUENCE, _uint(version) + _tlv(OCTET_STRING, community) + pdu)


def encode_pdu(pdu_type: int, request_id: int, oids: Sequence[Sequence[int]], non_repeaters: int = 0,
               max_repetitions: int = 0) -> bytes:
    """The PDU alone (what SNMPv3 wraps in its scoped PDU, collectors/snmp_v3.py)."""
    varbinds = b"".join(_tlv(SEQUENCE, encode_oid(oid) + b"\x05\x00") for oid in oids)
    if pdu_type == GETBULK:
        head = _uint(request_id) + _uint(non_repeaters) + _uint(max_repetitions)
    else:
        head = _uint(request_id) + _uint(0) + _uint(0)
    return _tlv(pdu_type, head + _tlv(SEQUENCE, varbinds))


# ------------------------------------------------------------------ decoding (responses)


def _header(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the TLV at ``pos``, checked to lie inside ``end``."""
    if pos + 2 > end:
        raise ProtocolError(f"truncated at byte {pos}")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise ProtocolError(f"multi-byte tag at byte {pos}")
    n = data[pos + 1]
    pos += 2
    if n & 0x80:
        count = n & 0x7F
        if count == 0:
            raise ProtocolError(f"indefinite length at byte {pos - 1} (SNMP uses definite lengths only)")
        if count > 4 or pos + count > end:
            raise ProtocolError(f"bad length field at byte {pos - 1}")
        n = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    if pos + n > end:
        raise ProtocolError(f"length {n} at byte {pos} runs past its container")
    return tag, pos, pos + n


def _integer(data: bytes, start: int, stop: int, what: str) -> int:
    if not 0 < stop - start <= 9:
        raise ProtocolError(f"{what}: integer of {stop - start} octets")
    return int.from_bytes(data[start:stop], "big", signed=True)


def _expect(data: bytes, pos: int, end: int, tag: int, what: str) -> tuple[int, int]:
    got, start, stop = _header(data, pos, end)
    if got != tag:
        raise ProtocolError(f"{what}: tag 0x{got:02x} where 0x{tag:02x} was expected")
    return start, stop


def decode_oid(body: bytes) -> tuple[int, ...]:
    if not body:
        raise ProtocolError("empty OID")
    if len(body) > MAX_OID_ARCS * 5:
        raise ProtocolError(f"OID of {len(body)} octets")
    if max(body) < 0x80:
        arcs: tuple[int, ...] | list[int] = tuple(body)  # every sub-identifier in one octet: the common case
    else:
        arcs = []
        value = 0
        fresh = True
        for byte in body:
            if fresh and byte == 0x80:
                raise ProtocolError("OID sub-identifier with a leading 0x80 octet")
            value = (value << 7) | (byte & 0x7F)
            if byte & 0x80:
                fresh = False
                if value > 0xFFFF_FFFF:
                    raise ProtocolError("OID sub-identifier over 32 bits")
                continue
            arcs.append(value)
            value, fresh = 0, True
        if not fresh:
            raise ProtocolError("OID ends inside a sub-identifier")
    if len(arcs) + 1 > MAX_OID_ARCS:
        raise ProtocolError(f"OID of more than {MAX_OID_ARCS} sub-identifiers")
    first = arcs[0]
    head = (0, first) if first < 40 else (1, first - 40) if first < 80 else (2, first - 80)
    return head + tuple(arcs[1:])


def _value(tag: int, body: bytes):
    if tag in _OCTETS:
        return body
    if tag == INTEGER:
        if not 0 < len(body) <= 5:
            raise ProtocolError(f"INTEGER of {len(body)} octets")
        number = int.from_bytes(body, "big", signed=True)
        if not -0x8000_0000 <= number <= 0x7FFF_FFFF:  # Integer32, RFC 2578
            raise ProtocolError(f"INTEGER value {number} out of range")
        return number
    limit = _UNSIGNED.get(tag)
    if limit is not None:
        # Read as unsigned: agents that drop the leading 0x00 of a large Counter32 are common and
        # net-snmp reads them so; a value past the type's range is refused.
        if not 0 < len(body) <= 9:
            raise ProtocolError(f"0x{tag:02x} value of {len(body)} octets")
        number = int.from_bytes(body, "big")
        if number > limit:
            raise ProtocolError(f"0x{tag:02x} value {number} out of range")
        return number
    if tag == OID:
        return decode_oid(body)
    if tag in _EMPTY:
        if body:
            raise ProtocolError(f"0x{tag:02x} with content")
        return None
    raise ProtocolError(f"unknown value type 0x{tag:02x}")


def decode_message(data: bytes) -> Response:
    """The whole message, varbinds included; ``ProtocolError`` for anything else."""
    if len(data) > MAX_MESSAGE:
        raise ProtocolError(f"message of {len(data)} bytes")
    start, end = _expect(data, 0, len(data), SEQUENCE, "message")
    if end != len(data):
        raise ProtocolError("bytes after the message")
    s, e = _expect(data, start, end, INTEGER, "version")
    version = _integer(data, s, e, "version")
    s, e = _expect(data, e, end, OCTET_STRING, "community")
    community = data[s:e]
    pdu_type, request_id, status, index, varbinds = decode_pdu(data, e, end)
    return Response(version, bytes(community), pdu_type, request_id, status, index, varbinds)


def decode_pdu(data: bytes, pos: int, end: int) -> tuple:
    """(pdu type, request-id, error-status, error-index, varbinds) of the PDU that fills data[pos:end]
    exactly; shared with SNMPv3's scoped PDU (collectors/snmp_v3.py)."""
    pdu_type, pos, pdu_end = _header(data, pos, end)
    if pdu_type & 0xE0 != 0xA0:
        raise ProtocolError(f"PDU tag 0x{pdu_type:02x}")
    if pdu_end != end:
        raise ProtocolError("bytes after the PDU")
    header = []
    for what in ("request-id", "error-status", "error-index"):
        s, pos = _expect(data, pos, pdu_end, INTEGER, what)
        header.append(_integer(data, s, pos, what))
    pos, list_end = _expect(data, pos, pdu_end, SEQUENCE, "varbind list")
    if list_end != pdu_end:
        raise ProtocolError("bytes after the varbind list")
    varbinds = []
    while pos < list_end:
        tag, s, vb_end = _header(data, pos, list_end)
        if tag != SEQUENCE:
            raise ProtocolError(f"varbind {len(varbinds) + 1}: tag 0x{tag:02x}")
        tag, ns, ne = _header(data, s, vb_end)
        if tag != OID:
            raise ProtocolError(f"varbind {len(varbinds) + 1}: name is not an OID")
        tag, vs, ve = _header(data, ne, vb_end)
        if ve != vb_end:
            raise ProtocolError(f"varbind {len(varbinds) + 1}: bytes after the value")
        if tag & 0x20:
            raise ProtocolError(f"varbind {len(varbinds) + 1}: constructed value")
        varbinds.append((decode_oid(data[ns:ne]), tag, _value(tag, data[vs:ve])))
        pos = vb_end
    return pdu_type, header[0], header[1], header[2], varbinds


# ------------------------------------------------------------------ evidence


def _text_or_hex(name: str, raw: bytes) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return f"{name}|4x|{raw.hex()}"
    if "|" in text or not text.isprintable():  # collectors/snmp.py's docstring says why
        return f"{name}|4x|{raw.hex()}"
    return f"{name}|4|{text}"


def snmprec_line(oid: tuple[int, ...], tag: int, value) -> str | None:
    """One decoded varbind as an snmprec line, exactly as collectors/snmp.snmprec_line writes a pysnmp
    value; None for NULL and the 'no such object / end of MIB' markers."""
    if value is None:
        return None
    name = ".".join(map(str, oid))
    if tag == OCTET_STRING:
        return _text_or_hex(name, value)
    kind = _INT_TAGS.get(tag)
    if kind is not None:
        return f"{name}|{kind}|{value}"
    if tag == OID:
        return f"{name}|6|{'.'.join(map(str, value))}"
    if tag == IP_ADDRESS:
        return f"{name}|64|{'.'.join(map(str, value))}" if len(value) == 4 else f"{name}|64x|{value.hex()}"
    if tag == OPAQUE:
        return f"{name}|68x|{value.hex()}"
    return f"{name}|{tag}x|{value.hex()}"  # NsapAddress: 69x, as snmpsim writes it
