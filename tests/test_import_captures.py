"""``ibagent import-captures`` (issue 13, item 5b): outputs saved by hand, through the CLI, into the
store as a collection with transport ``manual``, by the scan's evidence and fleet rules.

Fixtures: ``fixtures/manual/`` (written here by hand): a pasted IOS XE session (CRLF, an ``en``,
``terminal length 0``, ``sh ver``, a typed correction with backspaces, a ``--More--`` the device
erased with backspaces, a ``show running-config`` that must not be stored, ``sh lic sum``, a
trailing prompt) and NX-OS outputs one file per command (one named by its directory, one by a
header).
"""
from __future__ import annotations

import hashlib
import os
import json
import shutil
import time
from pathlib import Path

import pytest

from agent.cli import main
from agent.collect import manual
from agent.collect.manual_import import platform_command
from agent.core import platforms
from agent.store import Store

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "manual"
SESSION = FIX / "core-sw1_session.log"
NXOS = FIX / "nxos"
AS_OF = "2026-12-05"


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def devices(capsys, db) -> list[dict]:
    code, out, _ = run(capsys, "devices", "--db", str(db), "--format", "json")
    assert code == 0
    return json.loads(out)


def rows(db, sql, *args):
    store = Store(db, readonly=True)  # an SQLite file or a PostgreSQL URL (store_target)
    try:
        return [dict(r) for r in store.db.execute(sql, args)]
    finally:
        store.close()


def contracts(tmp_path, serials) -> str:
    """A small sn2info coverage export covering ``serials`` ((serial, base PID, parent serial))."""
    doc = {"serial_numbers": [
        {"id": str(i), "sr_no": sn, "parent_sr_no": parent, "is_covered": "YES",
         "covered_product_line_end_date": "2027-07-31", "service_contract_number": "200000001",
         "base_pid_list": [{"base_pid": pid}], "orderable_pid_list": [{"orderable_pid": pid, "item_type": "MODULE"}]}
        for i, (sn, pid, parent) in enumerate(serials, 1)]}
    path = tmp_path / "coverage.json"
    path.write_text(json.dumps(doc))
    return str(path)


def reconcile(capsys, db, coverage) -> dict[str, dict]:
    import csv
    import io

    code, out, err = run(capsys, "reconcile", "--db", str(db), "--contracts", coverage, "--format", "csv",
                         "--as-of", AS_OF)
    assert code == 0, err
    return {r["serial"]: r for r in csv.DictReader(io.StringIO(out))}


# ------------------------------------------------------------------ end to end


def test_pasted_xe_session_and_nxos_files_end_to_end(tmp_path, capsys, store_target):
    db = store_target  # both backends (tests/pg/store_fixtures.py)
    code, out, err = run(capsys, "import-captures", str(SESSION), str(NXOS), "--store", str(db))
    assert code == 0, err
    assert "2 device(s): 2 ok, 0 failed (transport manual)" in out
    # Session commands and the running configuration are listed as not read, and not stored.
    assert "commands not read (not stored): 3: en, show running-config, terminal length ..." in out
    items = devices(capsys, db)
    by_device: dict[str, list[dict]] = {}
    for item in items:
        by_device.setdefault(item["device"], []).append(item)
    assert set(by_device) == {"core-sw1", "n9k-leaf1"}
    assert {i["transport"] for i in items} == {"manual"}
    assert {i["platform"] for i in by_device["core-sw1"]} == {"cisco_xe"}  # read from its show version
    assert {i["platform"] for i in by_device["n9k-leaf1"]} == {"cisco_nxos"}
    assert {i["serial"] for i in by_device["core-sw1"] if i["contractable"]} == {
        "FOC2444Q1AA", "LIT24400AAA", "FOC24431BBB", "AVD2440CCCC"}  # the row after the erased --More-- too
    assert {i["version"] for i in by_device["n9k-leaf1"]} == {"10.3(4a)"}  # NX-OS canonical: Cisco's form
    assert {i["serial"] for i in by_device["n9k-leaf1"] if i["contractable"]} == {
        "FDO24210AAA", "ART2420ADDD", "ART2420AEEE", "FNS24400FFF"}
    dev = {r["device"]: r for r in rows(db, "SELECT * FROM devices")}
    assert dev["core-sw1"]["inventory_ok"] == 1 and dev["core-sw1"]["licenses_ok"] == 1
    assert dev["core-sw1"]["transport"] == "manual" and dev["core-sw1"]["host"] == ""
    assert dev["n9k-leaf1"]["hostname"] == "n9k-leaf1" and dev["n9k-leaf1"]["inventory_ok"] == 1
    scan = rows(db, "SELECT * FROM scans")
    assert len(scan) == 1 and scan[0]["status"] == "completed" and scan[0]["devices_ok"] == 2
    options = json.loads(scan[0]["options"])
    assert options["transport"] == "manual"
    assert {f["file"] for f in options["files"]} == {str(SESSION), str(NXOS / "n9k-leaf1" / "show_version.txt"),
                                                      str(NXOS / "n9k-leaf1-inventory.txt")}
    assert all(f["sha256"] == hashlib.sha256(Path(f["file"]).read_bytes()).hexdigest() for f in options["files"])
    commands = {(r["device"], r["command"]) for r in rows(db, "SELECT device, command FROM captures")}
    assert commands == {("core-sw1", "prompt"), ("core-sw1", "show version"), ("core-sw1", "show inventory"),
                        ("core-sw1", "show license summary"), ("n9k-leaf1", "show version"),
                        ("n9k-leaf1", "show inventory")}
    # Nothing of the running configuration reached the store.
    store = Store(db, readonly=True)
    try:
        blobs = [store.capture_bytes(r["id"]) for r in rows(db, "SELECT id FROM captures")]
    finally:
        store.close()
    assert not any(b"enable secret" in b for b in blobs)


