"""SNMP collector (asyncio): sysDescr/sysObjectID/sysName, then entPhysicalTable.

Per host (``Target.options``, from the inventory's ``data``; secrets already resolved by
``agent.collect.inventory``): ``snmp_version`` (``2c`` default, or ``3``), ``snmp_community``,
``snmp_user``, ``snmp_auth_key``, ``snmp_priv_key``, ``snmp_auth_proto`` (``SHA`` default;
``MD5``, ``SHA224``, ``SHA256``, ``SHA384``, ``SHA512``), ``snmp_priv_proto`` (``AES`` default;
``AES192``, ``AES256`` (Cisco's key extension), ``AES192BLMT``, ``AES256BLMT`` (Blumenthal's),
``DES``, ``3DES``), ``snmp_port`` (161), ``snmp_context`` (SNMPv3 context name, default ``""``),
``snmp_timeout`` / ``snmp_retries`` (per request).

Two requests kinds only: one GET for the system group, then GETBULK walks of just the eight
entPhysicalTable columns ibagent reads, all eight advanced together in each request (one
request returns ``max_repetitions`` rows of every column); answers are never resolved through MIBs.  Each is kept as a Capture of snmprec lines ``OID|type|value``, named
``snmp:system`` and ``snmp:entPhysicalTable``; ``parsers.snmp`` reads them.

Evidence (issue 12): the lines hold what the agent sent, losslessly.  An octet string is written
as text only when its bytes are UTF-8 whose every character is printable on one line (no control,
format or line-separator character: U+0085 and U+2028 end a line for ``str.splitlines``) and holds
no ``|``; any other is ``4x|<hex>`` of its bytes, as snmprec does.  Nothing is decoded with
replacement, so the lines give back every byte, and ``Capture.raw`` is the lines' bytes.

Two engines, one interface (docs/ARCHITECTURE.md, "SNMP on the wire"): SNMPv1/v2c go through
``collectors.snmp_udp`` (one connected UDP socket per device, requests and answers encoded by
``collectors.snmp_ber``, no pysnmp object built), SNMPv3 through ``collectors.snmp_v3udp`` (the
same, with the v3 message of ``collectors.snmp_v3`` and the USM security of ``collectors.snmp_usm``).
``IBAGENT_SNMP_ENGINE=pysnmp`` (or ``SnmpCollector(engine="pysnmp")``) sends every version through
pysnmp, as before: the baseline bench/scan_transports.py compares against.  SNMPv1 walks with GETNEXT (GETBULK is v2 only).

Errors: no answer -> ``timeout`` (for v2c the message says a wrong community looks exactly like
this: agents drop such requests silently); SNMPv3 wrong digest / decryption error / unknown user
/ unsupported level -> ``auth``; unknown context -> ``config``; only undecodable, mismatched or
unauthenticated answers (wire engine) -> ``garbage``; an error-status -> ``command``.
"""
from __future__ import annotations

import hashlib
import os
import time

from agent.core import platforms
from agent.core.models import Capture, Target
from agent.core.secret import reveal
from collectors import snmp_udp, snmp_usm, snmp_v3udp
from collectors.base import CollectError
from collectors.snmp_pysnmp import snmprec_line  # noqa: F401 - part of this module's interface (tests, callers)

