"""The air-gapped SLP round trip over real SSH on 127.0.0.1: ``ibagent slp collect``, ``bundle``
and ``import-ack`` against lab devices, including a device that refuses the command, an ACK for
an unknown device, a corrupted ACK, a forged one, and a device without an SCP server.

The lab's flash and licensing state are the ground truth: what the store keeps must be the
device's file byte for byte, and a failed import must leave the device as it was.
"""
from __future__ import annotations

import asyncio
import csv
import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from agent.cli import main as cli_main
from agent.collect.inventory import load_inventory
from agent.collect.scan import ScanOptions, run_scan
from agent.slp import slp_report
from agent.slp.offline import ActionOptions, collect
from agent.store import Store
from lab import fleet
from lab import slp as lab_slp
from lab.device import DEFAULT_ENABLE, DEFAULT_PASSWORD
from lab.inventory import write_inventory
from lab.server import LabThread

NAMES = ("hq-acc-stk01", "dc1-leaf01", "cloud-rtr01", "dc1-pe01", "dc1-fw01-pri", "br01-acc-sw01")
SLP = ("hq-acc-stk01", "dc1-leaf01", "cloud-rtr01")
FAST = ["--connect-timeout", "5", "--command-timeout", "5", "--deadline", "30", "-q"]


@pytest.fixture()
def lab():
    specs = [s for s in fleet.demo_fleet(latency=0.0) if s.name in NAMES]
    with LabThread(specs) as running:
        yield running


def _setup(lab, tmp_path: Path, scan: bool = True, names=NAMES, target: str | None = None) -> tuple[str, str]:
    """(inventory, store): ``target`` an SQLite path or PostgreSQL URL (``store_target``), default a file."""
    inv = tmp_path / "inv"
    write_inventory([d for d in lab.devices if d.name in names], inv)
    db = target or tmp_path / "ib.db"
    if scan:
        store = Store(db)
        inventory = load_inventory(inv)
        summary = asyncio.run(run_scan(inventory.targets, store, ScanOptions(workers=10, connect_timeout=5,
                                                                             command_timeout=5, deadline=30)))
        assert summary.failed == 0
        store.close()
    return str(inv), str(db)


def _outcomes(capsys) -> dict[str, dict]:
    out = capsys.readouterr().out
    return {r["device"] + ("" if r["device"] != "-" else r["file"]): r for r in json.loads(out)}


def _device_file(lab, name: str) -> bytes:
    return lab_slp.state(lab.device(name)).files[f"{name}_rum.txt"]


def _acks_for(bundle_dir: Path) -> list[str]:
    acks = []
    for f in sorted(bundle_dir.glob("*_rum.txt")):
        ack = f.with_name("ACK_" + f.name)
        ack.write_bytes(lab_slp.cssm_ack(f.read_bytes()))
        acks.append(str(ack))
    return acks


