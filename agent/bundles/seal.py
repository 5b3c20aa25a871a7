"""The sealed bundle file: a signed manifest, then the members it lists, nothing else.

Layout (all of it; there are no other headers)::

    b"IBAGENT-BUNDLE 1\\n"                 magic and format version
    8 bytes                               the signing key's id (16 hex digits, as raw bytes)
    4 bytes, big-endian                   length of the manifest (at most MANIFEST_MAX)
    manifest                              UTF-8 JSON: key id, meta, and per member name/size/sha256
    64 bytes                              Ed25519 signature over magic + key id + manifest
    member bytes                          each member's bytes, in manifest order, back to back

Why not tar or zip: a reader of an untrusted archive has to parse its headers (pax records,
long names, sizes, links) before it can know whether the file is genuine, and Python's
``tarfile`` reads a pax header of any announced size into memory.  Here the only bytes read
before the signature is checked are a key id (which picks the trusted key to check with) and a
4-byte length; after it, every byte is covered by the
signature (manifest) or by a sha256 the signature covers (members), and the file's size must be
exactly what the manifest adds up to, so truncation, appended data, swapped or reordered members
are all refused before a member is handed on.  ``ibagent bundle show`` lists a bundle for people.

Writing is atomic: members are spooled to a temporary file beside the output, and the finished
bundle is renamed into place only once complete and flushed, so a full disk or a Ctrl-C never
leaves a half bundle under the final name.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import struct
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.bundles.keys import TrustedKeys, key_id
from agent.core.untrusted import InputError, loads_json

MAGIC = b"IBAGENT-BUNDLE 1\n"
FORMAT = "ibagent-bundle"
VERSION = 1
SIGNATURE_LEN = 64
MANIFEST_MAX = 16 << 20
MEMBERS_MAX = 200_000
# One member is read whole into memory to be verified before it is handed on; exporters cut
# their data into members well under this.
MEMBER_MAX = 256 << 20
# A member name is a path-like label, never used as a file name on import.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,199}\Z")
_SHA256 = re.compile(r"[0-9a-f]{64}\Z")
_COPY_CHUNK = 1 << 20


class BundleError(ValueError):
    """A bundle refused (unsigned, untrusted key, tampered, truncated, malformed) or not
    writable; the message names the file and the reason."""


@dataclass(frozen=True)
class Member:
    name: str
    size: int
    sha256: str


def _signed_bytes(kid: bytes, manifest: bytes) -> bytes:
    # The magic and key id are signed too: a manifest cannot be lifted into another format's
    # container, nor presented under another key's id.
    return MAGIC + kid + manifest


HEADER_LEN = len(MAGIC) + 8 + 4


class BundleWriter:
    """``with BundleWriter(out, key, meta) as w: w.add(name, data)``: the bundle appears at
    ``out`` when the block ends without an exception, and not at all otherwise."""

    def __init__(self, out: str | Path, key: Ed25519PrivateKey, meta: dict[str, Any]):
        self.out = Path(out)
        self.key = key
        self.meta = dict(meta)
        self.members: list[Member] = []
        self._names: set[str] = set()
        self._spool: BinaryIO | None = None

    def __enter__(self) -> "BundleWriter":
        try:
            self._spool = tempfile.TemporaryFile(dir=self.out.parent or ".", prefix=".bundle-spool-")
        except OSError as exc:
            raise BundleError(f"{self.out}: cannot write beside it: {exc.strerror}") from None
        return self

    def add(self, name: str, data: bytes) -> None:
        if not _NAME.match(name):
            raise ValueError(f"bundle member name {name!r} is not a plain label")
        if name in self._names:
            raise ValueError(f"bundle member {name!r} added twice")
        if len(data) > MEMBER_MAX:
            raise ValueError(f"bundle member {name!r} is {len(data):,} bytes; members are cut at {MEMBER_MAX:,}")
        if len(self.members) >= MEMBERS_MAX:
            raise ValueError(f"more than {MEMBERS_MAX:,} bundle members")
        assert self._spool is not None, "add() outside the with block"
        try:
            self._spool.write(data)
        except OSError as exc:
            raise BundleError(f"{self.out}: cannot spool the bundle: {exc.strerror}") from None
        self._names.add(name)
        self.members.append(Member(name, len(data), hashlib.sha256(data).hexdigest()))

    def manifest_bytes(self) -> bytes:
        doc = {
            "format": FORMAT, "version": VERSION,
            "key_id": key_id(self.key.public_key()),
            "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "meta": self.meta,
            "members": [{"name": m.name, "size": m.size, "sha256": m.sha256} for m in self.members],
        }
        return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    def __exit__(self, exc_type, exc, tb) -> None:
        spool, self._spool = self._spool, None
        try:
            if exc_type is None:
                assert spool is not None
                self._finish(spool)
        finally:
            if spool is not None:
                spool.close()

    def _finish(self, spool: BinaryIO) -> None:
        manifest = self.manifest_bytes()
        if len(manifest) > MANIFEST_MAX:
            raise BundleError(f"{self.out}: the manifest would be {len(manifest):,} bytes (limit {MANIFEST_MAX:,}); "
                              "export fewer scans per bundle (--since)")
        kid = bytes.fromhex(key_id(self.key.public_key()))
        signature = self.key.sign(_signed_bytes(kid, manifest))
        fd, tmp = tempfile.mkstemp(dir=self.out.parent or ".", prefix=f".{self.out.name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(MAGIC + kid + struct.pack(">I", len(manifest)) + manifest + signature)
                spool.seek(0)
                while chunk := spool.read(_COPY_CHUNK):
                    fh.write(chunk)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.out)
        except OSError as exc:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise BundleError(f"{self.out}: cannot write the bundle: {exc.strerror}") from None


class BundleReader:
    """A bundle whose signature and shape have been checked (``open_bundle``); its members are
    verified one by one as they are read.  Use as a context manager, or call ``close``."""

    def __init__(self, path: Path, fh: BinaryIO, manifest: dict[str, Any], members: list[Member],
                 data_offset: int, signer: str):
        self.path = path
        self._fh = fh
        self.manifest = manifest
        self.members = members
        self._data_offset = data_offset
        self.key_id = signer

    @property
    def meta(self) -> dict[str, Any]:
        return self.manifest["meta"]

    @property
    def created(self) -> str:
        return self.manifest["created"]

    def __enter__(self) -> "BundleReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._fh.close()

    def read(self) -> Iterator[tuple[str, bytes]]:
        """Each member's bytes, in manifest order, each only after its sha256 matched.  A
        mismatch raises BundleError naming the member; the caller merges in one transaction, so
        a member found bad halfway leaves nothing merged."""
        self._fh.seek(self._data_offset)
        for m in self.members:
            data = self._fh.read(m.size)
            if len(data) != m.size:
                raise BundleError(f"{self.path}: truncated in member {m.name} (the file changed while it was read)")
            if hashlib.sha256(data).hexdigest() != m.sha256:
                raise BundleError(f"{self.path}: member {m.name} does not match its signed sha256: "
                                  "the bundle was altered after it was sealed; nothing imported")
            yield m.name, data

    def verify(self) -> None:
        """Read every member and check its sum, keeping nothing (``ibagent bundle verify``)."""
        for _ in self.read():
            pass


def open_bundle(path: str | Path, trusted: TrustedKeys) -> BundleReader:
    """Open ``path`` and check, in this order, before returning: the magic, the manifest length,
    the signature with the key its manifest names (which must be trusted), the manifest's shape,
    and that the file is exactly as long as the manifest says.  Anything else: BundleError."""
    path = Path(path)
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise BundleError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        reader = _open(path, fh, trusted)
    except BaseException:
        fh.close()
        raise
    return reader


def _open(path: Path, fh: BinaryIO, trusted: TrustedKeys) -> BundleReader:
    size = os.fstat(fh.fileno()).st_size
    head = fh.read(HEADER_LEN)
    if not head.startswith(MAGIC):
        if MAGIC.startswith(head):
            raise BundleError(f"{path}: truncated before its manifest ({size:,} bytes)")
        if head.startswith(b"IBAGENT-BUNDLE "):
            other = head[len(b"IBAGENT-BUNDLE "):].split(b"\n")[0]
            raise BundleError(f"{path}: a bundle of another format version ({other!r}); "
                              f"this ibagent reads version {VERSION}")
        raise BundleError(f"{path}: not an ibagent bundle (it does not start with {MAGIC[:-1].decode()!r})")
    if len(head) < HEADER_LEN:
        raise BundleError(f"{path}: truncated before its manifest ({size:,} bytes)")
    kid_raw = head[len(MAGIC):len(MAGIC) + 8]
    (mlen,) = struct.unpack(">I", head[len(MAGIC) + 8:])
    if mlen > MANIFEST_MAX:
        raise BundleError(f"{path}: announces a {mlen:,}-byte manifest (limit {MANIFEST_MAX:,}); refused unread")
    manifest_raw = fh.read(mlen)
    signature = fh.read(SIGNATURE_LEN)
    if len(manifest_raw) != mlen or len(signature) != SIGNATURE_LEN:
        raise BundleError(f"{path}: truncated in its manifest or signature")
    if signature == bytes(SIGNATURE_LEN):
        raise BundleError(f"{path}: unsigned (its signature is empty); nothing imported")
    kid = kid_raw.hex()
    public = trusted.get(kid)
    if public is None:
        raise BundleError(f"{path}: signed with key {kid}, which is not trusted here ({trusted.describe()}); "
                          "add the site's public key with --trust")
    try:
        public.verify(signature, _signed_bytes(kid_raw, manifest_raw))
    except InvalidSignature:
        raise BundleError(f"{path}: the signature does not match the manifest (key {kid}): the bundle was "
                          "altered after it was sealed, or signed by another key; nothing imported") from None
    manifest = _manifest(path, manifest_raw)
    if manifest.get("key_id") != kid:
        raise BundleError(f"{path}: the signed manifest names key {manifest.get('key_id')!r}, not {kid}")
    members = manifest_members(path, manifest)
    data_offset = HEADER_LEN + mlen + SIGNATURE_LEN
    expected = data_offset + sum(m.size for m in members)
    if size != expected:
        how = "truncated" if size < expected else "longer than its manifest says (data appended)"
        raise BundleError(f"{path}: {how}: {size:,} bytes where the signed manifest adds up to {expected:,}")
    return BundleReader(path, fh, manifest, members, data_offset, kid)


def _manifest(path: Path, raw: bytes) -> dict[str, Any]:
    try:
        doc = loads_json(raw, "bundle manifest")
    except (InputError, ValueError) as exc:
        # Signed but unreadable: a writer bug or a foreign tool with a trusted key; say so.
        raise BundleError(f"{path}: the manifest is signed but not readable JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("version") != VERSION:
        raise BundleError(f"{path}: the manifest is not an {FORMAT} version {VERSION} manifest")
    if not isinstance(doc.get("meta"), dict) or not isinstance(doc.get("created"), str):
        raise BundleError(f"{path}: the manifest has no meta or creation time")
    return doc


def manifest_members(path: Path, doc: dict[str, Any]) -> list[Member]:
    raw = doc.get("members")
    if not isinstance(raw, list) or len(raw) > MEMBERS_MAX:
        raise BundleError(f"{path}: the manifest's member list is missing or longer than {MEMBERS_MAX:,}")
    members: list[Member] = []
    seen: set[str] = set()
    for i, m in enumerate(raw, 1):
        ok = (isinstance(m, dict) and isinstance(m.get("name"), str) and _NAME.match(m["name"])
              and type(m.get("size")) is int and 0 <= m["size"] <= MEMBER_MAX
              and isinstance(m.get("sha256"), str) and _SHA256.match(m["sha256"]))
        if not ok:
            raise BundleError(f"{path}: manifest member {i} is malformed")
        if m["name"] in seen:
            raise BundleError(f"{path}: manifest lists member {m['name']} twice")
        seen.add(m["name"])
        members.append(Member(m["name"], m["size"], m["sha256"]))
    return members