SYSTEM_OIDS = ("1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.5.0")  # sysDescr, sysObjectID, sysName
ENT_PHYSICAL_ENTRY = (1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1)
# descr, containedIn, class, name, serialNum, modelName, softwareRev, isFRU
ENT_COLUMNS = (2, 4, 5, 7, 11, 13, 10, 16)
# CDP / LLDP neighbour tables (issue 17), walked after the inventory on the platforms whose
# ``snmp.neighbour_tables`` name them.  Each walk is one capture; its columns advance together, the
# port-name columns beside them (their own row counts: each column ends on its own).  Read by
# parsers.snmp_neighbours.  table -> (capture name, columns)
_CDP_CACHE_ENTRY = (1, 3, 6, 1, 4, 1, 9, 9, 23, 1, 2, 1, 1)
_LLDP_REM_ENTRY = (1, 0, 8802, 1, 1, 2, 1, 4, 1, 1)
NEIGHBOUR_WALKS: dict[str, tuple[str, tuple[tuple[int, ...], ...]]] = {
    # cdpCacheAddressType, Address, Version, DeviceId, DevicePort, Platform, Capabilities, SysName,
    # primary / secondary management address type and address; IF-MIB ifName names the local port.
    "cdpCacheTable": ("snmp:cdpCacheTable", tuple(_CDP_CACHE_ENTRY + (c,) for c in (3, 4, 5, 6, 7, 8, 9, 17, 19, 20, 21, 22))
                      + ((1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 1),)),
    # lldpRemChassisIdSubtype .. lldpRemSysCapEnabled, lldpRemManAddrIfSubtype (the address is in its
    # index), lldpLocPortId (the local port).
    "lldpRemTable": ("snmp:lldpRemTable", tuple(_LLDP_REM_ENTRY + (c,) for c in (4, 5, 6, 7, 8, 9, 10, 12))
                     + ((1, 0, 8802, 1, 1, 2, 1, 4, 2, 1, 3), (1, 0, 8802, 1, 1, 2, 1, 3, 7, 1, 3))),
}
DEFAULT_PORT = 161
_MAX_ROUNDS = 10_000  # a table larger than this many GETBULKs is an agent looping, not a device
AUTH_PROTOCOLS = ("MD5", "SHA", "SHA1", "SHA224", "SHA256", "SHA384", "SHA512")
PRIV_PROTOCOLS = ("AES", "AES128", "AES192", "AES256", "AES192BLMT", "AES256BLMT", "DES", "3DES")
ENGINE_ENV = "IBAGENT_SNMP_ENGINE"
ENGINES = ("wire", "pysnmp")


