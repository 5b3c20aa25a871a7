"""The store and the terminal under faults (issue 12, item 6): reads never create or migrate a
store, a file that is not an ibagent store (another application's, older, damaged, read-only, a
non-numeric schema version) is named with what it is (exit 2), the scan lock follows symlinks
(75), option values are checked (2), device and file text is shown, not obeyed, by the terminal
and the log, and a capture keeps the exact bytes the device sent, its sha256 over them.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import shutil
import sqlite3
import types
from pathlib import Path

import pytest

from agent.cli import main as cli_main
from agent.collect.inventory import load_inventory
from agent.collect.scan import ScanOptions, run_scan
from agent.core.models import Target
from agent.store import SCHEMA_VERSION, Store, StoreError, StoreLocked
from lab import fleet
from lab import slp as lab_slp
from lab.cli import Session
from lab.inventory import write_inventory
from lab.server import LabThread

ROOT = Path(__file__).resolve().parents[2]
V4 = ROOT / "fixtures" / "stores" / "v4_release_7198eac.db"
READS = [["devices"], ["devices", "--failed"], ["errors"], ["diff"], ["history", "FOC1"], ["trueup", "--since", "1"],
         ["retire", "--list"], ["slp", "report"]]


def no_traceback(text: str) -> None:
    assert "Traceback" not in text and "internal error" not in text, text


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file()}


def a_store(path: Path, devices: int = 3) -> Path:
    store = Store(path)
    scan = store.begin_scan("inv", {}, devices)
    with store.transaction():
        for d in range(devices):
            store.save_device(scan, Target(f"sw{d}", "127.0.0.1", "cisco_xe"), status="failed", transport="ssh",
                              records=None, error_kind="connect", error="refused " + "x" * 200, started=0, ended=0,
                              attempts=1)
    store.end_scan(scan, "completed")
    store.close()
    return path


# ------------------------------------------------------------------ reads never create or migrate


@pytest.mark.parametrize("args", READS, ids=" ".join)
def test_a_read_on_another_applications_database_changes_nothing(tmp_path, capsys, args):
    other = tmp_path / "other.sqlite"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT)")
    db.execute("INSERT INTO notes(body) VALUES ('mine')")
    db.commit()
    db.close()
    before = _files(tmp_path)
    assert cli_main([*args, "--db", str(other)]) == 2
    err = capsys.readouterr().err
    assert (f"ibagent: {other} is not an ibagent store: an SQLite database of another application (tables notes); "
            "nothing was read or changed") in err
    no_traceback(err)
    assert _files(tmp_path) == before  # was: 14 ibagent tables added by 'ibagent devices'


def test_a_writer_refuses_another_applications_database_untouched(tmp_path):
    other = tmp_path / "other.sqlite"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE notes(x)")
    db.commit()
    db.close()
    before = _files(tmp_path)
    with pytest.raises(StoreError, match="not an ibagent store: an SQLite database of another application"):
        Store(other)
    assert _files(tmp_path) == before  # not even switched to WAL


@pytest.mark.parametrize("args", READS, ids=" ".join)
def test_a_read_of_a_wal_store_leaves_no_files_behind(tmp_path, capsys, args):
    """Every store a scan writes is in WAL mode; a read used to leave '-wal' and '-shm' beside it."""
    path = a_store(tmp_path / "s.db")
    before = sorted(p.name for p in tmp_path.iterdir())
    assert before == ["s.db"]
    cli_main([*args, "--db", str(path)])
    no_traceback(capsys.readouterr().err)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_a_reading_connection_cannot_change_the_store(tmp_path):
    path = a_store(tmp_path / "s.db")
    before = path.read_bytes()
    store = Store(path, readonly=True)
    try:
        for statement in ("DELETE FROM devices", "UPDATE meta SET value='1'", "CREATE TABLE x(y)",
                          "DROP TABLE devices", "PRAGMA journal_mode=DELETE", "PRAGMA user_version=9"):
            with pytest.raises(sqlite3.DatabaseError):
                store.db.execute(statement)
        # TEMP tables (joins through serial lists) stay possible: they are not the store's.
        store.db.execute("CREATE TEMP TABLE t(x)")
        store.db.execute("INSERT INTO t VALUES (1)")
        assert store.db.execute("SELECT COUNT(*) FROM devices").fetchone()[0] == 3
    finally:
        store.close()
    assert path.read_bytes() == before


def test_a_read_beside_a_running_writer_sees_its_commits_and_leaves_its_wal(tmp_path):
    path = a_store(tmp_path / "s.db")
    writer = Store(path)
    try:
        scan = writer.begin_scan("inv", {}, 1)
        reader = Store(path, readonly=True)
        try:
            assert reader.db.execute("SELECT COUNT(*) FROM scans WHERE id=?", (scan,)).fetchone()[0] == 1
        finally:
            reader.close()
        assert (tmp_path / "s.db-wal").exists()  # the writer's, still in use: not removed under it
        writer.end_scan(scan, "completed")
    finally:
        writer.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.db"]


def test_a_read_does_not_migrate_an_older_store(tmp_path, capsys):
    path = tmp_path / "old.db"
    shutil.copy(V4, path)
    before = path.read_bytes()
    assert cli_main(["devices", "--db", str(path)]) == 2
    err = capsys.readouterr().err
    assert (f"{path} has schema version 4, older than this ibagent's ({SCHEMA_VERSION}); commands that only read "
            "never migrate a store: run 'ibagent scan' on it first") in err
    assert path.read_bytes() == before
    Store(path).close()  # a writer migrates it
    assert cli_main(["devices", "--db", str(path), "--format", "json"]) == 0


def test_an_empty_file_is_not_a_store_for_a_read(tmp_path, capsys):
    path = tmp_path / "empty.db"
    path.write_bytes(b"")
    assert cli_main(["devices", "--db", str(path)]) == 2
    assert f"{path} is an empty SQLite file, not an ibagent store" in capsys.readouterr().err
    assert path.read_bytes() == b""


@pytest.mark.parametrize("args", [["devices"], ["scan", "-i", "INV"]], ids=["read", "write"])
def test_a_schema_version_that_is_not_a_number(tmp_path, capsys, args):
    path = a_store(tmp_path / "s.db")
    store = Store(path)
    store.db.execute("UPDATE meta SET value='seven' WHERE key='schema_version'")
    store.close()
    inv = tmp_path / "hosts.yaml"
    inv.write_text("sw1:\n  hostname: 127.0.0.1\n  platform: cisco_xe\n  transports: [snmp]\n", encoding="utf-8")
    argv = [a.replace("INV", str(inv)) for a in args]
    assert cli_main([*argv, "--db", str(path)]) == 2  # was: exit 70, ValueError
    err = capsys.readouterr().err
    assert f"{path}: its schema version 'seven' is not a number: the store is damaged or not ibagent's" in err
    no_traceback(err)


def test_damaged_pages_are_named_whether_met_at_open_or_mid_read(tmp_path, capsys):
    path = a_store(tmp_path / "s.db", devices=300)
    pages = path.stat().st_size // 4096
    with path.open("r+b") as fh:  # the table's last pages: the store opens, the read meets them
        for page in range(pages - 12, pages - 2):
            fh.seek(page * 4096)
            fh.write(os.urandom(4096))
    assert cli_main(["errors", "--db", str(path)]) == 2  # was: exit 70, DatabaseError
    err = capsys.readouterr().err
    assert (f"ibagent: the store {path} cannot be read (database disk image is malformed): it is damaged; restore it "
            "from a backup") in err
    no_traceback(err)
    with path.open("r+b") as fh:  # now the schema pages too: refused as it opens
        for page in range(1, pages, 2):
            fh.seek(page * 4096 + 100)
            fh.write(os.urandom(2000))
    assert cli_main(["devices", "--db", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"ibagent: {path} is damaged (database disk image is malformed): restore it from a backup" in err
    no_traceback(err)


def _readonly_sqlite(monkeypatch):
    """SQLite as it behaves on a file this process may not write (tests run as root, where chmod
    cannot say no): every connection opened read-only."""
    real = sqlite3.connect

    def connect(path, *args, uri=False, **kwargs):
        if not uri:
            path, uri = f"file:{Path(path).resolve()}?mode=ro", True
        return real(path, *args, uri=uri, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", connect)


def test_a_read_only_store_is_called_read_only_and_still_reads(tmp_path, capsys, monkeypatch):
    path = a_store(tmp_path / "s.db")
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=DELETE")  # as a copied or restored store may be
    db.close()
    _readonly_sqlite(monkeypatch)
    with pytest.raises(StoreError) as refused:
        Store(path)
    assert str(refused.value).startswith(f"{path} is read-only (attempt to write a readonly database): ibagent "
                                         "cannot write it; check the permissions of the file and its directory")
    assert "not an ibagent store" not in str(refused.value)  # what it was called
    assert cli_main(["devices", "--db", str(path), "--failed", "--format", "json"]) == 0  # reads still work
    assert '"device": "sw0"' in capsys.readouterr().out


def test_a_scan_on_a_read_only_store_says_so(tmp_path, capsys, monkeypatch):
    path = a_store(tmp_path / "s.db")
    inv = tmp_path / "hosts.yaml"
    inv.write_text("sw1:\n  hostname: 127.0.0.1\n  platform: cisco_xe\n  transports: [snmp]\n", encoding="utf-8")
    _readonly_sqlite(monkeypatch)
    assert cli_main(["scan", "-i", str(inv), "--db", str(path), "--no-progress"]) == 74
    err = capsys.readouterr().err
    assert (f"scan not started: cannot write the store {path}: it is read-only (attempt to write a readonly "
            "database)") in err
    no_traceback(err)


# ------------------------------------------------------------------ locks, options


def test_the_scan_lock_follows_symlinks(tmp_path, capsys):
    path = a_store(tmp_path / "s.db")
    link = tmp_path / "link.db"
    link.symlink_to(path)
    holder = Store(path)
    other = Store(link)
    try:
        holder.lock()
        with pytest.raises(StoreLocked, match=f"another scan is running on {link}"):
            other.lock()  # was: a second lock file beside the link, two scans at once
        inv = tmp_path / "hosts.yaml"
        inv.write_text("sw1:\n  hostname: 127.0.0.1\n  platform: cisco_xe\n  transports: [snmp]\n", encoding="utf-8")
        assert cli_main(["scan", "-i", str(inv), "--db", str(link), "--no-progress"]) == 75
        assert "another scan is running" in capsys.readouterr().err
    finally:
        other.close()
        holder.close()
    assert not (tmp_path / "link.db.lock").exists()


@pytest.mark.parametrize("option", ["--deadline", "--connect-timeout", "--command-timeout"])
@pytest.mark.parametrize("value", ["-5", "nan", "0", "inf", "soon"])
@pytest.mark.parametrize("command", [["scan", "-i", "INV"], ["slp", "collect", "-i", "INV"],
                                     ["slp", "import-ack", "-i", "INV", "ACK"]], ids=" ".join)
def test_timeouts_that_are_no_timeouts_are_refused(capsys, command, option, value):
    with pytest.raises(SystemExit) as exited:
        cli_main([*command, option, value])
    assert exited.value.code == 2
    assert f"argument {option}: {value!r} is not a number of seconds above 0" in capsys.readouterr().err


@pytest.mark.parametrize("option,value,least", [("--workers", "0", 1), ("--workers", "-3", 1), ("--retries", "-1", 0)])
def test_counts_below_their_floor_are_refused(capsys, option, value, least):
    with pytest.raises(SystemExit) as exited:
        cli_main(["scan", "-i", "INV", option, value])
    assert exited.value.code == 2
    assert f"argument {option}: {value!r} is not a whole number of {least} or more" in capsys.readouterr().err


# ------------------------------------------------------------------ text shown, not obeyed


def test_contract_cells_reach_the_terminal_escaped(tmp_path, capsys):
    path = tmp_path / "export.csv"
    path.write_text("serialNumber,productId,coverageEndDate,contractNumber\n"
                    "FOC1\x1b]0;owned\x07\x1b[2J,C9300-48P,2027-01-01,1\n", encoding="utf-8")
    cli_main(["reconcile", "--contracts", str(path), "--db", str(tmp_path / "none.db")])
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err
    assert "'FOC1\\x1b]0;owned\\x07\\x1b[2J' is not a serial number" in err


def test_device_text_in_the_summary_and_the_log_is_escaped(tmp_path, capsys):
    from agent.cli.common import _print_summary, _setup_logging

    summary = types.SimpleNamespace(
        ok=0, failed=1, cancelled=0, elapsed=1.0, status="completed", stop_signal=None, scan_id=1, total=1,
        store_error=None, end_error=None, unsaved=0, done=1, by_kind={"command": 1},
        failures=[("sw1", "command", "rejected: \x1b[1A\x1b[2Kscan 1 completed: 1 ok\r")],
        attempts={"sw1": [("ssh", "command", "line one\nfake log line")]}, insecure=[], keys_learned=0)
    _print_summary(summary)
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\r" not in out
    assert "rejected: \\x1b[1A\\x1b[2Kscan 1 completed: 1 ok\\x0d" in out and "line one\\x0afake log line" in out
    log_file = tmp_path / "ib.log"
    from agent.core.redact import Redactor

    _setup_logging(types.SimpleNamespace(verbose=0, quiet=True, log_file=str(log_file)), Redactor())
    try:
        logging.getLogger("ibagent.test").warning("device said %s", "\x1b[31mred\n2026-01-01 CRITICAL forged")
    finally:
        for h in logging.getLogger().handlers:
            h.close()
        logging.getLogger().handlers.clear()
    text = log_file.read_text()
    assert text.count("\n") == 1 and "\x1b" not in text
    assert "device said \\x1b[31mred\\x0a2026-01-01 CRITICAL forged" in text


# ------------------------------------------------------------------ captures keep the bytes


DEVICE = "hq-acc-stk01"


def test_a_capture_keeps_the_exact_bytes_and_its_hash_is_over_them(tmp_path, monkeypatch):
    real_output, real_emit = lab_slp.output, Session._emit

    def output(device, command):
        text = real_output(device, command)
        return "Location: Caf\u00e9 Nord\r\n" + text if command == "show version" and text else text

    async def emit(self, data: bytes):
        # The device prints Latin-1, not UTF-8: one byte 0xE9 where UTF-8 would be C3 A9.
        await real_emit(self, data.replace("Caf\u00e9".encode(), b"Caf\xe9"))

    monkeypatch.setattr(lab_slp, "output", output)
    monkeypatch.setattr(Session, "_emit", emit)
    specs = [s for s in fleet.demo_fleet(latency=0.0) if s.name == DEVICE]
    with LabThread(specs) as lab:
        inv = write_inventory(lab.devices, tmp_path / "inv")
        store = Store(tmp_path / "ib.db")
        try:
            summary = asyncio.run(run_scan(load_inventory(inv).targets, store,
                                           ScanOptions(workers=1, connect_timeout=5, command_timeout=5, deadline=30)))
            assert summary.ok == 1
            row = store.db.execute("SELECT * FROM captures WHERE device=? AND command='show version'",
                                   (DEVICE,)).fetchone()
            raw = store.capture_bytes(row["id"])
            text = store.capture_text(row["id"])
        finally:
            store.close()
    assert b"Location: Caf\xe9 Nord\r\n" in raw  # was: only the cleaned text, 0xE9 turned into U+FFFD
    assert row["sha256"] == hashlib.sha256(raw).hexdigest()
    assert raw.startswith(b"show version") and raw.rstrip().endswith(b"#")  # echo and prompt: as received
    assert "Location: Caf\ufffd Nord\n" in text and "\r" not in text  # the cleaned text that was parsed
    assert row["text_sha256"] == hashlib.sha256(text.encode()).hexdigest()
