"""Report writers: lists, formats, and spreadsheet cells that cannot run as formulas."""
from __future__ import annotations

import csv
import json
from datetime import date

import pytest
from openpyxl import load_workbook

from agent.reconcile import (
    COVERED,
    END_OF_SUPPORT,
    EXPIRING,
    LAPSED,
    NOT_SEEN,
    RMA_SWAP,
    UNCOVERED,
    UNVERIFIED,
    ReconRow,
)
from agent.reports import render_table, renew_groups, select_lists, write_reconcile_reports
from agent.reports.cells import COLUMNS, neutralise


def row(serial, status, contract="209876543", end=date(2026, 7, 31), seen=True, host="sw-hq-01", **kw):
    return ReconRow(status=status, serial=serial, base_pid=kw.pop("base_pid", "C9300-48P"), seen=seen,
                    hostname=host if seen else "", device=host, site="HQ", contract_number=contract,
                    coverage_end=end, scan_id=7 if seen else None, capture_id=70 if seen else None,
                    contract_file="coverage.csv", contract_row=2, reasons=(f"{status} because of tests",), **kw)


ROWS = [
    row("FOC1", COVERED), row("FOC2", EXPIRING, end=date(2026, 2, 28)), row("FOC3", COVERED, contract="100"),
    row("FOC4", UNCOVERED, contract="", end=None), row("FOC5", LAPSED, end=date(2025, 1, 1)),
    row("GONE1", NOT_SEEN, seen=False), row("GONE2", UNVERIFIED, seen=False, blocking_devices=("sw-br-01",)),
    row("OLD1", RMA_SWAP, seen=False, swap_with="NEW1 C9300-48P", slot="Switch 2"),
    row("NEW1", RMA_SWAP, contract="", end=None, swap_with="OLD1 C9300-48P", slot="Switch 2"),
    row("SAL1", END_OF_SUPPORT, base_pid="WS-C3850-48P-S"),
]


def test_lists_hold_the_right_statuses():
    lists = select_lists(ROWS)
    serials = {name: [r.serial for r in rows] for name, rows in lists.items()}
    assert set(serials["renew"]) == {"FOC1", "FOC2", "FOC3"}
    assert serials["add"] == ["FOC4"]
    assert serials["drop"] == ["GONE1"]
    assert set(serials["transfer"]) == {"OLD1", "NEW1"}
    assert serials["refresh"] == ["SAL1"]
    assert serials["unverified"] == ["GONE2"]
    assert "GONE1" not in serials["deployed"] and "FOC5" in serials["deployed"] and len(serials["deployed"]) == 7
    with pytest.raises(ValueError):
        select_lists(ROWS, ["renew", "nonsense"])


def test_renew_grouped_by_contract_and_end_date():
    groups = renew_groups(select_lists(ROWS)["renew"])
    assert [(c, e, [r.serial for r in g]) for c, e, g in groups] == [
        ("100", date(2026, 7, 31), ["FOC3"]),
        ("209876543", date(2026, 2, 28), ["FOC2"]),
        ("209876543", date(2026, 7, 31), ["FOC1"]),
    ]


def test_all_formats_written(tmp_path):
    paths = write_reconcile_reports(ROWS, tmp_path, meta={"as_of": "2026-01-15"})
    names = {p.name for p in paths}
    for lst in ("deployed", "renew", "reinstate", "add", "cannot-attach", "coverage-gap", "drop", "transfer",
                "refresh", "unverified"):
        assert {f"{lst}.txt", f"{lst}.csv", f"{lst}.json"} <= names
    assert "reconcile.xlsx" in names and all(p.exists() for p in paths)
    assert not list(tmp_path.glob("*.tmp"))

    renew = json.loads((tmp_path / "renew.json").read_text())
    assert renew["list"] == "renew" and renew["count"] == 3 and renew["as_of"] == "2026-01-15"
    first = renew["rows"][0]
    for key in ("serial", "base_pid", "hostname", "site", "status", "contract_number", "coverage_end", "reasons"):
        assert key in first
    assert first["coverage_end"] == "2026-07-31" and isinstance(first["reasons"], list)
    assert first["evidence"] == {"scan_id": 7, "capture_id": 70, "contract_file": "coverage.csv",
                                 "contract_row": 2, "other_lines": []}
    assert first["evidence_text"] == "capture 70 (scan 7); coverage.csv:2"
    assert [g["contract_number"] for g in renew["groups"]] == ["100", "209876543", "209876543"]

    with (tmp_path / "drop.csv").open(encoding="utf-8-sig", newline="") as fh:
        table = list(csv.DictReader(fh))
    assert list(table[0]) == list(COLUMNS)
    assert table[0]["serial"] == "GONE1" and table[0]["coverage_end"] == "2026-07-31"

    wb = load_workbook(tmp_path / "reconcile.xlsx")
    assert wb.sheetnames == ["summary", "deployed", "renew", "reinstate", "add", "cannot-attach", "coverage-gap",
                             "drop", "transfer", "refresh", "unverified", "about"]
    ws = wb["transfer"]
    assert [c.value for c in ws[1]] == list(COLUMNS)
    assert {ws.cell(row=r, column=2).value for r in (2, 3)} == {"OLD1", "NEW1"}
    renew_ws = wb["renew"]
    end = renew_ws.cell(row=2, column=COLUMNS.index("coverage_end") + 1).value
    assert end.date() == date(2026, 7, 31)  # a real date cell, not text


def test_only_requested_formats_and_lists(tmp_path):
    paths = write_reconcile_reports(ROWS, tmp_path, formats=["csv"], lists=["drop"])
    assert [p.name for p in paths] == ["drop.csv"]
    with pytest.raises(ValueError):
        write_reconcile_reports(ROWS, tmp_path, formats=["pdf"])


