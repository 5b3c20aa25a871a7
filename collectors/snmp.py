"""SNMP collector on pysnmp 7's asyncio API: sysDescr/sysObjectID/sysName, then entPhysicalTable.

Per host (``Target.options``, from the inventory's ``data``; secrets already resolved by
``agent.collect.inventory``): ``snmp_version`` (``2c`` default, or ``3``), ``snmp_community``,
``snmp_user``, ``snmp_auth_key``, ``snmp_priv_key``, ``snmp_auth_proto`` (``SHA`` default;
``MD5``, ``SHA224``, ``SHA256``, ``SHA384``, ``SHA512``), ``snmp_priv_proto`` (``AES`` default;
``AES192``, ``AES256``, ``DES``, ``3DES``), ``snmp_port`` (161), ``snmp_context`` (SNMPv3
context name, default ``""``), ``snmp_timeout`` / ``snmp_retries`` (per request).

Two requests kinds only: one GET for the system group, then GETBULK walks of just the eight
entPhysicalTable columns ibagent reads, all eight advanced together in each request (one
request returns ``max_repetitions`` rows of every column) and ``lookupMib=False`` (no MIB
resolution of answers).  Each is kept as a Capture of snmprec lines ``OID|type|value``, named
``snmp:system`` and ``snmp:entPhysicalTable``; ``parsers.snmp`` reads them.

Evidence (issue 12): the lines hold what the agent sent, losslessly.  An octet string is written
as text only when its bytes are UTF-8 whose every character is printable on one line (no control,
format or line-separator character: U+0085 and U+2028 end a line for ``str.splitlines``) and holds
no ``|``; any other is ``4x|<hex>`` of its bytes, as snmprec does.  Nothing is decoded with
replacement, so the lines give back every byte, and ``Capture.raw`` is the lines' bytes.

One SnmpEngine per collector instance (one per scan run), created lazily inside the running
loop: an engine costs ~80 ms and MIB state to build, and its USM keeps localized keys per agent.
(If the same collector is used from another event loop, it builds a new engine there: pysnmp
binds an engine's UDP transport to its first loop.)
The one exception: two hosts naming the same SNMPv3 user with different keys cannot share an
engine (pysnmp's USM holds one key set per user name and would swap it under a request in
flight), so each further key set for a user name gets an engine of its own.

Errors: no answer -> ``timeout`` (for v2c the message says a wrong community looks exactly like
this: agents drop such requests silently); SNMPv3 wrong digest / decryption error / unknown user
/ unsupported level -> ``auth``; unknown context -> ``config``.
"""
from __future__ import annotations

import asyncio
import hashlib
import time

from agent.core import platforms
from agent.core.models import Capture, Target
from agent.core.secret import reveal
from collectors.base import CollectError

SYSTEM_OIDS = ("1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.5.0")  # sysDescr, sysObjectID, sysName
ENT_PHYSICAL_ENTRY = (1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1)
# descr, containedIn, class, name, serialNum, modelName, softwareRev, isFRU
ENT_COLUMNS = (2, 4, 5, 7, 11, 13, 10, 16)
DEFAULT_PORT = 161
_MAX_ROUNDS = 10_000  # a table larger than this many GETBULKs is an agent looping, not a device

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
        "AES256": hl.usmAesCfb256Protocol, "DES": hl.usmDESPrivProtocol, "3DES": hl.usm3DESEDEPrivProtocol,
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
    """One varbind as an snmprec line; None for the 'no such object / end of MIB' markers."""
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
        if text is None or "|" in text or not text.isprintable():  # the module docstring says why
            return f"{name}|4x|{raw.hex()}"
        return f"{name}|4|{text}"
    if isinstance(value, univ.ObjectIdentifier):
        return f"{name}|6|{'.'.join(str(x) for x in value)}"
    for cls, tag in ((rfc1902.Counter64, 70), (rfc1902.Counter32, 65), (rfc1902.Gauge32, 66),
                     (rfc1902.TimeTicks, 67), (univ.Integer, 2)):
        if isinstance(value, cls):
            return f"{name}|{tag}|{int(value)}"
    return f"{name}|4|{value.prettyPrint()}"


