"""The reconcile workbook people open and print: its summary sheet, status colours, and the demo's
workbook as LibreOffice prints it (headless, to PDF, read back with pdftotext)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import date, datetime

import pytest
from openpyxl import load_workbook

from agent.reconcile import ReconRow
from agent.reports import write_reconcile_reports
from agent.reports.cells import COLUMNS
from agent.reports.workbook import STATUS_FILLS

AS_OF = date(2026, 1, 15)


def _rows() -> list[ReconRow]:
    return [
        ReconRow("covered", "FOC0001", "C9300-48P", site="hq", contract_number="100",
                 coverage_end=date(2027, 1, 31)),
        ReconRow("covered", "FOC0002", "C9300-48P", site="hq", contract_number="100",
                 coverage_end=date(2027, 1, 31)),
        ReconRow("expiring", "FOC0003", "C9300-24T", site="dc1", contract_number="200",
                 coverage_end=date(2026, 2, 28)),
        ReconRow("uncovered", "FOC0004", "PWR-C1-715WAC", site="dc1"),
        ReconRow("not-seen", "FOC0005", "C9300-48P", seen=False, site="", contract_number="100"),
    ]


@pytest.fixture
def book(tmp_path):
    write_reconcile_reports(_rows(), tmp_path, formats=["xlsx"], meta={"as_of": AS_OF.isoformat(), "window_days": 90},
                            parallel=False)
    return load_workbook(tmp_path / "reconcile.xlsx")


def test_summary_comes_first_and_counts_each_item_once(book):
    assert book.sheetnames[0] == "summary" and book.sheetnames[-1] == "about"
    ws = book["summary"]
    header = [c.value for c in ws[1]]
    assert header[:3] == ["by", "name", "items"]
    rows = {(r[0], r[1]): dict(zip(header[2:], r[2:])) for r in ws.iter_rows(min_row=2, values_only=True) if r[0]}
    # 'covered' items are on both 'deployed' and 'renew': still counted once.
    assert rows[("all", "all items")]["items"] == 5
    assert rows[("all", "all items")]["covered"] == 2 and rows[("all", "all items")]["not-seen"] == 1
    assert rows[("site", "hq")] == {**dict.fromkeys(header[2:]), "items": 2, "covered": 2}
    assert rows[("site", "dc1")]["expiring"] == 1 and rows[("site", "dc1")]["uncovered"] == 1
    assert rows[("site", "(no site)")]["not-seen"] == 1
    assert rows[("contract", "100")]["items"] == 3 and rows[("contract", "(no contract)")]["uncovered"] == 1
    # The filter covers the table, not the legend under it; the legend names every status column.
    table_rows = sum(1 for r in ws.iter_rows(min_row=2, values_only=True) if r[0] in ("all", "site", "contract"))
    assert ws.auto_filter.ref == f"A1:{ws.cell(row=1, column=len(header)).column_letter}{table_rows + 1}"
    legend = [r[0] for r in ws.iter_rows(min_row=table_rows + 4, values_only=True) if r[0]]
    assert legend == header[3:]


def test_status_colours_on_lists_and_legend(book):
    renew = book["renew"]
    status_col = COLUMNS.index("status") + 1
    for row in range(2, renew.max_row + 1):
        cell = renew.cell(row=row, column=status_col)
        assert cell.fill.fgColor.rgb == "FF" + STATUS_FILLS[cell.value]
    summary = book["summary"]
    fills = {c.value: c.fill.fgColor.rgb for c in summary["A"] if c.value in STATUS_FILLS}
    assert fills == {s: "FF" + c for s, c in STATUS_FILLS.items()}
    # Distinct statuses, distinct colours: a colour alone tells them apart.
    assert len(set(STATUS_FILLS.values())) == len(STATUS_FILLS)


def test_dates_are_dates_and_columns_fit(book):
    renew = book["renew"]
    end = renew.cell(row=2, column=COLUMNS.index("coverage_end") + 1)
    assert isinstance(end.value, datetime) and end.number_format == "yyyy-mm-dd"
    assert book["about"]["B1"].value == datetime(2026, 1, 15) and book["about"]["B1"].is_date
    serial_col = renew.cell(row=1, column=COLUMNS.index("serial") + 1).column_letter
    assert renew.column_dimensions[serial_col].width >= len("FOC0001")
    for ws in book.worksheets[:-1]:
        assert ws.freeze_panes == "A2" and ws.print_title_rows == "$1:$1"
        assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0


# ------------------------------------------------------------------------- LibreOffice, as printed


def _soffice_missing() -> str | None:
    missing = [tool for tool in ("soffice", "pdftotext", "pdfinfo") if shutil.which(tool) is None]
    return f"{', '.join(missing)} not installed (.ci/run installs libreoffice-calc and poppler-utils)" if missing else None


@pytest.fixture(scope="module")
def demo_pdf(tmp_path_factory, request):
    """The demo's workbook printed to PDF by LibreOffice, once for the module (soffice starts in ~5 s)."""
    reason = _soffice_missing()
    if reason:
        pytest.skip(reason)
    out = tmp_path_factory.mktemp("demo-print")
    demo_out, proc = request.getfixturevalue("demo_run")  # the session's one demo run (tests/conftest.py)
    book = demo_out / "reports" / "reconcile.xlsx"
    assert book.exists(), proc.stdout + proc.stderr
    subprocess.run(["soffice", "--headless", "--norestore", "--convert-to", "pdf", "--outdir", str(out), str(book)],
                   check=True, capture_output=True, timeout=180,
                   env={"HOME": str(out), "PATH": os.environ.get("PATH", "/usr/bin:/bin")})
    pdf = out / "reconcile.pdf"
    pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True,
                                                              check=True).stdout)[1])
    texts = [subprocess.run(["pdftotext", "-f", str(p), "-l", str(p), "-layout", str(pdf), "-"],
                            capture_output=True, text=True, check=True).stdout for p in range(1, pages + 1)]
    return load_workbook(book), texts