@pytest.mark.parametrize("payload", ["=HYPERLINK(\"http://x.invalid\")", "+1+cmd|' /C calc'!A0", "-2+3",
                                     "@SUM(A1)", "\tcmd", "\rcmd"])
def test_formula_cells_neutralised_in_csv_and_xlsx(tmp_path, payload):
    evil = row("FOC9", UNCOVERED, contract="", end=None, host=payload)
    evil = ReconRow(**{**{f: getattr(evil, f) for f in evil.__slots__}, "reasons": (payload,)})
    write_reconcile_reports([evil], tmp_path, formats=["csv", "xlsx", "json"], lists=["add"])
    with (tmp_path / "add.csv").open(encoding="utf-8-sig", newline="") as fh:
        rec = list(csv.DictReader(fh))[0]
    assert rec["hostname"] == "'" + payload and rec["reasons"] == "'" + payload
    ws = load_workbook(tmp_path / "reconcile.xlsx")["add"]
    host = ws.cell(row=2, column=COLUMNS.index("hostname") + 1)
    assert host.value == "'" + payload and host.data_type == "s"
    # JSON is read by programs, not spreadsheets: it keeps the value as it was.
    assert json.loads((tmp_path / "add.json").read_text())["rows"][0]["hostname"] == payload


def test_neutralise_leaves_ordinary_values():
    assert neutralise("FOC2611X0AB") == "FOC2611X0AB"
    assert neutralise("sw-hq-01") == "sw-hq-01"
    assert neutralise(-5) == -5 and neutralise(None) is None


def test_table_is_aligned_and_inert():
    rows = [row("FOC1", COVERED, host="sw-hq-01"),
            row("FOC22222222", EXPIRING, host="a-very-long-host-name\x1b[31m", end=date(2026, 2, 28))]
    text = render_table(rows)
    lines = text.splitlines()
    header, rule, first, second = lines[:4]
    assert header.split()[:4] == ["STATUS", "SERIAL", "PID", "HOST"]
    col = header.index("SERIAL")
    assert first[col:].startswith("FOC1 ") and second[col:].startswith("FOC22222222")
    assert header.index("HOST") == first.index("sw-hq-01") == second.index("a-very-long")
    assert "\x1b" not in text  # a device-supplied escape sequence is shown, not obeyed
    assert "2 row(s): 1 covered, 1 expiring" in text


def test_table_groups_renewals():
    text = render_table(select_lists(ROWS)["renew"], group_by_contract=True)
    assert text.index("# contract 100, coverage ends 2026-07-31: 1 item(s)") < text.index(
        "# contract 209876543, coverage ends 2026-02-28: 1 item(s)")


def test_formats_written_in_parallel_are_the_files_written_in_turn(tmp_path):
    # One forked process per format (the default at 10^4 rows and more): same bytes, same paths.
    rows = ROWS * 3
    serial = write_reconcile_reports(rows, tmp_path / "serial", meta={"as_of": "2026-01-15"}, parallel=False)
    forked = write_reconcile_reports(rows, tmp_path / "forked", meta={"as_of": "2026-01-15"}, parallel=True)
    assert [p.name for p in serial] == [p.name for p in forked]
    for a, b in zip(serial, forked):
        assert a.read_bytes() == b.read_bytes(), a.name


@pytest.mark.parametrize("parallel", [False, True])
def test_a_report_that_cannot_be_written_is_named(tmp_path, parallel):
    (tmp_path / "add.csv").mkdir()  # a directory where the report should go
    with pytest.raises(OSError) as info:
        write_reconcile_reports(ROWS, tmp_path, formats=["csv", "json"], parallel=parallel)
    assert str(info.value) == f"cannot write reports in {tmp_path}: {tmp_path / 'add.csv'}: Is a directory"
    # The other files are written all the same, later ones of the same format included.
    assert (tmp_path / "renew.json").exists() and (tmp_path / "drop.csv").exists()
    assert not list(tmp_path.glob("*.tmp"))


def test_an_output_directory_that_cannot_be_made_is_named(tmp_path):
    target = tmp_path / "reports"
    target.write_text("a file, not a directory")
    with pytest.raises(OSError, match=r"^cannot write reports in .*reports: .*reports: File exists$"):
        write_reconcile_reports(ROWS, target, formats=["csv"])


def test_two_processes_share_the_work_as_measured(tmp_path, monkeypatch):
    # Two cores: XLSX with the small lists' CSV files in one process; JSON, text and the CSV files
    # of the two big lists (deployed, renew) in the other (writers._CSV_BESIDE_JSON).
    from agent.reports import writers

    split = []
    monkeypatch.setattr(writers.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(writers, "run_jobs", lambda jobs, workers: split.extend(
        sorted(step.args[0].name for step in job.args[0]) for job in jobs))
    write_reconcile_reports(ROWS, tmp_path, parallel=True)
    first, second = split
    assert "reconcile.xlsx" in first and "drop.csv" in first and "deployed.csv" not in first
    assert {"deployed.csv", "renew.csv", "deployed.json", "renew.txt"} <= set(second)
    assert not any(name.endswith(".csv") and name not in ("deployed.csv", "renew.csv") for name in second)
    # Without the workbook beside them, the CSV files stay together.
    split.clear()
    write_reconcile_reports(ROWS, tmp_path, formats=["csv", "json"], parallel=True)
    assert all(name.endswith(".csv") for name in split[0]) and all(name.endswith(".json") for name in split[1])
