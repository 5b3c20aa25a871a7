"""The report writers' per-row memo (agent/reports/memo.py) and the XLSX writer's shared rows give
exactly the bytes the per-list, per-format work gave: every file written through the memo is
compared with one built here from the uncached functions."""
from __future__ import annotations

import csv
import io
import json
import random
import zipfile
from datetime import date

import pytest

from agent.reconcile import COVERED, EXPIRING, LAPSED, NOT_SEEN, UNCOVERED, ReconRow
from agent.reports import render_table, renew_groups, select_lists, write_reconcile_reports
from agent.reports.cells import COLUMNS, row_cells, row_record
from agent.reports.lists import title_of
from agent.reports import writers
from agent.reports.memo import RowMemo
from agent.reports.tabular import json_array_lines
from agent.reports.workbook import reconcile_sheets
from agent.reports.xlsx import write_workbook

# Texts that exercise every escape: formula starts, XML markup, control characters, CR, a literal
# _xHHHH_, non-ASCII, long reasons that wrap, and a '%' that a %-format must not read.
NASTY = ["=cmd|'/c calc'!A1", "<b>&amp;", "tab\there", "cr\rlf\n", "_x0041_", "Zürich ✓", "100% sure", "-1",
         "a reason long enough to wrap at ninety characters in the text list, and then some more words to go"]


def rows(n: int = 300, seed: int = 3) -> list[ReconRow]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        status = rng.choice([COVERED, COVERED, EXPIRING, LAPSED, UNCOVERED, NOT_SEEN])
        seen = status != NOT_SEEN
        parent = f"FOC{i - 1:05d}" if i % 4 == 1 else ""
        out.append(ReconRow(
            status=status, serial=f"FOC{i:05d}", base_pid=rng.choice(["C9300-48P", "PWR-C1-715WAC"]), seen=seen,
            device=f"sw{i % 9}", hostname=rng.choice(["", f"sw{i % 9}", rng.choice(NASTY)]) if seen else "",
            site=rng.choice(["HQ", "BR", rng.choice(NASTY)]), cls="module", name=f"slot {i % 5}",
            contract_number="" if status == UNCOVERED else f"2098{i % 7}",
            coverage_end=None if status == UNCOVERED else date(2026, 1 + i % 12, 1 + i % 27),
            scan_id=7 if seen else None, capture_id=(70 + i) if seen and i % 3 else None,
            contract_file="cov.csv", contract_row=i + 2,
            reasons=tuple(rng.sample(NASTY, rng.randrange(0, 3))) + (f"{status} verdict",),
            major=(i % 4 != 1) if i % 5 else None, parent_serial=parent, parent_status=COVERED if parent else ""))
    return out


@pytest.mark.parametrize("chunk", [4096, 7, 1])
def test_files_written_through_the_memo_equal_the_uncached_forms(tmp_path, monkeypatch, chunk):
    # chunk: how many rows the writers join per write (several pieces, and one row per piece).
    monkeypatch.setattr(writers, "_CHUNK", chunk)
    data = rows()
    meta = {"as_of": "2026-01-15", "window_days": 90, "contracts": ["cov.csv"]}
    write_reconcile_reports(data, tmp_path, meta=meta, parallel=False)
    lists = select_lists(data)
    assert sum(map(len, lists.values())) > len(data)  # rows on several lists: the memo is used
    for name, list_rows in lists.items():
        buf = io.StringIO()
        out = csv.writer(buf)
        out.writerow(COLUMNS)
        out.writerows(map(row_cells, list_rows))
        assert (tmp_path / f"{name}.csv").read_bytes() == ("\ufeff" + buf.getvalue()).encode()
        head = json.dumps({"list": name, "title": title_of(name), **meta, "count": len(list_rows)},
                          ensure_ascii=False)
        text = head[:-1] + ',\n"rows": ' + json_array_lines(map(row_record, list_rows), ensure_ascii=False)
        if name == "renew":
            groups = ({"contract_number": c, "coverage_end": e.isoformat() if e else None, "count": len(g),
                       "serials": [r.serial for r in g]} for c, e, g in renew_groups(list_rows))
            text += ',\n"groups": ' + json_array_lines(groups, ensure_ascii=False)
        assert (tmp_path / f"{name}.json").read_text(encoding="utf-8") == text + "}\n"
        table = f"{title_of(name)}\n\n" + render_table(list_rows, group_by_contract=(name == "renew"),
                                                       group_by_parent=(name == "add"))
        assert (tmp_path / f"{name}.txt").read_text(encoding="utf-8") == table


def test_the_workbook_with_shared_rows_is_the_same_bytes(tmp_path):
    data = rows(500, seed=9)
    lists = select_lists(data)
    memo = RowMemo()
    write_workbook(tmp_path / "shared.xlsx", reconcile_sheets(lists, {"as_of": "2026-01-15"}, data, cells=memo.cells),
                   shared_rows=True)
    write_workbook(tmp_path / "plain.xlsx", reconcile_sheets(lists, {"as_of": "2026-01-15"}, data))
    with zipfile.ZipFile(tmp_path / "shared.xlsx") as a, zipfile.ZipFile(tmp_path / "plain.xlsx") as b:
        assert a.namelist() == b.namelist()
        for name in a.namelist():
            assert a.read(name) == b.read(name), name


def test_the_memo_gives_each_row_its_own_values():
    data = rows(50)
    memo = RowMemo()
    for r in data + data[::-1]:
        assert memo.cells(r) == row_cells(r)
        assert json.loads(memo.json(r)) == json.loads(json.dumps(row_record(r)))
    assert memo.cells(data[0]) is memo.cells(data[0])  # one list per row, shared by the sheets


def test_a_lists_status_hint_never_hides_a_row_its_rule_wants():
    """select_lists asks a list's rule only about rows of its ``status``: the rule must never want
    another status (rows of every status, with every flag, seen and not)."""
    from dataclasses import replace

    from agent.reconcile import STATUSES
    from agent.reconcile.rows import FLAGS
    from agent.reports.lists import LISTS

    base = rows(1)[0]
    variants = [replace(base, status=s, seen=seen, flags=(f,) if f else ())
                for s in STATUSES for seen in (True, False) for f in (None, *FLAGS)]
    for lst in LISTS:
        if lst.status is not None:
            assert all(r.status == lst.status for r in variants if lst.wants(r)), lst.name
