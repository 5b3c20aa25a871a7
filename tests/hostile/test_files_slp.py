"""SLP files under attack and faults (issue 12, items 5 and 6): bundle names that cannot collide,
a manifest that lists exactly what was written with no formula in it, ACK files processed one by
one (a hostile or unreadable one is reported, the others imported), a device-confirmed import
that stays imported when the status re-read fails, run rows always closed, lock contention 75.
Devices are lab devices on 127.0.0.1.
"""
from __future__ import annotations

import asyncio
import csv
import hashlib
import json
from html import escape
from pathlib import Path

import pytest

from agent.cli import main as cli_main
from agent.collect.inventory import load_inventory
from agent.collect.scan import ScanOptions, run_scan
from agent.slp.offline import SlpLock, bundle_name
from agent.store import Store
from lab import fleet
from lab import slp as lab_slp
from lab.inventory import write_inventory
from lab.server import LabThread

FAST = ["--connect-timeout", "5", "--command-timeout", "5", "--deadline", "30", "-q"]
DEVICE = "hq-acc-stk01"


def rum(hostname: str, serial: str, report_id: int) -> bytes:
    info = {"sudi": {"udi_pid": "C9300-48P", "udi_serial_number": serial}, "hostname": hostname}
    doc = {"payload": json.dumps({"meta": {"report_id": report_id, "entitlement_tag": "regid.x"}}),
           "signature": {"value": "x"}}
    return (f"<smartLicense><smartLicenseSystemInfo><data>{escape(json.dumps(info))}</data></smartLicenseSystemInfo>"
            f"<RUMReport><![CDATA[{json.dumps(doc)}]]></RUMReport></smartLicense>").encode()


def store_with_reports(path: Path, devices: dict[str, tuple[str, str]]) -> dict[str, bytes]:
    """A store holding one collected RUM file per device: name -> (hostname, site)."""
    store = Store(path)
    files = {}
    try:
        run = store.begin_slp_run("collect", "inv", {})
        with store.transaction():
            for i, (device, (hostname, site)) in enumerate(devices.items()):
                files[device] = rum(hostname, f"FOC{i:08d}", 1000 + i)
                store.save_slp_report(run, device, site=site, udi_pid="C9300-48P", udi_serial=f"FOC{i:08d}",
                                      file_name="bootflash:" + device, mode="unreported", transfer="scp",
                                      data=files[device], report_ids=[1000 + i], collected_at=1.0 + i)
        store.end_slp_run(run, "completed", len(devices), 0)
    finally:
        store.close()
    return files


COLLIDING = {
    "site-a/core 1": ("core1", "site-a"),
    "site-a_core_1": ("core1b", "site-a"),
    "x" * 48 + "-first": ("=cmd|' /C calc'!A0", "+SUM(1,2)"),  # device text that a spreadsheet would run
    "x" * 48 + "-second": ("@hidden", "-1+1"),
}


def test_bundle_file_names_are_unique_and_stable_and_the_manifest_lists_exactly_them(tmp_path, capsys):
    db = tmp_path / "ib.db"
    files = store_with_reports(db, COLLIDING)
    out = tmp_path / "bundle"
    assert cli_main(["slp", "bundle", "--db", str(db), "--out", str(out), "--format", "json"]) == 0
    capsys.readouterr()
    manifest = json.loads((out / "manifest.json").read_text())
    listed = {f["file"]: f["device"] for f in manifest["files"]}
    on_disk = {p.name for p in out.iterdir()} - {"manifest.json", "manifest.csv"}
    # Four devices whose cleaned names collide: four files, each the device's own bytes.
    assert set(listed) == on_disk and len(on_disk) == 4  # was: 2 files on disk, 4 in the manifest
    for name, device in listed.items():
        assert (out / name).read_bytes() == files[device] and name == bundle_name(device)
        assert name.endswith("_rum.txt") and len(name) <= 40 + 1 + 12 + len("_rum.txt")
    assert not any(p.name.endswith(".tmp") for p in out.iterdir())
    # Stable: the same device gets the same name in the next bundle.
    again = tmp_path / "again"
    assert cli_main(["slp", "bundle", "--db", str(db), "--out", str(again), "--all"]) == 0
    assert {p.name for p in again.iterdir()} == {p.name for p in out.iterdir()}
    # Every manifest.csv cell a spreadsheet would run is text.
    rows = list(csv.DictReader((out / "manifest.csv").open(encoding="utf-8")))
    by_device = {r["device"]: r for r in rows}
    first, second = by_device["x" * 48 + "-first"], by_device["x" * 48 + "-second"]
    assert (first["hostname"], first["site"]) == ("'=cmd|' /C calc'!A0", "'+SUM(1,2)")
    assert (second["hostname"], second["site"]) == ("'@hidden", "'-1+1")
    for row in rows:
        assert not any(v.startswith(("=", "+", "-", "@")) for v in row.values()), row


