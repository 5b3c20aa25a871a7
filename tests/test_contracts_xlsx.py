"""Contract XLSX through calamine: the traps found before it was used (a cell far past Excel's
limits aborts the process inside calamine; error cells read as empty), the bounds pass that
keeps them out, and the same lines as the CSV and as openpyxl read them."""
from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from agent.contracts import load_contracts
from agent.contracts import xlsx_bounds as B

ROOT = Path(__file__).resolve().parent.parent
_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
HEADER = ["serialNumber", "productId", "coverageStatus", "coverageStartDate", "coverageEndDate", "contractNumber"]


def workbook(path: Path, sheet_xml: bytes, name: str = "Coverage") -> Path:
    """A minimal package around one worksheet's XML (written here, cell by cell, as a test needs)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", (
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'))
        z.writestr("_rels/.rels", (
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'officeDocument" Target="xl/workbook.xml"/></Relationships>'))
        z.writestr("xl/workbook.xml", (
            f'<?xml version="1.0"?><workbook xmlns="{_NS}" xmlns:r="http://schemas.openxmlformats.org/'
            f'officeDocument/2006/relationships"><sheets><sheet name="{name}" sheetId="1" r:id="rId1"/>'
            '</sheets></workbook>'))
        z.writestr("xl/_rels/workbook.xml.rels", (
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'worksheet" Target="worksheets/sheet1.xml"/></Relationships>'))
        z.writestr("xl/worksheets/sheet1.xml", f'<?xml version="1.0"?><worksheet xmlns="{_NS}"><sheetData>'.encode()
                   + sheet_xml + b"</sheetData></worksheet>")
    return path


def letters(n: int) -> str:
    return B.column_letters(n)


def row_xml(number: int, values, refs: bool = True) -> bytes:
    cells = []
    for j, v in enumerate(values, 1):
        ref = f' r="{letters(j)}{number}"' if refs else ""
        if isinstance(v, tuple):  # (type, raw value): an error or a number cell
            cells.append(f'<c{ref} t="{v[0]}"><v>{v[1]}</v></c>' if v[0] else f"<c{ref}><v>{v[1]}</v></c>")
        else:
            cells.append(f'<c{ref} t="inlineStr"><is><t>{v}</t></is></c>')
    return (f'<row r="{number}">' if refs else "<row>").encode() + "".join(cells).encode() + b"</row>"


def good_rows(n: int, refs: bool = True) -> bytes:
    rows = [row_xml(1, HEADER, refs)]
    rows += [row_xml(i + 2, [f"FOC{i:08d}", "C9300-48P", "ACTIVE", "2025-01-01", "2027-12-31", str(2000 + i % 7)], refs)
             for i in range(n)]
    return b"".join(rows)


_CHILD = """
import sys
from agent.contracts import load_contracts
load = load_contracts(sys.argv[1])
for e in load.errors:
    print(f"{e.row}|{e.column}|{e.fatal}|{e.message}")
print("lines", len(load.lines))
"""


def load_in_child(path: Path) -> subprocess.CompletedProcess:
    """A file that could reach calamine unchecked would abort the process: read it in a child."""
    return subprocess.run([sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


@pytest.mark.parametrize("far, row, column, says", [
    # calamine aborted the process on each of these (Rust panic or allocation failure, no exception).
    (b'<row r="1000000000"><c t="inlineStr"><is><t>FOC9</t></is></c></row>', 1_000_000_000, "",
     "goes past row 1,048,576, Excel's last"),
    (b'<row r="5"><c r="XFD1048576" t="inlineStr"><is><t>FOC9</t></is></c></row>', 1_048_576, "XFD",
     "spans 1,048,576 rows x 16,384 columns"),
    (b'<row r="5"><c r="A99999999" t="inlineStr"><is><t>FOC9</t></is></c></row>', 99_999_999, "A",
     "goes past row 1,048,576, Excel's last"),
    (b"<row r='6'><c r='ZZZ6' t='inlineStr'><is><t>FOC9</t></is></c></row>", 6, "ZZZ",
     "past column 16,384 (XFD), Excel's last"),
    (b'<x:row r="7" xmlns:x="' + _NS.encode() + b'"><x:c r="ZZ400000" t="n"><x:v>1</x:v></x:c></x:row>',
     400_000, "ZZ", "spans 400,000 rows x 70"),
])
def test_a_cell_far_past_the_data_is_refused_with_sheet_row_and_column_before_calamine_sees_it(tmp_path, far, row,
                                                                                               column, says):
    path = workbook(tmp_path / "far.xlsx", good_rows(3) + far)
    run = load_in_child(path)
    assert run.returncode == 0, run.stderr[-2000:]  # not killed by an abort inside calamine
    (error, lines) = run.stdout.splitlines()
    got_row, got_column, fatal, message = error.split("|", 3)
    assert (int(got_row), fatal) == (row, "True"), error
    # Exact for regular markup; irregular markup (prefixes, quotes) is bounded from above.
    assert got_column == column or B.column_number(got_column or "A") >= B.column_number(column), error
    assert message.startswith("sheet 'Coverage' ") and says in message, message
    assert message.endswith("nothing of this file was read") and lines == "lines 0"


def test_error_cells_are_reported_as_the_errors_they_are_not_as_blanks(tmp_path):
    rows = good_rows(2) + row_xml(4, ["FOC00000009", "C9300-48P", "ACTIVE", "2025-01-01", ("e", "#N/A"), "2001"])
    rows += row_xml(5, ["FOC00000010", "C9300-48P", "ACTIVE", ("e", "#REF!"), "2027-12-31", "2001"])
    rows += b'<row r="6"><c r="A6" t="inlineStr"><is><t>FOC00000011</t></is></c><c r="E6" t="e"><v>#DIV/0!</v></c></row>'
    path = workbook(tmp_path / "errors.xlsx", rows)
    load = load_contracts(path)
    by_row = {e.row: e for e in load.errors}
    assert by_row[4].column == "coverageEndDate" and "'#N/A' is not a date" in by_row[4].message
    assert by_row[6].column == "coverageEndDate" and "'#DIV/0!' is not a date" in by_row[6].message
    # An optional field's error cell is flagged and the line kept, as for any unreadable cell.
    assert by_row[5].column == "coverageStartDate" and "'#REF!' is not a date" in by_row[5].message
    assert sorted(ln.serial for ln in load.lines) == ["FOC00000000", "FOC00000001", "FOC00000010"]
    # The same cells through openpyxl (which gave error cells as their text) give the same errors.
    assert [(e.row, e.column, e.message) for e in load.errors] == [
        (e.row, e.column, e.message) for e in _load_as_csv(tmp_path, path).errors]


def _load_as_csv(tmp_path: Path, xlsx: Path):
    """The workbook's cells as openpyxl reads them (error cells as their text), written as a CSV."""
    wb = openpyxl.load_workbook(xlsx, read_only=True, data_only=True)
    rows = [list(row) for row in wb.worksheets[0].iter_rows(values_only=True)]
    lines = [",".join("" if v is None else str(v) for v in row + [None] * (len(rows[0]) - len(row))) for row in rows]
    wb.close()
    csv_path = tmp_path / (xlsx.stem + ".csv")
    csv_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_contracts(csv_path)


