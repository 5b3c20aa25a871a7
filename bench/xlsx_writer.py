"""Benchmark: the reconcile workbook's writer, before and after, and XlsxWriter, in one run.

    python bench/xlsx_writer.py [--rows 100000] [--repeat 1] [--before REV] [--no-xlsxwriter]

Makes ``--rows`` synthetic reconciliation rows (statuses, sites, contracts, dates and reason
texts in the proportions of a large estate), puts them on the lists as ``ibagent reconcile``
does, and writes the workbook:

  before      the streaming writer at ``--before`` (git show REV:agent/reports/xlsx.py), the
              plain sheets it wrote then (one per list, no summary, no widths, fills or print setup)
  after       this tree's writer, the same plain sheets
  after+book  this tree's writer, the workbook as reconcile writes it now (summary sheet, widths,
              status fills, print setup)
  xlsxwriter  XlsxWriter (constant_memory, the fastest of its modes) writing the same cells as
              "after+book" with the same features (widths, freeze, autofilter, fills, print setup)

Seconds are wall and CPU time in this process, best of ``--repeat`` rounds (each round runs
every writer once, on the same rows); the file sizes are printed beside them.  XlsxWriter is skipped when it is not installed.
"""
from __future__ import annotations

import argparse
import importlib.util
import random
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The last commit whose writer had none of the readable-workbook features.
BEFORE = "5a1a715"
PIDS = ["C9300-48P", "C9300-NM-8X", "PWR-C1-715WAC", "SFP-10G-SR", "GLC-TE", "N9K-C93180YC-FX"]
STATUS_MIX = [("covered", 60), ("expiring", 10), ("uncovered", 15), ("lapsed", 3), ("not-seen", 5),
              ("unverified", 3), ("rma-swap", 2), ("end-of-support", 2)]


def make_rows(n: int, seed: int = 7):
    from agent.reconcile import ReconRow

    rng = random.Random(seed)
    statuses = [s for s, w in STATUS_MIX for _ in range(w)]
    start = date(2025, 2, 1)
    rows = []
    for i in range(n):
        status = rng.choice(statuses)
        on_contract = status not in ("uncovered",)
        end = start + timedelta(days=rng.randrange(0, 900)) if on_contract else None
        rows.append(ReconRow(
            status, f"FOC{i:08d}", PIDS[i % len(PIDS)], pid=PIDS[i % len(PIDS)] + "-E", seen=status != "not-seen",
            device=f"sw{i // 5:05d}", hostname=f"sw{i // 5:05d}.site{i % 40:02d}.invalid", site=f"site{i % 40:02d}",
            cls="chassis" if i % 5 == 0 else "module", name=f"Slot {i % 5} {PIDS[i % len(PIDS)]}",
            slot=str(i % 5), contract_number=f"2098{i % 300:05d}" if on_contract else "",
            service_level="SNT" if on_contract else "", coverage_start=start if on_contract else None,
            coverage_end=end, contract_site_id=f"55{i % 40:06d}" if on_contract else "",
            ldos=date(2030, 1, 31) if i % 7 == 0 else None, match="serial+pid" if on_contract else "",
            scan_id=30, capture_id=1000 + i // 5, contract_file="coverage.csv" if on_contract else "",
            contract_row=i + 2 if on_contract else None,
            reasons=(f"{status}: contract line {i + 2} of coverage.csv, ends {end}" if end else "on no contract line",)))
    return rows


def load_writer(rev: str):
    """The xlsx.py of ``rev`` as its own module (no install, no checkout)."""
    text = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:agent/reports/xlsx.py"],
                          capture_output=True, text=True, check=True).stdout
    path = Path(tempfile.mkdtemp()) / "xlsx_before.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("xlsx_before", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["xlsx_before"] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def plain_sheets(module, chosen):
    from agent.reports.cells import COLUMNS, row_cells

    return [module.Sheet(name, COLUMNS, map(row_cells, rows), len(rows)) for name, rows in chosen.items()]


