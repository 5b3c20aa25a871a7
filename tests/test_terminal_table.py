"""Tables that fit the terminal (issue 14, item 5): columns cut, then left out, least needed first;
the verdict wraps, never cut; ``--wide``; the ``.txt`` lists keep every reason, wrapped.  And the
filters and ``--fail-on`` exit code of ``reconcile`` and ``slp report``."""
from __future__ import annotations

from datetime import date

import pytest

from agent.cli import main
from agent.cli.filters import EXIT_FAIL_ON
from agent.reconcile import COVERED, END_OF_SUPPORT, EXPIRING, UNCOVERED, ReconRow
from agent.reports.table import FILE_WHY_WIDTH, PRIORITY, render_table
from evidence_store import AS_OF, build  # tests/ is on sys.path, as for corpus_util

LONG = ("past End of Service Contract Renewal 2026-05-19 (EoX EOL13201 [a/rather/long/path/to/the/eox-export-"
        "of-this-quarter.json:1]): cannot be renewed")


def row(serial, status, host, site, pid="C9300-48UXM", contract="209870001", reasons=("covered",)):
    return ReconRow(status=status, serial=serial, base_pid=pid, pid=pid, hostname=host, site=site,
                    contract_number=contract, coverage_end=date(2028, 1, 9), reasons=tuple(reasons))


ROWS = [
    row("FOC2309FFYN", END_OF_SUPPORT, "br01-acc-sw01.branch.example.invalid", "branch01",
        pid="WS-C2960X-48FPD-L", reasons=("active: contract 209870001 (SNT) 2026-05-19..2028-01-09", LONG)),
    row("FCW2452AHJJ", COVERED, "hq-core-sw01", "hq", reasons=("covered until 2028-01-09 (400 days left)",)),
    row("DCA22305RRE", UNCOVERED, "dc1-leaf01", "dc1-datacentre-north", pid="N2200-PAC-400W", contract="",
        reasons=("on no contract line",)),
    row("FDO2241JVM7", EXPIRING, "br01-rtr01", "branch01", pid="ISR4331/K9",
        reasons=("coverage ends 2027-01-19, within the 90-day window (45 days left)",)),
]


WIDE_HEAD = ("STATUS", "SERIAL", "PID", "HOST", "SITE", "CONTRACT", "END", "FLAGS", "LDOS", "RENEW-BY",
             "ATTACH-BY", "END-OF-SALE", "EVIDENCE", "WHY")


def table_rows(text: str) -> tuple[list[str], list[list[str]]]:
    """(headings, each row's lines) of a rendered table: a row starts at a line that does not
    start with a blank, continuation lines do."""
    lines = text.splitlines()
    head = lines[0].split()
    rows: list[list[str]] = []
    for line in lines[2:]:
        if not line:
            break  # the totals and the note follow the blank line
        if line.startswith("#"):
            continue
        if line.startswith(" "):
            rows[-1].append(line)
        else:
            rows.append([line])
    return head, rows


def why_of(lines: list[str], column: int) -> str:
    return " ".join(line[column:].strip() for line in lines)


@pytest.mark.parametrize("width", [40, 60, 80, 100, 120, 160, 240])
def test_every_line_fits_and_no_reason_is_lost(width):
    text = render_table(ROWS, width=width)
    assert all(len(line) <= width for line in text.splitlines()), text
    head, rows = table_rows(text)
    assert head[:2] == ["STATUS", "SERIAL"] and head[-1] == "WHY"
    column = text.splitlines()[0].index("WHY")
    for r, lines in zip(ROWS, rows):
        assert lines[0].split()[:2] == [r.status, r.serial]  # always there, never cut
        # Every reason whole, the verdict last: wrapped at blanks, or inside a word longer than the column.
        assert why_of(lines, column).replace(" ", "") == "".join(r.reasons).replace(" ", "")


def test_columns_leave_in_priority_order():
    shown_at = {w: table_rows(render_table(ROWS, width=w))[0] for w in range(40, 241, 4)}
    # As the terminal narrows, a column once left out stays out, and they leave least needed first.
    left = []
    for w in sorted(shown_at, reverse=True):
        for h in PRIORITY:
            if h not in shown_at[w] and h not in left:
                left.append(h)
    assert left == [h for h in reversed(PRIORITY) if h in left]
    assert "CONTRACT" in left and "SERIAL" not in left and "STATUS" not in left
    assert shown_at[240][:8] == ["STATUS", "SERIAL", "PID", "HOST", "SITE", "CONTRACT", "END", "FLAGS"]
    assert table_rows(render_table(ROWS, width=400))[0] == list(WIDE_HEAD)


def test_a_note_says_what_was_left_out():
    text = render_table(ROWS, width=80)
    note = " ".join(text[text.index("(80 columns: "):].split())
    head = table_rows(text)[0]
    missing = [h for h in PRIORITY if h not in head]
    assert missing and "--wide" in note
    assert all(h in note for h in missing)
    assert "columns: " not in render_table(ROWS, width=400)  # nothing to say when all fit