class SnmpCollector:
    transport = "snmp"

    def __init__(self, *, timeout: float = 2.0, retries: int = 1, max_repetitions: int = 25,
                 engine: str | None = None) -> None:
        self.timeout = timeout
        self.retries = retries
        self.max_repetitions = max_repetitions
        if engine is not None and engine not in ENGINES:
            raise ValueError(f"engine {engine!r}: expected one of {', '.join(ENGINES)}")
        # From the environment, a bad value fails each SNMP device with a config error naming it
        # (collect), rather than the whole scan with a traceback.
        self.engine = engine or (os.environ.get(ENGINE_ENV) or "wire").strip().lower()
        self._pysnmp = None  # collectors.snmp_pysnmp.Engines, built on first use
        self._engine_ids = snmp_v3udp.EngineCache()  # SNMPv3 discovery per agent address, for the run

    @property
    def engines_created(self) -> int:
        """pysnmp engines this collector built (0 while every host went over the wire engine)."""
        return self._pysnmp.created if self._pysnmp is not None else 0

    # ------------------------------------------------------------------ credentials

    def _auth(self, target: Target, version: str) -> dict:
        """The checked credential settings of ``target`` (the community revealed; v3 keys stay Secrets)."""
        opts = target.options
        if version in ("1", "2c", "2"):
            community = reveal(opts.get("snmp_community"))  # a Secret until here (agent.core.secret)
            if not community:
                raise CollectError("config", "no snmp_community reference for this host")
            return {"version": "1" if version == "1" else "2c", "community": str(community)}
        if version != "3":
            raise CollectError("config", f"snmp_version {version!r} is not 1, 2c or 3")
        user = opts.get("snmp_user")
        if not user:
            raise CollectError("config", "SNMPv3 needs snmp_user")
        # Kept as Secrets: revealed only where keys are localised (collectors.snmp_usm) or handed to pysnmp.
        auth_key, priv_key = opts.get("snmp_auth_key"), opts.get("snmp_priv_key")
        auth_name = str(opts.get("snmp_auth_proto") or "SHA").upper().replace("-", "")
        priv_name = str(opts.get("snmp_priv_proto") or "AES").upper().replace("-", "")
        if auth_key and auth_name not in AUTH_PROTOCOLS:
            raise CollectError("config", f"snmp_auth_proto {auth_name!r} unknown (known: {', '.join(AUTH_PROTOCOLS)})")
        if priv_key and priv_name not in PRIV_PROTOCOLS:
            raise CollectError("config", f"snmp_priv_proto {priv_name!r} unknown (known: {', '.join(PRIV_PROTOCOLS)})")
        if priv_key and not auth_key:
            raise CollectError("config", "SNMPv3 privacy needs an authentication key too")
        for what, key in (("snmp_auth_key", auth_key), ("snmp_priv_key", priv_key)):
            if key and len(reveal(key)) < 8:  # the length only
                raise CollectError("config", f"{what} is shorter than the 8 characters SNMPv3 requires")
        return {"version": "3", "user": str(user), "auth_key": auth_key, "auth_name": auth_name,
                "priv_key": priv_key, "priv_name": priv_name}

    async def _open(self, target: Target, settings: dict, port: int, timeout: float, retries: int):
        version = settings["version"]
        context = str(target.options.get("snmp_context") or "")
        if version != "3" and self.engine == "wire":
            hint = " (wrong community? an agent drops those without a word)"
            session = await snmp_udp.UdpSession.open(
                target.host, port, version=0 if version == "1" else 1, community=settings["community"].encode(),
                timeout=timeout, retries=retries, hint=hint)
            return snmp_udp.WireRequest(session)
        if self.engine == "wire":
            try:
                credentials = snmp_usm.Credentials(settings["user"], settings["auth_name"], settings["auth_key"],
                                                   settings["priv_name"], settings["priv_key"])
            except ValueError as exc:
                raise CollectError("config", f"SNMPv3: {exc}") from None
            session = await snmp_v3udp.V3Session.open(target.host, port, credentials=credentials, context_name=context,
                                                      timeout=timeout, retries=retries, cache=self._engine_ids)
            return snmp_udp.WireRequest(session)
        from collectors import snmp_pysnmp

        if self._pysnmp is None:
            self._pysnmp = snmp_pysnmp.Engines()
        fingerprint = user = None
        if version == "3":
            user = settings["user"]
            fingerprint = hashlib.sha256("\0".join(
                [user, settings["auth_name"], reveal(settings["auth_key"]) or "", settings["priv_name"],
                 reveal(settings["priv_key"]) or ""]).encode()).hexdigest()
        engine = self._pysnmp.get(user, fingerprint)
        auth = snmp_pysnmp.auth_data(**settings)
        return await snmp_pysnmp.Request.open(engine, auth, target.host, port, context, version, timeout, retries)

    # ------------------------------------------------------------------ collection

    async def collect(self, target: Target, sink: list[Capture]) -> None:
        profile = platforms.get(target.platform).snmp
        opts = target.options
        version = str(opts.get("snmp_version") or profile.get("version") or "2c").lower().lstrip("v")
        try:
            port = int(opts.get("snmp_port") or profile.get("port") or DEFAULT_PORT)
            timeout = float(opts.get("snmp_timeout") or self.timeout)
            retries = int(opts.get("snmp_retries") if opts.get("snmp_retries") is not None else self.retries)
        except (TypeError, ValueError):
            raise CollectError("config", "snmp_port / snmp_timeout / snmp_retries must be numbers") from None
        if self.engine not in ENGINES:
            raise CollectError("config", f"{ENGINE_ENV}={self.engine!r} is not one of {', '.join(ENGINES)}")
        settings = self._auth(target, version)
        request = await self._open(target, settings, port, timeout, retries)
        try:
            started = time.time()
            varbinds = await request.get(SYSTEM_OIDS)
            lines = [line for oid, _, value in varbinds if (line := request.line(oid, value))]
            sink.append(_capture(target, "snmp:system", lines, started))

            started = time.time()
            rows = await walk(request, [ENT_PHYSICAL_ENTRY + (c,) for c in ENT_COLUMNS],
                              int(profile.get("max_repetitions") or self.max_repetitions))
            lines = [line for oid, value in rows if (line := request.line(oid, value))]
            sink.append(_capture(target, "snmp:entPhysicalTable", lines, started))
            for table in profile.get("neighbour_tables") or ():
                await self._neighbours(target, request, table, int(profile.get("max_repetitions") or self.max_repetitions),
                                       sink)
        finally:
            request.close()

    async def _neighbours(self, target: Target, request, table: str, max_repetitions: int,
                          sink: list[Capture]) -> None:
        """One neighbour table.  Its failure is the capture's, not the device's: the inventory is
        already read, and a device without the MIB (or with CDP off) is still collected (issue 17).
        A silent agent is a timeout here as anywhere, so it costs the request timeout once."""
        command, columns = NEIGHBOUR_WALKS[table]
        started = time.time()
        try:
            rows = await walk(request, list(columns), max_repetitions)
        except CollectError as exc:
            sink.append(Capture(target.name, target.platform, "snmp", command, "", started, time.time(),
                                error=exc.message, error_kind=exc.kind))
            return
        lines = [line for oid, value in rows if (line := request.line(oid, value))]
        sink.append(_capture(target, command, lines, started))


