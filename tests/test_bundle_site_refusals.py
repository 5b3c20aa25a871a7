"""``ibagent import`` refuses what it must, with the reason, exit 2 and nothing written: bundles
tampered, unsigned, untrusted or truncated, and bundles signed by a trusted key whose content is
hostile (bad JSON, wrong types, blob indexes that lie, a zlib stream that inflates past what it
announces, members no exporter writes)."""
from __future__ import annotations

import hashlib
import json
import struct
import zlib

import pytest

from agent.bundles import BundleWriter, generate_key, load_private_key
from agent.bundles import seal
from agent.bundles.site import KIND
from agent.cli import main
from site_fixture import make_site_store
from test_bundle_site import dump_all, export


@pytest.fixture()
def setup(tmp_path):
    """(good bundle, public key, private key path, central store already holding one import)."""
    db = tmp_path / "site.db"
    make_site_store(db, days=(0,)).close()
    key, pub, _ = generate_key(tmp_path / "berlin.key")
    good = tmp_path / "good.ibb"
    assert export(db, key, good) == 0
    central = tmp_path / "central.db"
    other_site = tmp_path / "other.db"
    make_site_store(other_site, days=(0,)).close()
    okey, opub, _ = generate_key(tmp_path / "keys-other.key")
    first = tmp_path / "first.ibb"
    assert export(other_site, okey, first) == 0
    assert main(["import", str(first), "--trust", str(opub), "--db", str(central)]) == 0
    return good, pub, key, central


