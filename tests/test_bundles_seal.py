"""Sealed bundles: what comes out is exactly what the holder of a trusted key put in, or a refusal
that names the file and the reason (agent/bundles)."""
from __future__ import annotations

import hashlib
import json
import os
import struct

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.bundles import (
    BundleError, BundleWriter, SigningKeyError, generate_key, key_id, load_private_key, load_trusted_keys, open_bundle,
)
from agent.bundles import seal

MEMBERS = [("scans.jsonl", b'{"scan": 1}\n'), ("captures/0001", bytes(range(256)) * 40), ("empty", b"")]


@pytest.fixture()
def site_key(tmp_path):
    priv, pub, kid = generate_key(tmp_path / "site-a.key")
    return load_private_key(priv), pub, kid


def _write(path, key, members=MEMBERS, meta=None):
    with BundleWriter(path, key, meta or {"site": "berlin", "agent": "a1"}) as w:
        for name, data in members:
            w.add(name, data)
    return path


def test_round_trip_gives_back_every_member_and_the_meta(tmp_path, site_key):
    key, pub, kid = site_key
    out = _write(tmp_path / "b.ibb", key)
    with open_bundle(out, load_trusted_keys(pub)) as b:
        assert b.key_id == kid == key_id(key.public_key())
        assert b.meta == {"site": "berlin", "agent": "a1"}
        assert [m.name for m in b.members] == [n for n, _ in MEMBERS]
        assert list(b.read()) == MEMBERS
        b.verify()  # a second pass reads the same bytes again


def test_a_key_not_trusted_is_refused_naming_both_keys(tmp_path, site_key):
    key, _, kid = site_key
    out = _write(tmp_path / "b.ibb", key)
    _, other_pub, other_kid = generate_key(tmp_path / "central-other.key")
    with pytest.raises(BundleError) as e:
        open_bundle(out, load_trusted_keys(other_pub))
    msg = str(e.value)
    assert str(out) in msg and kid in msg and other_kid in msg and "not trusted" in msg
    with pytest.raises(BundleError, match="no key is trusted"):
        open_bundle(out, load_trusted_keys())


def test_unsigned_bundle_is_refused(tmp_path, site_key):
    key, pub, _ = site_key
    out = _write(tmp_path / "b.ibb", key)
    raw = bytearray(out.read_bytes())
    head, mlen = _offsets(raw)
    start = head + mlen
    raw[start:start + 64] = bytes(64)
    out.write_bytes(bytes(raw))
    with pytest.raises(BundleError, match="unsigned"):
        open_bundle(out, load_trusted_keys(pub))


def _offsets(raw: bytes):
    """Where the manifest starts, and its length."""
    mlen = struct.unpack(">I", raw[seal.HEADER_LEN - 4:seal.HEADER_LEN])[0]
    return seal.HEADER_LEN, mlen


def test_an_edited_manifest_fails_the_signature(tmp_path, site_key):
    key, pub, _ = site_key
    out = _write(tmp_path / "b.ibb", key)
    raw = out.read_bytes()
    start, mlen = _offsets(raw)
    manifest = raw[start:start + mlen]
    edited = manifest.replace(b"berlin", b"berlix")
    assert edited != manifest and len(edited) == len(manifest)
    out.write_bytes(raw[:start] + edited + raw[start + mlen:])
    with pytest.raises(BundleError, match="signature does not match"):
        open_bundle(out, load_trusted_keys(pub))


def test_an_altered_member_is_refused_by_name_before_it_is_handed_on(tmp_path, site_key):
    key, pub, _ = site_key
    out = _write(tmp_path / "b.ibb", key)
    raw = bytearray(out.read_bytes())
    raw[-200] ^= 0x01  # inside captures/0001 (the last member is empty)
    out.write_bytes(bytes(raw))
    got = []
    with open_bundle(out, load_trusted_keys(pub)) as b, pytest.raises(BundleError, match="member captures/0001"):
        for name, _data in b.read():
            got.append(name)
    assert got == ["scans.jsonl"]


