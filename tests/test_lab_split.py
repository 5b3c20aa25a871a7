"""One fleet served by several lab processes (issue 15 item 5): each on its own loopback address
with its own slice of the scale fleet, so neither one process's fd limit nor one address's ports
cap the devices a benchmark can scan.  Never an address outside 127.0.0.0/8."""
from __future__ import annotations

import argparse
import asyncio

import pytest

from agent.collect.inventory import load_inventory
from agent.collect.scan import ScanOptions, run_scan
from agent.store import Store
from agent.store.views import device_rows
from lab.fleet import scale_fleet
from lab.inventory import write_inventory
from lab.main import loopback
from lab.server import LabThread


def test_slices_of_the_scale_fleet_are_one_fleet():
    whole = scale_fleet(24)
    parts = scale_fleet(10) + scale_fleet(14, first=10)
    assert [(s.name, s.index, s.site, s.profile) for s in parts] == [(s.name, s.index, s.site, s.profile) for s in whole]


@pytest.mark.parametrize("text", ["127.0.0.1", "127.0.3.1", "127.255.255.254"])
def test_the_lab_listens_on_loopback_addresses(text):
    assert loopback(text) == text


@pytest.mark.parametrize("text", ["0.0.0.0", "10.0.0.1", "192.0.2.1", "::1", "localhost", "127.0.0.1.5"])
def test_the_lab_refuses_any_other_address(text):
    with pytest.raises(argparse.ArgumentTypeError):
        loopback(text)


def test_two_labs_on_two_loopback_addresses_scan_as_one_fleet(tmp_path):
    specs = scale_fleet(6, latency=0.01, jitter=0.1)
    with LabThread(specs[:3]) as a, LabThread(specs[3:], host="127.0.1.1") as b:
        assert {d.host for d in a.devices} == {"127.0.0.1"} and {d.host for d in b.devices} == {"127.0.1.1"}
        write_inventory(list(a.devices) + list(b.devices), tmp_path / "inv")
        targets = load_inventory(tmp_path / "inv").targets
        store = Store(tmp_path / "s.db")
        summary = asyncio.run(run_scan(targets, store, ScanOptions(workers=6, connect_timeout=3, command_timeout=3,
                                                                   deadline=30)))
        assert summary.ok == 6, summary.failures
        truth = {s for d in list(a.devices) + list(b.devices) for s in d.truth.serials}
        stored = {r["serial"] for r in device_rows(store)}
        assert truth <= stored
        store.close()