class SnmpCollector:
    transport = "snmp"

    def __init__(self, *, timeout: float = 2.0, retries: int = 1, max_repetitions: int = 25) -> None:
        self.timeout = timeout
        self.retries = retries
        self.max_repetitions = max_repetitions
        self._engine = None
        self._v3_keys: dict[str, str] = {}  # v3 user name -> fingerprint of the key set on self._engine
        self._extra: dict[str, object] = {}  # fingerprint -> engine, for a user name reused with other keys
        self._loop = None
        self.engines_created = 0

    def _close_engines(self) -> None:
        for engine in [self._engine, *self._extra.values()]:
            try:
                engine.close_dispatcher()
            except Exception:  # noqa: BLE001 - the old loop is gone; nothing left to release
                pass
        self._engine, self._extra, self._v3_keys = None, {}, {}

    # ------------------------------------------------------------------ engine and credentials

    def _new_engine(self):
        from pysnmp.hlapi.v3arch.asyncio import SnmpEngine

        self.engines_created += 1
        engine = SnmpEngine()
        # hlapi resolves every request varbind through a MIB view kept in the engine's cache; its first
        # use builds pysmi's MIB compiler (~1.4 s of CPU parsing the SMI grammar).  Requests here are
        # numeric OIDs only, so one view per process serves every engine.
        engine.cache["mibViewController"] = _shared_mib_view()
        return engine

    def _engine_for(self, user: str | None, fingerprint: str | None):
        loop = asyncio.get_running_loop()
        if self._engine is not None and self._loop is not loop:
            # pysnmp binds an engine's transport to the loop it first ran in; another loop (a second
            # asyncio.run with this collector) would wait on timers that never fire.
            self._close_engines()
        if self._engine is None:
            self._engine = self._new_engine()
            self._loop = loop
        if user is None:
            return self._engine
        known = self._v3_keys.setdefault(user, fingerprint or "")
        if known == fingerprint:
            return self._engine
        if fingerprint not in self._extra:
            self._extra[fingerprint] = self._new_engine()
        return self._extra[fingerprint]

    def _auth(self, target: Target, version: str):
        from pysnmp.hlapi.v3arch.asyncio import CommunityData, UsmUserData

        opts = target.options
        if version in ("1", "2c", "2"):
            community = reveal(opts.get("snmp_community"))  # a Secret until here (agent.core.secret)
            if not community:
                raise CollectError("config", "no snmp_community reference for this host")
            return CommunityData(str(community), mpModel=0 if version == "1" else 1), None, None
        if version != "3":
            raise CollectError("config", f"snmp_version {version!r} is not 1, 2c or 3")
        user = opts.get("snmp_user")
        if not user:
            raise CollectError("config", "SNMPv3 needs snmp_user")
        auth_protos, priv_protos = _protocols()
        auth_key, priv_key = reveal(opts.get("snmp_auth_key")), reveal(opts.get("snmp_priv_key"))
        auth_name = str(opts.get("snmp_auth_proto") or "SHA").upper().replace("-", "")
        priv_name = str(opts.get("snmp_priv_proto") or "AES").upper().replace("-", "")
        if auth_key and auth_name not in auth_protos:
            raise CollectError("config", f"snmp_auth_proto {auth_name!r} unknown (known: {', '.join(auth_protos)})")
        if priv_key and priv_name not in priv_protos:
            raise CollectError("config", f"snmp_priv_proto {priv_name!r} unknown (known: {', '.join(priv_protos)})")
        if priv_key and not auth_key:
            raise CollectError("config", "SNMPv3 privacy needs an authentication key too")
        for what, key in (("snmp_auth_key", auth_key), ("snmp_priv_key", priv_key)):
            if key and len(str(key)) < 8:
                raise CollectError("config", f"{what} is shorter than the 8 characters SNMPv3 requires")
        kwargs = {}
        if auth_key:
            kwargs.update(authKey=str(auth_key), authProtocol=auth_protos[auth_name])
        if priv_key:
            kwargs.update(privKey=str(priv_key), privProtocol=priv_protos[priv_name])
        fingerprint = hashlib.sha256("\0".join(
            [str(user), auth_name, str(auth_key or ""), priv_name, str(priv_key or "")]).encode()).hexdigest()
        return UsmUserData(str(user), **kwargs), str(user), fingerprint

    # ------------------------------------------------------------------ collection

    async def collect(self, target: Target, sink: list[Capture]) -> None:
        from pysnmp.hlapi.v3arch.asyncio import ContextData, UdpTransportTarget

        profile = platforms.get(target.platform).snmp
        opts = target.options
        version = str(opts.get("snmp_version") or profile.get("version") or "2c").lower().lstrip("v")
        try:
            port = int(opts.get("snmp_port") or profile.get("port") or DEFAULT_PORT)
            timeout = float(opts.get("snmp_timeout") or self.timeout)
            retries = int(opts.get("snmp_retries") if opts.get("snmp_retries") is not None else self.retries)
        except (TypeError, ValueError):
            raise CollectError("config", "snmp_port / snmp_timeout / snmp_retries must be numbers") from None
        auth, user, fingerprint = self._auth(target, version)
        engine = self._engine_for(user, fingerprint)
        context = ContextData(contextName=str(opts.get("snmp_context") or ""))
        try:
            address = await UdpTransportTarget.create((target.host, port), timeout=timeout, retries=retries)
        except Exception as exc:  # noqa: BLE001 - pysnmp wraps resolution errors in its own type
            raise CollectError("connect", f"cannot address {target.host}:{port}: {exc}") from None
        wait = f"{timeout:g}s x {retries + 1}"
        request = _Request(engine, auth, address, context, version, wait)

        started = time.time()
        varbinds = await request.get(SYSTEM_OIDS)
        lines = [line for oid, value in varbinds if (line := snmprec_line(oid, value))]
        sink.append(_capture(target, "snmp:system", lines, started))

        started = time.time()
        rows = await request.walk([ENT_PHYSICAL_ENTRY + (c,) for c in ENT_COLUMNS],
                                  int(profile.get("max_repetitions") or self.max_repetitions))
        lines = [line for oid, value in rows if (line := snmprec_line(oid, value))]
        sink.append(_capture(target, "snmp:entPhysicalTable", lines, started))