def test_swapped_members_of_equal_size_are_refused(tmp_path, site_key):
    key, pub, _ = site_key
    out = _write(tmp_path / "b.ibb", key, members=[("a", b"A" * 10), ("b", b"B" * 10)])
    raw = out.read_bytes()
    out.write_bytes(raw[:-20] + b"B" * 10 + b"A" * 10)
    with open_bundle(out, load_trusted_keys(pub)) as b, pytest.raises(BundleError, match="member a "):
        b.verify()


@pytest.mark.parametrize("change, reason", [
    (lambda raw: raw[:-1], "truncated"),
    (lambda raw: raw + b"x", "longer than its manifest says"),
    (lambda raw: raw[:10], "truncated before its manifest"),
    (lambda raw: raw[:len(seal.MAGIC) + 3], "truncated before its manifest"),
    (lambda raw: b"PK\x03\x04" + raw, "not an ibagent bundle"),
    (lambda raw: raw.replace(b"IBAGENT-BUNDLE 1", b"IBAGENT-BUNDLE 9", 1), "another format version"),
    (lambda raw: raw[:seal.HEADER_LEN - 4] + struct.pack(">I", 0xFFFFFFF0) + raw[seal.HEADER_LEN:], "refused unread"),
])
def test_damaged_files_are_refused_with_the_reason(tmp_path, site_key, change, reason):
    key, pub, _ = site_key
    out = _write(tmp_path / "b.ibb", key)
    out.write_bytes(change(out.read_bytes()))
    with pytest.raises(BundleError) as e:
        open_bundle(out, load_trusted_keys(pub)).verify()
    assert reason in str(e.value) and str(out) in str(e.value)


def _resigned(path, key, edit):
    """A bundle whose manifest was edited and signed again with the trusted key: only the
    manifest checks can refuse it."""
    raw = path.read_bytes()
    start, mlen = _offsets(raw)
    doc = json.loads(raw[start:start + mlen])
    edit(doc)
    manifest = json.dumps(doc).encode()
    kid = raw[len(seal.MAGIC):len(seal.MAGIC) + 8]
    sig = key.sign(seal.MAGIC + kid + manifest)
    path.write_bytes(raw[:start - 4] + struct.pack(">I", len(manifest)) + manifest + sig + raw[start + mlen + 64:])


@pytest.mark.parametrize("edit, reason", [
    (lambda d: d["members"][0].update(name="../../etc/passwd"), "member 1 is malformed"),
    (lambda d: d["members"][0].update(size=-1), "member 1 is malformed"),
    (lambda d: d["members"][1].update(sha256="X" * 64), "member 2 is malformed"),
    (lambda d: d["members"].append(dict(d["members"][0])), "twice"),
    (lambda d: d.update(version=2), "not an ibagent-bundle version 1 manifest"),
    (lambda d: d.pop("meta"), "no meta"),
])
def test_a_signed_but_malformed_manifest_is_refused(tmp_path, site_key, edit, reason):
    key, pub, _ = site_key
    out = _write(tmp_path / "b.ibb", key)
    _resigned(out, key, edit)
    with pytest.raises(BundleError, match=reason):
        open_bundle(out, load_trusted_keys(pub))


def test_an_exception_while_writing_leaves_no_file(tmp_path, site_key):
    key, _, _ = site_key
    out = tmp_path / "b.ibb"
    with pytest.raises(RuntimeError):
        with BundleWriter(out, key, {}) as w:
            w.add("a", b"data")
            raise RuntimeError("interrupted")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site-a.key", "site-a.key.pub"]


def test_member_names_are_labels_and_unique(tmp_path, site_key):
    key, _, _ = site_key
    with BundleWriter(tmp_path / "b.ibb", key, {}) as w:
        for bad in ("../x", "/abs", "", "a\nb"):
            with pytest.raises(ValueError):
                w.add(bad, b"")
        w.add("ok", b"")
        with pytest.raises(ValueError, match="twice"):
            w.add("ok", b"")


