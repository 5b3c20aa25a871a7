"""Host-key trust: which server key a connection to ``host:port`` may accept, decided before any
credential is sent.

Three policies (docs/ARCHITECTURE.md, "Trust"):

- ``tofu`` (the default): trust on first use.  The first key a host presents on a port is recorded
  in the store; every later SSH, SCP and NETCONF connection must present that key, else the device
  fails with kind ``hostkey`` and nothing of ours (password, enable secret) reaches the server.
  Keys from a user's known_hosts file, when one is given, are trusted as well.
- ``strict``: only keys listed in an OpenSSH known_hosts file the user gives (``--known-hosts``,
  or an inventory group's ``data.known_hosts``); an unknown host is refused like a changed key.
- ``insecure``: no check at all.  Only an explicit per-host opt-in in the inventory
  (``data.host_keys: insecure`` on the host itself); the scan warns about it and lists it.

The decision lives here, in the kernel, so every collector applies the same rule: the scan engine
(or the SLP round trip) builds one :class:`HostKeyPolicy` per target from the store and the
known_hosts files, hands it over in ``Target.host_keys``, and the collector calls
:meth:`HostKeyPolicy.verify` with the key the server presented during the key exchange, which
is before authentication in every SSH library used here.  Each verdict goes to the policy's
``report`` callback, which is how the engine learns new keys and records them.

Keys are kept as OpenSSH writes them: a key type (``ssh-ed25519``) and the base64 of the public
key blob; fingerprints are OpenSSH's ``SHA256:`` form.  Only the standard library is used.
"""
from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import re
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

MODES = ("tofu", "strict", "insecure")
# What the command line may choose for a whole scan: insecure is per host, in the inventory only.
SCAN_MODES = ("tofu", "strict")
SSH_PORT = 22

# SSH host-key algorithms that sign with a key of each type (RFC 8332: one RSA key, three
# algorithms).  A connection to a host whose key the policy knows asks only for these, as OpenSSH
# does, so a server holding several keys presents the one we know instead of a "changed" other.
_ALGORITHMS = {"ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")}


class KnownHostsError(ValueError):
    """A known_hosts file that cannot be read, naming the file (and line)."""


def fingerprint(key: str) -> str:
    """OpenSSH's ``SHA256:`` fingerprint of a base64 public key blob (``ssh-keygen -lf``)."""
    blob = base64.b64decode(key)
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def blob_type(key: str) -> str | None:
    """The key type written inside a base64 public key blob, None if it is not one."""
    try:
        blob = base64.b64decode(key, validate=True)
        (size,) = struct.unpack(">I", blob[:4])
        return blob[4 : 4 + size].decode("ascii") if 0 < size <= 64 and len(blob) > 4 + size else None
    except (binascii.Error, struct.error, UnicodeDecodeError, ValueError):
        return None


def algorithms(key_types: Iterable[str]) -> list[str]:
    """Host-key algorithm names for ``key_types``, in order, without repeats."""
    out: list[str] = []
    for key_type in key_types:
        for alg in _ALGORITHMS.get(key_type, (key_type,)):
            if alg not in out:
                out.append(alg)
    return out


def lookup_name(host: str, port: int) -> str:
    """The name OpenSSH files a host under: ``host`` on port 22, ``[host]:port`` elsewhere."""
    return host if port == SSH_PORT else f"[{host}]:{port}"


def when(epoch: float | None) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if epoch else "?"


# ---------------------------------------------------------------------------- known_hosts files


@dataclass(frozen=True, slots=True)
class _Entry:
    patterns: tuple[str, ...]  # as written; a hashed entry is one '|1|salt|hash' pattern
    key_type: str
    key: str
    marker: str  # '' | 'revoked' | 'cert-authority'
    where: str  # file:line, for messages

    def matches(self, name: str) -> bool:
        """OpenSSH's rule: some pattern matches and no negated (``!``) pattern does."""
        hit = False
        for pattern in self.patterns:
            negated = pattern.startswith("!")
            body = pattern[1:] if negated else pattern
            if body.startswith("|1|"):
                ok = _hashed_match(body, name)
            else:
                ok = _glob(body).fullmatch(name.lower()) is not None
            if ok and negated:
                return False
            hit = hit or ok
        return hit


