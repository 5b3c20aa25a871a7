"""collectors/snmp.py's pysnmp side: SNMPv3 (USM authentication and privacy), and every version when
``IBAGENT_SNMP_ENGINE=pysnmp`` (the previous collector, kept for comparison in bench/scan_transports.py).

One SnmpEngine per collector instance (one per scan run), created lazily inside the running
loop: an engine costs ~80 ms and MIB state to build, and its USM keeps localized keys per agent.
(If the same collector is used from another event loop, it builds a new engine there: pysnmp
binds an engine's UDP transport to its first loop.)
The one exception: two hosts naming the same SNMPv3 user with different keys cannot share an
engine (pysnmp's USM holds one key set per user name and would swap it under a request in
flight), so each further key set for a user name gets an engine of its own.
"""
from __future__ import annotations

import asyncio

from agent.core.secret import reveal
from collectors.base import CollectError

_AUTH_ERRORS = ("WrongDigest", "DecryptionError", "UnknownUserName", "UnknownSecurityName",
                "UnsupportedSecurityLevel", "AuthenticationFailure", "AuthenticationError", "NoAuthentication")


def _protocols():
    from pysnmp.hlapi.v3arch import asyncio as hl

    auth = {
        "MD5": hl.usmHMACMD5AuthProtocol, "SHA": hl.usmHMACSHAAuthProtocol, "SHA1": hl.usmHMACSHAAuthProtocol,
        "SHA224": hl.usmHMAC128SHA224AuthProtocol, "SHA256": hl.usmHMAC192SHA256AuthProtocol,
        "SHA384": hl.usmHMAC256SHA384AuthProtocol, "SHA512": hl.usmHMAC384SHA512AuthProtocol,
    }
    priv = {
        "AES": hl.usmAesCfb128Protocol, "AES128": hl.usmAesCfb128Protocol, "AES192": hl.usmAesCfb192Protocol,
        "AES256": hl.usmAesCfb256Protocol, "AES192BLMT": hl.usmAesBlumenthalCfb192Protocol,
        "AES256BLMT": hl.usmAesBlumenthalCfb256Protocol, "DES": hl.usmDESPrivProtocol, "3DES": hl.usm3DESEDEPrivProtocol,
    }
    return auth, priv


_MIB_VIEW = None


def _shared_mib_view():
    global _MIB_VIEW
    if _MIB_VIEW is None:
        from pysnmp.smi import builder, view

        _MIB_VIEW = view.MibViewController(builder.MibBuilder())
    return _MIB_VIEW


def snmprec_line(oid, value) -> str | None:
    """One pysnmp varbind as an snmprec line; None for the 'no such object / end of MIB' markers."""
    from pyasn1.type import univ
    from pysnmp.proto import rfc1902, rfc1905

    if isinstance(value, (rfc1905.NoSuchObject, rfc1905.NoSuchInstance, rfc1905.EndOfMibView, univ.Null)):
        return None
    name = ".".join(str(x) for x in oid)
    # Subclasses before their bases: IpAddress and Opaque are octet strings, the counters integers.
    if isinstance(value, rfc1902.IpAddress):
        raw = bytes(value)
        return f"{name}|64|{'.'.join(map(str, raw))}" if len(raw) == 4 else f"{name}|64x|{raw.hex()}"
    if isinstance(value, rfc1902.Opaque):
        return f"{name}|68x|{bytes(value).hex()}"
    if isinstance(value, univ.OctetString):
        raw = bytes(value)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is None or "|" in text or not text.isprintable():  # collectors/snmp.py's docstring says why
            return f"{name}|4x|{raw.hex()}"
        return f"{name}|4|{text}"
    if isinstance(value, univ.ObjectIdentifier):
        return f"{name}|6|{'.'.join(str(x) for x in value)}"
    for cls, tag in ((rfc1902.Counter64, 70), (rfc1902.Counter32, 65), (rfc1902.Gauge32, 66),
                     (rfc1902.TimeTicks, 67), (univ.Integer, 2)):
        if isinstance(value, cls):
            return f"{name}|{tag}|{int(value)}"
    return f"{name}|4|{value.prettyPrint()}"


