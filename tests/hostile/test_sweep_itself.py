"""The sweep that guards the whole suite (tests/suite_sweep.py) must find what it is for: a
secret in a store blob, a damaged store, a report, a log line; and must not call an input a leak."""
from __future__ import annotations

import sqlite3
import zipfile
import zlib
from pathlib import Path

import suite_sweep
from secrets_sweep import sweep

from agent.core.secret import Secret

# Written into files below on purpose, so never made a Secret: the session's own sweep (which looks
# for every Secret value) would rightly report these files.
VALUE = "sweep-canary-7f3a"


def test_every_secret_made_in_the_suite_is_looked_for():
    Secret("sweep-recorded-b41c")  # never written anywhere
    assert "sweep-recorded-b41c" in suite_sweep._needles()
    assert VALUE not in suite_sweep._needles()
    Secret("short")  # under MIN_LENGTH: would match ordinary words
    assert "short" not in suite_sweep._needles()


def test_found_in_a_store_blob_a_damaged_store_and_a_report(tmp_path):
    store = tmp_path / "s.db"
    db = sqlite3.connect(store)
    db.execute("CREATE TABLE blobs (data BLOB)")
    db.execute("INSERT INTO blobs VALUES (?)", (zlib.compress(b"login " + VALUE.encode() + b" ok"),))
    db.commit()
    db.close()
    assert sweep([VALUE], paths=[store]) == ["s.db table blobs (zlib): secret #0"]

    damaged = tmp_path / "damaged.db"
    data = bytearray(store.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # the schema page: SQLite can no longer read it
    damaged.write_bytes(bytes(data))
    assert sweep([VALUE], paths=[damaged]) == ["damaged.db (damaged, zlib scan): secret #0"]

    report = tmp_path / "report.xlsx"
    with zipfile.ZipFile(report, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/sharedStrings.xml", f"<si><t>{VALUE}</t></si>")
    assert sweep([VALUE], paths=[report]) == [f"{report}!xl/sharedStrings.xml: secret #0"]
    assert sweep([VALUE], texts={"log": "DEBUG agent.x sent " + VALUE}) == ["log: secret #0"]


def test_inputs_are_told_apart_by_name_only(tmp_path):
    for name in ("hosts.yaml", "snmp_community_sw1", "enable_secret", "sshd_config"):
        (tmp_path / name).write_text(VALUE)
    (tmp_path / "summary.json").write_text(VALUE)
    (tmp_path / "scan.log").write_text(VALUE)
    swept = [p.name for p in suite_sweep.swept_files(tmp_path)]
    assert swept == ["scan.log", "summary.json"]


LEAKY_TEST = '''
from agent.core.secret import Secret

def test_writes(tmp_path):
    secret = Secret("inner-leak-5d2e91")
    (tmp_path / "{name}").write_text("device sw1 password " + secret.reveal())
'''


def _inner_session(pytester, name: str):
    tests = Path(__file__).resolve().parents[1]
    pytester.makeconftest(f"import sys\nsys.path.insert(0, {str(tests)!r})\npytest_plugins = ['suite_sweep']\n")
    pytester.makepyfile(test_leak=LEAKY_TEST.replace("{name}", name))
    # A subprocess: the plugin patches Secret for its session, which must not touch this one's.
    return pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")


def test_a_leak_into_an_output_fails_the_whole_session(pytester):
    result = _inner_session(pytester, "report.csv")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*report.csv: secret #*", "*1 passed*"])
    assert "inner-leak-5d2e91" not in result.stdout.str()  # named by number, never by value


def test_the_same_value_in_an_input_file_is_not_a_leak(pytester):
    result = _inner_session(pytester, "hosts.yaml")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*none found*"])
