"""One fleet served by several lab processes (issue 15 item 5): each with its own slice of the scale
fleet, and in the bench each on its own loopback address, so neither one process's fd limit nor
one address's ports cap the devices a benchmark can scan.  The lab refuses any address outside
127.0.0.0/8; these tests listen and connect on 127.0.0.1 only."""
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


# Text handed to the validator only: nothing listens on or connects to any of these.
@pytest.mark.parametrize("text", ["0.0.0.0", "192.0.2.1", "::1", "localhost", "127.0.0.1.5"])
def test_the_lab_refuses_any_other_address(text):
    with pytest.raises(argparse.ArgumentTypeError):
        loopback(text)


def test_two_labs_serving_slices_scan_as_one_fleet(tmp_path):
    # The tests run every server on 127.0.0.1 only (the project's rule); the bench alone puts each
    # lab process on its own loopback address (127.0.k.1), as issue 15 asks for 50,000 devices.
    specs = scale_fleet(3, latency=0.01, jitter=0.1) + scale_fleet(3, latency=0.01, jitter=0.1, first=3)
    with LabThread(specs[:3]) as a, LabThread(specs[3:]) as b:
        assert {d.host for d in a.devices} == {d.host for d in b.devices} == {"127.0.0.1"}
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
