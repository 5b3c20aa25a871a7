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

from agent.reports.xlsx import Sheet, Styled, column_letter, escape_text, write_workbook

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


# ---------------------------------------------------------------- readable on screen and on paper


def test_widths_follow_the_content_and_are_capped(tmp_path):
    rows = [["FOC1234X0AB", "x" * 200, date(2026, 7, 31), 7], ["short", "y", None, 123456]]
    write_workbook(tmp_path / "b.xlsx", [Sheet("s", ["serial", "reasons", "coverage_end", "n"], rows, 2)])
    dims = load_workbook(tmp_path / "b.xlsx")["s"].column_dimensions
    widths = [dims[c].width for c in "ABCD"]
    assert widths[0] >= len("FOC1234X0AB")  # the longest value shows whole
    assert widths[1] == 60  # a very long text is capped, not 200 wide
    assert len("coverage_end") < widths[2] < 20  # the header (and its filter button) sets a date column
    assert len("123456") <= widths[3] < 10


def test_explicit_widths_are_kept(tmp_path):
    write_workbook(tmp_path / "b.xlsx", [Sheet("s", ["a", "b"], [["x", "y"]], 1, widths=[25, 7.5])])
    dims = load_workbook(tmp_path / "b.xlsx")["s"].column_dimensions
    assert (dims["A"].width, dims["B"].width) == (25, 7.5)


def test_print_setup_freeze_filter_and_titles(tmp_path):
    rows = [[f"r{i}", i] for i in range(5)]
    write_workbook(tmp_path / "b.xlsx", [Sheet("first", ["name", "n"], rows, 5, filter_rows=3),
                                         Sheet("plain", None, [["k", "v"]], 1, width=2)])
    wb = load_workbook(tmp_path / "b.xlsx")
    ws = wb["first"]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:B4"  # only the rows asked for
    assert ws.print_title_rows == "$1:$1"
    assert ws.print_area == "'first'!$A$1:$B$6"
    assert ws.page_setup.orientation == "landscape"
    assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 0)
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.page_setup.paperSize is None  # A4 or Letter: the printer's
    assert ws.print_options.gridLines
    assert "&A" in ws.oddFooter.left.text and "&P" in ws.oddFooter.right.text
    assert ws.sheet_view.tabSelected and not wb["plain"].sheet_view.tabSelected
    assert wb["plain"].print_title_rows is None and wb["plain"].freeze_panes is None


def test_fills_per_value_and_styled_cells(tmp_path):
    fills = {"covered": "C6EFCE", "uncovered": "ffc7ce"}
    rows = [["covered", date(2026, 1, 2)], ["uncovered", None], ["other", None],
            [Styled("total", bold=True), Styled(date(2027, 3, 4), fill="FFEB9C")]]
    header = ["status", Styled("end", bold=True, fill="BDD7EE")]
    write_workbook(tmp_path / "b.xlsx", [Sheet("s", header, rows, len(rows), fill_column=0, fills=fills)])
    ws = load_workbook(tmp_path / "b.xlsx")["s"]
    colour = lambda c: c.fill.fgColor.rgb if c.fill.fill_type == "solid" else None  # noqa: E731
    assert [colour(ws.cell(row=r, column=1)) for r in (2, 3, 4)] == ["FFC6EFCE", "FFFFC7CE", None]
    assert ws["B2"].value == datetime(2026, 1, 2) and ws["B2"].number_format == "yyyy-mm-dd"
    assert ws["A5"].font.b and ws["A5"].value == "total" and colour(ws["A5"]) is None
    assert ws["B5"].value == datetime(2027, 3, 4) and ws["B5"].number_format == "yyyy-mm-dd"
    assert colour(ws["B5"]) == "FFFFEB9C" and not ws["B5"].font.b
    assert ws["A1"].font.b and colour(ws["A1"]) is None and colour(ws["B1"]) == "FFBDD7EE" and ws["B1"].font.b


def test_a_bad_fill_is_refused(tmp_path):
    with pytest.raises(ValueError, match="six hex digits"):
        write_workbook(tmp_path / "b.xlsx", [Sheet("s", ["a"], [[Styled("x", fill="green")]], 1)])
