"""collectors/snmp_usm.py and collectors/snmp_v3.py (SNMPv3 USM and message by hand) against the
references: RFC 3414's key vectors, pysnmp's own key localisation, HMAC and cipher modules, and
pyasn1's SNMPv3 schemas; hostile bytes end in ProtocolError / UsmError only.
collectors/snmp_v3udp.py against small v3 agents on 127.0.0.1 written here with pyasn1's encoder:
answers with the wrong msgID, a bad digest, a replayed time, reports of every kind.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac

import pytest
from hypothesis import given, settings, strategies as st
from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api
from pysnmp.proto.mpmod import rfc3412
from pysnmp.proto.secmod.rfc3414 import localkey
from pysnmp.proto.secmod.rfc3414.auth import hmacmd5, hmacsha
from pysnmp.proto.secmod.rfc3414.priv import des
from pysnmp.proto.secmod.rfc3414.service import UsmSecurityParameters
from pysnmp.proto.secmod.rfc3826.priv import aes
from pysnmp.proto.secmod.eso.priv import aes192, aes256, des3  # noqa: I001 - after rfc3826 (import cycle)
from pysnmp.proto.secmod.rfc7860.auth import hmacsha2

from agent.core.secret import Secret
from collectors import snmp_ber as ber, snmp_usm as usm, snmp_v3 as v3
from collectors.base import CollectError
from collectors.snmp_pysnmp import snmprec_line
from collectors.snmp_udp import WireRequest
from collectors.snmp_v3udp import EngineCache, V3Session
from test_snmp_ber import oids as oid_strategy, values as value_strategy

V2 = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
ENGINE = bytes.fromhex("80001f8880e9630000d61ff449")
THEIR_ENGINE = V2.OctetString(ENGINE)  # pysnmp's key functions take pyasn1 values
AUTH_MODULES = {"MD5": hmacmd5.HmacMd5(), "SHA": hmacsha.HmacSha(),
                **{name: hmacsha2.HmacSha2(oid) for name, oid in (
                    ("SHA224", hmacsha2.HmacSha2.SHA224_SERVICE_ID), ("SHA256", hmacsha2.HmacSha2.SHA256_SERVICE_ID),
                    ("SHA384", hmacsha2.HmacSha2.SAH384_SERVICE_ID), ("SHA512", hmacsha2.HmacSha2.SHA512_SERVICE_ID))}}
PRIV_MODULES = {"DES": des.Des(), "3DES": des3.Des3(), "AES": aes.Aes(), "AES192": aes192.Aes192(),
                "AES256": aes256.Aes256(), "AES192BLMT": aes192.AesBlumenthal192(),
                "AES256BLMT": aes256.AesBlumenthal256()}
HASHES = {"MD5": hashlib.md5, "SHA": hashlib.sha1, "SHA224": hashlib.sha224, "SHA256": hashlib.sha256,
          "SHA384": hashlib.sha384, "SHA512": hashlib.sha512}


# ------------------------------------------------------------------ keys


def test_rfc3414_key_vectors():
    """RFC 3414 A.3.1 / A.3.2: 'maplesyrup' localised to engine ID 00..02."""
    engine = bytes(11) + b"\x02"
    ku = usm.password_to_key(b"maplesyrup", "md5")
    assert ku.hex() == "9faf3283884e92834ebc9847d8edd963"
    assert usm.localize(ku, engine, "md5").hex() == "526f5eed9fcce26f8964c2930787d82b"
    ku = usm.password_to_key(b"maplesyrup", "sha1")
    assert ku.hex() == "9fb5cc0381497b3793528939ff788d5d79145211"
    assert usm.localize(ku, engine, "sha1").hex() == "6695febc9288e36282235fc7151f128497b38f3f"


@pytest.mark.parametrize("auth", list(AUTH_MODULES))
def test_auth_keys_and_digests_equal_pysnmps(auth):
    keys = usm.Credentials("u", auth, Secret("auth password")).localized(ENGINE)
    module = AUTH_MODULES[auth]
    theirs = localkey.password_to_key(b"auth password", THEIR_ENGINE, HASHES[auth])
    assert keys._auth == bytes(theirs)
    # pysnmp puts its digest where the zeroed field is; ours must be the same bytes.
    message = v3.encode_request(msg_id=5, flags=usm.AUTH_FLAG | usm.REPORTABLE, engine_id=ENGINE, boots=3,
                                time=1234, user=b"u", keys=keys, context_engine_id=ENGINE, context_name=b"",
                                pdu=ber.encode_pdu(ber.GET, 9, [(1, 3, 6, 1, 2, 1, 1, 5, 0)]))
    m = v3.decode(message)
    zeroed = message[:m.auth_span[0]] + bytes(keys.digest_size) + message[m.auth_span[1]:]
    assert bytes(module.authenticate_outgoing_message(theirs, zeroed)) == message
    keys.verify(message, *m.auth_span)
    with pytest.raises(usm.UsmError):
        keys.verify(zeroed, *m.auth_span)


@pytest.mark.parametrize("auth", ["MD5", "SHA", "SHA256", "SHA512"])
@pytest.mark.parametrize("priv", list(PRIV_MODULES))
def test_priv_keys_and_ciphers_equal_pysnmps(auth, priv):
    keys = usm.Credentials("u", auth, Secret("auth password"), priv, Secret("priv password")).localized(ENGINE)
    module, auth_oid = PRIV_MODULES[priv], AUTH_MODULES[auth].SERVICE_ID
    if auth in ("SHA256", "SHA512"):
        auth_oid = AUTH_MODULES[auth]._HmacSha2__oid if hasattr(AUTH_MODULES[auth], "_HmacSha2__oid") else {
            "SHA256": hmacsha2.HmacSha2.SHA256_SERVICE_ID, "SHA512": hmacsha2.HmacSha2.SHA512_SERVICE_ID}[auth]
    theirs = module.localize_key(auth_oid, module.hash_passphrase(auth_oid, b"priv password"), THEIR_ENGINE)
    assert keys._priv == bytes(theirs)
    plain = bytes(range(37)) * 3
    ours, salt = keys.encrypt(plain, 7, 4242)
    back = bytes(module.decrypt_data(theirs, (7, 4242, V2.OctetString(salt)), V2.OctetString(ours)))
    assert back[:len(plain)] == plain and set(back[len(plain):]) <= {0}
    cipher, their_salt = module.encrypt_data(theirs, (7, 4242, None), plain)
    assert keys.decrypt(bytes(cipher), bytes(their_salt), 7, 4242)[:len(plain)] == plain


def test_fleet_pays_the_expansion_once_and_nothing_shows_a_secret():
    before = usm.stats["expansions"]
    # Fresh passwords (uncached), plain strings: Credentials takes either, and each distinct Secret
    # value is one more needle for the suite's secrets sweep.
    creds = [usm.Credentials("u", "SHA", "shared-auth-pw", "AES", "shared-priv-pw") for _ in range(3)]
    for i, c in enumerate(creds):
        c.localized(ENGINE + bytes([i]))
    assert usm.stats["expansions"] - before == 2  # one per password, whatever the engine IDs
    ext = usm.Credentials("u", "SHA", "shared-auth-pw", "AES256", "ext-priv-pw")
    before = usm.stats["expansions"]
    ext.localized(ENGINE)
    ext.localized(ENGINE)
    assert usm.stats["expansions"] - before == 2  # the priv password, then its Reeder extension: once
    shown = repr(creds[0]) + repr(creds[0].localized(ENGINE)) + str(usm._KU) + str(usm._LOCAL.keys())
    assert "shared" not in shown and "SHA" in repr(creds[0])


def test_credentials_refuse_what_usm_cannot_do():
    for args in [("u", "ROT13", "12345678"), ("u", None, None, "AES", "12345678"), ("x" * 33, "SHA", "12345678")]:
        with pytest.raises(ValueError):
            usm.Credentials(*args)


# ------------------------------------------------------------------ the message against pyasn1


def _their_message(*, msg_id, flags, engine, boots, time, user, scoped, auth=b"", salt=b"") -> bytes:
    params = UsmSecurityParameters()
    for name, value in (("msgAuthoritativeEngineId", engine), ("msgAuthoritativeEngineBoots", boots),
                        ("msgAuthoritativeEngineTime", time), ("msgUserName", user),
                        ("msgAuthenticationParameters", auth), ("msgPrivacyParameters", salt)):
        params.setComponentByName(name, value)
    msg = rfc3412.SNMPv3Message()
    msg.setComponentByName("msgVersion", 3)
    header = msg.setComponentByName("msgGlobalData").getComponentByName("msgGlobalData")
    header.setComponentByName("msgID", msg_id)
    header.setComponentByName("msgMaxSize", 65507)
    header.setComponentByName("msgFlags", bytes((flags,)))
    header.setComponentByName("msgSecurityModel", 3)
    msg.setComponentByName("msgSecurityParameters", encoder.encode(params))
    data = msg.setComponentByName("msgData").getComponentByName("msgData")
    if isinstance(scoped, bytes):
        data.setComponentByName("encryptedPDU", scoped)
    else:
        data.setComponentByName("plaintext", scoped)
    return encoder.encode(msg)


def _scoped(engine, name, pdu):
    scoped = rfc3412.ScopedPDU()
    scoped.setComponentByName("contextEngineId", engine)
    scoped.setComponentByName("contextName", name)
    scoped.setComponentByName("data").getComponentByName("data").setComponentByType(pdu.tagSet, pdu)
    return scoped


def _response_pdu(varbinds, request_id, kind="response"):
    pdu = V2.ReportPDU() if kind == "report" else V2.ResponsePDU()
    V2.apiPDU.set_defaults(pdu)
    V2.apiPDU.set_request_id(pdu, request_id)
    V2.apiPDU.set_varbinds(pdu, varbinds)
    return pdu


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(oid_strategy, value_strategy), max_size=15), st.integers(0, 2**31 - 1),
       st.integers(0, 2**31 - 1), st.binary(max_size=32), st.binary(min_size=5, max_size=32))
def test_their_answers_decode_to_the_same_lines(varbinds, msg_id, time, name, engine):
    pdu = _response_pdu(varbinds, msg_id ^ 0x55)
    data = _their_message(msg_id=msg_id, flags=0, engine=engine, boots=1, time=time, user=b"u",
                          scoped=_scoped(engine, name, pdu))
    m = v3.decode(data)
    assert (m.msg_id, m.flags, m.engine_id, m.boots, m.time, m.user) == (msg_id, 0, engine, 1, time, b"u")
    ctx, ctx_name, (kind, rid, status, index, ours) = m.scoped_pdu(None)
    assert (ctx, ctx_name, kind, rid) == (engine, name, ber.RESPONSE, msg_id ^ 0x55)
    assert [ber.snmprec_line(*vb) for vb in ours] == [snmprec_line(tuple(o), v) for o, v in V2.apiPDU.get_varbinds(pdu)]


@pytest.mark.parametrize("priv", [None, "AES", "DES"])
def test_our_requests_read_in_pyasn1(priv):
    creds = usm.Credentials("ops", "SHA", Secret("auth password"), priv, Secret("priv password") if priv else None)
    keys = creds.localized(ENGINE)
    pdu = ber.encode_pdu(ber.GETBULK, 77, [(1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1, 2)], 0, 25)
    data = v3.encode_request(msg_id=1234, flags=creds.flags | usm.REPORTABLE, engine_id=ENGINE, boots=2,
                             time=99, user=creds.user, keys=keys, context_engine_id=ENGINE,
                             context_name=b"ctx", pdu=pdu)
    msg, rest = decoder.decode(data, asn1Spec=rfc3412.SNMPv3Message())
    assert not rest and int(msg["msgVersion"]) == 3
    assert int(msg["msgGlobalData"]["msgID"]) == 1234
    assert bytes(msg["msgGlobalData"]["msgFlags"]) == bytes((creds.flags | 4,))
    params, _ = decoder.decode(bytes(msg["msgSecurityParameters"]), asn1Spec=UsmSecurityParameters())
    assert bytes(params["msgAuthoritativeEngineId"]) == ENGINE and bytes(params["msgUserName"]) == b"ops"
    assert (int(params["msgAuthoritativeEngineBoots"]), int(params["msgAuthoritativeEngineTime"])) == (2, 99)
    if priv:
        module = PRIV_MODULES[priv]
        key = module.localize_key(hmacsha.HmacSha.SERVICE_ID,
                                  module.hash_passphrase(hmacsha.HmacSha.SERVICE_ID, b"priv password"), THEIR_ENGINE)
        plain = bytes(module.decrypt_data(key, (2, 99, params["msgPrivacyParameters"]),
                                          msg["msgData"]["encryptedPDU"]))
        scoped, _ = decoder.decode(plain, asn1Spec=rfc3412.ScopedPDU())
    else:
        scoped = msg["msgData"]["plaintext"]
    assert bytes(scoped["contextName"]) == b"ctx"
    bulk = scoped["data"].getComponent()
    assert int(bulk["request-id"]) == 77 and int(bulk["max-repetitions"]) == 25


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_only_protocol_errors(data):
    try:
        v3.decode(data).scoped_pdu(None)
    except (ber.ProtocolError, usm.UsmError):
        pass


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10_000), st.integers(0, 255))
def test_mutated_answers_only_protocol_errors(position, byte):
    keys = usm.Credentials("u", "SHA", Secret("auth password"), "AES", Secret("priv password")).localized(ENGINE)
    good = v3.encode_request(msg_id=1, flags=3, engine_id=ENGINE, boots=1, time=2, user=b"u", keys=keys,
                             context_engine_id=ENGINE, context_name=b"", pdu=ber.encode_pdu(ber.RESPONSE, 1, []))
    data = bytearray(good)
    data[position % len(data)] = byte
    try:
        m = v3.decode(bytes(data))
        keys.verify(bytes(data), *m.auth_span)
        m.scoped_pdu(keys)
    except (ber.ProtocolError, usm.UsmError):
        return
    assert bytes(data) == good  # any change that still verifies is no change


def test_huge_lengths_are_refused_quickly():
    for data in [b"\x30\x84\xff\xff\xff\xff" + bytes(10), b"\x30\x85" + bytes(20), b"\x30\x80\x02\x01\x03\x00\x00",
                 b"\x30" + b"\x82\xff\xf0" + b"\x02\x01\x03", bytes(70_000)]:
        with pytest.raises(ber.ProtocolError):
            v3.decode(data)
    engine = b"\x80" + bytes(40)  # an engine ID over 32 octets
    with pytest.raises(ber.ProtocolError, match="engine ID"):
        v3.decode(_their_message(msg_id=1, flags=0, engine=engine, boots=1, time=1, user=b"",
                                 scoped=_scoped(b"", b"", _response_pdu([], 1))))


# ------------------------------------------------------------------ the exchange against small agents

STATS = (1, 3, 6, 1, 6, 3, 15, 1, 1)
AUTH_PW = "agent-auth-password"
AGENT_KEY = localkey.password_to_key(AUTH_PW.encode(), THEIR_ENGINE, hashlib.sha1)


class _Agent(asyncio.DatagramProtocol):
    """An authNoPriv SHA agent: answers discovery, then whatever ``behave`` makes of each request."""

    def __init__(self, behave) -> None:
        self.behave, self.seen = behave, []

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data, addr) -> None:
        request = v3.decode(data)  # the request side is ours and tested above against pyasn1
        _, _, (kind, rid, _, _, varbinds) = request.scoped_pdu(None)
        self.seen.append(request)
        if not request.engine_id:
            report = _response_pdu([(STATS + (4, 0), V2.Counter32(1))], rid, "report")
            self.transport.sendto(_their_message(msg_id=request.msg_id, flags=0, engine=ENGINE, boots=5, time=500,
                                                 user=b"", scoped=_scoped(ENGINE, b"", report)), addr)
            return
        for answer in self.behave(request, rid, varbinds):
            self.transport.sendto(answer, addr)


def _signed(msg_id, pdu, *, time=500, boots=5, user=b"ops", name=b"", key=AGENT_KEY) -> bytes:
    data = _their_message(msg_id=msg_id, flags=1, engine=ENGINE, boots=boots, time=time, user=user,
                          scoped=_scoped(ENGINE, name, pdu), auth=bytes(12))
    return bytes(hmacsha.HmacSha().authenticate_outgoing_message(key, data))


def _sys_name(rid):
    return _response_pdu([((1, 3, 6, 1, 2, 1, 1, 5, 0), V2.OctetString(b"sw9"))], rid)


def _run(behave, *, timeout=0.3, retries=0, cache=None):
    async def go():
        loop = asyncio.get_running_loop()
        transport, agent = await loop.create_datagram_endpoint(lambda: _Agent(behave), local_addr=("127.0.0.1", 0))
        port = transport.get_extra_info("sockname")[1]
        creds = usm.Credentials("ops", "SHA", Secret(AUTH_PW))
        session = await V3Session.open("127.0.0.1", port, credentials=creds, context_name="", timeout=timeout,
                                       retries=retries, cache=cache if cache is not None else EngineCache())
        try:
            return await WireRequest(session).get(["1.3.6.1.2.1.1.5.0"]), agent
        except CollectError as exc:
            return exc, agent
        finally:
            session.close()
            transport.close()

    return asyncio.run(go())


def test_good_answer_after_a_wrong_msgid_and_a_bad_digest():
    def behave(req, rid, _):
        yield _signed(req.msg_id + 1, _sys_name(rid))  # someone else's msgID: ignored
        bad = bytearray(_signed(req.msg_id, _sys_name(rid)))
        bad[-1] ^= 1  # a varbind byte changed after signing
        yield bytes(bad)
        yield _signed(req.msg_id, _sys_name(rid))

    result, agent = _run(behave)
    assert [ber.snmprec_line(o, *v) for o, _, v in result] == ["1.3.6.1.2.1.1.5.0|4|sw9"]
    assert agent.seen[1].flags == 5 and agent.seen[1].user == b"ops" and agent.seen[1].boots == 5


@pytest.mark.parametrize("answer,kind,says", [
    (lambda req, rid: _signed(req.msg_id, _sys_name(rid), key=V2.OctetString(bytes(20))), "garbage", "wrong digest"),
    (lambda req, rid: _signed(req.msg_id, _sys_name(rid), time=100), "garbage", "time window"),
    (lambda req, rid: _signed(req.msg_id, _sys_name(rid), user=b"other"), "garbage", "another engine ID or user"),
    (lambda req, rid: _signed(req.msg_id, _sys_name(rid), name=b"other"), "garbage", "another context"),
    (lambda req, rid: b"\x30\x84\x7f\xff\xff\xff" + bytes(40), "garbage", "length"),
    (lambda req, rid: _their_message(msg_id=req.msg_id, flags=0, engine=ENGINE, boots=5, time=500, user=b"ops",
                                     scoped=_scoped(ENGINE, b"", _sys_name(rid))), "garbage", "security level"),
    (lambda req, rid: _their_message(
        msg_id=req.msg_id, flags=0, engine=ENGINE, boots=5, time=500, user=b"ops",
        scoped=_scoped(ENGINE, b"", _response_pdu([(STATS + (5, 0), V2.Counter32(1))], rid, "report"))),
     "auth", "wrong digest"),
    (lambda req, rid: _their_message(
        msg_id=req.msg_id, flags=0, engine=ENGINE, boots=5, time=500, user=b"ops",
        scoped=_scoped(ENGINE, b"", _response_pdu([(STATS + (3, 0), V2.Counter32(1))], rid, "report"))),
     "auth", "unknown user"),
    (lambda req, rid: _signed(req.msg_id, _response_pdu([((1, 3, 6, 1, 6, 3, 12, 1, 4, 0), V2.Counter32(1))],
                                                        rid, "report")), "config", "unknown context"),
    (lambda req, rid: _signed(req.msg_id, _response_pdu([((1, 3, 6, 1, 6, 3, 11, 2, 1, 3, 0), V2.Counter32(1))],
                                                        rid, "report")), "connect", "1.3.6.1.6.3.11.2.1.3.0"),
])
def test_refused_answers_and_reports(answer, kind, says):
    result, _ = _run(lambda req, rid, _: [answer(req, rid)])
    assert isinstance(result, CollectError) and result.kind == kind, result
    assert says in result.message and AUTH_PW not in result.message


def test_not_in_time_window_resyncs_once_then_gives_up():
    def behave(req, rid, _):
        if req.time < 900:  # this agent's clock says 1000: anything far behind is out of its window
            yield _signed(req.msg_id, _response_pdu([(STATS + (2, 0), V2.Counter32(1))], rid, "report"), time=1000)
        else:
            yield _signed(req.msg_id, _sys_name(rid), time=1000)

    result, agent = _run(behave)
    assert not isinstance(result, CollectError), result
    assert [m.time for m in agent.seen[1:]] == [500, 1000]

    def always(req, rid, _):  # an agent that never accepts: one resync, then an error, not a loop
        yield _signed(req.msg_id, _response_pdu([(STATS + (2, 0), V2.Counter32(1))], rid, "report"), time=2000 + req.time)

    result, agent = _run(always)
    assert isinstance(result, CollectError) and "notInTimeWindow" in result.message
    assert len(agent.seen) == 3


def test_silence_is_a_timeout_naming_discovery():
    async def go():
        session = await V3Session.open("127.0.0.1", 9, credentials=usm.Credentials("ops"), context_name="",
                                       timeout=0.2, retries=1, cache=EngineCache())
        try:
            await session.request(ber.GET, [(1, 3, 6, 1, 2, 1, 1, 5, 0)], "GET system")
        finally:
            session.close()

    with pytest.raises(CollectError) as caught:
        asyncio.run(go())
    assert caught.value.kind == "timeout" and "discovery" in caught.value.message


def test_engine_cache_spares_the_discovery_and_stays_bounded():
    cache = EngineCache()
    _run(lambda req, rid, _: [_signed(req.msg_id, _sys_name(rid))], cache=cache)
    # Same address again is a new port here, so reuse the learnt entry under the new key by hand:
    (key, entry), = cache.items()
    assert entry[0] == ENGINE and entry[1] == 5
    for i in range(70_000):
        cache.remember(("127.0.0.1", i), entry)
    assert len(cache) <= 65_536
    assert hmac.compare_digest(entry[0], ENGINE)
