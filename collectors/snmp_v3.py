"""The SNMPv3 message (RFC 3412) with USM security parameters (RFC 3414), encoded and decoded by hand.

    SNMPv3Message  SEQUENCE { msgVersion INTEGER (3),
                              msgGlobalData SEQUENCE { msgID, msgMaxSize INTEGER, msgFlags OCTET STRING (1),
                                                       msgSecurityModel INTEGER (3) },
                              msgSecurityParameters OCTET STRING containing
                                  SEQUENCE { engineID OCTET STRING, engineBoots, engineTime INTEGER,
                                             userName, authenticationParameters, privacyParameters
                                             OCTET STRING },
                              msgData  ScopedPDU | encryptedPDU OCTET STRING }
    ScopedPDU      SEQUENCE { contextEngineID, contextName OCTET STRING, PDU }

The PDU inside is collectors/snmp_ber.py's (same encoder and bounded decoder as v1/v2c); this module
adds the envelope and puts collectors/snmp_usm.py's digest and cipher in their places.  The same
bounds as snmp_ber: definite lengths inside their parent, fixed nesting read without recursion,
every field's tag and size checked (msgID and the time values 0..2^31-1, a one-octet msgFlags,
engine IDs and user names of at most 32 octets, digests of at most 48, a salt of 0 or 8), and
anything else a ``ProtocolError`` naming the field.  Whether the answer is *ours* (msgID, engine,
user, digest, time window) is collectors/snmp_v3udp.py's decision.
"""
from __future__ import annotations

from collectors import snmp_ber as ber
from collectors.snmp_ber import INTEGER, OCTET_STRING, SEQUENCE, ProtocolError, _expect, _integer, _tlv, _uint
from collectors.snmp_usm import LocalKeys, UsmError

VERSION3, USM = 3, 3
MAX_SIZE = 65_507  # what we accept in one datagram (msgMaxSize, as pysnmp sends it)
_LIMITS = {"engine ID": 32, "user name": 32, "authentication parameter": 48, "privacy parameter": 8,
           "context engine ID": 32, "context name": 255}


def encode_request(*, msg_id: int, flags: int, engine_id: bytes, boots: int, time: int, user: bytes,
                   keys: LocalKeys, context_engine_id: bytes, context_name: bytes, pdu: bytes) -> bytes:
    """One request; authenticated when ``flags`` has the auth bit, encrypted when it has the priv bit."""
    scoped = _tlv(SEQUENCE, _tlv(OCTET_STRING, context_engine_id) + _tlv(OCTET_STRING, context_name) + pdu)
    salt = b""
    if flags & 2:
        encrypted, salt = keys.encrypt(scoped, boots, time)
        msg_data = _tlv(OCTET_STRING, encrypted)
    else:
        msg_data = scoped
    digest_size = keys.digest_size if flags & 1 else 0
    params = _tlv(SEQUENCE, _tlv(OCTET_STRING, engine_id) + _uint(boots) + _uint(time) + _tlv(OCTET_STRING, user)
                  + _tlv(OCTET_STRING, bytes(digest_size)) + _tlv(OCTET_STRING, salt))
    header = _tlv(SEQUENCE, _uint(msg_id) + _uint(MAX_SIZE) + _tlv(OCTET_STRING, bytes((flags,))) + _uint(USM))
    message = _tlv(SEQUENCE, _uint(VERSION3) + header + _tlv(OCTET_STRING, params) + msg_data)
    if not digest_size:
        return message
    # The digest field is followed only by the salt's TLV and msgData: its place counts from the end.
    start = len(message) - len(msg_data) - len(_tlv(OCTET_STRING, salt)) - digest_size
    return message[:start] + keys.digest(message) + message[start + digest_size:]


class Message:
    """A decoded v3 message: header, USM parameters, and msgData (plaintext scoped PDU or ciphertext)."""

    __slots__ = ("data", "msg_id", "max_size", "flags", "engine_id", "boots", "time", "user", "auth_span",
                 "salt", "encrypted", "scoped_span")

    def scoped_pdu(self, keys: LocalKeys | None) -> tuple[bytes, bytes, tuple]:
        """(contextEngineID, contextName, (pdu type, request-id, error-status, error-index, varbinds));
        decrypted with ``keys`` when the message is encrypted (UsmError if it does not decrypt)."""
        if self.encrypted is not None:
            if keys is None or keys.family is None:
                raise UsmError("encrypted answer to a request without privacy")
            plain = keys.decrypt(self.encrypted, self.salt, self.boots, self.time)
            return _scoped(plain, 0, len(plain), padded=keys.family != "aes")
        return _scoped(self.data, *self.scoped_span, padded=False)