def _capture(target: Target, command: str, lines: list[str], started: float) -> Capture:
    text = "".join(line + "\n" for line in lines)
    # The lines are printable UTF-8 text or hex (snmprec_line), so these bytes are exactly the text.
    return Capture(target.name, target.platform, "snmp", command, text, started, time.time(),
                   raw=text.encode("utf-8"))


async def walk(request, columns: list[tuple[int, ...]], max_repetitions: int) -> list:
    """All rows of ``columns``, the columns advanced together: one GETBULK per ``max_repetitions`` rows
    (SNMPv1: one GETNEXT per row).  ``request.bulk(cursors, n)`` gives (oid, end-of-MIB, value) per varbind."""
    cursors = {col: col for col in columns}
    out: list = []
    for _ in range(_MAX_ROUNDS):
        active = [col for col in columns if cursors[col] is not None]
        if not active:
            return out
        try:
            varbinds = await request.bulk([cursors[col] for col in active], max_repetitions)
        except snmp_udp.TooBig:
            if max_repetitions == 1:
                raise CollectError("command", "agent answered tooBig to a GETBULK of one row") from None
            max_repetitions = max(1, max_repetitions // 2)  # the agent could not fit them: ask for fewer
            continue
        except snmp_udp.ColumnEnded as ended:  # SNMPv1: that column is past the end of the MIB
            cursors[active[ended.position]] = None
            continue
        if not varbinds:
            return out
        progressed = False
        # Answers come row by row (rep 0: every column, rep 1: every column...).  An agent may cut
        # the answer short (its max-var-binds, the message size): a column without a varbind in
        # this answer is simply asked again from where it stands.
        for i, (oid, end, value) in enumerate(varbinds):
            col = active[i % len(active)]
            cursor = cursors[col]
            if cursor is None:
                continue
            if end or oid[: len(col)] != col or oid <= cursor:
                cursors[col] = None  # past this column (or a non-increasing agent): done with it
                continue
            cursors[col] = oid
            progressed = True
            out.append((oid, value))
        if not progressed and all(cursors[col] is not None for col in active):
            return out  # an answer that moves no column forward would loop forever
    raise CollectError("garbage", f"entPhysicalTable did not end after {_MAX_ROUNDS} GETBULK requests")