def test_an_import_names_its_agent(tmp_path, capsys, monkeypatch):
    """Its scan row says who imported, as a scan's does: --agent, else $IBAGENT_AGENT."""
    db = tmp_path / "s.db"
    code, _, err = run(capsys, "import-captures", str(SESSION), "--store", str(db), "--agent", "field-laptop")
    assert code == 0, err
    monkeypatch.setenv("IBAGENT_AGENT", "from-env")
    code, _, err = run(capsys, "import-captures", str(NXOS), "--store", str(db))
    assert code == 0, err
    scans = rows(db, "SELECT agent, scope FROM scans ORDER BY id")
    assert [s["agent"] for s in scans] == ["field-laptop", "from-env"]
    assert json.loads(scans[0]["scope"])["inventory"] == "import-captures"
    assert main(["devices", "--db", str(db), "--agent", "field-laptop", "--format", "json"]) == 0
    assert {i["device"] for i in json.loads(capsys.readouterr().out)} == {"core-sw1"}


def test_stored_bytes_are_the_files_slices(tmp_path, capsys, store_target):
    db = store_target  # both backends (tests/pg/store_fixtures.py)
    assert run(capsys, "import-captures", str(SESSION), str(NXOS), "--db", str(db))[0] == 0
    data = SESSION.read_bytes()
    # A session's command: from its prompt line to the next prompt line.
    want = {
        ("core-sw1", "show version"): data[data.index(b"core-sw1#sh ver\r\n"):data.index(b"core-sw1#show invv")],
        ("core-sw1", "show inventory"): data[data.index(b"core-sw1#show invv"):data.index(b"core-sw1#show running")],
        ("core-sw1", "show license summary"): data[data.index(b"core-sw1#sh lic sum"):data.rindex(b"core-sw1#")],
        ("core-sw1", "prompt"): b"core-sw1#",
        # One file per command: the whole file without a header, the body after one.
        ("n9k-leaf1", "show version"): (NXOS / "n9k-leaf1" / "show_version.txt").read_bytes(),
        ("n9k-leaf1", "show inventory"): (NXOS / "n9k-leaf1-inventory.txt").read_bytes().split(b"night shift\n", 1)[1],
    }
    store = Store(db, readonly=True)
    try:
        for r in rows(db, "SELECT id, device, command, sha256 FROM captures"):
            got = store.capture_bytes(r["id"])
            assert got == want[(r["device"], r["command"])], r
            assert r["sha256"] == hashlib.sha256(got).hexdigest()
    finally:
        store.close()
    # The records point at their evidence: every core-sw1 item at its show inventory capture.
    inv = rows(db, "SELECT id FROM captures WHERE device='core-sw1' AND command='show inventory'")[0]["id"]
    assert {r["capture_id"] for r in rows(db, "SELECT capture_id FROM components WHERE device='core-sw1'")} == {inv}


