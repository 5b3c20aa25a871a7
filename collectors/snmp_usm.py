"""SNMPv3 User-based Security Model (RFC 3414) by hand: keys, authentication, privacy.

What collectors/snmp_v3.py (the message) and collectors/snmp_v3udp.py (the exchange) call; no
I/O here.  Written against the same algorithms pysnmp uses, so an agent that talks to the pysnmp
path talks to this one (tests/test_snmp_usm.py checks each piece against pysnmp's own code):

- password to key (RFC 3414 A.2): the password repeated to 1 MiB, hashed; localised to an agent
  as H(Ku | engineID | Ku).  The 1 MiB hash is the expensive part (~2 ms): ``Ku`` is cached per
  (password, hash), the localised key per (password, protocol, engineID), so a fleet sharing one
  credential pays the expansion once (a key extension below pays it once per engineID).
- authentication: HMAC-MD5-96, HMAC-SHA-96 (RFC 3414) and HMAC-SHA-2 (RFC 7860: SHA-224/256/
  384/512 truncated to 16/24/32/48 octets), over the whole message with the digest field zeroed.
- privacy: AES-128-CFB (RFC 3826: IV = boots | time | 64-bit salt), AES-192/256-CFB with the
  key extension pysnmp's ``usmAesCfb192/256Protocol`` use (Reeder: each further block is the
  previous localised key put through password-to-key and localised again; what Cisco does) or,
  as ``AES192BLMT`` / ``AES256BLMT`` (snmpsim's names), draft-blumenthal-aes-usm-04's (each
  further block is the hash of the key so far),
  DES-CBC (RFC 3414 8: IV = salt XOR pre-IV, salt = boots | counter) and 3DES-EDE-CBC
  (draft-reeder-snmpv3-usm-3desede, same extension), all through ``cryptography``; TripleDES
  comes from its ``decrepit`` module where the release has moved it there.

Secrets: a password is an ``agent.core.secret.Secret`` until :func:`localized` (the only
``reveal``); the keys derived from it live in :class:`LocalKeys`, whose repr shows protocols only,
and the caches are keyed by a salted digest of the password, never the password itself.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import OrderedDict

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from agent.core.secret import reveal

try:  # cryptography >= 43 keeps TripleDES (and so DES as K1=K2=K3) in its "decrepit" module
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
except ImportError:  # older releases: still in the main algorithms module
    TripleDES = algorithms.TripleDES
try:  # and CFB mode since 47 (RFC 3826 AES is CFB-128: nothing else will do)
    from cryptography.hazmat.decrepit.ciphers.modes import CFB
except ImportError:
    CFB = modes.CFB

# name -> (hashlib name, digest truncation in octets)
AUTH = {"MD5": ("md5", 12), "SHA": ("sha1", 12), "SHA1": ("sha1", 12), "SHA224": ("sha224", 16),
        "SHA256": ("sha256", 24), "SHA384": ("sha384", 32), "SHA512": ("sha512", 48)}
# name -> (cipher family, localised key octets needed, how a too-short localised key is extended)
PRIV = {"AES": ("aes", 16, None), "AES128": ("aes", 16, None), "AES192": ("aes", 24, "reeder"),
        "AES256": ("aes", 32, "reeder"), "AES192BLMT": ("aes", 24, "blumenthal"),
        "AES256BLMT": ("aes", 32, "blumenthal"), "DES": ("des", 16, None), "3DES": ("3des", 32, "reeder")}

NO_AUTH, AUTH_FLAG, PRIV_FLAG, REPORTABLE = 0, 1, 2, 4
MAX_SALT = 0xFFFF_FFFF_FFFF_FFFF
ONE_MIB = 1_048_576
_CACHE_SIZE = 4096

_TAG_SALT = secrets.token_bytes(16)  # per process: the cache keys say nothing about a password
_KU: OrderedDict = OrderedDict()
_LOCAL: OrderedDict = OrderedDict()
stats = {"expansions": 0}  # password-to-key runs (the 1 MiB hash): what the cache saves, tested


class UsmError(ValueError):
    """An answer's security parameters do not hold (digest, padding, lengths): the reason says which."""


def _remember(cache: OrderedDict, key, value):
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > _CACHE_SIZE:
        cache.popitem(last=False)
    return value