class Engines:
    """The run's pysnmp engines: one shared, plus one per further key set of a reused v3 user name."""

    def __init__(self) -> None:
        self._engine = None
        self._v3_keys: dict[str, str] = {}  # v3 user name -> fingerprint of the key set on self._engine
        self._extra: dict[str, object] = {}  # fingerprint -> engine, for a user name reused with other keys
        self._loop = None
        self.created = 0

    def close(self) -> None:
        for engine in [self._engine, *self._extra.values()]:
            try:
                engine.close_dispatcher()
            except Exception:  # noqa: BLE001 - the old loop is gone; nothing left to release
                pass
        self._engine, self._extra, self._v3_keys = None, {}, {}

    def _new(self):
        from pysnmp.hlapi.v3arch.asyncio import SnmpEngine

        self.created += 1
        engine = SnmpEngine()
        # hlapi resolves every request varbind through a MIB view kept in the engine's cache; its first
        # use builds pysmi's MIB compiler (~1.4 s of CPU parsing the SMI grammar).  Requests here are
        # numeric OIDs only, so one view per process serves every engine.
        engine.cache["mibViewController"] = _shared_mib_view()
        return engine

    def get(self, user: str | None, fingerprint: str | None):
        loop = asyncio.get_running_loop()
        if self._engine is not None and self._loop is not loop:
            # pysnmp binds an engine's transport to the loop it first ran in; another loop (a second
            # asyncio.run with this collector) would wait on timers that never fire.
            self.close()
        if self._engine is None:
            self._engine = self._new()
            self._loop = loop
        if user is None:
            return self._engine
        known = self._v3_keys.setdefault(user, fingerprint or "")
        if known == fingerprint:
            return self._engine
        if fingerprint not in self._extra:
            self._extra[fingerprint] = self._new()
        return self._extra[fingerprint]


def auth_data(version: str, community=None, user=None, auth_key=None, auth_name="SHA", priv_key=None,
              priv_name="AES"):
    """pysnmp's CommunityData / UsmUserData for checked settings (collectors/snmp.py checks them)."""
    from pysnmp.hlapi.v3arch.asyncio import CommunityData, UsmUserData

    if version != "3":
        return CommunityData(str(community), mpModel=0 if version == "1" else 1)
    auth_protos, priv_protos = _protocols()
    kwargs = {}
    if auth_key:  # a Secret until here: pysnmp localises the keys itself
        kwargs.update(authKey=reveal(auth_key), authProtocol=auth_protos[auth_name])
    if priv_key:
        kwargs.update(privKey=reveal(priv_key), privProtocol=priv_protos[priv_name])
    return UsmUserData(str(user), **kwargs)


class Request:
    """The GET and GETBULK calls of one device, with pysnmp's answers turned into CollectErrors and
    varbinds into (oid tuple, end-of-MIB flag, value); ``line`` makes a kept one evidence."""

    @classmethod
    async def open(cls, engine, auth, host: str, port: int, context_name: str, version: str, timeout: float,
                   retries: int) -> Request:
        from pysnmp.hlapi.v3arch.asyncio import ContextData, UdpTransportTarget

        try:
            address = await UdpTransportTarget.create((host, port), timeout=timeout, retries=retries)
        except Exception as exc:  # noqa: BLE001 - pysnmp wraps resolution errors in its own type
            raise CollectError("connect", f"cannot address {host}:{port}: {exc}") from None
        return cls(engine, auth, address, ContextData(contextName=context_name), version, f"{timeout:g}s x {retries + 1}")

    def __init__(self, engine, auth, address, context, version: str, wait: str) -> None:
        self.engine, self.auth, self.address, self.context = engine, auth, address, context
        self.version = version
        self.wait = wait

    def close(self) -> None:
        pass  # the engine's transport is shared by the run

    def _check(self, error_indication, error_status, error_index, what: str) -> None:
        if error_indication:
            name = type(error_indication).__name__
            if name == "RequestTimedOut":
                hint = (" (wrong community? an agent drops those without a word)" if self.version != "3"
                        else " (agent down or filtered)")
                raise CollectError("timeout", f"no SNMP answer to {what} within {self.wait}{hint}")
            if name in _AUTH_ERRORS:
                raise CollectError("auth", f"SNMPv3 authentication failed: {error_indication} (wrong key or protocol?)")
            if name in ("NoSuchContext",) or "context" in str(error_indication).lower():
                raise CollectError("config", f"SNMPv3 context refused: {error_indication}")
            raise CollectError("connect", f"SNMP {what} failed: {error_indication}")
        if error_status and int(error_status):
            status = error_status.prettyPrint() if hasattr(error_status, "prettyPrint") else str(error_status)
            raise CollectError("command", f"agent answered {what} with error-status {status} at {error_index}")

    async def get(self, oids) -> list:
        from pysnmp.hlapi.v3arch.asyncio import ObjectIdentity, ObjectType, get_cmd

        result = await get_cmd(self.engine, self.auth, self.address, self.context,
                               *(ObjectType(ObjectIdentity(o)) for o in oids), lookupMib=False)
        self._check(*result[:3], "GET system")
        return [(tuple(vb[0]), False, vb[1]) for vb in result[3]]

    async def bulk(self, cursors, max_repetitions: int) -> list:
        from pysnmp.hlapi.v3arch.asyncio import ObjectIdentity, ObjectType, bulk_cmd
        from pysnmp.proto import rfc1905

        result = await bulk_cmd(self.engine, self.auth, self.address, self.context, 0, max_repetitions,
                                *(ObjectType(ObjectIdentity(c)) for c in cursors), lookupMib=False)
        self._check(*result[:3], "GETBULK entPhysicalTable")
        return [(tuple(vb[0]), isinstance(vb[1], rfc1905.EndOfMibView), vb[1]) for vb in result[3]]

    @staticmethod
    def line(oid: tuple[int, ...], value) -> str | None:
        return snmprec_line(oid, value)