def test_reimport_changes_nothing_and_again_is_a_new_attempt(tmp_path, capsys, store_target):
    db = store_target  # both backends (tests/pg/store_fixtures.py)
    assert run(capsys, "import-captures", str(SESSION), str(NXOS), "--db", str(db))[0] == 0
    code, out, _ = run(capsys, "import-captures", str(SESSION), str(NXOS), "--db", str(db))
    assert code == 0 and out.startswith("nothing new:") and "core-sw1 in scan 1" in out
    assert len(rows(db, "SELECT id FROM scans")) == 1
    # One device new, the other already there: only the new one is an attempt.
    other = tmp_path / "other.log"
    other.write_bytes(SESSION.read_bytes().replace(b"core-sw1", b"core-sw2").replace(b"FOC2444Q1AA", b"FOC2444Q2BB"))
    code, out, _ = run(capsys, "import-captures", str(other), str(SESSION), "--db", str(db))
    assert code == 0 and "1 device(s): 1 ok" in out and "already imported, not again: 1: core-sw1 (scan 1)" in out
    assert {r["device"] for r in rows(db, "SELECT device FROM devices WHERE scan_id = 2")} == {"core-sw2"}
    code, out, _ = run(capsys, "import-captures", str(SESSION), "--db", str(db), "--again")
    assert code == 0 and "import 3 completed" in out
    assert rows(db, "SELECT COUNT(*) AS n FROM devices WHERE device='core-sw1'")[0]["n"] == 2


def _variant(tmp_path, name, *, drop_psu=False, version_only=False, uptime=b"12 weeks, 3 days") -> Path:
    data = SESSION.read_bytes().replace(b"12 weeks, 3 days", uptime)
    if drop_psu:
        psu = data.index(b'NAME: "Switch 1 - Power Supply A"')
        data = data[:psu] + data[data.index(b" --More-- "):]
    if version_only:
        data = data[data.index(b"core-sw1#sh ver"):data.index(b"core-sw1#show invv")] + b"core-sw1#\r\n"
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_only_a_read_inventory_is_clean_and_a_missing_one_never_shrinks_the_fleet(tmp_path, capsys, store_target):
    db = store_target  # both backends (tests/pg/store_fixtures.py)
    coverage = contracts(tmp_path, [("FOC2444Q1AA", "C9300-24P", "FOC2444Q1AA"),
                                    ("LIT24400AAA", "PWR-C1-715WAC", "FOC2444Q1AA")])
    assert run(capsys, "import-captures", str(SESSION), "--db", str(db))[0] == 0
    assert reconcile(capsys, db, coverage)["LIT24400AAA"]["status"] == "covered"
    # A later paste whose inventory lacks the PSU: read in full, so the absence counts.
    removed = _variant(tmp_path, "no_psu.log", drop_psu=True, uptime=b"13 weeks, 1 day")
    assert run(capsys, "import-captures", str(removed), "--db", str(db))[0] == 0
    recon = reconcile(capsys, db, coverage)
    assert recon["LIT24400AAA"]["status"] == "not-seen", recon["LIT24400AAA"]
    assert recon["FOC2444Q1AA"]["status"] == "covered"
    # Then show version alone: an attempt, but no inventory read, so it proves nothing and
    # the device keeps the items of its last read inventory (not a chassis made up from show version).
    only = _variant(tmp_path, "ver_only.log", version_only=True, uptime=b"14 weeks, 2 days")
    code, out, _ = run(capsys, "import-captures", str(only), "--db", str(db))
    assert code == 0 and "without show inventory" in out and "core-sw1" in out
    latest = rows(db, "SELECT scan_id, status, inventory_ok, version_ok, problems FROM devices ORDER BY scan_id")[-1]
    assert (latest["scan_id"], latest["status"], latest["inventory_ok"], latest["version_ok"]) == (3, "ok", 0, 1)
    assert "the hardware inventory was not read" in latest["problems"]
    items = devices(capsys, db)
    assert {i["serial"] for i in items if i["contractable"]} == {"FOC2444Q1AA", "FOC24431BBB", "AVD2440CCCC"}
    assert {i["scan_id"] for i in items} == {2}
    assert all("scan 3 did not read the hardware inventory" in i["latest_error"] for i in items)
    recon = reconcile(capsys, db, coverage)
    assert recon["LIT24400AAA"]["status"] == "unverified", recon["LIT24400AAA"]
    assert recon["FOC2444Q1AA"]["status"] == "covered"