def _pages_of(texts: list[str], sheet: str) -> list[str]:
    # Each printed page's footer names its sheet (&A) and the page (Page n of m).
    return [t for t in texts if re.search(rf"^\s*{re.escape(sheet)}\s+Page \d+ of \d+\s*$", t, re.M)]


@pytest.mark.parametrize("sheet", ["summary", "renew"])
def test_libreoffice_prints_every_column_on_every_page(demo_pdf, sheet):
    book, texts = demo_pdf
    header = [c.value for c in book[sheet][1]]
    pages = _pages_of(texts, sheet)
    assert pages, f"no page of {sheet!r} in the PDF"
    for n, page in enumerate(pages, 1):
        words = set(re.findall(r"[\w-]+", page))
        missing = [h for h in header if h not in words]
        # Fit to width and the repeated header row: every page holds every column's header, so no
        # page carries only spill-over columns.
        assert not missing, f"{sheet} page {n} lacks {missing}"
    # The data is printed too, not only the header: the first row's serial (renew) or name (summary).
    value = book[sheet].cell(row=2, column=2).value
    assert value and any(str(value) in p for p in pages)


def test_libreoffice_page_count_is_sane(demo_pdf):
    book, texts = demo_pdf
    counts = {ws.title: len(_pages_of(texts, ws.title)) for ws in book.worksheets}
    assert all(counts.values()), counts  # every sheet printed, its footer readable
    assert sum(counts.values()) == len(texts)  # and nothing else
    # One page wide: a sheet needs about rows/50 pages at most (the demo's deployed list: ~100 rows).
    for ws in book.worksheets:
        assert counts[ws.title] <= 1 + ws.max_row // 50, (ws.title, counts[ws.title], ws.max_row)


def test_summary_names_are_inert(tmp_path):
    # A site or contract name comes from device and contract files: the summary neutralises it as the lists do.
    rows = [ReconRow("uncovered", "FOC0009", "C9300-48P", site="=HYPERLINK(\"http://x.invalid\")"),
            ReconRow("covered", "FOC0010", "C9300-48P", site="hq", contract_number="+1+cmd")]
    write_reconcile_reports(rows, tmp_path, formats=["xlsx"], parallel=False)
    ws = load_workbook(tmp_path / "reconcile.xlsx")["summary"]
    names = {r[1] for r in ws.iter_rows(min_row=2, values_only=True) if r[0] in ("site", "contract")}
    assert "'=HYPERLINK(\"http://x.invalid\")" in names and "'+1+cmd" in names
    assert not any(isinstance(n, str) and n[:1] in "=+-@" for n in names)