@functools.lru_cache(maxsize=4096)
def _glob(pattern: str) -> re.Pattern[str]:
    """OpenSSH host patterns know ``*`` and ``?`` only (``[`` is literal: ``[host]:port``)."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.lower()))


def _salt_and_digest(pattern: str) -> tuple[bytes, bytes] | None:
    if not pattern.startswith("|1|"):
        return None
    try:
        _, _, salt, digest = pattern.split("|")
        return base64.b64decode(salt), base64.b64decode(digest)
    except (ValueError, binascii.Error):
        return None


def _hashed_match(pattern: str, name: str) -> bool:
    """``|1|salt|HMAC-SHA1(salt, name)``, as ``ssh-keygen -H`` writes it (one-shot HMAC: a strict
    scan of thousands of hosts against a hashed file of thousands of lines computes millions)."""
    parts = _salt_and_digest(pattern)
    return parts is not None and hmac.compare_digest(hmac.digest(parts[0], name.encode(), "sha1"), parts[1])


class KnownHosts:
    """The keys of one or more OpenSSH known_hosts files (plain, hashed, wildcard and negated host
    patterns, ``[host]:port``, ``@revoked``).  ``@cert-authority`` lines are read and ignored:
    ibagent does not verify host certificates, so a CA line never makes a host trusted."""

    def __init__(self, entries: Iterable[_Entry] = (), sources: Iterable[str] = ()) -> None:
        self.entries = tuple(entries)
        self.sources = tuple(sources)
        # Plain names are looked up in a dict; only hashed, wildcard and negated patterns are tried
        # one by one (a scan builds a policy per target: 2,000 targets x 2,000 lines otherwise).
        self._by_name: dict[str, list[int]] = {}
        self._hashed: list[tuple[int, bytes, bytes]] = []  # one hashed name per line, as ssh-keygen -H writes
        self._patterned: list[int] = []
        for i, e in enumerate(self.entries):
            if e.marker:
                continue
            parts = _salt_and_digest(e.patterns[0]) if len(e.patterns) == 1 else None
            if parts is not None:
                self._hashed.append((i, *parts))
            elif any(p.startswith(("|", "!")) or "*" in p or "?" in p for p in e.patterns):
                self._patterned.append(i)
            else:
                for p in dict.fromkeys(p.lower() for p in e.patterns):
                    self._by_name.setdefault(p, []).append(i)

    @classmethod
    def parse(cls, text: str, source: str) -> "KnownHosts":
        entries = []
        for number, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            fields = line.split()
            marker = ""
            if fields[0].startswith("@"):
                marker = fields.pop(0)[1:]
                if marker not in ("revoked", "cert-authority"):
                    raise KnownHostsError(f"{source}:{number}: unknown marker @{marker}")
            if len(fields) < 3:
                raise KnownHostsError(f"{source}:{number}: expected 'hosts key-type base64-key [comment]'")
            hosts, key_type, key = fields[0], fields[1], fields[2]
            if blob_type(key) != key_type:
                raise KnownHostsError(f"{source}:{number}: the key is not a valid {key_type} public key")
            entries.append(_Entry(tuple(hosts.split(",")), key_type, key, marker, f"{source}:{number}"))
        return cls(entries, (source,))

    @classmethod
    def read(cls, paths: Iterable[str | Path]) -> "KnownHosts":
        """Every file of ``paths`` (in order); KnownHostsError names the one that cannot be read."""
        entries: list[_Entry] = []
        sources: list[str] = []
        for path in paths:
            try:
                text = Path(path).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
                raise KnownHostsError(f"known_hosts file {path}: cannot read: {reason}") from None
            part = cls.parse(text, str(path))
            entries += part.entries
            sources += part.sources
        return cls(entries, sources)

    def keys_for(self, host: str, port: int) -> list[tuple[str, str, str]]:
        """``(key_type, key, where)`` trusted for ``host:port`` (not revoked, not CA lines)."""
        name = lookup_name(host, port)
        raw = name.encode()
        hits = (self._by_name.get(name.lower(), [])
                + [i for i, salt, digest in self._hashed if hmac.digest(salt, raw, "sha1") == digest]
                + [i for i in self._patterned if self.entries[i].matches(name)])
        return [(e.key_type, e.key, e.where) for e in (self.entries[i] for i in sorted(hits))]

    def revoked(self) -> frozenset[str]:
        return frozenset(e.key for e in self.entries if e.marker == "revoked")


# ---------------------------------------------------------------------------- the policy


@dataclass(frozen=True, slots=True)
class TrustedKey:
    port: int
    key_type: str
    key: str  # base64 public key blob
    source: str  # 'the store' or the known_hosts file:line
    since: float | None = None  # first seen (store keys)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.key)

    def describe(self) -> str:
        since = f", first seen {when(self.since)}" if self.since else ""
        return f"{self.fingerprint} ({self.key_type}, {self.source}{since})"


@dataclass(frozen=True, slots=True)
class HostKeySeen:
    """What one connection was shown and what the policy made of it."""

    host: str
    port: int
    key_type: str
    key: str  # '' when the server offered no key of a trusted type
    verdict: str  # match | new | insecure (accepted); changed | unknown | revoked | no-type (refused)
    mode: str
    expected: tuple[TrustedKey, ...] = ()
    at: float = 0.0

    ACCEPTED = ("match", "new", "insecure")

    @property
    def ok(self) -> bool:
        return self.verdict in self.ACCEPTED

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.key) if self.key else ""

    def message(self) -> str:
        """Why the connection was refused: old and new fingerprints, and what to do about it."""
        where = f"{self.host}:{self.port}"
        offered = f"{self.fingerprint} ({self.key_type})"
        trusted = "; ".join(k.describe() for k in self.expected)
        safe = "no credentials were sent"
        if self.verdict == "changed":
            fix = (f"if the device's key really changed, check it and run 'ibagent hostkeys accept {self.host}'"
                   if self.mode == "tofu" else "if the device's key really changed, update the known_hosts file")
            return (f"host key of {where} changed: expected {trusted}, the server offered {offered}; {safe} "
                    f"(possible impostor; {fix})")
        if self.verdict == "no-type":
            return (f"host key of {where} changed: expected {trusted}, the server offered no key of that type; "
                    f"{safe} (possible impostor; if the device's key really changed, check it and run "
                    f"'ibagent hostkeys forget {self.host}')")
        if self.verdict == "revoked":
            return f"host key of {where} is revoked in the known_hosts file: {offered}; {safe}"
        return (f"host key of {where} is not in the known_hosts file(s) (--host-keys strict): the server offered "
                f"{offered}; {safe} (add it to the known_hosts file once checked)")


@dataclass(frozen=True, slots=True)
class HostKeyPolicy:
    """The host keys one target may present, per port, and how to judge a key it does not know."""

    mode: str = "tofu"
    trusted: tuple[TrustedKey, ...] = ()
    revoked: frozenset[str] = frozenset()
    # Told every verdict (from a collector's thread, too: list.append is enough).
    report: Callable[[HostKeySeen], None] | None = field(default=None, compare=False, repr=False)

    def expected(self, port: int) -> tuple[TrustedKey, ...]:
        return tuple(k for k in self.trusted if k.port == port)

    def key_types(self, port: int) -> tuple[str, ...]:
        """Key types to ask the server for on ``port`` (empty: any), see ``algorithms``."""
        if self.mode == "insecure":
            return ()
        return tuple(dict.fromkeys(k.key_type for k in self.expected(port)))

    def verify(self, host: str, port: int, key_type: str, key: str, *, at: float = 0.0) -> HostKeySeen:
        """Judge the key a server presented; the caller refuses the connection unless ``.ok``."""
        expected = self.expected(port)
        if self.mode == "insecure":
            verdict = "insecure"
        elif key in self.revoked:
            verdict = "revoked"
        elif any(k.key_type == key_type and k.key == key for k in expected):
            verdict = "match"
        elif expected:
            verdict = "changed"
        else:
            verdict = "new" if self.mode == "tofu" else "unknown"
        return self._tell(HostKeySeen(host, port, key_type, key, verdict, self.mode, expected, at))

    def no_common_type(self, host: str, port: int, *, at: float = 0.0) -> HostKeySeen:
        """The key exchange failed because the server has no key of the types we asked for: as
        suspicious as a changed key (an impostor with a key of another type)."""
        return self._tell(HostKeySeen(host, port, "", "", "no-type", self.mode, self.expected(port), at))

    def _tell(self, seen: HostKeySeen) -> HostKeySeen:
        if self.report is not None:
            self.report(seen)
        return seen


def policy_for(host: str, mode: str, stored: Iterable[TrustedKey], known: KnownHosts | None,
               ports: Iterable[int], report: Callable[[HostKeySeen], None] | None = None) -> HostKeyPolicy:
    """The policy of one target: ``stored`` (the store's trusted keys for this host, TOFU only)
    and the known_hosts keys for each port it will be reached on."""
    trusted: list[TrustedKey] = []
    if known is not None and mode != "insecure":
        for port in dict.fromkeys(ports):
            trusted += [TrustedKey(port, t, k, where) for t, k, where in known.keys_for(host, port)]
    if mode == "tofu":
        trusted += [k for k in stored if not any(t.port == k.port and t.key == k.key for t in trusted)]
    return HostKeyPolicy(mode, tuple(trusted), known.revoked() if known is not None else frozenset(), report)


class PolicyBook:
    """Builds each target's policy for one run (a scan, an SLP round trip) from what the store
    trusts (``Store.trusted_host_keys()``), the run's default mode and known_hosts files, and the
    target's own ``data.host_keys`` / ``data.known_hosts`` (inventory; the host's wins)."""

    def __init__(self, stored: dict[str, list[TrustedKey]], mode: str = "tofu",
                 known_hosts: Iterable[str] = ()) -> None:
        if mode not in MODES:
            raise ValueError(f"host-key mode {mode!r} is not one of {', '.join(MODES)}")
        self.stored = stored
        self.mode = mode
        self.known_hosts = tuple(str(p) for p in known_hosts)
        self._files: dict[tuple[str, ...], KnownHosts] = {}

    def mode_of(self, options: dict) -> str:
        return options.get("host_keys") or self.mode

    def files_of(self, options: dict) -> tuple[str, ...]:
        own = options.get("known_hosts") or ()
        return tuple(dict.fromkeys(self.known_hosts + ((own,) if isinstance(own, str) else tuple(own))))

    def policy(self, host: str, options: dict, ports: Iterable[int],
               report: Callable[[HostKeySeen], None] | None = None) -> HostKeyPolicy:
        """Raises KnownHostsError for a file that cannot be read, and for ``strict`` with no file."""
        mode = self.mode_of(options)
        files = self.files_of(options)
        if mode == "strict" and not files:
            raise KnownHostsError("host-key mode strict needs a known_hosts file (--known-hosts FILE or the "
                                  "inventory's data.known_hosts)")
        known = None
        if files:
            known = self._files.get(files)
            if known is None:
                known = self._files[files] = KnownHosts.read(files)
        return policy_for(host, mode, self.stored.get(host, ()), known, ports, report)
