"""Signing keys for site bundles: one Ed25519 key per site (or agent), its public half handed to
the central side once, out of band, and trusted from then on.

Why Ed25519 through ``cryptography``: a signature is 64 bytes, a public key 32, verification
needs no parameters to get wrong, and ``cryptography`` is already here (asyncssh needs it).  Keys
are stored as PEM (PKCS#8 private, SubjectPublicKeyInfo public), which ``openssl pkey`` reads,
so a security team can inspect them with the tools they already trust.

A key is named by its *key id*: the first 16 hex digits of the sha256 of the raw 32-byte public
key.  The id travels in the bundle's manifest so the reader picks the right trusted key, and it
is what people compare on the phone when a key is handed over.

The private key file must be readable by its owner only (as OpenSSH insists for its keys): a
signing key others can read signs for anyone.
"""
from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from agent.core.untrusted import InputError, read_capped

# A PEM Ed25519 key is ~120 bytes; anything much larger is not one.
KEY_FILE_MAX = 16 * 1024
# A trust directory is a handful of sites; thousands of files is a wrong directory.
TRUSTED_MAX = 10_000
PUBLIC_SUFFIX = ".pub"


class SigningKeyError(ValueError):
    """A key file refused or unusable; the message names the file and says why."""


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def generate_key(path: str | Path) -> tuple[Path, Path, str]:
    """Write a new private key to ``path`` (mode 0600, never over an existing file) and its public
    half beside it as ``path.pub``; return both paths and the key id."""
    path = Path(path)
    pub_path = path.with_name(path.name + PUBLIC_SUFFIX)
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    for target in (path, pub_path):
        if target.exists():
            raise SigningKeyError(f"{target}: already exists; not overwritten (a site key is replaced on purpose, "
                                  "by removing the old one first)")
    try:
        # O_EXCL: two keygens racing cannot both write; 0600 from the first byte, not after a chmod.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(private)
        fd = os.open(pub_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(public_pem(key.public_key()))
    except OSError as exc:
        raise SigningKeyError(f"{exc.filename or path}: cannot write the key: {exc.strerror}") from None
    return path, pub_path, key_id(key.public_key())


def _key_bytes(path: Path, what: str) -> bytes:
    """The bytes of a key file, bounded; any failure a SigningKeyError naming the file."""
    try:
        return read_capped(path, KEY_FILE_MAX, "key file")
    except OSError as exc:
        raise SigningKeyError(f"{path}: cannot read the {what}: {exc.strerror}") from None
    except InputError as exc:
        raise SigningKeyError(f"{path}: {exc}") from None


def load_private_key(path: str | Path) -> Ed25519PrivateKey:
    path = Path(path)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as exc:
        raise SigningKeyError(f"{path}: cannot read the signing key: {exc.strerror}") from None
    if mode & 0o077:
        raise SigningKeyError(f"{path}: the signing key can be read by others (mode {mode:04o}); run: chmod 600 {path}")
    data = _key_bytes(path, "signing key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        # The library's message may quote the file; ours names it and says what was expected.
        raise SigningKeyError(f"{path}: not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path}: a {type(key).__name__.removeprefix('_')} key; bundles are signed with Ed25519 "
                              "(ibagent keygen makes one)")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    data = _key_bytes(path, "public key")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise SigningKeyError(f"{path}: not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(f"{path}: not an Ed25519 public key")
    return key


@dataclass(frozen=True)
class TrustedKeys:
    """The public keys the central side accepts bundles from, by key id, with the file each came
    from (named in messages, so a refusal says which key was tried)."""
    keys: dict[str, Ed25519PublicKey]
    sources: dict[str, Path]

    def get(self, kid: str) -> Ed25519PublicKey | None:
        return self.keys.get(kid)

    def describe(self) -> str:
        if not self.keys:
            return "no key is trusted"
        return "trusted: " + ", ".join(f"{kid} ({self.sources[kid].name})" for kid in sorted(self.keys))


def load_trusted_keys(*paths: str | Path) -> TrustedKeys:
    """Public keys from files and directories (every ``*.pub`` in a directory).  Two files
    holding the same key are one key; a file that is not an Ed25519 public key is refused, naming
    it, rather than skipped: a trust list that silently drops an entry fails later, and obscurely."""
    keys: dict[str, Ed25519PublicKey] = {}
    sources: dict[str, Path] = {}
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(sorted(q for q in p.iterdir() if q.name.endswith(PUBLIC_SUFFIX) and q.is_file()))
        else:
            files.append(p)
        if len(files) > TRUSTED_MAX:
            raise SigningKeyError(f"{p}: more than {TRUSTED_MAX:,} public keys; not a trust directory")
    for f in files:
        key = load_public_key(f)
        kid = key_id(key)
        keys.setdefault(kid, key)
        sources.setdefault(kid, f)
    return TrustedKeys(keys, sources)