def test_typed_cells_give_the_lines_openpyxl_gave(tmp_path):
    """Dates with a date format, Excel date numbers, numeric contract numbers, booleans, blanks,
    shared strings: the lines equal those read from the same workbook through openpyxl."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Coverage"
    ws.append(["Serial Number / PAK number", "Product ID", "Covered Line Start Date", "Covered Line End Date",
               "Contract Number", "Coverage"])
    rng = random.Random(5)
    for i in range(300):
        end = date(2026, 1, 1 + i % 28)
        ws.append([f"FDO{i:08d}", "C9300-48P" if i % 3 else "PWR-C1-715WAC", datetime(2025, 2, 1 + i % 27),
                   end if i % 4 else (end - date(1899, 12, 30)).days, 209800000 + rng.randrange(1000) if i % 5 else None,
                   "COVERED" if i % 2 else "Covered"])
    path = tmp_path / "typed.xlsx"
    wb.save(path)
    load = load_contracts(path)
    assert not load.errors and len(load.lines) == 300
    expected = _openpyxl_lines(tmp_path, path)
    got = [(ln.serial, ln.pid, ln.start, ln.end, ln.contract_number, ln.source_row) for ln in load.lines]
    assert got == expected


def _openpyxl_lines(tmp_path: Path, path: Path):
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    wb.close()

    def text(v):
        if isinstance(v, datetime):
            return v.date().isoformat()
        if isinstance(v, date):
            return v.isoformat()
        return "" if v is None else str(v)
    csv_path = tmp_path / "typed.csv"
    csv_path.write_text("\n".join(",".join(map(text, r)) for r in rows) + "\n", encoding="utf-8")
    return [(ln.serial, ln.pid, ln.start, ln.end, ln.contract_number, ln.source_row)
            for ln in load_contracts(csv_path).lines]


def test_cells_without_references_and_odd_spellings_are_bounded_exactly(tmp_path):
    # No r attributes at all (as some writers do): read, with Excel's row numbers.
    path = workbook(tmp_path / "norefs.xlsx", good_rows(50, refs=False))
    load = load_contracts(path)
    assert not load.errors and len(load.lines) == 50 and load.lines[-1].source_row == 51
    # Single quotes and blanks around '=' hide nothing from the bounds pass.
    far = b"<row r = '9'><c r = 'A2000000' t='inlineStr'><is><t>FOC9</t></is></c></row>"
    run = load_in_child(workbook(tmp_path / "odd.xlsx", good_rows(3) + far))
    assert run.returncode == 0 and "goes past row 1,048,576" in run.stdout, run.stdout + run.stderr[-500:]


def test_the_bounds_pass_measures_what_calamine_would_allocate(tmp_path):
    path = workbook(tmp_path / "w.xlsx", good_rows(20) + row_xml(40, ["FOC1", "", "", "", "", "", "", "x"]))
    with zipfile.ZipFile(path) as z:
        reach = B.scan_sheet(z, z.getinfo("xl/worksheets/sheet1.xml"), "Coverage", 10**6)
    assert (reach.rows, reach.columns) == (40, 8)
    import python_calamine

    sheet = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
    assert (sheet.height, sheet.width) == (40, 8)


def test_greater_than_regexes_agree_with_integer_comparison():
    rng = random.Random(11)
    for _ in range(300):
        n = rng.choice([rng.randrange(1, 100), rng.randrange(1, 10**7)])
        pattern = re.compile(B._greater(str(n), B._DIGITS) + "$")
        for m in [n - 1, n, n + 1, rng.randrange(1, 10**8), n * 10, max(1, n // 10)]:
            assert bool(pattern.match(str(m))) == (m > n), (n, m)
        c = rng.randrange(1, 16_384)
        pattern = re.compile(B._greater(B.column_letters(c), B._LETTERS) + "$")
        for d in [c - 1, c, c + 1, rng.randrange(1, 20_000)]:
            if d >= 1:
                assert bool(pattern.match(B.column_letters(d))) == (d > c), (c, d)