def _octets(data: bytes, pos: int, end: int, what: str) -> tuple[bytes, int]:
    s, e = _expect(data, pos, end, OCTET_STRING, what)
    if e - s > _LIMITS.get(what, ber.MAX_MESSAGE):
        raise ProtocolError(f"{what} of {e - s} octets")
    return data[s:e], e


def _number(data: bytes, pos: int, end: int, what: str) -> tuple[int, int]:
    s, e = _expect(data, pos, end, INTEGER, what)
    value = _integer(data, s, e, what)
    if not 0 <= value <= 0x7FFF_FFFF:
        raise ProtocolError(f"{what} {value} out of range")
    return value, e


def decode(data: bytes) -> Message:
    """Parse the envelope of one v3 message (``ProtocolError`` for anything out of shape)."""
    if len(data) > ber.MAX_MESSAGE:
        raise ProtocolError(f"message of {len(data)} bytes")
    start, end = _expect(data, 0, len(data), SEQUENCE, "message")
    if end != len(data):
        raise ProtocolError("bytes after the message")
    version, pos = _number(data, start, end, "version")
    if version != VERSION3:
        raise ProtocolError(f"version {version} in an SNMPv3 exchange")
    m = Message()
    m.data = data
    hs, he = _expect(data, pos, end, SEQUENCE, "msgGlobalData")
    m.msg_id, p = _number(data, hs, he, "msgID")
    m.max_size, p = _number(data, p, he, "msgMaxSize")
    flags, p = _octets(data, p, he, "msgFlags")
    if len(flags) != 1:
        raise ProtocolError(f"msgFlags of {len(flags)} octets")
    m.flags = flags[0]
    model, p = _number(data, p, he, "msgSecurityModel")
    if p != he or model != USM:
        raise ProtocolError(f"security model {model}" if model != USM else "bytes after msgGlobalData")
    ps, pe = _expect(data, he, end, OCTET_STRING, "msgSecurityParameters")
    ss, se = _expect(data, ps, pe, SEQUENCE, "UsmSecurityParameters")
    if se != pe:
        raise ProtocolError("bytes after UsmSecurityParameters")
    m.engine_id, p = _octets(data, ss, se, "engine ID")
    m.boots, p = _number(data, p, se, "engine boots")
    m.time, p = _number(data, p, se, "engine time")
    m.user, p = _octets(data, p, se, "user name")
    auth_start, p = _expect(data, p, se, OCTET_STRING, "authentication parameter")
    if p - auth_start > _LIMITS["authentication parameter"]:
        raise ProtocolError(f"authentication parameter of {p - auth_start} octets")
    m.auth_span = (auth_start, p)
    m.salt, p = _octets(data, p, se, "privacy parameter")
    if p != se:
        raise ProtocolError("bytes after the privacy parameter")
    tag, ds, de = ber._header(data, pe, end)
    if de != end:
        raise ProtocolError("bytes after msgData")
    if tag == OCTET_STRING:
        m.encrypted, m.scoped_span = data[ds:de], None
    elif tag == SEQUENCE:
        m.encrypted, m.scoped_span = None, (pe, end)
    else:
        raise ProtocolError(f"msgData: tag 0x{tag:02x}")
    return m


def _scoped(data: bytes, pos: int, end: int, *, padded: bool) -> tuple[bytes, bytes, tuple]:
    s, e = _expect(data, pos, end, SEQUENCE, "scoped PDU")
    if e != end and not (padded and end - e <= 8):  # DES pads to its block (pysnmp: 1 to 8 zero octets)
        raise ProtocolError("bytes after the scoped PDU")
    engine_id, p = _octets(data, s, e, "context engine ID")
    name, p = _octets(data, p, e, "context name")
    return engine_id, name, ber.decode_pdu(data, p, e)
