"""No advice on weak evidence (issue 14, item 2b): a bad optional cell never drops a coverage line,
and a file without a recognised coverage end date is refused rather than read as open-ended."""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from agent.cli.parser import main
from agent.contracts import load_contracts, load_header_map
from agent.reconcile import COVERED, UNCOVERED, DeviceScanState, FleetItem, reconcile

WEAK = Path(__file__).resolve().parent.parent / "fixtures" / "contracts" / "weak"
TBD = WEAK / "partner_ldos_tbd.csv"
HOMEMADE = WEAK / "homemade_expires.csv"
AS_OF = date(2026, 1, 15)


def _chassis(serial: str, pid: str = "C9300-48P") -> FleetItem:
    return FleetItem(serial=serial, base_pid=pid, pid=pid, device="sw-hq-01", hostname="sw-hq-01", site="HQ",
                     cls="chassis", name="Switch 1", slot="", scan_id=7, capture_id=70)


def _device() -> DeviceScanState:
    return DeviceScanState(device="sw-hq-01", site="HQ", contract_site_ids=("55501234",),
                           last_clean_scan_at=datetime(2026, 1, 14, 2, 30), latest_scan_clean=True,
                           latest_scan_id=7)


def test_tbd_in_optional_ldos_keeps_the_line_and_flags_the_cell():
    load = load_contracts(TBD)
    kept = {ln.serial: ln for ln in load.lines}
    assert set(kept) == {"FOC2701A1AA", "FOC2701A2BB"}
    assert kept["FOC2701A1AA"].ldos is None and kept["FOC2701A1AA"].end == date(2027, 7, 31)
    assert kept["FOC2701A2BB"].ldos == date(2030, 1, 31)  # the good cell in the same column is read
    reads = "is not a date this tool reads (YYYY-MM-DD, DD-MMM-YYYY, MM/DD/YYYY, DD/MM/YYYY or an Excel date number)"
    assert [str(e) for e in load.errors] == [
        f"{TBD} row 2, column 'Last Date of Support': 'TBD' {reads}; line kept, ldos left empty",
        f"{TBD} row 4, column 'Covered Line End Date': 'someday' {reads}",
    ]
    assert load.errors[0].kept and not load.errors[1].kept
    # A bad value in a required field (the coverage end) still drops its line (row 4 above).
    assert load.summary[0].skipped["rows with errors"] == 1


def test_covered_chassis_with_tbd_ldos_stays_covered():
    load = load_contracts(TBD)
    rows = reconcile([_chassis("FOC2701A1AA")], [_device()], load.lines, None, AS_OF)
    mine = [r for r in rows if r.serial == "FOC2701A1AA"]
    assert [r.status for r in mine] == [COVERED]  # not UNCOVERED: it must not land on the add list
    # The same file before the fix: the TBD cell dropped the line and the chassis was uncovered.
    without = reconcile([_chassis("FOC2701A1AA")], [_device()], [], None, AS_OF)
    assert [r.status for r in without if r.serial == "FOC2701A1AA"] == [UNCOVERED]


def test_homemade_file_without_end_date_is_refused_with_the_fix():
    load = load_contracts(HOMEMADE)
    assert not load.lines
    [err] = load.errors
    assert err.row is None  # a whole-file refusal: the CLI stops with exit 2
    assert str(err) == (
        f"{HOMEMADE}: no coverage end date column recognised (columns found: 'Serial', 'Product', "
        "'Contract', 'Expires'); its lines would show as covered with no end date, so the file is not "
        "read: name the end-date column in a --map file (YAML 'field: column name'), e.g. "
        "'serial: <serial column>' and 'coverage_end: <end-date column>'")


def test_homemade_file_read_with_map_naming_the_end_date():
    header_map = load_header_map(WEAK / "homemade_expires.map.yaml")
    load = load_contracts(HOMEMADE, header_map=header_map)
    assert not load.errors
    assert {ln.serial: ln.end for ln in load.lines} == {"FOC2702B1AA": date(2027, 3, 31),
                                                       "FOC2702B2BB": date(2026, 6, 30)}
    assert {ln.contract_number for ln in load.lines} == {"209870202"}  # other columns still by alias


