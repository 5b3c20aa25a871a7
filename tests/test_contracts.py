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
    assert [ln.source_row for ln in load.lines] == [2, 10]  # the good rows still load
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
    assert (bad.rows_read, bad.lines, bad.skipped["rows with errors"]) == (8, 2, 6)
    text = load.summary_text()
    assert "partner_ib.csv: partner-ib" in text and "6 rows with errors" in text


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