def _capture(target: Target, command: str, lines: list[str], started: float) -> Capture:
    text = "".join(line + "\n" for line in lines)
    # The lines are printable UTF-8 text or hex (snmprec_line), so these bytes are exactly the text.
    return Capture(target.name, target.platform, "snmp", command, text, started, time.time(),
                   raw=text.encode("utf-8"))


class _Request:
    """The GET and GETBULK calls of one device, with pysnmp's answers turned into CollectErrors."""

    def __init__(self, engine, auth, address, context, version: str, wait: str) -> None:
        self.engine, self.auth, self.address, self.context = engine, auth, address, context
        self.version = version
        self.wait = wait

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
        return [(tuple(vb[0]), vb[1]) for vb in result[3]]

    async def walk(self, columns: list[tuple[int, ...]], max_repetitions: int) -> list:
        """All rows of ``columns``, the columns advanced together: one GETBULK per ``max_repetitions`` rows."""
        from pysnmp.hlapi.v3arch.asyncio import ObjectIdentity, ObjectType, bulk_cmd
        from pysnmp.proto import rfc1905

        cursors = {col: col for col in columns}
        out: list = []
        for _ in range(_MAX_ROUNDS):
            active = [col for col in columns if cursors[col] is not None]
            if not active:
                return out
            result = await bulk_cmd(
                self.engine, self.auth, self.address, self.context, 0, max_repetitions,
                *(ObjectType(ObjectIdentity(cursors[col])) for col in active), lookupMib=False,
            )
            self._check(*result[:3], "GETBULK entPhysicalTable")
            varbinds = result[3]
            if not varbinds:
                return out
            progressed = False
            # Answers come row by row (rep 0: every column, rep 1: every column...).  An agent may cut
            # the answer short (its max-var-binds, the message size): a column without a varbind in
            # this answer is simply asked again from where it stands.
            for i, vb in enumerate(varbinds):
                col = active[i % len(active)]
                if cursors[col] is None:
                    continue
                oid, value = tuple(vb[0]), vb[1]
                if isinstance(value, rfc1905.EndOfMibView) or oid[: len(col)] != col or oid <= cursors[col]:
                    cursors[col] = None  # past this column (or a non-increasing agent): done with it
                    continue
                cursors[col] = oid
                progressed = True
                out.append((oid, value))
            if not progressed and all(cursors[col] is not None for col in active):
                return out  # an answer that moves no column forward would loop forever
        raise CollectError("garbage", f"entPhysicalTable did not end after {_MAX_ROUNDS} GETBULK requests")