def with_xlsxwriter(path: Path, sheets) -> None:
    import xlsxwriter

    from agent.reports.xlsx import Styled, auto_widths

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    bold = book.add_format({"bold": True})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    formats: dict = {}

    def fmt_of(v):
        key = (v.bold, v.fill, type(v.value) is date)
        if key not in formats:
            spec = {"bold": v.bold} | ({"bg_color": "#" + v.fill, "pattern": 1} if v.fill else {})
            formats[key] = book.add_format(spec | ({"num_format": "yyyy-mm-dd"} if key[2] else {}))
        return formats[key]

    for sheet in sheets:
        ws = book.add_worksheet(sheet.name)
        rows = list(sheet.rows)  # widths are set first here too; the same look at the first rows
        width = max(sheet.width or len(sheet.header or ()), 1)
        for j, w in enumerate(sheet.widths or auto_widths(sheet.header, rows[:1000], width)):
            ws.set_column(j, j, w)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        r = 0
        if sheet.header is not None:
            ws.freeze_panes(1, 0)
            ws.repeat_rows(0)
            for j, h in enumerate(sheet.header):
                ws.write(0, j, h.value if isinstance(h, Styled) else h, fmt_of(h) if isinstance(h, Styled) else bold)
            r = 1
            if sheet.count:
                ws.autofilter(0, 0, sheet.count, width - 1)
        fills = {v: Styled(v, fill=c) for v, c in (sheet.fills or {}).items()}
        for values in rows:
            for j, v in enumerate(values):
                if v is None or v == "":
                    continue
                if j == sheet.fill_column and v in fills:
                    v = fills[v]
                if isinstance(v, Styled):
                    ws.write(r, j, v.value, fmt_of(v))
                elif type(v) is date:
                    ws.write_datetime(r, j, v, day)
                else:
                    ws.write(r, j, v)
            r += 1
    book.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--before", default=BEFORE, help=f"git revision of the writer to compare with (default {BEFORE})")
    ap.add_argument("--no-xlsxwriter", action="store_true", help="skip XlsxWriter (about 6x slower)")
    args = ap.parse_args()

    from agent.reports.lists import select_lists
    from agent.reports.workbook import reconcile_sheets
    from agent.reports.xlsx import write_workbook

    rows = make_rows(args.rows)
    chosen = select_lists(rows)
    cells = sum(len(v) for v in chosen.values()) * 26
    print(f"{args.rows:,} rows; {len(chosen)} lists, {cells:,} list cells; best of {args.repeat}")
    before = load_writer(args.before)
    meta = {"as_of": "2026-01-15", "window_days": 90}
    runs = {
        f"before ({args.before})": lambda p: before.write_workbook(p, plain_sheets(before, chosen)),
        "after, same sheets": lambda p: write_workbook(p, plain_sheets(sys.modules["agent.reports.xlsx"], chosen)),
        "after+book (reconcile now)": lambda p: write_workbook(p, reconcile_sheets(chosen, meta, rows)),
    }
    if importlib.util.find_spec("xlsxwriter") is None:
        print("(XlsxWriter not installed: skipped; pip install xlsxwriter)")
    elif not args.no_xlsxwriter:
        runs["xlsxwriter, same book"] = lambda p: with_xlsxwriter(p, reconcile_sheets(chosen, meta, rows))
    with tempfile.TemporaryDirectory() as tmp:
        # Round-robin: each repeat runs every writer once, so a busy moment of the machine does
        # not fall on one writer's runs only.  CPU seconds beside wall: other processes on a
        # shared machine stretch wall time more than this process's own CPU time.
        best = {label: (float("inf"), float("inf"), 0) for label in runs}
        for k in range(args.repeat):
            for label, run in runs.items():
                path = Path(tmp) / f"{k}.xlsx"
                t, c = time.perf_counter(), time.process_time()
                run(path)
                wall, cpu = time.perf_counter() - t, time.process_time() - c
                best[label] = (min(best[label][0], wall), min(best[label][1], cpu), path.stat().st_size)
        print(f"  {'writer':<30} {'wall':>7}   {'CPU':>7}   size")
        for label, (wall, cpu, size) in best.items():
            print(f"  {label:<30} {wall:7.2f} s {cpu:7.2f} s {size / 1e6:6.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
