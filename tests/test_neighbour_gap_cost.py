"""The gap report costs what its input costs (issue 15 item 3): reconcile writes neighbours.csv on
every run, so a fleet without neighbour tables must not pay for the known-device index (a read
of every item and an address parse per device); and the address rule's fast path for dotted
quads answers exactly as ipaddress does."""
from __future__ import annotations

import ipaddress

import pytest

from agent.reconcile import neighbours_store
from agent.reconcile.neighbours import normal_address
from agent.store import Store
from tests.test_neighbour_store import _caps, _save


def _reference(text) -> str:
    # The rule as it was written before the fast path: ipaddress decides everything.
    try:
        ip = ipaddress.ip_address(str(text).strip().split("%", 1)[0])
    except ValueError:
        return ""
    mapped = getattr(ip, "ipv4_mapped", None)
    return str(mapped if mapped is not None else ip)


TEXTS = [
    "127.0.0.1", " 127.0.0.1 ", "127.0.0.1%eth0", "0.0.0.0", "255.255.255.255", "256.1.1.1", "1.2.3.04",
    "01.2.3.4", "1.2.3", "1.2.3.4.5", "1.2.3.4.", ".1.2.3.4", "1..2.3", "1.2.3.-4", "+1.2.3.4", "1.2.3.4\n",
    "\u0661.2.3.4", "1.2.3.\uff14", "1.2.3.4x", "x1.2.3.4", "", " ", "acc-sw1", "acc-sw1.corp.invalid",
    "dead.beef", "ABCD::1", "::ffff:127.0.9.21", "::FFFF:7F00:1", "fe80::1%Gi0/1", "2001:db8::", "::",
    ":::", "1:2:3:4:5:6:7:8:9", "1.2.3.4:22", "None", None, 12345, "249.250.199.100", "99.100.9.10",
    "300.1.1.1", "25.26.27.28", "1.2.3.4 5", "1 .2.3.4",
]


@pytest.mark.parametrize("text", TEXTS)
def test_the_fast_path_answers_as_ipaddress_does(text):
    assert normal_address(text) == _reference(text)


def test_every_octet_spelling_answers_as_ipaddress_does():
    # Every one-to-three character octet over the digits that matter, in each position.
    octets = [a + b + c for a in ("", "0", "1", "2", "3", "9") for b in ("", "0", "4", "5", "6", "9")
              for c in ("0", "5", "6", "9")]
    for octet in octets:
        for text in (f"{octet}.1.1.1", f"1.{octet}.1.1", f"1.1.1.{octet}"):
            assert normal_address(text) == _reference(text), text


def _no_fleet_read(*_a, **_k):
    raise AssertionError("the fleet's items were read for a report with no neighbour to match")


def test_a_fleet_without_neighbour_tables_does_not_build_the_index(store_target, monkeypatch):
    store = Store(store_target)
    _save(store, _caps("acc-sw1")[:1])  # show version only: a device, and no neighbour table
    monkeypatch.setattr(neighbours_store, "fleet_items", _no_fleet_read)
    monkeypatch.setattr(store, "fleet_device_states", _no_fleet_read)  # not even the device list
    report = neighbours_store.gap_report(store)
    assert (report.cisco, report.other, report.devices_read, report.not_read) == ([], [], 0, {})
    store.close()


def test_a_fleet_with_neighbour_tables_still_matches_its_own_devices(store_target, monkeypatch):
    store = Store(store_target)
    _save(store, _caps("acc-sw1"))
    before = neighbours_store.gap_report(store)
    assert before.devices_read == 1 and before.cisco
    # dist-sw1 is a neighbour of acc-sw1; once it is a device of the fleet, it is known, not listed.
    _save(store, _caps("dist-sw1")[:1], name="dist-sw1")
    read = []
    real = neighbours_store.fleet_items
    monkeypatch.setattr(neighbours_store, "fleet_items", lambda s, *a: read.append(1) or real(s, *a))
    after = neighbours_store.gap_report(store)
    assert read, "the index must be built when there are neighbours to match"
    names = {u.name for u in after.cisco}
    assert not any(n.startswith("dist-sw1") for n in names)
    assert any(u.name.startswith("dist-sw1") for u in before.cisco)
    store.close()