def test_reconcile_cli_refuses_the_homemade_file(tmp_path, capsys):
    code = main(["reconcile", "--db", str(tmp_path / "none.db"), "--contracts", str(HOMEMADE)])
    err = capsys.readouterr().err
    assert code == 2
    assert str(HOMEMADE) in err and "no coverage end date column recognised" in err
    assert "'Expires'" in err and "--map" in err and "Traceback" not in err


def test_reconcile_cli_warns_on_the_tbd_cell(tmp_path, capsys):
    # The flag reaches the user through the warnings reconcile already prints, before the store
    # is opened (no store here: exit 2 for that reason, not for the flagged cell).
    main(["reconcile", "--db", str(tmp_path / "none.db"), "--contracts", str(TBD)])
    err = capsys.readouterr().err
    assert f"{TBD} row 2, column 'Last Date of Support'" in err and "line kept, ldos left empty" in err
    assert "not reconciling" not in err


def test_eox_record_with_tbd_ldos_is_kept_and_flagged():
    from agent.contracts import load_eox

    path = WEAK / "eox_tbd.csv"
    load = load_eox(path)
    assert len(load.index) == 1
    rec = load.index.get("WS-C2960X-48FPD-L")
    assert rec.pid == "WS-C2960X-48FPD-L" and rec.end_of_sale == date(2022, 10, 31)
    assert rec.last_date_of_support is None
    [err] = load.errors
    assert err.kept and str(err).startswith(f"{path} row 2, column 'LastDateOfSupport': 'TBD' is not a date")
    assert str(err).endswith("; record kept, last_date_of_support left empty")


MIXED = WEAK / "partner_ldos_mixed.csv"


def test_unreadable_optional_date_column_keeps_every_line():
    # The LDoS column mixes DD/MM and MM/DD: it cannot be read as a whole.  Before, that refused
    # the file (a column error has no row), so every covered chassis in it landed on `add`.
    load = load_contracts(MIXED)
    assert {ln.serial: (ln.end, ln.ldos) for ln in load.lines} == {
        "FOC2703C1AA": (date(2027, 7, 31), None), "FOC2703C2BB": (date(2027, 7, 31), None)}
    [err] = load.errors
    assert err.row is None and err.kept and not err.fatal
    assert err.column == "Last Date of Support"
    assert str(err).endswith("; column left empty, lines kept")
    rows = reconcile([_chassis("FOC2703C1AA")], [_device()], load.lines, None, AS_OF)
    assert [r.status for r in rows if r.serial == "FOC2703C1AA"] == [COVERED]


def test_reconcile_cli_warns_on_the_unreadable_optional_column(tmp_path, capsys):
    main(["reconcile", "--db", str(tmp_path / "none.db"), "--contracts", str(MIXED)])
    err = capsys.readouterr().err
    assert "column 'Last Date of Support'" in err and "column left empty, lines kept" in err
    assert "not reconciling" not in err
    # --strict still refuses on any problem, warnings included.
    assert main(["reconcile", "--db", str(tmp_path / "none.db"), "--contracts", str(MIXED), "--strict"]) == 2
    assert "not reconciling" in capsys.readouterr().err


def test_unreadable_coverage_date_column_still_refuses_the_file(tmp_path):
    text = MIXED.read_text().replace("2027-07-31,209870303,31/01/2030", "31/07/2027,209870303,2030-01-31")
    text = text.replace("2027-07-31,209870303,01/31/2030", "07/31/2027,209870303,2030-01-31")
    path = tmp_path / "mixed_end.csv"
    path.write_text(text)
    load = load_contracts(path)
    assert not load.lines
    assert any(e.row is None and not e.kept and e.column == "Covered Line End Date" for e in load.errors)
