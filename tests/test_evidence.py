"""``ibagent show capture ID`` and ``ibagent evidence SERIAL``: from a row's capture_id to the bytes
the device sent, byte for byte into a pipe, shown and never obeyed on a terminal."""
from __future__ import annotations

import hashlib
import json
import os
import pty
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from agent.cli import main
from evidence_store import HOSTILE, build  # tests/ is on sys.path, as for corpus_util

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return build(tmp_path_factory.mktemp("evidence"))


def capture_id(db: Path, device: str) -> int:
    with sqlite3.connect(db) as con:
        return con.execute("SELECT id FROM captures WHERE device = ? AND command = 'show inventory'",
                           (device,)).fetchone()[0]


def ibagent(*argv, stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "agent.cli", *argv], stdout=stdout, stderr=subprocess.PIPE,
                          env=env, timeout=60)


def test_show_capture_into_a_pipe_is_the_bytes_the_device_sent(store):
    db, _, sent = store
    proc = ibagent("show", "capture", str(capture_id(db, "hq-core1")), "--db", str(db))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == sent["hq-core1"]  # escape sequences, CR LF, the byte 0xff: untouched
    assert HOSTILE in proc.stdout
    err = proc.stderr.decode()
    digest = hashlib.sha256(proc.stdout).hexdigest()
    assert f"# sha256: {digest} (verified)" in err
    assert "# device: hq-core1" in err and "# command: show inventory" in err and "# scan: 1" in err
    assert f"# bytes: {len(sent['hq-core1'])}" in err and "# transport: manual" in err


def test_show_capture_header_on_stdout(store):
    db, _, sent = store
    proc = ibagent("show", "capture", str(capture_id(db, "hq-acc2")), "--header", "--db", str(db))
    assert proc.returncode == 0 and proc.stderr == b""
    head, _, body = proc.stdout.partition(b"# sha256: ")
    digest, _, rest = body.partition(b" (verified)\n")
    assert head.startswith(b"# capture: ") and b"# device: hq-acc2\n" in head
    assert rest == sent["hq-acc2"] and digest.decode() == hashlib.sha256(rest).hexdigest()


def test_show_capture_text_is_what_was_parsed(store):
    db, _, _ = store
    proc = ibagent("show", "capture", str(capture_id(db, "br-acc3")), "--text", "--db", str(db))
    assert proc.returncode == 0
    assert b"\r" not in proc.stdout and b"SN: FOC3333A0CC" in proc.stdout
    assert f"# sha256: {hashlib.sha256(proc.stdout).hexdigest()} (verified)" in proc.stderr.decode()


def test_show_capture_on_a_terminal_is_shown_not_obeyed(store):
    db, _, _ = store
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "agent.cli", "show", "capture", str(capture_id(db, "hq-core1")),
                             "--db", str(db)], stdout=slave, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=60) == 0
    shown = b"".join(chunks)
    # No escape, BEL or lone CR reaches the terminal; each is written out as text.
    assert b"\x1b" not in shown and b"\x07" not in shown and b"\xff" not in shown
    assert b"\\x1b]0;pwned\\x07 \\x1b[2J hidden\\x0dbad\\xff" in shown
    assert b"SN: FOC1111A0AA" in shown
    assert shown.count(b"\r") == shown.count(b"\n")  # only the tty's own CR before each LF


def test_show_capture_unknown_id(store, capsys):
    db, _, _ = store
    assert main(["show", "capture", "999999", "--db", str(db)]) == 2
    assert "no capture 999999" in capsys.readouterr().err


def test_evidence_table_names_sightings_captures_and_lines(store, capsys):
    db, contracts, _ = store
    code = main(["evidence", "dcb1111p01a", "--db", str(db), "--contracts", str(contracts)])
    out = capsys.readouterr().out
    assert code == 0
    cid = capture_id(db, "hq-core1")
    assert "sightings of DCB1111P01A: 1" in out and "hq-core1" in out and "PWR-C1-350WAC" in out
    assert "captures behind them: 1" in out and f"\n{cid} " in out
    assert "contract lines naming it: 1" in out and "700100" in out and "2027-12-31" in out
    assert f"{contracts}  3 " in out  # file and row


def test_evidence_json(store, capsys):
    db, contracts, sent = store
    assert main(["evidence", "FOC2222A0BB", "--db", str(db), "--contracts", str(contracts), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["serial"] == "FOC2222A0BB"
    assert [(s["device"], s["pid"], s["scan_id"]) for s in doc["sightings"]] == [("hq-acc2", "WS-C3850-48P", 1)]
    (cap,) = doc["captures"]
    assert cap["capture_id"] == capture_id(db, "hq-acc2")
    assert cap["sha256"] == hashlib.sha256(sent["hq-acc2"]).hexdigest()
    (line,) = doc["contract_lines"]
    assert (line["row"], line["end"], line["contract_number"]) == (4, "2026-01-31", "700100")


def test_evidence_of_a_serial_nothing_names(store, capsys):
    db, contracts, _ = store
    assert main(["evidence", "NOPE0000", "--db", str(db), "--contracts", str(contracts)]) == 1
    assert "never seen and no contract line names it" in capsys.readouterr().err


def test_evidence_with_only_a_contract_line(store, tmp_path, capsys):
    db, _, _ = store
    extra = tmp_path / "more.csv"
    extra.write_text((Path(store[1]).read_text().splitlines()[0]) + "\n"
                     "FOC9999Z0ZZ,COVERED,ACTIVE,WS-C3850-24T,2026-01-01,2027-12-31,700300,HQ,55500001,SNT\n")
    assert main(["evidence", "FOC9999Z0ZZ", "--db", str(db), "--contracts", str(extra)]) == 0
    out = capsys.readouterr().out
    assert "sightings of FOC9999Z0ZZ: 0" in out and "contract lines naming it: 1" in out and "700300" in out