def refused(capsys, central, bundle, *trust):
    before = dump_all(central)
    capsys.readouterr()
    code = main(["import", str(bundle), *[a for t in trust for a in ("--trust", str(t))], "--db", str(central)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert dump_all(central) == before, "a refused bundle wrote to the store"
    assert str(bundle) in err and "Traceback" not in err
    return err


def test_an_altered_member_is_refused(tmp_path, setup, capsys):
    good, pub, _, central = setup
    raw = bytearray(good.read_bytes())
    raw[-10] ^= 0x01
    bad = tmp_path / "bad.ibb"
    bad.write_bytes(bytes(raw))
    err = refused(capsys, central, bad, pub)
    assert "does not match its signed sha256" in err and "nothing imported" in err


def test_unsigned_untrusted_and_truncated_bundles_are_refused(tmp_path, setup, capsys):
    good, pub, _, central = setup
    raw = good.read_bytes()
    mlen = struct.unpack(">I", raw[len(seal.MAGIC) + 8:seal.HEADER_LEN])[0]
    sig_at = seal.HEADER_LEN + mlen
    unsigned = tmp_path / "unsigned.ibb"
    unsigned.write_bytes(raw[:sig_at] + bytes(64) + raw[sig_at + 64:])
    assert "unsigned" in refused(capsys, central, unsigned, pub)
    _, stranger, _ = generate_key(tmp_path / "stranger.key")
    assert "not trusted" in refused(capsys, central, good, stranger)
    truncated = tmp_path / "truncated.ibb"
    truncated.write_bytes(raw[:-100])
    assert "truncated" in refused(capsys, central, truncated, pub)
    # One bad bundle among good ones: every bundle is verified before any is merged.
    before = dump_all(central)
    assert main(["import", str(good), str(truncated), "--trust", str(pub), "--db", str(central)]) == 2
    assert dump_all(central) == before


def _hostile(tmp_path, key_path, members, meta=None):
    out = tmp_path / "hostile.ibb"
    meta = meta or {"kind": KIND, "site": "berlin", "agent": "berlin-1", "first_started": 1.0, "scans": [1]}
    with BundleWriter(out, load_private_key(key_path), meta) as w:
        for name, data in members:
            w.add(name, data)
    return out


def _scan_member(devices, scan_id=1):
    scan = {"site_scan_id": scan_id, "started": 1.0, "ended": 2.0, "status": "completed", "reason": None,
            "inventory": "inv", "options": "{}", "devices_total": len(devices), "agent": "berlin-1", "scope": None,
            "origin": None}
    return (f"scans/{scan_id}/0000.json", json.dumps({"scan": scan, "devices": devices}).encode())


def _device(**over):
    dev = {"row": {"device": "x1", "status": "ok", "site": "berlin", "hostname": "X1", "platform": "cisco_xe",
                   "roles": "[]", "problems": "[]", "contract_site_ids": "[]"},
           "components": [], "licenses": [], "license_status": None, "session": None, "findings": [], "errors": [],
           "captures": [], "neighbours": None}
    dev.update(over)
    return dev


def _pack(blobs, lie=None):
    """(index member, pack member) for ``blobs`` [(bytes)]; ``lie`` alters the index entries."""
    index, pack = [], b""
    for data in blobs:
        z = zlib.compress(data)
        index.append([hashlib.sha256(data).hexdigest(), len(data), len(pack), len(z)])
        pack += z
    if lie:
        index = lie(index)
    return [("blobs/0000.idx.json", json.dumps({"blobs": index}).encode()), ("blobs/0000.z", pack)]


@pytest.mark.parametrize("members, reason", [
    ([("scans/1/0000.json", b"{not json")], "member scans/1/0000.json: bad JSON at line 1"),
    ([("scans/1/0000.json", b"\xff\xfe")], "member scans/1/0000.json: not UTF-8"),
    ([("scans/1/0000.json", b"[" * 5000 + b"]" * 5000)], "scans/1/0000.json nests"),
    ([("notes.txt", b"x")], "member notes.txt: not a member a site bundle holds"),
    ([_scan_member([_device(row={"device": 7, "status": "ok"})])], "device 1: 'device' is a int"),
    ([_scan_member([_device(components=[["only", "three", "fields"]])])], "components 1: not a list of 14 fields"),
    ([_scan_member([_device(captures=[{"id": 1}])])], "capture 1: no 'platform'"),
    ([_scan_member([_device(components=[["Chassis", "", "P", "P", "", "S", "S", "chassis", "", 1, "", 0, "ssh", 99]])])],
     "an item points to capture 99"),
    ([_scan_member([_device(row={"device": "x1", "status": "ok", "site": "berlin", "roles": "{\"a\": 1}",
                                 "hostname": "X"})])],
     "a list column is not a list of texts"),
    ([_scan_member([_device(captures=[{"id": 1, "platform": "cisco_xe", "transport": "ssh", "command": "show version",
                                       "sha256": "ab" * 32, "text_sha256": None, "started": 1.0, "ended": 2.0,
                                       "error": None, "error_kind": None}])])],
     "is neither in the bundle nor in the store"),
    ([("scans/1/0000.json", _scan_member([], scan_id=2)[1])], "holds scan 2, not the one its name says"),
    ([("scans/1/0000.json", _scan_member([])[1].replace(b'"scope": null', b'"scope": "[1, 2"'))],
     "the scan's scope is not a JSON object"),
    ([("scans/1/0000.json", _scan_member([])[1].replace(b'"started": 1.0', b'"started": NaN'))],
     "'started' is nan, not a number a store holds"),
    ([_scan_member([_device(row={"device": "x1", "status": "ok", "site": "berlin", "attempts": 10 ** 30})])],
     "'attempts' is 1000000000000000000000000000000"),
    ([_scan_member([_device(row={"device": "x1", "status": "ok", "site": "paris"})])],
     "of site 'paris', in a bundle of site 'berlin'"),
    (_pack([b"hello"], lie=lambda ix: [[ix[0][0], 5, 0, 10_000]]), "lies outside blobs/0000.z"),
    (_pack([b"a" * 100_000], lie=lambda ix: [[ix[0][0], 1000, ix[0][2], ix[0][3]]]),
     "inflates to other than the 1,000 bytes announced"),
    (_pack([b"hello"], lie=lambda ix: [[ix[0][0], 10 ** 12, 0, 5]]), "announces 1,000,000,000,000 bytes"),
    (_pack([b"hello"], lie=lambda ix: [["00" * 32, 5, ix[0][2], ix[0][3]]]), "do not match its sha256"),
    (_pack([b"hello"])[1:], "a blob pack without its index before it"),
    ([("slp.json", json.dumps({"runs": [{"site_run_id": 1, "run": {"kind": "collect"}}]}).encode())],
     "member slp.json, run 1: no 'started'"),
])
def test_hostile_content_signed_by_a_trusted_key_is_refused_naming_the_member(tmp_path, setup, capsys, members,
                                                                              reason):
    _, pub, key, central = setup
    err = refused(capsys, central, _hostile(tmp_path, key, members), pub)
    assert reason in err, err


def test_a_member_named_as_a_path_is_refused(tmp_path, setup, capsys, monkeypatch):
    """The writer never names a member so; a hand-made bundle signed by a trusted key might."""
    import re

    _, pub, key, central = setup
    monkeypatch.setattr(seal, "_NAME", re.compile(r".+\Z"))
    path = _hostile(tmp_path, key, [("../../etc/passwd", b"x")])
    monkeypatch.undo()
    assert "manifest member 1 is malformed" in refused(capsys, central, path, pub)


def test_a_bundle_that_is_no_site_bundle_is_refused(tmp_path, setup, capsys):
    _, pub, key, central = setup
    other = _hostile(tmp_path, key, [("x", b"y")], meta={"site": "berlin"})
    assert "not a site bundle" in refused(capsys, central, other, pub)


def test_a_zlib_bomb_is_never_inflated_whole(tmp_path, setup, capsys):
    """256 MiB of zeros compress to ~256 KiB; announced as 10 bytes, inflating stops at 11."""
    import tracemalloc

    _, pub, key, central = setup
    bomb = zlib.compress(bytes(256 << 20), 9)
    members = [("blobs/0000.idx.json", json.dumps({"blobs": [["00" * 32, 10, 0, len(bomb)]]}).encode()),
               ("blobs/0000.z", bomb)]
    path = _hostile(tmp_path, key, members)
    tracemalloc.start()
    err = refused(capsys, central, path, pub)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert "inflates to other than the 10 bytes announced" in err
    assert peak < 64 << 20, f"peak {peak:,} bytes"


def test_an_origin_carried_in_a_bundle_is_not_taken(tmp_path, setup, capsys):
    """A scan's identity is always under the key that signed it: a bundle naming another site's
    origin cannot make that site's genuine scan look already imported."""
    from agent.store import Store

    _, pub, key, central = setup
    name, data = _scan_member([], scan_id=5)
    doc = json.loads(data)
    doc["scan"]["origin"] = "0123456789abcdef:other-site:5"
    path = _hostile(tmp_path, key, [(name, json.dumps(doc).encode())])
    assert main(["import", str(path), "--trust", str(pub), "--db", str(central)]) == 0
    store = Store(central, readonly=True)
    try:
        origins = [r["origin"] for r in store.scans()]
    finally:
        store.close()
    assert "0123456789abcdef:other-site:5" not in origins
    assert any(o.endswith(":berlin-1:5") and not o.startswith("0123456789abcdef") for o in origins)


def test_scan_members_are_cut_by_size_and_read_back_whole(tmp_path, monkeypatch):
    """Big devices make more, smaller members; the import sees every device once."""
    from agent.bundles import site as layout
    from agent.bundles import open_bundle, load_trusted_keys
    from test_bundle_site import site_view

    monkeypatch.setattr(layout, "MEMBER_TARGET", 3000)  # each device's records are ~4 KB
    db = tmp_path / "site.db"
    make_site_store(db, days=(0, 1)).close()
    key, pub, _ = generate_key(tmp_path / "k.key")
    out = tmp_path / "b.ibb"
    assert export(db, key, out) == 0
    with open_bundle(out, load_trusted_keys(pub)) as b:
        names = [m.name for m in b.members if m.name.startswith("scans/")]
    assert names == ["scans/1/0000.json", "scans/1/0001.json", "scans/2/0000.json", "scans/2/0001.json"]
    assert main(["import", str(out), "--trust", str(pub), "--db", str(tmp_path / "c.db")]) == 0
    assert site_view(tmp_path / "c.db") == site_view(db)