def test_a_prompt_names_the_device_the_store_knows_by_its_host_name(tmp_path, capsys, store_target):
    """The inventory calls it sw-0042; its prompt says core-sw1: the same device, another attempt."""
    db = store_target  # both backends (tests/pg/store_fixtures.py)
    assert run(capsys, "import-captures", str(SESSION), "--db", str(db), "--device", "sw-0042", "--site", "hq")[0] == 0
    later = _variant(tmp_path, "later.log", uptime=b"13 weeks, 1 day")
    code, out, err = run(capsys, "import-captures", str(later), "--db", str(db))
    assert code == 0, err
    got = rows(db, "SELECT scan_id, device, site FROM devices ORDER BY scan_id")
    assert got == [{"scan_id": 1, "device": "sw-0042", "site": "hq"}, {"scan_id": 2, "device": "sw-0042", "site": "hq"}]
    # --device names one device: a paste of two is refused, named.
    two = tmp_path / "two.log"
    two.write_bytes(SESSION.read_bytes() + SESSION.read_bytes().replace(b"core-sw1", b"core-sw2"))
    code, _, err = run(capsys, "import-captures", str(two), "--db", str(db), "--device", "x")
    assert code == 2 and "prompts name 2 devices (core-sw1, core-sw2)" in err


def test_configuration_typed_in_the_session_is_neither_stored_nor_shown(tmp_path, capsys):
    path = tmp_path / "conf.log"
    path.write_bytes(SESSION.read_bytes().replace(
        b"core-sw1#show running-config", b"core-sw1(config)#snmp-server community n0t-4-c0mmun1ty RO\r\ncore-sw1#show run"))
    db = tmp_path / "ib.db"
    code, out, err = run(capsys, "import-captures", str(path), "--db", str(db))
    assert code == 0 and "snmp-server community ..." in out
    assert "n0t-4-c0mmun1ty" not in out + err
    store = Store(db, readonly=True)
    try:
        kept = [store.capture_bytes(r["id"]) for r in rows(db, "SELECT id FROM captures")]
    finally:
        store.close()
    assert len(kept) == 4 and not any(b"n0t-4-c0mmun1ty" in b for b in kept)


def test_a_refused_show_inventory_is_a_failed_capture_and_not_clean(tmp_path, capsys):
    data = SESSION.read_bytes()
    start, end = data.index(b"core-sw1#show invv"), data.index(b"core-sw1#show running")
    refused = (b"core-sw1#show inventory raw\r\n                   ^\r\n"
               b"% Invalid input detected at '^' marker.\r\n\r\n")
    path = tmp_path / "refused.log"
    path.write_bytes(data[:start] + refused.replace(b" raw", b"") + data[end:])
    db = tmp_path / "ib.db"
    assert run(capsys, "import-captures", str(path), "--db", str(db))[0] == 0
    cap = rows(db, "SELECT error_kind, error FROM captures WHERE command='show inventory'")[0]
    assert cap["error_kind"] == "command" and "% Invalid input" in cap["error"]
    dev = rows(db, "SELECT status, inventory_ok FROM devices")[0]
    assert (dev["status"], dev["inventory_ok"]) == ("ok", 0)


# ------------------------------------------------------------------ refusals


def test_a_file_without_a_device_is_named_and_nothing_is_imported(tmp_path, capsys):
    caps = tmp_path / "caps"
    (caps / "n9k-leaf1").mkdir(parents=True)
    shutil.copy(NXOS / "n9k-leaf1" / "show_version.txt", caps / "n9k-leaf1" / "show_version.txt")
    shutil.copy(NXOS / "n9k-leaf1" / "show_version.txt", caps / "show_version.txt")  # in the DIR itself
    db = tmp_path / "ib.db"
    code, out, err = run(capsys, "import-captures", str(caps), "--db", str(db))
    assert code == 2 and "Traceback" not in err
    assert f"{caps / 'show_version.txt'}, line 1: no device" in err
    assert "nothing imported" in err
    assert rows(db, "SELECT id FROM scans") == []
    code, out, err = run(capsys, "import-captures", str(caps), "--db", str(db), "--skip-bad")
    assert code == 1 and "1 device(s): 1 ok" in out and "skipped:" in err
    files = json.loads(rows(db, "SELECT options FROM scans")[0]["options"])["files"]
    assert [f["file"] for f in files] == [str(caps / "n9k-leaf1" / "show_version.txt")]