def test_collect_bundle_import_round_trip(lab, tmp_path, capsys, store_target):
    # On both backends (tests/pg/store_fixtures.py): the SLP tables' writes and reads, the SLP lock.
    inv, db = _setup(lab, tmp_path, target=store_target)
    capsys.readouterr()
    assert cli_main(["slp", "collect", "-i", inv, "--db", db, "--format", "json", *FAST]) == 0
    got = _outcomes(capsys)
    assert {n: got[n]["status"] for n in NAMES} == {
        "hq-acc-stk01": "collected", "dc1-leaf01": "collected", "cloud-rtr01": "collected",
        "dc1-pe01": "skipped", "dc1-fw01-pri": "skipped", "br01-acc-sw01": "refused"}
    assert "classic Smart Licensing" in got["dc1-pe01"]["reason"]
    assert "% Invalid input detected at '^' marker." in got["br01-acc-sw01"]["reason"]

    store = Store(db)
    try:
        for name in SLP:
            row = [r for r in store.slp_reports(name)][-1]
            device_bytes = _device_file(lab, name)
            assert bytes(row["data"]) == device_bytes  # byte for byte, as the device wrote it
            assert row["sha256"] == hashlib.sha256(device_bytes).hexdigest() and row["transfer"] == "scp"
            unreported = [r.report_id for r in lab_slp.state(lab.device(name)).reports if r.state != "ACK"]
            assert json.loads(row["report_ids"]) == unreported
            truth = lab.device(name).truth
            assert row["udi_serial"] == (truth.udi.serial if truth.udi else truth.chassis_serial)
        actions = {(e["device"], e["action"], e["status"]) for e in store.slp_events()}
        assert ("hq-acc-stk01", "save-usage", "ok") in actions and ("br01-acc-sw01", "save-usage", "refused") in actions
        assert ("dc1-pe01", "save-usage", "skipped") in actions
    finally:
        store.close()

    out = tmp_path / "bundle"
    assert cli_main(["slp", "bundle", "--db", db, "--out", str(out), "--format", "json"]) == 0
    capsys.readouterr()
    manifest = json.loads((out / "manifest.json").read_text())
    assert sorted(f["device"] for f in manifest["files"]) == sorted(SLP)
    for f in manifest["files"]:
        data = (out / f["file"]).read_bytes()
        assert data == _device_file(lab, f["device"]) and hashlib.sha256(data).hexdigest() == f["sha256"]
        assert f["report_ids"] and f["udi_serial"]
    rows = list(csv.DictReader((out / "manifest.csv").open()))
    assert {r["device"] for r in rows} == set(SLP) and all(r["sha256"] for r in rows)

    before = {n: lab_slp.state(lab.device(n)).last_ack for n in SLP}
    acks = _acks_for(out)
    assert cli_main(["slp", "import-ack", "-i", inv, "--db", db, "--format", "json", *FAST, *acks]) == 0
    got = _outcomes(capsys)
    now = datetime.now(timezone.utc)
    store = Store(db)
    try:
        for name in SLP:
            st = lab_slp.state(lab.device(name))
            assert st.imports == 1 and st.last_ack != before[name] and abs((st.last_ack - now).total_seconds()) < 60
            assert got[name]["status"] == "imported"
            assert got[name]["last_ack"] == lab_slp.cli_time(st.last_ack)
            assert got[name]["next_ack_deadline"] == lab_slp.cli_time(st.deadline)
            # Every report the ACK named is acknowledged on the device.
            assert all(r.state == "ACK" for r in st.reports if r.report_id in got[name]["report_ids"])
            row = store.slp_acks(name)[-1]
            assert row["status"] == "imported" and row["next_ack_deadline"] == lab_slp.cli_time(st.deadline)
        report = {d["device"]: d for d in slp_report(store, now.date()).devices}
        assert {n: report[n]["reporting_status"] for n in SLP} == dict.fromkeys(SLP, "ok")
        assert report["br01-acc-sw01"]["reporting_status"] == "not-slp"
        # Secrets never reach the store.
        for table in ("slp_events", "slp_acks", "slp_runs"):
            for row in store.db.execute(f"SELECT * FROM {table}"):
                text = " ".join(str(v) for v in tuple(row) if not isinstance(v, bytes))
                assert DEFAULT_PASSWORD not in text and DEFAULT_ENABLE not in text
    finally:
        store.close()

    # Acknowledged files are not offered again; --all still can.
    assert cli_main(["slp", "bundle", "--db", db, "--out", str(tmp_path / "b2"), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert cli_main(["slp", "bundle", "--db", db, "--out", str(tmp_path / "b3"), "--all", "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == len(SLP)


def test_collect_asks_devices_the_store_does_not_know(lab, tmp_path):
    inv, db = _setup(lab, tmp_path, scan=False)
    store = Store(db)
    try:
        result = asyncio.run(collect(load_inventory(inv).targets, store, mode="days 30",
                                     options=ActionOptions(connect_timeout=5, command_timeout=5, deadline=30)))
    finally:
        store.close()
    status = {o.device: o.status for o in result.outcomes}
    assert status == {"hq-acc-stk01": "collected", "dc1-leaf01": "collected", "cloud-rtr01": "collected",
                      "dc1-pe01": "refused", "dc1-fw01-pri": "refused", "br01-acc-sw01": "refused"}
    asa = next(o for o in result.outcomes if o.device == "dc1-fw01-pri")
    assert "% Invalid input detected" in asa.reason and not result.failed


def test_a_known_slp_device_that_refuses_is_a_failure(lab, tmp_path, capsys):
    inv, db = _setup(lab, tmp_path, names=("dc1-pe01", "cloud-rtr01"))
    store = Store(db)
    row = store.db.execute("SELECT scan_id, data FROM license_status WHERE device='dc1-pe01'").fetchone()
    data = json.loads(row["data"])
    data["slp_enabled"] = True  # as if the store had seen SLP on it
    store.db.execute("UPDATE license_status SET data=? WHERE device='dc1-pe01'", (json.dumps(data),))
    store.close()
    capsys.readouterr()
    assert cli_main(["slp", "collect", "-i", inv, "--db", db, "--format", "json", *FAST]) == 1
    got = _outcomes(capsys)
    assert got["dc1-pe01"]["status"] == "failed" and got["dc1-pe01"]["kind"] == "command"
    assert "% Invalid input" in got["dc1-pe01"]["reason"] and got["cloud-rtr01"]["status"] == "collected"


def test_without_an_scp_server_collect_reads_by_more_and_import_fails_cleanly(lab, tmp_path, capsys):
    inv, db = _setup(lab, tmp_path, names=("cloud-rtr01",))
    dev = lab.device("cloud-rtr01")
    lab_slp.state(dev).scp_server = False
    capsys.readouterr()
    assert cli_main(["slp", "collect", "-i", inv, "--db", db, "--format", "json", *FAST]) == 0
    got = _outcomes(capsys)["cloud-rtr01"]
    assert got["status"] == "collected" and got["transfer"] == "cli"
    store = Store(db)
    try:
        assert bytes(store.slp_reports("cloud-rtr01")[-1]["data"]) == _device_file(lab, "cloud-rtr01")
        reads = [(e["command"], e["status"]) for e in store.slp_events() if e["action"] == "read-file"]
        assert reads == [("scp -f bootflash:cloud-rtr01_rum.txt", "failed"), ("more bootflash:cloud-rtr01_rum.txt", "ok")]
    finally:
        store.close()
    ack = tmp_path / "ACK_cloud-rtr01_rum.txt"
    ack.write_bytes(lab_slp.cssm_ack(_device_file(lab, "cloud-rtr01")))
    before = (lab_slp.state(dev).last_ack, lab_slp.state(dev).imports)
    assert cli_main(["slp", "import-ack", "-i", inv, "--db", db, "--format", "json", *FAST, str(ack)]) == 1
    got = _outcomes(capsys)["cloud-rtr01"]
    assert got["status"] == "failed" and "ip scp server enable" in got["reason"]
    assert (lab_slp.state(dev).last_ack, lab_slp.state(dev).imports) == before


def _no_state_change(lab, snapshot):
    for name, (files, last_ack, imports) in snapshot.items():
        st = lab_slp.state(lab.device(name))
        assert (set(st.files), st.last_ack, st.imports) == (files, last_ack, imports), name


def _snapshot(lab):
    return {d.name: (set(lab_slp.state(d).files), lab_slp.state(d).last_ack, lab_slp.state(d).imports)
            for d in lab.devices}


def test_ack_for_an_unknown_device(lab, tmp_path, capsys):
    inv, db = _setup(lab, tmp_path)
    stranger = tmp_path / "ACK_stranger_rum.txt"
    stranger.write_bytes(lab_slp.make_ack({"udi_pid": "C9300-48UXM", "udi_serial_number": "FCW0000NOPE"}, [1700000000]))
    snapshot = _snapshot(lab)
    capsys.readouterr()
    assert cli_main(["slp", "import-ack", "-i", inv, "--db", db, "--format", "json", *FAST, str(stranger)]) == 1
    (got,) = json.loads(capsys.readouterr().out)
    assert got["status"] == "unmatched"
    assert "no device in the store has UDI PID:C9300-48UXM,SN:FCW0000NOPE" in got["reason"]
    _no_state_change(lab, snapshot)
    store = Store(db)
    try:
        (row,) = store.slp_acks()
        assert (row["status"], row["device"]) == ("unmatched", None) and bytes(row["data"]) == stranger.read_bytes()
    finally:
        store.close()


def test_corrupted_ack_file(lab, tmp_path, capsys):
    inv, db = _setup(lab, tmp_path, names=("hq-acc-stk01",))
    assert cli_main(["slp", "collect", "-i", inv, "--db", db, *FAST]) == 0
    good = lab_slp.cssm_ack(_device_file(lab, "hq-acc-stk01"))
    broken = tmp_path / "ACK_hq-acc-stk01_rum.txt"
    broken.write_bytes(good[: len(good) * 2 // 3])  # a download cut short
    snapshot = _snapshot(lab)
    device = lab.device("hq-acc-stk01")
    capsys.readouterr()
    assert cli_main(["slp", "import-ack", "-i", inv, "--db", db, "--format", "json", *FAST, str(broken)]) == 1
    (got,) = json.loads(capsys.readouterr().out)
    assert got["status"] == "invalid" and "not well-formed XML" in got["reason"]
    assert "nothing was sent to any device" in got["reason"]
    _no_state_change(lab, snapshot)
    assert "Last ACK received: Jun 02 06:10:45 2024 UTC" in lab_slp.output(device, "show license status")
    store = Store(db)
    try:
        assert [r["status"] for r in store.slp_acks()] == ["invalid"]
    finally:
        store.close()


def test_forged_ack_is_refused_by_the_device_and_changes_nothing(lab, tmp_path, capsys):
    inv, db = _setup(lab, tmp_path, names=("dc1-leaf01",))
    dev = lab.device("dc1-leaf01")
    forged = tmp_path / "ACK_dc1-leaf01_rum.txt"
    forged.write_bytes(lab_slp.make_ack({"udi_pid": dev.truth.chassis_pid, "udi_serial_number": dev.truth.chassis_serial},
                                        [r.report_id for r in lab_slp.state(dev).reports], signed=False))
    before = (lab_slp.state(dev).last_ack, lab_slp.state(dev).deadline, lab_slp.state(dev).imports)
    capsys.readouterr()
    assert cli_main(["slp", "import-ack", "-i", inv, "--db", db, "--format", "json", *FAST, str(forged)]) == 1
    (got,) = json.loads(capsys.readouterr().out)
    assert got["status"] == "failed" and got["kind"] == "command"
    assert "% Error: Import Data Failed: signature verification failed" in got["reason"]
    assert (lab_slp.state(dev).last_ack, lab_slp.state(dev).deadline, lab_slp.state(dev).imports) == before
    assert "Last ACK received: <none>" in lab_slp.output(dev, "show license status")
    store = Store(db)
    try:
        (row,) = store.slp_acks("dc1-leaf01")
        assert row["status"] == "failed" and row["last_ack_received"] is None
        events = [(e["action"], e["status"]) for e in store.slp_events()]
        assert events == [("push-file", "ok"), ("import", "failed")]  # no retry
    finally:
        store.close()


def test_ack_for_a_device_outside_the_inventory(lab, tmp_path, capsys):
    inv, db = _setup(lab, tmp_path)
    assert cli_main(["slp", "collect", "-i", inv, "--db", db, *FAST]) == 0
    ack = tmp_path / "ACK_cloud.txt"
    ack.write_bytes(lab_slp.cssm_ack(_device_file(lab, "cloud-rtr01")))
    small = tmp_path / "small"
    write_inventory([lab.device("hq-acc-stk01")], small)
    capsys.readouterr()
    assert cli_main(["slp", "import-ack", "-i", str(small), "--db", db, "--format", "json", *FAST, str(ack)]) == 1
    (got,) = json.loads(capsys.readouterr().out)
    assert got["status"] == "failed" and "not in this inventory" in got["reason"]
    assert lab_slp.state(lab.device("cloud-rtr01")).imports == 0


def test_usage_errors(lab, tmp_path):
    inv, db = _setup(lab, tmp_path, scan=False, names=("cloud-rtr01",))
    assert cli_main(["slp", "collect", "-i", inv, "--db", db, "--mode", "days", "x"]) == 2
    assert cli_main(["slp", "collect", "-i", inv, "--db", db, "--site", "nowhere"]) == 2
    assert cli_main(["slp", "import-ack", "-i", inv, "--db", db, str(tmp_path / "missing.xml")]) == 2
    assert cli_main(["slp", "bundle", "--db", str(tmp_path / "none.db"), "--out", str(tmp_path / "b")]) == 2


def test_interrupted_collect_keeps_finished_devices(tmp_path):
    specs = [s for s in fleet.demo_fleet(latency=0.0) if s.name in ("cloud-rtr01", "lab-fault-hang")]
    with LabThread(specs) as running:
        inv, db = _setup(running, tmp_path, scan=False, names=("cloud-rtr01", "lab-fault-hang"))
        store = Store(db)

        async def go():
            task = asyncio.create_task(collect(load_inventory(inv).targets, store,
                                               options=ActionOptions(connect_timeout=30, command_timeout=30)))
            for _ in range(100):  # until the healthy device is in, while the hung one still waits
                await asyncio.sleep(0.05)
                if store.slp_reports("cloud-rtr01"):
                    break
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        try:
            asyncio.run(go())
            (run,) = store.slp_runs()
            assert run["status"] == "interrupted" and run["devices_ok"] == 1
            assert bytes(store.slp_reports("cloud-rtr01")[0]["data"]) == _device_file(running, "cloud-rtr01")
        finally:
            store.close()


def test_one_round_trip_command_at_a_time(tmp_path):
    from agent.slp.offline import SlpLock
    from agent.store import StoreLocked

    store = Store(tmp_path / "ib.db")
    run = store.begin_slp_run("collect", "inv", {})
    try:
        with SlpLock(store):
            # Holding the lock, a run still 'running' from before died: it is marked so.
            assert store.slp_runs()[0]["status"] == "interrupted" and run
            with pytest.raises(StoreLocked, match="another 'ibagent slp' command"):
                with SlpLock(Store(tmp_path / "ib.db")):
                    pass
    finally:
        store.close()