def test_signing_key_must_be_private_to_its_owner(tmp_path, site_key):
    priv = tmp_path / "site-a.key"
    os.chmod(priv, 0o640)
    with pytest.raises(SigningKeyError, match="chmod 600"):
        load_private_key(priv)
    os.chmod(priv, 0o600)
    load_private_key(priv)


def test_keygen_never_overwrites_and_writes_0600(tmp_path, site_key):
    priv = tmp_path / "site-a.key"
    before = priv.read_bytes()
    with pytest.raises(SigningKeyError, match="already exists"):
        generate_key(priv)
    assert priv.read_bytes() == before
    assert (priv.stat().st_mode & 0o777) == 0o600


def test_keys_of_other_kinds_are_refused_naming_the_file(tmp_path):
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    p = tmp_path / "rsa.key"
    p.write_bytes(rsa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()))
    os.chmod(p, 0o600)
    with pytest.raises(SigningKeyError, match="Ed25519"):
        load_private_key(p)
    trust = tmp_path / "trust"
    trust.mkdir()
    (trust / "rsa.pub").write_bytes(rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    with pytest.raises(SigningKeyError, match="rsa.pub: not an Ed25519"):
        load_trusted_keys(trust)
    (trust / "rsa.pub").write_text("garbage")
    with pytest.raises(SigningKeyError, match="rsa.pub: not a PEM public key"):
        load_trusted_keys(trust)


def test_trust_directory_loads_every_pub_and_dedups(tmp_path):
    trust = tmp_path / "trust"
    trust.mkdir()
    kids = {generate_key(trust / f"site{i}.key")[2] for i in range(3)}
    (trust / "copy.pub").write_bytes((trust / "site0.key.pub").read_bytes())
    (trust / "notes.txt").write_text("not a key, not read")
    keys = load_trusted_keys(trust)
    assert set(keys.keys) == kids


def test_the_manifest_records_each_members_sum(tmp_path, site_key):
    key, pub, _ = site_key
    out = _write(tmp_path / "b.ibb", key)
    with open_bundle(out, load_trusted_keys(pub)) as b:
        sums = {m.name: m.sha256 for m in b.members}
    assert sums == {n: hashlib.sha256(d).hexdigest() for n, d in MEMBERS}


def test_signed_by_a_trusted_key_but_naming_another_is_refused(tmp_path, site_key):
    key, pub, kid = site_key
    out = _write(tmp_path / "b.ibb", key)
    other = Ed25519PrivateKey.generate()
    # A manifest naming the trusted key id but signed by another key fails the signature.
    _resigned(out, other, lambda d: None)
    with pytest.raises(BundleError, match="signature does not match"):
        open_bundle(out, load_trusted_keys(pub))


def test_the_key_id_in_the_header_is_signed(tmp_path, site_key):
    """Presenting a bundle under another trusted key's id fails: the id is part of what is signed."""
    key, pub, _ = site_key
    out = _write(tmp_path / "b.ibb", key)
    other_priv, other_pub, other_kid = generate_key(tmp_path / "other.key")
    raw = out.read_bytes()
    at = len(seal.MAGIC)
    out.write_bytes(raw[:at] + bytes.fromhex(other_kid) + raw[at + 8:])
    with pytest.raises(BundleError, match=f"signature does not match the manifest \\(key {other_kid}\\)"):
        open_bundle(out, load_trusted_keys(pub, other_pub))


def test_a_manifest_naming_another_key_than_its_header_is_refused(tmp_path, site_key):
    key, pub, kid = site_key
    out = _write(tmp_path / "b.ibb", key)
    _resigned(out, key, lambda d: d.update(key_id="0" * 16))
    with pytest.raises(BundleError, match="names key '0000000000000000', not " + kid):
        open_bundle(out, load_trusted_keys(pub))