def test_platform_must_be_named_when_nothing_says_it(tmp_path, capsys):
    d = tmp_path / "edge-fw1"
    d.mkdir()
    inv = d / "show_inventory.txt"
    inv.write_text('Name: "Chassis", DESCR: "ASA 5525-X with SW, 8 GE Data, 1 GE Mgmt, AC"\n'
                   "PID: ASA5525           , VID: V05     , SN: FTX2012W0AB\n")
    db = tmp_path / "ib.db"
    code, _, err = run(capsys, "import-captures", str(inv), "--db", str(db))
    assert code == 2 and "edge-fw1" in err and "platform not recognised" in err and "--platform" in err
    code, out, err = run(capsys, "import-captures", str(inv), "--db", str(db), "--platform", "asa")
    assert code == 0, err
    assert rows(db, "SELECT platform FROM devices")[0]["platform"] == "cisco_asa"
    # Known to the store now: a later import of the device needs no --platform.
    inv.write_text(inv.read_text().replace("V05", "V06"))
    assert run(capsys, "import-captures", str(inv), "--db", str(db))[0] == 0


@pytest.mark.parametrize("content,expected", [
    (b"core-sw1#show version\n\x00\x01\x02binary", "not text (NUL bytes"),
    (b"# device: core-sw1\n# comand: show version\nCisco IOS XE Software, Version 17.09.04a\n",
     "line 2: unknown header key 'comand'"),
    (b"# device: core\x1b[31m\n# command: show version\nx\n", "line 1: 'device'"),
    (b"hello world\nno prompt here\n", "line 1: no prompt line"),
])
def test_hostile_files_are_refused_by_name_and_line(tmp_path, capsys, content, expected):
    path = tmp_path / "capture.txt"
    path.write_bytes(content)
    code, _, err = run(capsys, "import-captures", str(path), "--db", str(tmp_path / "ib.db"))
    assert code == 2 and "Traceback" not in err
    assert str(path) in err and expected in err, err


