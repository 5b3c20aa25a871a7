"""EoX API v5 import: JSON responses and CSV with the same field names."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from agent.contracts import EoxIndex, EoxRecord, load_eox

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "contracts"


def test_v5_json_records_and_dates():
    load = load_eox(FIX / "eox_v5.json")
    rec = load.index.get("WS-C3850-48P-S")
    assert rec is not None
    assert rec.description == "Catalyst 3850 48 Port PoE IP Base" and rec.bulletin == "EOL99999"
    assert rec.end_of_sale == date(2020, 10, 30)
    assert rec.end_of_sw_maintenance == date(2021, 10, 30)
    assert rec.end_of_security_support == date(2023, 10, 30)
    assert rec.end_of_service_contract_renewal == date(2025, 1, 28)
    assert rec.end_of_service_attach == date(2021, 10, 30)
    assert rec.last_date_of_support == date(2025, 10, 31)
    assert rec.end_of_routine_failure_analysis is None  # {"value": " ", "dateFormat": null}
    assert rec.migration_pid == "C9300-48P-E"
    assert rec.source_row == 1 and rec.source_file.endswith("eox_v5.json")


def test_error_record_reported_not_crashed():
    load = load_eox(FIX / "eox_v5.json")
    errors = [e for e in load.errors if e.column == "EOXError"]
    assert len(errors) == 1
    assert errors[0].row == 4 and "SSA_ERR_026" in errors[0].message and "C9300-48P" in errors[0].message
    assert load.index.get("C9300-48P") is None
    assert load.summary[0].skipped["error entries"] == 1


def test_pid_lookup_with_and_without_spare_marker():
    index = load_eox(FIX / "eox_v5.json").index
    # Listed with '=' (and padded): found by the base PID, the '=' form and a Refresh part.
    n2k = index.get("N2K-C2248TP-E-1GE")
    assert n2k is not None and n2k.pid == "N2K-C2248TP-E-1GE="
    assert index.get("n2k-c2248tp-e-1ge=") is n2k
    assert index.get("N2K-C2248TP-E-1GE-RF") is n2k
    # Listed without '=': found by the spare PID too.
    assert index.get("WS-C3850-48P-S=").pid == "WS-C3850-48P-S"
    assert index.get("WS-C3850-24P-S") is None


def test_wildcard_pids_are_noted_and_matched_by_prefix():
    load = load_eox(FIX / "eox_v5.json")
    assert [r.pid for r in load.index.wildcards] == ["WS-C2950*"]
    assert "WS-C2950*" in load.summary_text()
    assert load.index.get("WS-C2950-24").last_date_of_support == date(2013, 1, 1)
    assert load.index.get("WS-C2960-24") is None


def test_csv_with_api_field_names():
    load = load_eox(FIX / "eox.csv")
    assert not load.errors
    isr = load.index.get("ISR4331/K9")
    assert isr.last_date_of_support == date(2028, 11, 30)
    assert isr.end_of_service_contract_renewal == date(2027, 2, 4)
    padded = load.index.get("C9500-24Y4C")  # "  c9500-24y4c " in the file
    assert padded is not None and padded.last_date_of_support is None and padded.end_of_sale is None


def test_keys_matched_case_insensitively(tmp_path):
    # The C# client spells UpdatedTimestamp / EoxExternalAnnouncementDate; some dumps lower-case all.
    doc = {"eoxrecord": [{"eolproductid": "WS-C3560-8PC-S", "EoxExternalAnnouncementDate": {"value": "2015-01-01"},
                          "LASTDATEOFSUPPORT": {"value": "2022-10-31", "dateFormat": "YYYY-MM-DD"},
                          "UpdatedTimestamp": {"value": "2020-01-01", "dateFormat": None}}]}
    p = tmp_path / "eox.json"
    p.write_text(json.dumps(doc))
    load = load_eox(p)
    rec = load.index.get("WS-C3560-8PC-S")
    assert not load.errors
    assert (rec.announced, rec.last_date_of_support, rec.updated) == (
        date(2015, 1, 1), date(2022, 10, 31), date(2020, 1, 1))


def test_top_level_error_and_bad_dates(tmp_path):
    p = tmp_path / "denied.json"
    p.write_text(json.dumps({"PaginationResponseRecord": {"PageIndex": 1}, "EOXRecord": [
        {"EOLProductID": "WS-C2960X-48FPD-L", "LastDateOfSupport": {"value": "2027-13-45", "dateFormat": "YYYY-MM-DD"},
         "EndOfSaleDate": {"value": "2022-10-30", "dateFormat": "YYYY-MM-DD"}}],
        "EOXError": {"ErrorID": "SSA_ERR_034", "ErrorDescription": "Access denied."}}))
    load = load_eox(p)
    top = [e for e in load.errors if e.row is None]
    assert len(top) == 1 and "SSA_ERR_034" in top[0].message
    bad = [e for e in load.errors if e.row == 1]
    assert bad and bad[0].column == "LastDateOfSupport" and "2027-13-45" in bad[0].message
    rec = load.index.get("WS-C2960X-48FPD-L")
    assert rec.end_of_sale == date(2022, 10, 30) and rec.last_date_of_support is None


def test_pages_saved_as_an_array_and_broken_files(tmp_path):
    pages = [{"EOXRecord": [{"EOLProductID": f"PID-{i}-{j}", "LastDateOfSupport": {"value": "2030-01-01"}}
                            for j in range(2)]} for i in range(3)]
    p = tmp_path / "pages.json"
    p.write_text(json.dumps(pages))
    load = load_eox(p)
    assert len(load.index) == 6 and load.index.get("PID-2-1").source_row == 6
    broken = tmp_path / "broken.json"
    broken.write_text('{"EOXRecord": [')
    other = tmp_path / "other.json"
    other.write_text('{"data": []}')
    load = load_eox([broken, other, tmp_path / "missing.json"])
    assert [e.row for e in load.errors] == [None, None, None]
    assert "not valid JSON" in load.errors[0].message and "EOXRecord" in load.errors[1].message


def test_duplicate_pid_keeps_most_recent_bulletin():
    old = EoxRecord("C9300-48P", last_date_of_support=date(2030, 1, 1), updated=date(2020, 1, 1))
    new = EoxRecord("C9300-48P", last_date_of_support=date(2031, 1, 1), updated=date(2024, 1, 1))
    assert EoxIndex([old, new]).get("C9300-48P") is new
    assert EoxIndex([new, old]).get("C9300-48P") is new