def test_two_bundles_into_one_directory_never_leave_a_half_file(tmp_path):
    # Fixed '.tmp' names let two writers share a temporary file; unique ones each rename a whole file.
    import threading

    from agent.reports.tabular import atomic_write

    target = tmp_path / "manifest.json"
    started, go_on = threading.Event(), threading.Event()

    def slow(tmp: Path) -> None:
        with tmp.open("w") as fh:
            fh.write('{"writer": "slow", "part": 1, ')
            fh.flush()
            started.set()
            go_on.wait(10)
            fh.write('"end": true}')

    first = threading.Thread(target=atomic_write, args=(target, slow))
    first.start()
    started.wait(10)
    atomic_write(target, lambda tmp: tmp.write_text('{"writer": "fast", "end": true}'))  # meanwhile
    assert json.loads(target.read_text()) == {"writer": "fast", "end": true_()}
    go_on.set()
    first.join(10)
    assert json.loads(target.read_text()) == {"writer": "slow", "part": 1, "end": True}
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]


def true_() -> bool:
    return True


# ------------------------------------------------------------------ import-ack against the lab


@pytest.fixture()
def lab():
    specs = [s for s in fleet.demo_fleet(latency=0.0) if s.name == DEVICE]
    with LabThread(specs) as running:
        yield running


def _collected(lab, tmp_path: Path, capsys) -> tuple[str, str]:
    inv = tmp_path / "inv"
    write_inventory(lab.devices, inv)
    db = tmp_path / "ib.db"
    store = Store(db)
    inventory = load_inventory(inv)
    summary = asyncio.run(run_scan(inventory.targets, store, ScanOptions(workers=2, connect_timeout=5,
                                                                         command_timeout=5, deadline=30)))
    store.close()
    assert summary.failed == 0
    assert cli_main(["slp", "collect", "-i", str(inv), "--db", str(db), *FAST]) == 0
    capsys.readouterr()
    return str(inv), str(db)


def _device_rum(lab) -> bytes:
    return lab_slp.state(lab.device(DEVICE)).files[f"{DEVICE}_rum.txt"]


def test_each_ack_file_stands_alone(lab, tmp_path, capsys, monkeypatch):
    inv, db = _collected(lab, tmp_path, capsys)
    deep = tmp_path / "ACK_deep.txt"  # was: RecursionError, exit 70 for every file, run left 'running'
    deep.write_bytes(b"<smartLicense><smartLicenseRumAck><data>" + b"[" * 100_000 + b"]" * 100_000
                     + b"</data></smartLicenseRumAck></smartLicense>")
    nested = tmp_path / "ACK_nested.txt"  # parses, but nests deeper than any ACK does
    nested.write_bytes(b"<smartLicense><smartLicenseRumAck><data>" + b"[" * 500 + b"]" * 500
                       + b"</data></smartLicenseRumAck></smartLicense>")
    huge = tmp_path / "ACK_huge.txt"
    with huge.open("wb") as fh:  # 300 MB, sparse: refused from its size, never read
        fh.write(b"<smartLicense>")
        fh.truncate(300_000_000)
    unreadable = tmp_path / "ACK_unreadable.txt"
    unreadable.write_bytes(b"<smartLicense/>")
    good = tmp_path / "ACK_good.txt"
    good.write_bytes(lab_slp.cssm_ack(_device_rum(lab)))

    import agent.slp.ack_import as ack_import

    real = ack_import.read_file

    def read_file(path, what="ACK file"):
        if Path(path) == unreadable:
            raise PermissionError(13, "Permission denied")
        return real(path, what)

    monkeypatch.setattr(ack_import, "read_file", read_file)
    files = [deep, nested, huge, unreadable, good]
    assert cli_main(["slp", "import-ack", "-i", inv, "--db", db, "--format", "json", *FAST, *map(str, files)]) == 1
    got = {Path(o["file"]).name: o for o in json.loads(capsys.readouterr().out)}
    assert got["ACK_good.txt"]["status"] == "imported" and got["ACK_good.txt"]["device"] == DEVICE
    assert lab_slp.state(lab.device(DEVICE)).imports == 1
    assert got["ACK_deep.txt"]["status"] == "invalid" and got["ACK_deep.txt"]["reason"] == (
        "ACK_deep.txt: ACK file: acknowledgement 1 nests arrays/objects too deeply for any record (a hostile or "
        "broken file); nothing was sent to any device")
    assert got["ACK_nested.txt"]["reason"] == (
        "ACK_nested.txt: ACK file: acknowledgement 1 nests arrays/objects more than 64 levels deep; no record does; "
        "nothing was sent to any device")
    assert got["ACK_huge.txt"]["reason"] == (
        "ACK_huge.txt: ACK file is 286.1 MiB, more than the 64.0 MiB accepted; not read; nothing was sent to any device")
    assert got["ACK_unreadable.txt"]["reason"] == f"cannot read {unreadable}: Permission denied"
    store = Store(db)
    try:
        (run,) = [r for r in store.slp_runs() if r["kind"] == "import-ack"]
        assert (run["status"], run["devices_ok"], run["devices_failed"]) == ("completed", 1, 4)
        assert sorted(r["status"] for r in store.slp_acks()) == ["imported", "invalid", "invalid"]
    finally:
        store.close()