def test_size_cap_is_checked_before_reading(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(manual, "FILE_LIMIT", 1000)
    path = tmp_path / "big.log"
    path.write_bytes(SESSION.read_bytes())
    code, _, err = run(capsys, "import-captures", str(path), "--db", str(tmp_path / "ib.db"))
    assert code == 2 and f"{path} is 2,593 bytes, more than the 1,000 bytes accepted" in err


def test_bytes_that_are_not_utf8_are_kept_raw(tmp_path, capsys):
    data = SESSION.read_bytes().replace(b"Catalyst L3 Switch", b"Catalyst \xff\xfe Switch")
    path = tmp_path / "latin.log"
    path.write_bytes(data)
    db = tmp_path / "ib.db"
    assert run(capsys, "import-captures", str(path), "--db", str(db))[0] == 0
    store = Store(db, readonly=True)
    try:
        cap = rows(db, "SELECT id FROM captures WHERE command='show version'")[0]["id"]
        assert b"Catalyst \xff\xfe Switch" in store.capture_bytes(cap)
        assert "Catalyst \ufffd\ufffd Switch" in store.capture_text(cap)
    finally:
        store.close()


# ------------------------------------------------------------------ splitting, unit by unit


def _pieces(tmp_path, data: bytes, name="s.log", dir_device=""):
    path = tmp_path / name
    path.write_bytes(data)
    return manual.read_file(path, name, dir_device).pieces


def test_terminal_edits_are_applied_to_the_text_only():
    erased = " --More-- " + "\b" * 10 + " " * 10 + "\b" * 10 + 'NAME: "Fan 1"'
    assert manual.render(erased).rstrip() == 'NAME: "Fan 1"'
    assert manual.render("show invv\b \bentory") == "show inventory"
    assert manual.render("abc\rX") == "Xbc"  # a carriage return overwrites, as on screen


def test_prompts_of_every_platform_name_the_device(tmp_path):
    data = (b"RP/0/RSP0/CPU0:pe1#show version\nCisco IOS XR Software, Version 7.5.2\n"
            b"fw1/pri/act# show version\nCisco Adaptive Security Appliance Software Version 9.16(3)\n"
            b"leaf-2(config)#do show inventory\nNAME: \"Chassis\"\n  --> not a prompt\n1> neither\nleaf-2#")
    got = [(p.device, p.command, p.line) for p in _pieces(tmp_path, data)]
    assert got == [("pe1", "show version", 1), ("fw1", "show version", 3), ("leaf-2", "show inventory", 5)]


def test_lone_cr_line_ends_and_a_header_session(tmp_path):
    data = b"# device: dist-1\r# site: hq\rSwitch#sh ver\rCisco IOS Software, C3750E Software\rSwitch#"
    pieces = _pieces(tmp_path, data)
    assert [(p.device, p.site, p.command, p.line) for p in pieces] == [("dist-1", "hq", "sh ver", 3)]
    assert pieces[0].text.startswith("Cisco IOS Software, C3750E") and pieces[0].raw.endswith(b"Software\r")


def test_two_devices_in_one_paste_but_one_header_device_is_refused(tmp_path):
    data = b"a-sw#show version\nx\nb-sw#show version\ny\n"
    assert [p.device for p in _pieces(tmp_path, data)] == ["a-sw", "b-sw"]
    with pytest.raises(manual.CaptureFileError, match="prompts name 2 devices"):
        _pieces(tmp_path, b"# device: a-sw\n" + data)


@pytest.mark.parametrize("typed,platform,expected", [
    ("sh ver", "cisco_xe", "show version"),
    ("show inv", "cisco_nxos", "show inventory"),
    ("sh lic stat", "cisco_xe", "show license status"),
    ("adm sh inv", "cisco_xr", "admin show inventory"),
    ("show version | json", "cisco_nxos", "show version | json"),
    ("show license all", "cisco_xe", "show license all"),  # not a scan command there, but a parsed one
    ("sh lic", "cisco_ios", "show license"),  # classic licensing (CSL) feature list, read since issue 13
    ("sh lic frobnicate", "cisco_xe", None),  # not a command ibagent reads
    ("show inventory | include PID", "cisco_xe", None),  # filtered: not the whole inventory
    ("terminal length 0", "cisco_xe", None),
    ("show running-config", "cisco_ios", None),
])
def test_commands_are_named_as_the_platform_names_them(typed, platform, expected):
    assert platform_command(typed, platform) == expected


def test_every_parser_fixture_show_version_names_its_platform():
    fixtures = sorted((FIX.parent / "parsers").glob("*/show_version/*.txt"))
    assert len(fixtures) >= 15
    for path in fixtures:
        assert platforms.detect(path.read_text(errors="replace")) == [path.parent.parent.name], path
    assert platforms.detect("hello") == []


def test_long_hostile_lines_split_in_linear_time(tmp_path):
    for unit in ("#", "a#", "\b", "a\b", "-->", " --More-- ", "RP/0/", "\x1b["):
        for n in (20_000, 80_000):
            data = b"core-sw1#show version\n" + (unit * (n // len(unit))).encode() + b"\ncore-sw1#\n"
            t0 = time.perf_counter()
            _pieces(tmp_path, data)
            took = time.perf_counter() - t0
            assert took < 0.5, (unit, n, took)
    for rx in [p.detect for n in platforms.names() if (p := platforms.get(n)).detect is not None]:
        for unit in (" ", "Cisco IOS ", "IOS-", "\n"):
            t0 = time.perf_counter()
            rx.search((unit * 4000)[:platforms.DETECT_CHARS])
            assert time.perf_counter() - t0 < 0.02


def test_a_thousand_files_with_progress(tmp_path, capsys):
    """500 devices, one file per command each (show version, show inventory)."""
    caps = tmp_path / "caps"
    version = (NXOS / "n9k-leaf1" / "show_version.txt").read_text()
    inventory = (NXOS / "n9k-leaf1-inventory.txt").read_text().split("night shift\n", 1)[1]
    for i in range(500):
        d = caps / f"leaf{i:03d}"
        d.mkdir(parents=True)
        (d / "show_version.txt").write_text(version.replace("n9k-leaf1", f"leaf{i:03d}")
                                            .replace("FDO24210AAA", f"FDO2421{i:04d}"))
        (d / "show_inventory.txt").write_text(inventory.replace("FDO24210AAA", f"FDO2421{i:04d}")
                                              .replace("ART2420AD", f"ART{i:04d}D").replace("ART2420AE", f"ART{i:04d}E"))
    db = tmp_path / "ib.db"
    t0 = time.perf_counter()
    code, out, err = run(capsys, "import-captures", str(caps), "--db", str(db), "--progress")
    took = time.perf_counter() - t0
    assert code == 0, err
    assert "1000 file(s), 500 device(s): 500 ok, 0 failed" in out
    assert "reading files: 1000/1000" in err and "500/500" in err
    assert rows(db, "SELECT COUNT(*) AS n FROM devices WHERE inventory_ok = 1")[0]["n"] == 500
    print(f"1,000 files, 500 devices imported in {took:.1f}s")
    assert took < 120


# ------------------------------------------------------------------ endings, as a scan's


def test_an_unreadable_output_fails_its_device_parse(tmp_path, capsys):
    path = tmp_path / "junk.log"
    path.write_bytes(b"edge-1#show version\r\nthis is not what a device prints\r\nedge-1#\r\n")
    db = tmp_path / "ib.db"
    code, out, err = run(capsys, "import-captures", str(path), "--db", str(db), "--platform", "cisco_xe")
    assert code == 1 and "0 ok, 1 failed" in out and "edge-1" in out and "parse" in out
    code, out, _ = run(capsys, "errors", "--db", str(db), "--format", "json")
    assert code == 0
    assert [(e["device"], e["transport"], e["kind"]) for e in json.loads(out)] == [("edge-1", "manual", "parse")]
    assert rows(db, "SELECT status FROM scans")[0]["status"] == "completed"


def test_ctrl_c_keeps_what_was_saved_and_marks_the_import_interrupted(tmp_path, capsys, monkeypatch):
    from agent.collect import parsing

    real = parsing.ParseRunner.run
    calls = []

    async def run_then_stop(self, target, *a, **k):
        calls.append(target.name)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return await real(self, target, *a, **k)

    monkeypatch.setattr(parsing.ParseRunner, "run", run_then_stop)
    db = tmp_path / "ib.db"
    code, _, err = run(capsys, "import-captures", str(SESSION), str(NXOS), "--db", str(db))
    assert code == 130 and "interrupted" in err
    scan = rows(db, "SELECT status, reason, devices_ok FROM scans")[0]
    assert (scan["status"], scan["devices_ok"]) == ("interrupted", 1) and "Ctrl-C" in scan["reason"]


def test_a_store_that_cannot_be_written_fails_the_import_74(tmp_path, capsys, monkeypatch):
    from agent.store import StoreWriteError

    def full(*a, **k):
        raise StoreWriteError("cannot write the store: database or disk is full")

    monkeypatch.setattr(Store, "save_device", full)
    db = tmp_path / "ib.db"
    code, _, err = run(capsys, "import-captures", str(SESSION), "--db", str(db))
    assert code == 74 and "disk is full" in err and "Traceback" not in err
    scan = rows(db, "SELECT status, reason FROM scans")[0]
    assert scan["status"] == "failed" and "disk is full" in scan["reason"]
    assert rows(db, "SELECT COUNT(*) AS n FROM captures")[0]["n"] == 0  # the device's transaction rolled back


def test_a_running_scan_holds_the_store_75(tmp_path, capsys):
    db = tmp_path / "ib.db"
    holder = Store(db)
    holder.lock()
    try:
        code, _, err = run(capsys, "import-captures", str(SESSION), "--db", str(db))
    finally:
        holder.close()
    assert code == 75 and "another scan is running" in err


def test_platform_files_detect_section_is_checked():
    import copy

    import yaml

    data = yaml.safe_load((platforms._DEFS / "cisco_ios.yaml").read_text())
    assert data["detect"]["unless"]  # IOS XE prints 'Cisco IOS Software' too
    bad = copy.deepcopy(data)
    bad["detect"]["show_version"].append("Cisco (IOS")
    assert any("detect.show_version[3]: not a regular expression" in p for p in platforms.problems(bad, "cisco_ios"))
    bad = copy.deepcopy(data)
    bad["detect"]["sysdescr"] = ["x"]
    assert any("unknown key 'sysdescr'" in p for p in platforms.problems(bad, "cisco_ios"))
    xe = "Cisco IOS XE Software, Version 17.09.04a\nCisco IOS Software [Cupertino], Catalyst L3 Switch Software"
    assert platforms.detect(xe) == ["cisco_xe"]
    assert platforms.detect("Cisco IOS Software, C2900 Software (C2900-UNIVERSALK9-M), Version 15.7(3)M5") == ["cisco_ios"]


def test_every_corpus_show_version_names_its_platform():
    """The conformance corpus (real captures, not in this repository): each family's show version
    is detected as that platform and no other."""
    from corpus_util import corpus_root

    corpus = corpus_root()
    if not corpus.is_dir():
        pytest.skip(f"no corpus at {corpus}")
    family = {"asa": "cisco_asa", "ios": "cisco_ios", "iosxe": "cisco_xe", "iosxr": "cisco_xr", "nxos": "cisco_nxos"}
    checked = 0
    for path in sorted(corpus.glob("*/show_version/*.txt")):
        if path.parent.parent.name in family:
            assert platforms.detect(path.read_text(errors="replace")) == [family[path.parent.parent.name]], path
            checked += 1
    assert checked >= 150


def test_odd_file_and_directory_names(tmp_path, capsys):
    caps = tmp_path / "caps"
    odd = caps / "bad\x1b]0;x\x07dir"  # a directory name that would retitle a terminal: names no device
    odd.mkdir(parents=True)
    (odd / "show_version.txt").write_bytes((NXOS / "n9k-leaf1" / "show_version.txt").read_bytes())
    named = caps / os.fsdecode(b"leaf\xff")
    named.mkdir()
    db = tmp_path / "ib.db"
    code, _, err = run(capsys, "import-captures", str(caps), "--db", str(db))
    assert code == 2 and "no device" in err and "\x1b" not in err and "\\x1b" in err
    (named / os.fsdecode(b"show_version\xfe.txt")).write_bytes(b"x")
    code, _, err = run(capsys, "import-captures", str(named), "--db", str(db), "--device", "leaf9")
    assert code == 2 and "show_version\ufffd.txt" in err and "Traceback" not in err
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    code, _, err = run(capsys, "import-captures", str(fifo), "--db", str(db))
    assert code == 2 and "not a regular file" in err


def test_two_chassis_under_one_prompt_name_are_refused(tmp_path, capsys):
    first = tmp_path / "a.log"
    first.write_bytes(SESSION.read_bytes().replace(b"core-sw1", b"Switch"))
    second = tmp_path / "b.log"
    second.write_bytes(first.read_bytes().replace(b"FOC2444Q1AA", b"FOC2444Q7ZZ"))
    db = tmp_path / "ib.db"
    code, _, err = run(capsys, "import-captures", str(first), str(second), "--db", str(db))
    assert code == 2 and "Switch: its show version outputs are of 2 chassis" in err
    assert f"FOC2444Q7ZZ in {second}, line 6" in err
    # The same chassis pasted twice is one device.
    third = tmp_path / "c.log"
    third.write_bytes(first.read_bytes().replace(b"12 weeks", b"14 weeks"))
    assert run(capsys, "import-captures", str(first), str(third), "--db", str(db))[0] == 0


def test_byte_order_marks(tmp_path, capsys):
    bom = tmp_path / "bom.log"
    bom.write_bytes(b"\xef\xbb\xbf" + SESSION.read_bytes())  # Notepad's UTF-8
    db = tmp_path / "ib.db"
    code, out, err = run(capsys, "import-captures", str(bom), "--db", str(db))
    assert code == 0 and "1 device(s): 1 ok" in out, err
    header = tmp_path / "hdr.txt"
    header.write_bytes(b"\xef\xbb\xbf# device: n9k-leaf1\n# command: show version\n"
                       + (NXOS / "n9k-leaf1" / "show_version.txt").read_bytes())
    assert [(p.device, p.command) for p in manual.read_file(header, "hdr.txt").pieces] == [("n9k-leaf1",
                                                                                         "show version")]
    d = tmp_path / "dist-9"
    d.mkdir()
    plain = d / "show_version.txt"  # no header: the whole file is the evidence, its BOM included
    plain.write_bytes(b"\xef\xbb\xbfCisco IOS Software, C3750E Software (C3750E-UNIVERSALK9-M), Version 15.2(4)E10\n"
                      b"dist-9 uptime is 3 weeks\nProcessor board ID FDO1234X0AB\n")
    piece = manual.read_file(plain, "show_version.txt", "dist-9").pieces[0]
    assert piece.raw == plain.read_bytes() and piece.text.startswith("Cisco IOS Software")
    assert platforms.detect(piece.text) == ["cisco_ios"]
    utf16 = tmp_path / "ps.txt"
    utf16.write_bytes(SESSION.read_text().encode("utf-16"))
    code, _, err = run(capsys, "import-captures", str(utf16), "--db", str(db))
    assert code == 2 and f"{utf16}: UTF-16 text" in err


def test_skip_bad_with_nothing_left(tmp_path, capsys):
    path = tmp_path / "x.log"
    path.write_bytes(b"no prompt, no command\n")
    code, out, err = run(capsys, "import-captures", str(path), "--db", str(tmp_path / "ib.db"), "--skip-bad")
    assert code == 1 and "nothing imported" in out and "skipped:" in err


def test_a_more_prompt_left_in_the_paste_is_dropped(tmp_path, capsys):
    """A terminal that did not apply the device's erasing backspaces leaves ' --More-- ' before the
    next line's text; the parser's cleaning drops it (the bytes keep it)."""
    data = SESSION.read_bytes()
    erased = b" --More-- " + b"\b" * 10 + b" " * 10 + b"\b" * 10
    path = tmp_path / "more.log"
    path.write_bytes(data.replace(erased, b" --More-- "))
    db = tmp_path / "ib.db"
    assert run(capsys, "import-captures", str(path), "--db", str(db))[0] == 0
    assert "FOC24431BBB" in {i["serial"] for i in devices(capsys, db)}
