"""The scan's writer commits devices that finish together in one transaction (group commit,
agent.collect.recorder), and each device stays atomic: a refused batch is written again device by
device with its evidence pointers intact, and a bug met while writing ends the scan as a device's
would.  Real SSH sessions against the lab, one loop and worker processes."""
from __future__ import annotations

import asyncio
import contextlib
import sqlite3

import pytest

from agent.collect import recorder
from agent.collect.inventory import load_inventory
from agent.collect.scan import ScanOptions, run_scan
from agent.store import Store
from lab import fleet
from lab.inventory import write_inventory
from lab.server import LabThread

FAST = dict(connect_timeout=3, command_timeout=3, deadline=30, retries=1, retry_backoff=0.2)


@pytest.fixture(scope="module")
def lab():
    with LabThread(fleet.demo_fleet(latency=0.01, jitter=0.25)) as running:
        yield running


@pytest.fixture()
def targets(lab, tmp_path):
    write_inventory(lab.devices, tmp_path / "inv")
    return load_inventory(tmp_path / "inv").targets


def _watch_transactions(monkeypatch) -> list[list[str]]:
    """Every store transaction opened, as the devices saved in it."""
    batches: list[list[str]] = []
    real_tx, real_save = Store.transaction, Store.save_device

    @contextlib.contextmanager
    def transaction(self):
        batches.append([])
        with real_tx(self) as db:
            yield db

    def save_device(self, scan_id, target, **kw):
        batches[-1].append(target.name)
        return real_save(self, scan_id, target, **kw)

    monkeypatch.setattr(Store, "transaction", transaction)
    monkeypatch.setattr(Store, "save_device", save_device)
    return batches


def _evidence(store: Store) -> list[tuple]:
    """Each stored item with the device and command of the capture it points to."""
    return sorted(tuple(r) for r in store.db.execute(
        "SELECT c.device, c.serial, c.name, k.device, k.command FROM components c "
        "LEFT JOIN captures k ON k.id = c.capture_id"))


@pytest.mark.parametrize("processes", [1, 2])
def test_devices_finishing_together_share_a_transaction(targets, tmp_path, monkeypatch, processes):
    monkeypatch.setattr(recorder, "BATCH_WINDOW", 1.0)  # every device of this small fleet together
    batches = _watch_transactions(monkeypatch)
    store = Store(tmp_path / "s.db")
    summary = asyncio.run(run_scan(targets, store, ScanOptions(workers=20, processes=processes, **FAST)))
    saved = [names for names in batches if names]
    assert summary.done == len(targets) and summary.unsaved == 0
    assert sorted(n for names in saved for n in names) == sorted(t.name for t in targets)
    assert max(len(names) for names in saved) > 1 and len(saved) < len(targets)
    # Every item points at a capture of its own device.
    evidence = _evidence(store)
    assert evidence and all(device == cap_device for device, _, _, cap_device, _ in evidence)
    store.close()


def test_a_refused_batch_is_written_again_device_by_device(targets, tmp_path, monkeypatch):
    """The store refuses the third device once, inside a batch: the batch is rolled back and each
    device written in its own transaction, with the same rows (and evidence) as an untroubled scan."""
    clean = Store(tmp_path / "clean.db")
    asyncio.run(run_scan(targets, clean, ScanOptions(workers=20, **FAST)))
    expected = _evidence(clean)
    clean.close()

    monkeypatch.setattr(recorder, "BATCH_WINDOW", 1.0)
    batches = _watch_transactions(monkeypatch)
    watched = Store.save_device
    refused: list[str] = []

    def save_device(self, scan_id, target, **kw):
        if not refused and sum(len(b) for b in batches) >= 3:
            refused.append(target.name)
            raise sqlite3.OperationalError("disk I/O error")
        return watched(self, scan_id, target, **kw)

    monkeypatch.setattr(Store, "save_device", save_device)
    store = Store(tmp_path / "s.db")
    summary = asyncio.run(run_scan(targets, store, ScanOptions(workers=20, **FAST)))
    assert refused, "the refusal never happened"
    assert summary.status == "completed" and summary.unsaved == 0 and summary.done == len(targets)
    # The retry wrote the refused device (and the others of its batch) one per transaction.
    assert [refused[0]] in batches
    assert _evidence(store) == expected
    store.close()


@pytest.mark.parametrize("processes", [1, 2])
def test_a_bug_while_writing_a_batch_fails_the_scan_and_is_raised(targets, tmp_path, monkeypatch, processes):
    monkeypatch.setattr(recorder, "BATCH_WINDOW", 0.05)
    real = Store.save_device
    victim = targets[len(targets) // 2].name

    def save_device(self, scan_id, target, **kw):
        if target.name == victim:
            raise RuntimeError("a bug of ours")
        return real(self, scan_id, target, **kw)

    monkeypatch.setattr(Store, "save_device", save_device)
    store = Store(tmp_path / "s.db")
    with pytest.raises(RuntimeError, match="a bug of ours"):
        asyncio.run(run_scan(targets, store, ScanOptions(workers=20, processes=processes, **FAST)))
    scan = store.scans()[-1]
    assert scan["status"] == "failed" and scan["reason"].startswith("internal error: RuntimeError")
    assert victim not in {r["device"] for r in store.scan_devices(scan["id"])}
    store.close()


def test_worker_pipes_hold_many_frames():
    """A worker must not block on its pipe while the writer commits a batch: its pipe is widened
    to hold dozens of ~30 KB frames, not Linux's default two."""
    import fcntl
    import os

    from agent.collect import shards

    read_fd, write_fd = os.pipe()
    try:
        shards._widen(write_fd)
        assert fcntl.fcntl(write_fd, fcntl.F_GETPIPE_SZ) >= shards.PIPE_BYTES
    finally:
        os.close(read_fd)
        os.close(write_fd)