def password_to_key(password: bytes, hash_name: str) -> bytes:
    """RFC 3414 A.2: the password repeated to 1 MiB, hashed (no cache: see :func:`localized`)."""
    if not password:
        raise ValueError("an SNMPv3 password is not empty")
    stats["expansions"] += 1
    repeated = password * (ONE_MIB // len(password) + 1)
    return hashlib.new(hash_name, repeated[:ONE_MIB]).digest()


def localize(ku: bytes, engine_id: bytes, hash_name: str) -> bytes:
    return hashlib.new(hash_name, ku + engine_id + ku).digest()


def _ku(tag: bytes, password: bytes, hash_name: str) -> bytes:
    found = _KU.get((tag, hash_name))
    if found is not None:
        _KU.move_to_end((tag, hash_name))
        return found
    return _remember(_KU, (tag, hash_name), password_to_key(password, hash_name))


def _local_key(password_secret, hash_name: str, engine_id: bytes, size: int = 0, extension: str | None = None) -> bytes:
    """The key localised to ``engine_id``, extended to ``size`` octets when the hash is shorter: Reeder
    (password-to-key and localise the key so far, again) or Blumenthal (hash the key so far)."""
    password = reveal(password_secret).encode("utf-8")  # the one place a v3 password is revealed
    tag = hmac.new(_TAG_SALT, password, "sha256").digest()
    cache_key = (tag, hash_name, engine_id, size, extension)
    found = _LOCAL.get(cache_key)
    if found is not None:
        _LOCAL.move_to_end(cache_key)
        return found
    key = localize(_ku(tag, password, hash_name), engine_id, hash_name)
    while len(key) < size:
        if extension == "blumenthal":
            key += hashlib.new(hash_name, key).digest()
        else:
            key += localize(password_to_key(key, hash_name), engine_id, hash_name)
    return _remember(_LOCAL, cache_key, key[:size] if size else key)


class Credentials:
    """A v3 user and its protocols; the passwords stay Secrets until :meth:`localized`."""

    __slots__ = ("user", "auth_name", "priv_name", "_auth_password", "_priv_password")

    def __init__(self, user: str, auth_name: str | None = None, auth_password=None, priv_name: str | None = None,
                 priv_password=None) -> None:
        if auth_password and auth_name not in AUTH:
            raise ValueError(f"authentication protocol {auth_name!r} unknown")
        if priv_password and (priv_name not in PRIV or not auth_password):
            raise ValueError(f"privacy protocol {priv_name!r} unknown or without authentication")
        self.user = user.encode("utf-8")
        if len(self.user) > 32:
            raise ValueError("an SNMPv3 user name is at most 32 octets")
        self.auth_name = auth_name if auth_password else None
        self.priv_name = priv_name if priv_password else None
        self._auth_password, self._priv_password = auth_password or None, priv_password or None

    @property
    def flags(self) -> int:
        return (AUTH_FLAG if self.auth_name else 0) | (PRIV_FLAG if self.priv_name else 0)

    def __repr__(self) -> str:
        return f"Credentials(user={self.user!r}, auth={self.auth_name}, priv={self.priv_name})"

    def localized(self, engine_id: bytes) -> LocalKeys:
        if not self.auth_name:
            return LocalKeys(None, 0, b"", None, b"")
        hash_name, digest_size = AUTH[self.auth_name]
        auth_key = _local_key(self._auth_password, hash_name, engine_id)
        priv_key = b""
        family = None
        if self.priv_name:
            family, size, extension = PRIV[self.priv_name]
            priv_key = _local_key(self._priv_password, hash_name, engine_id, size, extension)
        return LocalKeys(hash_name, digest_size, auth_key, family, priv_key)


_SALT = [secrets.randbits(64)]  # pysnmp too starts its salt counter at a random value


def _next_salt() -> int:
    value = _SALT[0]
    _SALT[0] = (value + 1) & MAX_SALT
    return value


class LocalKeys:
    """Keys localised to one agent: sign / verify a message, encrypt / decrypt a scoped PDU."""

    __slots__ = ("hash_name", "digest_size", "_auth", "family", "_priv")

    def __init__(self, hash_name, digest_size: int, auth_key: bytes, family, priv_key: bytes) -> None:
        self.hash_name, self.digest_size, self._auth = hash_name, digest_size, auth_key
        self.family, self._priv = family, priv_key

    def __repr__(self) -> str:
        return f"LocalKeys(auth={self.hash_name}, priv={self.family})"

    # ---------------------------------------------------------------- authentication

    def digest(self, whole_message: bytes) -> bytes:
        """The truncated HMAC of a message whose authentication field holds ``digest_size`` zeros."""
        return hmac.new(self._auth, whole_message, self.hash_name).digest()[: self.digest_size]

    def verify(self, whole_message: bytes, start: int, stop: int) -> None:
        """Check the digest at whole_message[start:stop] (UsmError if it is not the message's)."""
        if stop - start != self.digest_size:
            raise UsmError(f"authentication parameter of {stop - start} octets, not {self.digest_size}")
        zeroed = whole_message[:start] + bytes(self.digest_size) + whole_message[stop:]
        if not hmac.compare_digest(self.digest(zeroed), whole_message[start:stop]):
            raise UsmError("wrong digest")

    # ---------------------------------------------------------------- privacy

    def _cipher(self, boots: int, time: int, salt: bytes) -> Cipher:
        key = self._priv
        if self.family == "aes":
            iv = boots.to_bytes(4, "big") + time.to_bytes(4, "big") + salt
            return Cipher(algorithms.AES(key), CFB(iv))
        if self.family == "des":
            iv = bytes(a ^ b for a, b in zip(salt, key[8:16]))
            return Cipher(TripleDES(key[:8] * 3), modes.CBC(iv))  # DES is 3DES with K1 = K2 = K3
        iv = bytes(a ^ b for a, b in zip(salt, key[24:32]))
        return Cipher(TripleDES(key[:24]), modes.CBC(iv))

    def encrypt(self, scoped_pdu: bytes, boots: int, time: int) -> tuple[bytes, bytes]:
        """(encryptedPDU, msgPrivacyParameters) for our request to an agent at (boots, time)."""
        if self.family == "aes":
            salt = _next_salt().to_bytes(8, "big")
            data = scoped_pdu
        else:  # DES-CBC family: salt = the agent's boots | a 32-bit counter; zero padding to 8
            salt = boots.to_bytes(4, "big") + (_next_salt() & 0xFFFF_FFFF).to_bytes(4, "big")
            data = scoped_pdu + bytes(-len(scoped_pdu) % 8)
        encryptor = self._cipher(boots, time, salt).encryptor()
        return encryptor.update(data) + encryptor.finalize(), salt

    def decrypt(self, data: bytes, salt: bytes, boots: int, time: int) -> bytes:
        """The plaintext scoped PDU (DES: with its padding) of an agent's answer."""
        if len(salt) != 8:
            raise UsmError(f"privacy parameter of {len(salt)} octets, not 8")
        if self.family != "aes" and len(data) % 8:
            raise UsmError("encrypted PDU not a multiple of the DES block")
        decryptor = self._cipher(boots, time, salt).decryptor()
        return decryptor.update(data) + decryptor.finalize()
