"""Neighbours in the store (issue 17): one content-addressed blob per device row (an unchanged table
is stored once), read back per fleet device with the capture each neighbour came from, kept by
prune-history; and a collection that read nothing but neighbour tables is not a collected device."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from agent.collect.merge import _normalise, _Part, merge_records
from agent.core.models import Capture, Target
from agent.normalize import records_from_captures
from agent.store import Store
from agent.store.db import collection_facts
from agent.store import neighbours as stored
from agent.store.retention import prune

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "parsers"
CDP = "show cdp neighbors detail"
LLDP = "show lldp neighbors detail"


def _text(platform: str, command: str, case: str) -> str:
    return (FIX / platform / command.replace(" ", "_") / f"{case}.txt").read_text()


def _target(name: str = "acc-sw1") -> Target:
    return Target(name=name, host="127.0.0.1", platform="cisco_xe", site="lab")


def _caps(name: str, cdp_case: str = "c9300_access_synthetic", with_device: bool = True) -> list[Capture]:
    now = time.time()
    caps = []
    if with_device:
        caps += [Capture(name, "cisco_xe", "ssh", "show version", _text("cisco_xe", "show version", _first("show version")), now, now)]
    caps += [Capture(name, "cisco_xe", "ssh", CDP, _text("cisco_xe", CDP, cdp_case), now, now),
             Capture(name, "cisco_xe", "ssh", LLDP, _text("cisco_xe", LLDP, "c9300_access_synthetic"), now, now)]
    return caps


def _first(command: str) -> str:
    return sorted((FIX / "cisco_xe" / command.replace(" ", "_")).glob("*.txt"))[0].stem


def _save(store: Store, caps: list[Capture], name: str = "acc-sw1") -> int:
    scan = store.begin_scan("test", {}, 1)
    records = records_from_captures(name, "cisco_xe", caps)
    with store.transaction():
        store.save_captures(scan, caps)
        store.save_device(scan, _target(name), status="ok", transport="ssh", records=records, error_kind=None,
                          error=None, started=0, ended=1, attempts=1)
    store.end_scan(scan, "completed")
    return scan


def test_an_unchanged_table_is_one_blob_and_a_changed_one_another(store_target):
    store = Store(store_target)
    s1 = _save(store, _caps("acc-sw1"))
    s2 = _save(store, _caps("acc-sw1"))
    digests = [store.db.execute("SELECT neighbours FROM devices WHERE scan_id = ?", (s,)).fetchone()[0] for s in (s1, s2)]
    assert digests[0] and digests[0] == digests[1]
    s3 = _save(store, _caps("acc-sw1", cdp_case="none_synthetic"))
    d3 = store.db.execute("SELECT neighbours FROM devices WHERE scan_id = ?", (s3,)).fetchone()[0]
    assert d3 and d3 != digests[0]
    assert store.db.execute("SELECT COUNT(*) FROM blobs WHERE sha256 IN (?, ?)", (digests[0], d3)).fetchone()[0] == 2


def test_the_reader_gives_the_latest_table_with_its_evidence(store_target):
    store = Store(store_target)
    _save(store, _caps("acc-sw1", cdp_case="none_synthetic"))
    latest_scan = _save(store, _caps("acc-sw1"))
    [dn] = stored.latest(store)
    assert dn.device == "acc-sw1" and dn.scan_id == latest_scan
    assert {s.protocol: s.state for s in dn.status} == {"cdp": "read", "lldp": "read"}
    assert dn.neighbours and all(n.local_device == "acc-sw1" for n in dn.neighbours)
    for n in dn.neighbours:
        cap = dn.capture_of(n)
        row = store.db.execute("SELECT scan_id, command FROM captures WHERE id = ?", (cap,)).fetchone()
        assert tuple(row) == (latest_scan, n.source)
        # The capture holds what the neighbour says (the evidence is the one it was read from).
        assert n.device_id.split("(")[0] in store.capture_text(cap)
    # The derived forms come back as the record works them out.
    dist = next(n for n in dn.neighbours if n.protocol == "cdp" and n.hostname == "dist-sw1")
    assert dist.cisco and dist.name.startswith("dist-sw1.")
    # A device that is not in the fleet any more is not read.
    assert stored.latest(store, devices={"other"}) == []


def test_prune_history_keeps_the_blobs_of_kept_rows(store_target):
    store = Store(store_target)
    for _ in range(3):
        _save(store, _caps("acc-sw1"))
    _save(store, _caps("acc-sw1", cdp_case="none_synthetic"))
    prune(store, keep=1, keep_days=None, dry_run=False, vacuum=False)  # a foreign key would refuse a lost blob
    [dn] = stored.latest(store)
    assert dn.status and {s.protocol for s in dn.status} == {"cdp", "lldp"}
    # The three older rows' blob is gone with them; the kept row's is there.
    assert store.db.execute("SELECT COUNT(*) FROM devices WHERE neighbours IS NOT NULL").fetchone()[0] == 1


def test_a_neighbour_table_alone_is_not_a_collected_device():
    # The scan's normalisation: only neighbour tables (show version and inventory unreadable) fail the device.
    caps = _caps("acc-sw1", with_device=False)
    records, error = _normalise(_target(), caps)
    assert records is None and "only the CDP / LLDP neighbour tables" in error
    # collection_facts, which decides what a stored collection proves, reads nothing from them.
    only = records_from_captures("acc-sw1", "cisco_xe", caps)
    assert only.neighbours and collection_facts("ok", only) == (False, False, False)
    # With show version beside them the device is collected, and the neighbours ride along.
    records, error = _normalise(_target(), _caps("acc-sw1"))
    assert error is None and records.neighbours and collection_facts("ok", records)[1]


def test_merged_transports_keep_the_neighbours_of_the_one_that_read_them():
    with_nb = records_from_captures("acc-sw1", "cisco_xe", _caps("acc-sw1"))
    without = records_from_captures("acc-sw1", "cisco_xe", _caps("acc-sw1")[:1])
    merged = merge_records([(_Part("netconf", [], {"version"}), without),
                            (_Part("ssh", [], {"version", "neighbours"}), with_nb)])
    assert merged.neighbours == with_nb.neighbours and merged.neighbour_status == with_nb.neighbour_status


@pytest.mark.parametrize("bad", [b"not zlib", None])
def test_a_document_of_an_unknown_format_is_refused(bad):
    import json
    import zlib

    data = bad if bad is not None else zlib.compress(json.dumps({"format": 99}).encode())
    with pytest.raises(Exception):
        stored.load(data, "x")


def test_the_document_does_not_depend_on_the_order_printed():
    records = records_from_captures("acc-sw1", "cisco_xe", _caps("acc-sw1"))
    first = stored.document(records)
    records.neighbours.reverse()
    records.neighbour_status.reverse()
    assert stored.document(records) == first
    # And it holds no local device (the row's) nor a capture id (a new one every scan).
    assert "acc-sw1" not in first and "capture" not in first


def test_merged_transports_take_each_protocol_from_the_first_that_read_it():
    lldp_only = records_from_captures("acc-sw1", "cisco_xe", [c for c in _caps("acc-sw1") if c.command != CDP])
    both = records_from_captures("acc-sw1", "cisco_xe", _caps("acc-sw1"))
    merged = merge_records([(_Part("netconf", [], {"version", "neighbours"}), lldp_only),
                            (_Part("ssh", [], {"version", "licenses", "neighbours"}), both)])
    assert {s.protocol for s in merged.neighbour_status} == {"cdp", "lldp"}
    assert [n for n in merged.neighbours if n.protocol == "lldp"] == [n for n in lldp_only.neighbours]
    assert [n for n in merged.neighbours if n.protocol == "cdp"] == [n for n in both.neighbours if n.protocol == "cdp"]