def test_a_confirmed_import_stays_imported_when_the_status_reread_fails(lab, tmp_path, capsys, monkeypatch):
    inv, db = _collected(lab, tmp_path, capsys)
    ack = tmp_path / "ACK_good.txt"
    ack.write_bytes(lab_slp.cssm_ack(_device_rum(lab)))
    real = lab_slp.execute

    async def drop_after_import(session, key, line):
        done = await real(session, key, line)
        return done and key != lab_slp.IMPORT  # the device says 'Import Data Successful', then drops the session

    monkeypatch.setattr(lab_slp, "execute", drop_after_import)
    assert cli_main(["slp", "import-ack", "-i", inv, "--db", db, "--format", "json", *FAST, str(ack)]) == 0
    captured = capsys.readouterr()
    (got,) = json.loads(captured.out)
    assert lab_slp.state(lab.device(DEVICE)).imports == 1
    # Was: recorded 'failed', so the next bundle sent the same usage again.
    assert (got["status"], got["reason"]) == ("imported", "Import Data Successful")
    assert got["warning"].startswith("re-reading 'show license status' failed: ")
    assert f"ibagent: {DEVICE}: warning: imported ({ack}), but re-reading 'show license status' failed" in captured.err
    store = Store(db)
    try:
        (row,) = store.slp_acks(DEVICE)
        assert row["status"] == "imported" and "; warning: re-reading" in row["reason"]
        events = [(e["action"], e["status"]) for e in store.slp_events() if e["device"] == DEVICE
                  and e["run_id"] == row["run_id"]]
        assert events == [("push-file", "ok"), ("import", "ok"), ("verify", "warning")]
    finally:
        store.close()
    assert cli_main(["slp", "bundle", "--db", db, "--out", str(tmp_path / "b"), "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == [] and "already acknowledged" in captured.err  # not sent again


def test_the_run_row_is_closed_when_the_run_dies(tmp_path, capsys, monkeypatch):
    db = tmp_path / "ib.db"
    store_with_reports(db, {"sw1": ("sw1", "hq")})
    inv = tmp_path / "hosts.yaml"
    inv.write_text("sw1:\n  hostname: 127.0.0.1\n  port: 9\n  platform: cisco_xe\n  username: u\n"
                   "  password: ${IBAGENT_PASSWORD}\n", encoding="utf-8")
    ack = tmp_path / "ACK.txt"
    ack.write_bytes(lab_slp.make_ack({"udi_pid": "C9300-48P", "udi_serial_number": "FOC00000000"}, [1000]))
    import agent.slp.ack_import as ack_import

    async def boom(*_args, **_kwargs):
        raise RuntimeError("a bug in the middle of the run")

    monkeypatch.setattr(ack_import, "_per_device", boom)
    monkeypatch.setenv("IBAGENT_PASSWORD", "x")
    assert cli_main(["slp", "import-ack", "-i", str(inv), "--db", str(db), *FAST, str(ack)]) == 70
    assert "internal error: RuntimeError: a bug in the middle of the run" in capsys.readouterr().err
    store = Store(db)
    try:
        assert [r["status"] for r in store.slp_runs() if r["kind"] == "import-ack"] == ["failed"]  # not 'running'
    finally:
        store.close()


def test_slp_lock_contention_exits_75_also_through_a_symlink(tmp_path, capsys):
    db = tmp_path / "ib.db"
    store_with_reports(db, {"sw1": ("sw1", "hq")})
    link = tmp_path / "link.db"
    link.symlink_to(db)
    holder = Store(db)
    try:
        with SlpLock(holder):
            for path in (db, link):
                assert cli_main(["slp", "bundle", "--db", str(path), "--out", str(tmp_path / "b")]) == 75  # was 2
                err = capsys.readouterr().err
                assert f"another 'ibagent slp' command is working on {path}; try again later" in err
    finally:
        holder.close()
    assert cli_main(["slp", "bundle", "--db", str(link), "--out", str(tmp_path / "b")]) == 0


def test_bundle_name_is_the_cleaned_name_and_a_hash_of_the_raw_one():
    assert bundle_name("site-a/core 1") == "site-a_core_1-" + hashlib.sha256(b"site-a/core 1").hexdigest()[:12] + "_rum.txt"
    assert bundle_name("site-a/core 1") != bundle_name("site-a_core_1")
    assert bundle_name("x" * 60 + "1") != bundle_name("x" * 60 + "2")
