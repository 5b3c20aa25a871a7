"""Contract import: every layout of FORMATS.md section 1, read from files in their real shape."""
from __future__ import annotations

import csv
import importlib.util
import json
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from agent.contracts import (
    ContractLoad,
    DateProblem,
    canonical_serial,
    load_contracts,
    load_header_map,
    parse_date,
    split_pid,
)

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "contracts"


def _headers():
    spec = importlib.util.spec_from_file_location("contract_headers", FIX / "headers.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


HEADERS = _headers()


def by_serial(load: ContractLoad) -> dict[str, list]:
    out: dict[str, list] = {}
    for line in load.lines:
        out.setdefault(line.serial, []).append(line)
    return out


def write_csv(path: Path, header, rows, delimiter=",", encoding="utf-8", above=()) -> Path:
    with path.open("w", newline="", encoding=encoding) as fh:
        out = csv.writer(fh, delimiter=delimiter)
        for line in above:
            out.writerow(line)
        out.writerow(header)
        for row in rows:
            out.writerow([row.get(c, "") for c in header] if isinstance(row, dict) else row)
    return path


# ------------------------------------------------------------------ fixtures are the real layouts


def test_fixture_headers_are_the_documented_ones():
    # The fixtures must carry FORMATS.md's header rows, not a convenient subset.
    assert HEADERS.PARTNER_IB[0] == "Serial Number / PAK number"
    assert len(HEADERS.PARTNER_IB) == 86 and "Covered Line End Date FY-FQ" in HEADERS.PARTNER_IB
    assert len(HEADERS.PARTNER_IB_VARIANT) == 67 and "Parent Serial Number" in HEADERS.PARTNER_IB_VARIANT
    assert "installedatAddressLine4" in HEADERS.CX_COVERAGE and HEADERS.CX_COVERAGE[0] == "serialNumber"
    with (FIX / "partner_ib.csv").open(newline="") as fh:
        rows = list(csv.reader(fh))
    assert tuple(rows[3]) == HEADERS.PARTNER_IB


def test_cx_coverage_csv():
    load = load_contracts(FIX / "cx_coverage.csv")
    assert not load.errors
    assert load.summary[0].layout == "cx-coverage"
    lines = by_serial(load)
    chassis = sorted(lines["FOC2611X0AB"], key=lambda ln: ln.start)
    assert [(ln.start, ln.end, ln.contract_number) for ln in chassis] == [
        (date(2024, 8, 1), date(2025, 7, 31), "209876500"),
        (date(2025, 8, 1), date(2026, 7, 31), "209876543"),
        (date(2026, 8, 1), date(2027, 7, 31), "209876599"),
    ]
    assert chassis[0].covered is False and chassis[0].status == "EXPIRED"
    assert chassis[1].covered is True and chassis[1].site_id == "55501234"
    module = lines["FOC2611X1CD"][0]
    assert (module.pid, module.base_pid) == ("C9300-NM-8X=", "C9300-NM-8X")
    assert module.parent_instance_id == "1234567890" and module.instance_id == "1234567891"
    # Padded " sn:FOC2619Y1AA " and a Cisco Refresh PID.
    refresh = lines["FOC2619Y1AA"][0]
    assert (refresh.pid, refresh.base_pid, refresh.refurbished) == ("C9200L-24P-4G-RF", "C9200L-24P-4G", True)
    assert lines["FCW2233L0MN"][0].contract_number == ""  # blank contract number kept, not an error
    assert lines["FDO2450A1BC"][0].source_row == 6 and lines["FDO2450A1BC"][0].source_file.endswith("cx_coverage.csv")


def test_cx_coverage_json_matches_csv():
    from_csv = load_contracts(FIX / "cx_coverage.csv")
    from_json = load_contracts(FIX / "cx_coverage.json")
    assert not from_json.errors
    key = lambda ln: (ln.serial, ln.base_pid, ln.contract_number, ln.start, ln.end, ln.covered)  # noqa: E731
    assert sorted(map(key, from_csv.lines)) == sorted(map(key, from_json.lines))
    assert from_json.lines[0].source_row == 1  # JSON rows are record numbers


def test_partner_ib_csv_header_on_row_four():
    load = load_contracts(FIX / "partner_ib.csv")
    s = load.summary[0]
    assert (s.layout, s.header_row) == ("partner-ib", 4)
    lines = by_serial(load)
    chassis = lines["FOC2611X0AB"][0]
    assert chassis.source_row == 5  # first data row under a header on row 4
    assert (chassis.start, chassis.end) == (date(2025, 8, 1), date(2026, 7, 31))  # DD-MMM-YYYY
    assert chassis.covered is True and chassis.site_name == "EXAMPLE CORP HQ"
    assert lines["SAL1833Z9KQ"][0].ldos == date(2025, 10, 31)
    never = lines["FDO2301R0XY"][0]
    assert never.covered is False and never.contract_number == "" and never.end is None
    # ="0209876543" is Excel's way to keep a leading zero: the value, not an error.
    assert lines["FCW2233L0MN"][0].contract_number == "0209876543"
    # The software PAK row is not hardware: skipped and counted, not loaded.
    assert "3301J20F0A1" not in lines and s.skipped["software / PAK rows"] == 1
    assert not load.errors


def test_partner_ib_xlsx_excel_serial_dates_and_blank_cells():
    load = load_contracts(FIX / "partner_ib.xlsx")
    assert not load.errors
    s = load.summary[0]
    assert (s.sheet, s.header_row, s.layout) == ("Powered by Cisco Ready", 4, "partner-ib")
    csv_lines = {(ln.serial, ln.start, ln.end, ln.contract_number, ln.ldos) for ln in
                 load_contracts(FIX / "partner_ib.csv").lines}
    xlsx_lines = {(ln.serial, ln.start, ln.end, ln.contract_number, ln.ldos) for ln in load.lines}
    assert xlsx_lines == csv_lines
    assert [ln.source_row for ln in load.lines][:2] == [5, 6]


def test_partner_ib_variant_semicolon_bom_day_first():
    raw = (FIX / "partner_ib_variant.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b";" in raw.splitlines()[0]
    load = load_contracts(FIX / "partner_ib_variant.csv")
    assert not load.errors
    s = load.summary[0]
    assert (s.layout, s.delimiter, s.encoding) == ("partner-ib-variant", ";", "utf-8")
    lines = by_serial(load)
    fex = lines["FOX1849GQKL"][0]
    # 15/01/2025 proves DD/MM for the column, so 01/06/2025 elsewhere is 1 June.
    assert (fex.start, fex.end) == (date(2025, 1, 15), date(2026, 1, 14))
    assert fex.parent_serial == "FDO2301R0XY" and fex.end_of_renewal == date(2025, 2, 13)
    assert fex.site_name == "EXAMPLE AG Zürich"
    assert lines["JAE2445044T"][0].start == date(2025, 6, 1)
    assert lines["JAE2445044T"][0].service_level == "SNTP"


def test_sn2info_json():
    load = load_contracts(FIX / "sn2info_coverage.json")
    assert not load.errors and load.summary[0].layout == "sn2info"
    lines = by_serial(load)
    chassis = lines["FOC2611X0AB"][0]
    # Orderable PID as read, base PID from base_pid_list: -A is significant and not stripped.
    assert (chassis.pid, chassis.base_pid) == ("C9300-48P-A", "C9300-48P")
    assert chassis.covered is True and chassis.end == date(2026, 7, 31)
    assert chassis.parent_serial == ""  # parent_sr_no == sr_no for a standalone item
    assert lines["FOC2611X1CD"][0].parent_serial == "FOC2611X0AB"
    assert lines["SAL1833Z9KQ"][0].covered is False


def test_bcs_camelcase_booleans_and_nulls():
    load = load_contracts(FIX / "bcs_coverage.json")
    assert not load.errors and load.summary[0].layout == "bcs-coverage"
    lines = by_serial(load)
    assert lines["FDO2450A1BC"][0].covered is True
    assert lines["FDO2450A1BC"][0].base_pid == "C9500-24Y4C"
    uncovered = lines["FDO2301R0XY"][0]
    assert uncovered.covered is False and uncovered.end is None and uncovered.contract_number == ""


def test_cx_not_covered_export(tmp_path):
    # GET /contracts/not-covered, flattened: every row is an item with no coverage.
    header = ["contractInstanceNumber", "serialNumber", "productId", "hwType", "orderShipDate", "installedatSiteId",
              "installedatSiteName", "warrantyType", "warrantyEndDate", "neInstanceId"]
    p = write_csv(tmp_path / "not_covered.csv", header, [
        ["1234567897", "FDO2301R0XY", "N9K-C93180YC-FX", "Chassis", "2023-01-05", "55501234", "EXAMPLE CORP HQ",
         "WARR-1YR", "2024-01-05", "998877"]])
    load = load_contracts(p)
    assert not load.errors and load.summary[0].layout == "cx-not-covered"
    ln = load.lines[0]
    assert (ln.serial, ln.covered, ln.status, ln.end, ln.site_id) == (
        "FDO2301R0XY", False, "NOT COVERED", None, "55501234")


def test_inventory_export_is_not_a_contract_file(tmp_path):
    header = ["neInstanceId", "hwName", "serialNumber", "productId", "baseProductId", "slot"]
    p = write_csv(tmp_path / "hardware.csv", header, [["1", "Switch 1", "FOC2611X0AB", "C9300-48P", "C9300-48P", "1"]])
    load = load_contracts(p)
    assert not load.lines and "no header row recognised" in load.errors[0].message


def test_header_map_for_another_layout():
    plain = load_contracts(FIX / "ccw_renewal.csv")
    assert not plain.lines and plain.errors and "--map" in plain.errors[0].message
    mapping = load_header_map(FIX / "ccw_renewal.map.yaml")
    load = load_contracts(FIX / "ccw_renewal.csv", header_map=mapping)
    assert not load.errors and load.summary[0].layout == "mapped"
    line = by_serial(load)["FOC2611X0AB"][0]
    # 07/31/2026 proves MM/DD for the column.
    assert (line.contract_number, line.start, line.end, line.site_id, line.service_level) == (
        "CCW-77001", date(2025, 8, 1), date(2026, 7, 31), "55501234", "SNT")


def test_header_map_validation(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("serial: Asset Serial\nwarp_factor: Speed\n")
    with pytest.raises(ValueError, match="warp_factor"):
        load_header_map(bad)
    bad.write_text("pid: Part\n")
    with pytest.raises(ValueError, match="'serial' must be mapped"):
        load_header_map(bad)
    bad.write_text("- just\n- a list\n")
    with pytest.raises(ValueError, match="mapping"):
        load_header_map(bad)


# ------------------------------------------------------------------ malformed input: errors, not tracebacks


def test_bad_rows_are_row_precise():
    load = load_contracts(FIX / "malformed" / "bad_rows.csv")
    got = [(e.row, e.column) for e in load.errors]
    assert got == [
        (3, "coverageEndDate"),  # 2026-02-30
        (4, "serialNumber"),  # blank serial
        (5, "serialNumber"),  # =HYPERLINK(...)
        (6, "coverageEndDate"),  # ends before it starts
        (7, "productId"),  # +cmd|...
        (8, "coverageEndDate"),  # "soon"
    ]
    messages = {e.row: e.message for e in load.errors}
    assert "2026-02-30" in messages[3] and "formula" in messages[5] and "before it starts" in messages[6]
    assert all(e.file.endswith("bad_rows.csv") for e in load.errors)
    assert "row 3, column 'coverageEndDate'" in str(load.errors[0])
    # The good rows still load, and so does row 7: its PID is an optional field, left empty and
    # flagged, never a reason to drop the coverage line.
    assert [ln.source_row for ln in load.lines] == [2, 7, 10]
    assert [e.row for e in load.errors if e.kept] == [7] and load.lines[1].pid == ""
    assert messages[7].endswith("; line kept, pid left empty")
    assert load.summary[0].skipped["blank rows"] == 1


def test_ambiguous_dates_refused_with_a_fix():
    path = FIX / "malformed" / "ambiguous_dates.csv"
    load = load_contracts(path)
    assert not load.lines
    cols = {e.column for e in load.errors}
    assert cols == {"Covered Line Start Date", "Covered Line End Date"}
    for e in load.errors:
        assert e.file == str(path) and "--date-format" in e.message and "ambiguous" in e.message
    fixed = load_contracts(path, date_format="DD/MM/YYYY")
    assert not fixed.errors
    assert by_serial(fixed)["JAE2445044T"][0].start == date(2025, 4, 3)
    us = load_contracts(path, date_format="MM/DD/YYYY")
    assert by_serial(us)["JAE2445044T"][0].start == date(2025, 3, 4)


def test_mixed_day_orders_in_one_column_are_refused(tmp_path):
    p = write_csv(tmp_path / "mixed.csv", ["serialNumber", "coverageStartDate", "coverageEndDate"],
                  [["FOC1", "13/01/2025", "2026-01-01"], ["FOC2", "01/13/2025", "2026-01-01"]])
    load = load_contracts(p)
    assert not load.lines and "mixes" in load.errors[0].message


@pytest.mark.parametrize("name, expect", [
    ("no_layout.csv", "no header row recognised"),
    ("truncated.json", "not valid JSON"),
])
def test_unreadable_files_are_messages(name, expect):
    load = load_contracts(FIX / "malformed" / name)
    assert not load.lines and len(load.errors) == 1
    assert expect in load.errors[0].message and load.errors[0].row is None


def test_missing_file_and_unsupported_type(tmp_path):
    xlsb = tmp_path / "ib.xlsb"
    xlsb.write_bytes(b"\x00")
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip")
    load = load_contracts([tmp_path / "nope.csv", xlsb, broken])
    assert [e.file for e in load.errors] == [str(tmp_path / "nope.csv"), str(xlsb), str(broken)]
    assert "cannot read file" in load.errors[0].message
    assert ".xlsb" in load.errors[1].message
    assert "not a readable .xlsx" in load.errors[2].message


def test_multiline_cell_keeps_spreadsheet_row_numbers(tmp_path):
    # Excel shows a quoted cell with a line break as one row: row numbers count records.
    p = write_csv(tmp_path / "ml.csv", ["serialNumber", "productId", "coverageEndDate", "installedatSiteName"], [
        ["FOC1", "C9300-48P", "2026-01-01", "HQ\nBuilding 2"],
        ["FOC2", "C9300-48P", "tomorrow", "HQ"],
    ])
    load = load_contracts(p)
    assert [(e.row, e.column) for e in load.errors] == [(3, "coverageEndDate")]
    assert load.lines[0].site_name == "HQ\nBuilding 2"


def test_same_serial_under_two_pids_and_padding(tmp_path):
    p = write_csv(tmp_path / "dup.csv", ["Serial Number", "Instance Number", "Product ID", "Covered Line End Date",
                                         "Contract Number"], [
        ["  sn: foc2611x0ab ", "1", " C9300-48P ", "2026-07-31", " 209876543 "],
        ["FOC2611X0AB", "2", "AIR-AP2802I-E-K9", "2026-07-31", "209876543"],
        ["9NZ7O74FICQ", "3", "CSR1000V", "2026-07-31", "209876543"],
    ])
    load = load_contracts(p)
    assert not load.errors
    assert {(ln.serial, ln.base_pid) for ln in load.lines} == {
        ("FOC2611X0AB", "C9300-48P"), ("FOC2611X0AB", "AIR-AP2802I-E-K9"), ("9NZ7O74FICQ", "CSR1000V")}
    assert load.lines[0].contract_number == "209876543"


def test_excel_serial_and_date_forms():
    assert parse_date(45658) == date(2025, 1, 1)  # Excel's number for 2025-01-01 (origin 1899-12-30)
    assert parse_date("45658") == date(2025, 1, 1)
    assert parse_date(45658.75) == date(2025, 1, 1)
    assert parse_date(datetime(2026, 7, 31, 13, 5)) == date(2026, 7, 31)
    assert parse_date("31-Jul-2026") == parse_date("31-JUL-2026") == date(2026, 7, 31)
    assert parse_date("2026-07-31T00:00:00Z") == date(2026, 7, 31)
    assert parse_date("31.07.2026") == date(2026, 7, 31)
    assert parse_date("13/01/2026") == date(2026, 1, 13)  # provably day-first
    assert parse_date("01/13/2026") == date(2026, 1, 13)  # provably month-first
    assert parse_date(" ") is None and parse_date("N/A") is None
    with pytest.raises(DateProblem):
        parse_date("03/04/2026")
    with pytest.raises(DateProblem):
        parse_date("31-Foo-2026")


def test_json_records_keep_their_numbers(tmp_path):
    p = tmp_path / "c.json"
    p.write_text(json.dumps({"data": [
        {"serialNumber": "FOC1", "productId": "C9300-48P", "coverageEndDate": "2026-01-01", "contractNumber": "1"},
        {"serialNumber": "FOC2", "productId": "C9300-48P", "coverageEndDate": ["2026"], "contractNumber": "1"},
        {"serialNumber": None, "productId": "C9300-48P", "coverageEndDate": "2026-01-01", "contractNumber": "1"},
    ]}))
    load = load_contracts(p)
    assert [(e.row, e.column) for e in load.errors] == [(2, "coverageEndDate"), (3, "serialNumber")]
    assert "record 2" in str(load.errors[0])


def test_summary_counts():
    load = load_contracts([FIX / "partner_ib.csv", FIX / "malformed" / "bad_rows.csv"])
    ib, bad = load.summary
    assert (ib.rows_read, ib.lines) == (6, 5)
    assert (bad.rows_read, bad.lines, bad.skipped["rows with errors"]) == (8, 3, 5)  # row 7's PID: flagged, kept
    text = load.summary_text()
    assert "partner_ib.csv: partner-ib" in text and "5 rows with errors" in text
    assert "1 bad cell(s) in optional columns left empty, lines kept" in text


# ------------------------------------------------------------------ identifiers


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-= :", max_size=20))
def test_canonical_serial_is_idempotent(raw):
    once = canonical_serial(raw)
    assert canonical_serial(once) == once or once.startswith(("SN:", "S:"))


@given(st.from_regex(r"[A-Z0-9O]{4,14}(-[A-Z])?", fullmatch=True), st.sampled_from(["", "SN:", "sn: ", "S:"]),
       st.sampled_from(["", " ", "\t", "\xa0"]))
def test_canonical_serial_strips_only_prefix_and_padding(serial, prefix, pad):
    # O and 0 are different characters in real serials (virtual UDIs): never "corrected".
    # All zeros is the placeholder some modules print, not an identity (normalize's rule).
    assume(serial.strip("0"))
    assert canonical_serial(pad + prefix + serial.lower() + pad) == serial


@given(st.from_regex(r"[A-Z0-9][A-Z0-9/\-]{2,15}", fullmatch=True), st.booleans(), st.booleans())
def test_split_pid(base, spare, refresh):
    pid = base + ("-RF" if refresh else "") + ("=" if spare else "")
    as_read, got_base, refurb = split_pid(pid.lower() + "  ")
    assert as_read == pid
    assert not got_base.endswith("=")
    if refresh:
        assert refurb and got_base == base.rstrip("=")
    assert split_pid(got_base)[1] == (got_base[:-3] if got_base.endswith("-RF") else got_base)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=400))
def test_garbage_never_raises(tmp_path_factory, blob):
    d = tmp_path_factory.mktemp("fuzz")
    for name in ("x.csv", "x.json", "x.xlsx"):
        (d / name).write_bytes(b"serialNumber,coverageEndDate\n" + blob if name == "x.csv" else blob)
        load = load_contracts(d / name)
        assert isinstance(load, ContractLoad)


# ------------------------------------------------------------------ the plain-CSV reader


def _same_load(a: ContractLoad, b: ContractLoad) -> None:
    """Two loads of the same rows from files of different names agree line for line."""
    import dataclasses

    assert [dataclasses.replace(ln, source_file="") for ln in a.lines] == \
           [dataclasses.replace(ln, source_file="") for ln in b.lines]
    assert [(e.row, e.column, e.message) for e in a.errors] == [(e.row, e.column, e.message) for e in b.errors]
    assert [s.text().split(":", 1)[1] for s in a.summary] == [s.text().split(":", 1)[1] for s in b.summary]


ODD_ROWS = [
    ["FOC1", "C9300-48P", "ACTIVE", "2025-01-01", "2026-12-31", "201", "SNT"],
    [" FOC2 ", "c9300-24p=", "ACTIVE", "2025-01-01", "2026-12-31", "202", "SNT 8X5XNBD"],  # padding, spare
    ["FOC3", "C9300-48P", "ACTIVE", "2025-01-01", "2026-12-31", "=SUM(A1)", "SNT"],  # a formula
    ["FOC4", "C9300-48P", "EXPIRED", "", "", "", ""],  # trailing cells empty (a short record refuses the file: issue 12)
    ["FOC5", "C9300-48P", "ACTIVE", "2025-01-01", "2026-12-31", "205", "SNT", "extra", "cells"],  # long record
    [],  # empty line
    ["", "", "", "", "", "", ""],  # a row of empty cells
    ["", "", "", "", "", "", "", "", "x"],  # blank in the header's width, a value beyond it
    ["sn:foc6", "C9300-48P", "ACTIVE", "2026-03-01", "2025-01-01", "206", "SNT"],  # ends before it starts
    ["FOC7", "-X", "ACTIVE", "2025-01-01", "2026-12-31", "207", ""],  # not a PID
    ["FOC 8", "C9300-48P", "ACTIVE", "2025-01-01", "bad", "208", "SNT"],  # not a serial, not a date
    ["FOC9", "C9300-48P=", "ACTIVE", "2025-01-01", "2026-12-31", "209", "SNT"],  # '=' ends a spare's PID
    ["=FOC10", "C9300-48P", "ACTIVE", "2025-01-01", "2026-12-31", "210", "SNT"],  # a formula first in a record
]
ODD_HEADER = ["serialNumber", "productId", "coverageStatus", "coverageStartDate", "coverageEndDate",
              "contractNumber", "serviceLevel"]


@pytest.mark.parametrize("chunk", [3, 32768])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_plain_csv_reads_as_csv_reader_does(tmp_path, monkeypatch, chunk, newline):
    # A file with no quote character is cut by str.split, chunk by chunk; the same rows written
    # with every cell quoted go through csv.reader.  Both must give the same lines, errors, rows.
    import agent.contracts.csv_reader as contracts

    monkeypatch.setattr(contracts, "_PLAIN_CHUNK", chunk)
    rows = ODD_ROWS * 3 + [["FOC%03d" % i, "C9300-48P", "ACTIVE", "2025-01-01", "2026-12-31", "300", "SNT"]
                           for i in range(20)]
    above = [["Coverage export"], []]  # a title block over the header
    for name, quoting in (("plain.csv", csv.QUOTE_MINIMAL), ("quoted.csv", csv.QUOTE_ALL)):
        with (tmp_path / name).open("w", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh, quoting=quoting, lineterminator=newline)
            out.writerows(above + [ODD_HEADER] + rows)
    assert '"' not in (tmp_path / "plain.csv").read_text(encoding="utf-8")
    plain, quoted = load_contracts(tmp_path / "plain.csv"), load_contracts(tmp_path / "quoted.csv")
    _same_load(plain, quoted)
    assert plain.summary[0].header_row == 3 and plain.summary[0].skipped["blank rows"] == 6
    assert {e.row for e in plain.errors} >= {6, 14}  # the formula, the serial with a blank in it
    # FOC3's formula contract number and FOC7's non-PID are optional fields: flagged, lines kept.
    assert len(plain.lines) == 20 + 3 * 7 and len(plain.errors) == 3 * 6
    assert sum(e.kept for e in plain.errors) == 3 * 2


def test_plain_csv_without_final_line_end_or_with_blank_tail(tmp_path):
    body = "serialNumber,coverageEndDate,contractNumber\nFOC1,2026-12-31,1\nFOC2,2026-12-31,2"
    (tmp_path / "a.csv").write_text(body, encoding="utf-8")
    (tmp_path / "b.csv").write_text(body + "\n\n\n", encoding="utf-8")
    (tmp_path / "c.csv").write_text("serialNumber,coverageEndDate,contractNumber\n", encoding="utf-8")
    a, b, c = (load_contracts(tmp_path / n) for n in ("a.csv", "b.csv", "c.csv"))
    assert [ln.source_row for ln in a.lines] == [2, 3] and not a.errors
    assert [ln.serial for ln in b.lines] == ["FOC1", "FOC2"] and not b.errors
    assert b.summary[0].skipped["blank rows"] == 2  # the last line end has no record after it
    assert not c.lines and not c.errors and c.summary[0].rows_read == 0


def test_plain_csv_falls_back_to_csv_reader(tmp_path):
    # A bare CR ends a record for csv.reader; a field over csv's size limit is its error.
    lf = "serialNumber,coverageEndDate,contractNumber\nFOC1,2026-12-31,1\nFOC2,2026-12-31,2\n"
    (tmp_path / "lf.csv").write_text(lf, encoding="utf-8")
    (tmp_path / "cr.csv").write_bytes(lf.replace("\n", "\r").encode())
    _same_load(load_contracts(tmp_path / "lf.csv"), load_contracts(tmp_path / "cr.csv"))

    long_row = "FOC3,2026-12-31," + "9" * 6000
    (tmp_path / "long.csv").write_text(lf + long_row + "\nFOC4,2026-12-31,4\n", encoding="utf-8")
    limit = csv.field_size_limit(5000)
    try:
        load = load_contracts(tmp_path / "long.csv")
    finally:
        csv.field_size_limit(limit)
    assert [ln.serial for ln in load.lines] == ["FOC1", "FOC2", "FOC4"]
    assert [(e.row, e.message.split(":")[0]) for e in load.errors] == [(4, "malformed CSV record")]


@pytest.mark.parametrize("values", [
    ["FOC1234ABCD", "SAL1833Z9KQ", "JAE2445044T"],
    ["foc1", " FOC2 ", "SN: FOC3", "S:FOC4", "N/A", "", "000", "0AB", "A-B/1.2", "É1", "x y", "FOC\xa0",
     "A\x00B", "S/N#12", None, 12345.0, "NA"],
])
def test_canonical_serials_is_canonical_serial_per_value(values):
    from agent.contracts import canonical_serials

    assert canonical_serials(values) == [canonical_serial(v) for v in values]


def test_paused_gc_restores_the_collector_and_freezes_big_runs():
    import gc

    from agent.contracts import _FREEZE_AFTER, paused_gc

    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    with paused_gc():
        assert not gc.isenabled()
        small = [[] for _ in range(10)]
    assert gc.isenabled() and gc.get_freeze_count() == frozen and small
    try:
        with paused_gc():
            big = [[] for _ in range(_FREEZE_AFTER + 1000)]
        assert gc.isenabled() and gc.get_freeze_count() >= frozen + len(big)
        with pytest.raises(ZeroDivisionError):
            with paused_gc():
                1 / 0
        assert gc.isenabled()
        gc.disable()
        with paused_gc():
            pass
        assert not gc.isenabled()  # off on the way in: left off
    finally:
        gc.enable()
        gc.unfreeze()


def test_plain_csv_short_and_long_records_that_balance_out(tmp_path):
    # 5 + 9 cells are two records' worth of 7: the cell count alone would not tell.
    rows = [["FOC1", "C9300-48P", "ACTIVE", "2025-01-01", "2026-12-31", "201", "SNT"],
            ["FOC2", "C9300-48P", "ACTIVE", "2025-01-01", "2026-12-31"],
            ["FOC3", "C9300-48P", "ACTIVE", "2025-01-01", "2026-12-31", "203", "SNT", "x", "y"]]
    for name, quoting in (("plain.csv", csv.QUOTE_MINIMAL), ("quoted.csv", csv.QUOTE_ALL)):
        with (tmp_path / name).open("w", newline="", encoding="utf-8") as fh:
            csv.writer(fh, quoting=quoting).writerows([ODD_HEADER] + rows)
    plain = load_contracts(tmp_path / "plain.csv")
    _same_load(plain, load_contracts(tmp_path / "quoted.csv"))
    # Issue 12: a record shorter than the header refuses the file (it was padded and read).
    assert plain.lines == [] and [(e.row, e.fatal) for e in plain.errors] == [(3, True)]
    assert plain.errors[0].message.startswith("5 cell(s) where the header names 7 columns")
