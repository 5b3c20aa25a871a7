"""Benchmark: a 120,000-line contract XLSX imported, this tree (calamine behind the bounds pass)
beside the openpyxl reader it replaced.

    python bench/contracts_xlsx.py [--lines 120000] [--before /work/base] [--repeat 3] [--keep DIR]

Two workbooks of the same lines (bench/reconcile.py's generator, 16 columns): ``shared``, as
Excel writes a sheet (shared strings, a reference on every cell, dates as Excel date numbers with
a date style) and ``inline`` (inline strings, as ibagent's own writer and many export tools write).
For each: ``load_contracts`` in this tree (wall, in a child process per run, imports excluded), its
parts (the bounds pass, calamine alone), and ``load_contracts`` in ``--before`` (a tree whose
contracts/xlsx.py reads through openpyxl), each in alternating rounds, medians printed.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import zipfile
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_DATE_COLUMNS = (6, 7)


def _col(n: int) -> str:
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def write_shared(path: Path, header, rows) -> None:
    """Excel's way: every text in sharedStrings.xml once, cells by index, dates as numbers."""
    strings: dict[str, int] = {}

    def sst(text: str) -> int:
        return strings.setdefault(text, len(strings))

    epoch = date(1899, 12, 30)
    body = []
    for r, values in enumerate([header] + rows, 1):
        cells = []
        for j, v in enumerate(values, 1):
            ref = f"{_col(j)}{r}"
            if r > 1 and j - 1 in _DATE_COLUMNS and v:
                cells.append(f'<c r="{ref}" s="1"><v>{(date.fromisoformat(v) - epoch).days}</v></c>')
            elif v:
                cells.append(f'<c r="{ref}" t="s"><v>{sst(v)}</v></c>')
        body.append(f'<row r="{r}">{"".join(cells)}</row>')
    _package(path, "".join(body), strings)


def _package(path: Path, sheet_data: str, strings: dict[str, int]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", (
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'))
        z.writestr("_rels/.rels", (
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'))
        z.writestr("xl/workbook.xml", (
            f'<?xml version="1.0"?><workbook xmlns="{_NS}" xmlns:r="{_REL}"><sheets>'
            '<sheet name="Coverage" sheetId="1" r:id="rId1"/></sheets></workbook>'))
        z.writestr("xl/_rels/workbook.xml.rels", (
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{_REL}/styles" Target="styles.xml"/>'
            f'<Relationship Id="rId3" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/></Relationships>'))
        z.writestr("xl/styles.xml", (
            f'<?xml version="1.0"?><styleSheet xmlns="{_NS}"><numFmts count="1"><numFmt numFmtId="164" '
            'formatCode="yyyy-mm-dd"/></numFmts><fonts count="1"><font/></fonts><fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
            '<borders count="1"><border/></borders><cellStyleXfs count="1"><xf/></cellStyleXfs>'
            '<cellXfs count="2"><xf/><xf numFmtId="164" applyNumberFormat="1"/></cellXfs></styleSheet>'))
        z.writestr("xl/sharedStrings.xml", f'<?xml version="1.0"?><sst xmlns="{_NS}" uniqueCount="{len(strings)}">'
                   + "".join(f"<si><t>{escape(s)}</t></si>" for s in strings) + "</sst>")
        z.writestr("xl/worksheets/sheet1.xml", f'<?xml version="1.0"?><worksheet xmlns="{_NS}"><sheetData>'
                   + sheet_data + "</sheetData></worksheet>")


def write_inline(path: Path, header, rows) -> None:
    from agent.reports.xlsx import Sheet, write_workbook

    write_workbook(path, [Sheet("Coverage", header, rows, len(rows))])


_CHILD = """
import json, sys, time, zipfile
t0 = time.perf_counter()
from agent.contracts import load_contracts
what, path = sys.argv[1], sys.argv[2]
t1 = time.perf_counter()
if what == "load":
    load = load_contracts(path)
    n = len(load.lines)
    assert not [e for e in load.errors if getattr(e, "fatal", True)], load.errors[:3]
elif what == "bounds":
    from agent.contracts.xlsx_bounds import scan_sheet
    with zipfile.ZipFile(path) as z:
        n = scan_sheet(z, z.getinfo("xl/worksheets/sheet1.xml"), "Coverage", 10**9).rows
else:
    import python_calamine
    n = len(python_calamine.CalamineWorkbook.from_path(path).get_sheet_by_index(0).to_python(skip_empty_area=False))
print(json.dumps({"seconds": time.perf_counter() - t1, "n": n}))
"""


def run(tree: Path, what: str, path: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", _CHILD, what, str(path)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(tree)}, cwd=str(tree))
    if proc.returncode:
        raise SystemExit(f"{what} under {tree}: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=120_000)
    ap.add_argument("--before", default="/work/base", help="a tree whose contract XLSX reader is openpyxl's (default /work/base, the release)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep")
    args = ap.parse_args(argv)
    from reconcile import HEADER, generate

    tmp = tempfile.TemporaryDirectory(prefix="ibagent-xlsx-")
    work = Path(args.keep) if args.keep else Path(tmp.name)
    work.mkdir(parents=True, exist_ok=True)
    _, _, _, rows, _ = generate(int(args.lines / 1.2), args.lines, 7)
    books = {"shared": work / "shared.xlsx", "inline": work / "inline.xlsx"}
    write_shared(books["shared"], HEADER, rows)
    write_inline(books["inline"], HEADER, rows)
    for name, p in books.items():
        with zipfile.ZipFile(p) as z:
            size = z.getinfo("xl/worksheets/sheet1.xml").file_size
        print(f"{name}: {len(rows):,} lines, {p.stat().st_size / 2**20:.1f} MiB packed, sheet XML {size / 2**20:.0f} MiB")
    contenders = [("this tree: load_contracts", ROOT, "load"), ("  of which the bounds pass", ROOT, "bounds"),
                  ("  calamine alone", ROOT, "calamine"), (f"before ({args.before}): openpyxl", Path(args.before), "load")]
    print(f"\nseconds (median of {args.repeat} alternating rounds; imports excluded):")
    for name, path in books.items():
        got: dict[str, list[float]] = {c[0]: [] for c in contenders}
        for r in range(args.repeat):
            for label, tree, what in (contenders if r % 2 == 0 else contenders[::-1]):
                got[label].append(run(tree, what, path)["seconds"])
        print(f"  {name}:")
        for label, secs in got.items():
            print(f"    {label:<40} {statistics.median(secs):6.2f}  (min {min(secs):.2f}, max {max(secs):.2f})")
    print(f"machine load (1 min): {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; target <= 1.5 s for "
          f"{args.lines:,} lines")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