def test_wide_is_one_line_per_row_with_every_reason():
    text = render_table(ROWS, wide=True)
    head, rows = table_rows(text)
    assert head == list(WIDE_HEAD)
    assert all(len(lines) == 1 for lines in rows)
    assert "; ".join(ROWS[0].reasons) in text and "…" not in text


def test_list_files_wrap_every_reason_and_cut_nothing():
    text = render_table(ROWS)  # the .txt layout
    assert "…" not in text
    column = text.splitlines()[0].index("WHY")
    _, rows = table_rows(text)
    for r, lines in zip(ROWS, rows):
        assert all(len(line) - column <= FILE_WHY_WIDTH for line in lines)
        assert why_of(lines, column).replace(" ", "") == "".join(r.reasons).replace(" ", "")
    assert "br01-acc-sw01.branch.example.invalid" in text  # whole host names too


def test_device_text_in_a_cell_is_inert():
    rows = [row("FOC1", COVERED, "evil\x1b[2J", "hq", reasons=("covered \x1b]0;x\x07",))]
    for text in (render_table(rows, width=60), render_table(rows), render_table(rows, wide=True)):
        assert "\x1b" not in text and "\x07" not in text


# ------------------------------------------------------------------ the CLI


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return build(tmp_path_factory.mktemp("terminal"))


def reconcile(capsys, store, *extra):
    db, contracts, _ = store
    code = main(["reconcile", "--db", str(db), "--contracts", str(contracts), "--as-of", AS_OF, *extra])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_reconcile_table_fits_columns_from_the_environment(store, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "64")
    code, out, _ = reconcile(capsys, store)
    assert code == 0
    assert all(len(line) <= 64 for line in out.splitlines())
    assert "7 row(s)" in out and "--wide" in out


def test_reconcile_piped_without_columns_is_wide(store, capsys, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    code, out, _ = reconcile(capsys, store)
    head, rows = table_rows(out)
    assert code == 0 and head == list(WIDE_HEAD) and len(rows) == 7
    assert all(len(lines) == 1 for lines in rows)


def test_site_and_status_filters(store, capsys):
    code, out, err = reconcile(capsys, store, "--site", "hq", "--status", "covered,lapsed", "--wide")
    _, rows = table_rows(out)
    assert code == 0
    # AVD1111S01A, an optic on no line of its own in a covered chassis, is covered via its parent.
    assert sorted(lines[0].split()[1] for lines in rows) == ["AVD1111S01A", "DCB1111P01A", "FOC1111A0AA",
                                                              "FOC2222A0BB"]
    assert "(only site hq)" in err
    code, out, _ = reconcile(capsys, store, "--site", "branch", "--site", "hq", "--format", "csv")
    assert code == 0 and len(out.splitlines()) == 1 + 7


def test_fail_on_gives_its_exit_code_only_when_found(store, capsys):
    code, out, err = reconcile(capsys, store, "--fail-on", "lapsed,not-seen")
    assert code == EXIT_FAIL_ON == 4 and "--fail-on: 1 lapsed (exit 4)" in err and "FOC2222A0BB" in out
    code, _, _ = reconcile(capsys, store, "--fail-on", "not-seen,rma-swap")
    assert code == 0
    code, _, _ = reconcile(capsys, store, "--site", "branch", "--fail-on", "lapsed")  # hq's lapse is filtered out
    assert code == 0


def test_fail_on_with_out_still_writes_the_reports(store, capsys, tmp_path):
    code, _, _ = reconcile(capsys, store, "--fail-on", "uncovered", "--out", str(tmp_path / "r"))
    assert code == 4
    text = (tmp_path / "r" / "deployed.txt").read_text()
    assert "…" not in text and "every contract line has ended; the last was contract 700100" in text


@pytest.mark.parametrize("option", ["--status", "--fail-on"])
def test_unknown_status_is_a_usage_error(store, capsys, option):
    code, _, err = reconcile(capsys, store, option, "covered,bogus")
    assert code == 2 and "unknown status 'bogus'" in err and "not-seen" in err


def test_slp_report_filters_and_fail_on(store, capsys):
    db = str(store[0])
    assert main(["slp", "report", "--db", db, "--fail-on", "overdue,never-acked"]) == 0
    capsys.readouterr()
    assert main(["slp", "report", "--db", db, "--fail-on", "not-slp", "--format", "json"]) == 4
    assert "3 not-slp (exit 4)" in capsys.readouterr().err
    assert main(["slp", "report", "--db", db, "--status", "ok", "--format", "csv"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1  # the header: no device is ok
    assert main(["slp", "report", "--db", db, "--status", "nope"]) == 2
