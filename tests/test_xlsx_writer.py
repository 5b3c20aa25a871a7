"""The streaming XLSX writer, read back by an independent reader (openpyxl)."""
from __future__ import annotations

import csv
import re
import shutil
import subprocess
from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from agent.reports.xlsx import Sheet, column_letter, escape_text, write_workbook

def spreadsheet_text(value):
    """What Excel and LibreOffice show for a stored string: ECMA-376 ST_Xstring decodes _xHHHH_
    escapes (openpyxl's reader leaves them as they are)."""
    if not isinstance(value, str):
        return value
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m[1], 16)), value)


TRICKY = ["a & b", "<tag>", "x > y", "line\rbreak", "line\nfeed", "tab\there", "bell\x07", "nul\x00byte",
          "_x0041_ stays literal", "  padded  ", "ümlaut ✓ 🚀", "'=quoted", "\x1b[31mred\x1b[0m"]


def test_values_round_trip(tmp_path):
    rows = [["text", 7, 2.5, True, date(2026, 7, 31), datetime(2026, 1, 15, 13, 45, 30), None, ""],
            *[[t] for t in TRICKY]]
    path = tmp_path / "book.xlsx"
    write_workbook(path, [Sheet("data", ["s", "i", "f", "b", "d", "dt", "none", "empty"], rows, len(rows)),
                          Sheet("about", None, [["as_of", "2026-01-15"]], 1, width=2)])
    wb = load_workbook(path)
    assert wb.sheetnames == ["data", "about"]
    ws = wb["data"]
    assert [c.value for c in ws[1]] == ["s", "i", "f", "b", "d", "dt", "none", "empty"]
    assert all(c.font.b for c in ws[1])
    first = [c.value for c in ws[2]]
    assert first[:4] == ["text", 7, 2.5, True]
    assert first[4] == datetime(2026, 7, 31) and ws["E2"].number_format == "yyyy-mm-dd"
    assert first[5] == datetime(2026, 1, 15, 13, 45, 30)
    assert first[6] is None and first[7] is None  # nothing written for None or ""
    assert [spreadsheet_text(ws.cell(row=3 + i, column=1).value) for i in range(len(TRICKY))] == TRICKY
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:H15"
    assert [c.value for c in wb["about"][1]] == ["as_of", "2026-01-15"] and wb["about"].freeze_panes is None


def test_empty_sheet_and_wide_rows(tmp_path):
    path = tmp_path / "book.xlsx"
    wide = [list(range(30))]
    write_workbook(path, [Sheet("empty", ["a", "b"], [], 0), Sheet("wide", None, wide, 1)])
    wb = load_workbook(path)
    assert [c.value for c in wb["empty"][1]] == ["a", "b"] and wb["empty"].max_row == 1
    assert wb["empty"].auto_filter.ref is None  # no data: no filter
    assert wb["wide"].cell(row=1, column=30).value == 29 and column_letter(30) == "AD"


def test_announced_count_is_checked(tmp_path):
    with pytest.raises(ValueError, match="2 rows given, 3 announced"):
        write_workbook(tmp_path / "book.xlsx", [Sheet("s", ["a"], [["x"], ["y"]], 3)])


def test_column_letters():
    assert [column_letter(n) for n in (1, 26, 27, 52, 53, 702, 703)] == ["A", "Z", "AA", "AZ", "BA", "ZZ", "AAA"]


def test_escape_text():
    assert escape_text("plain FOC123") == "plain FOC123"
    assert escape_text("a&b<c>\r\x01_x00AF_") == "a&amp;b&lt;c&gt;&#13;_x0001__x005F_x00AF_"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(exclude_categories=("Cs",)), min_size=1, max_size=40),
                min_size=1, max_size=8))
def test_any_text_round_trips(tmp_path_factory, texts):
    path = tmp_path_factory.mktemp("x") / "book.xlsx"
    write_workbook(path, [Sheet("s", None, [[t] for t in texts], len(texts), width=1)])
    ws = load_workbook(path)["s"]
    assert [spreadsheet_text(ws.cell(row=i + 1, column=1).value) for i in range(len(texts))] == texts


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_reads_it(tmp_path):
    # A spreadsheet application, not a library: what the procurement team will open it with.
    texts = [t for t in TRICKY if "\x00" not in t and "\n" not in t]
    rows = [["text", 7, True, date(2026, 7, 31)], *[[t] for t in texts]]
    write_workbook(tmp_path / "book.xlsx", [Sheet("data", ["s", "i", "b", "d"], rows, len(rows))])
    subprocess.run(["soffice", "--headless", "--norestore", "--convert-to",
                    "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
                    "--outdir", str(tmp_path), str(tmp_path / "book.xlsx")],
                   check=True, capture_output=True, timeout=120,
                   env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    (out,) = tmp_path.glob("book*.csv")
    with out.open(encoding="utf-8", newline="") as fh:
        got = list(csv.reader(fh))
    assert got[0] == ["s", "i", "b", "d"]
    assert got[1] == ["text", "7", "TRUE", "2026-07-31"]
    assert [r[0] for r in got[2:]] == texts
