"""End to end: ``ibagent demo`` ships a sample price list and writes the quote; ``ibagent quote`` on
the demo's store gives the same lines; amounts on the demo's story checked by hand."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from datetime import date, timedelta
from decimal import Decimal

import pytest

from agent.reconcile.coterm import feb29s_between
from lab import sample_contracts


@pytest.fixture(scope="module")
def demo(demo_run):
    out, proc = demo_run  # one demo run for the whole session (tests/conftest.py)
    assert "Traceback" not in proc.stderr, proc.stderr
    return out, proc


def _quote(out):
    return json.loads((out / "quote.json").read_text())


def test_demo_writes_the_quote_in_every_format(demo):
    out, proc = demo
    assert "demo: quote from sample-prices.csv" in proc.stdout
    for name in ("sample-prices.csv", "quote.csv", "quote.json", "quote.xlsx", "quote.txt"):
        assert (out / name).stat().st_size > 0, name
    doc = _quote(out)
    assert list(doc) == ["quote", "lines", "totals", "counts"]
    lines = doc["lines"]
    with (out / "quote.csv").open(encoding="utf-8-sig") as fh:
        assert len(list(csv.DictReader(fh))) == len(lines)
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.load_workbook(out / "quote.xlsx", read_only=True)
    assert wb.sheetnames == ["quote", "totals", "about"]
    assert sum(1 for _ in wb["quote"].iter_rows()) == len(lines) + 1
    # every kind of line and every state the story holds
    kinds = {(q["kind"], q["state"]) for q in lines}
    assert {("renew", "priced"), ("renew", "unpriced"), ("renew", "blocked"), ("reinstate", "priced"),
            ("add", "priced"), ("drop", "priced"), ("transfer", "no-charge")} <= kinds
    # totals are the sum of the priced lines, per currency (one currency here)
    cost = sum(Decimal(q["net_price"]) for q in lines if q["state"] == "priced" and q["kind"] != "drop")
    (usd,) = doc["totals"]["by_currency"]
    assert usd["currency"] == "USD" and Decimal(usd["cost"]) == cost
    assert Decimal(usd["cost"]) == sum(Decimal(t["cost"]) for t in doc["totals"]["by_contract"])
    assert Decimal(usd["cost"]) == sum(Decimal(t["cost"]) for t in doc["totals"]["by_site"])
    # unpriced lines carry no amount at all, never 0
    assert all(q["net_price"] is None for q in lines if q["state"] != "priced")


def test_demo_quote_amounts_by_hand(demo):
    out, _ = demo
    doc = _quote(out)
    as_of = date.fromisoformat(doc["quote"]["as_of"])
    by = {}
    for q in doc["lines"]:
        by.setdefault((q["kind"], q["base_pid"]), []).append(q)
    # The retired ISR4321 (not seen): contract line as_of-200 .. as_of+400 (lab.sample_contracts); the
    # saving is its remaining value as_of .. as_of+400 = 401 days less any 29 Feb inside, / 365 x 420.00
    (drop,) = by[("drop", "ISR4321/K9")]
    end = as_of + timedelta(days=400)
    expected = (Decimal(420) * (401 - feb29s_between(as_of, end)) / 365).quantize(Decimal("0.01"))
    assert (drop["serial"], drop["basis"], Decimal(drop["net_price"])) == (
        sample_contracts.RETIRED_ISR[0], "remaining value", expected)
    # The lapsed C8000V: its contract has no live line left, so one year from the lapse: factor 1 -> 380.00,
    # flagged for re-certification.
    (re,) = by[("reinstate", "C8000V")]
    assert (Decimal(re["net_price"]), re["recertification"]) == (Decimal("380.00"), True)
    assert re["start"] == (as_of - timedelta(days=29)).isoformat()
    # The C9500 pair: 10% off 4200.00 for a full year -> 3780.00 each; the N9K's 3-year price 9600 for one
    # year -> 3200.00.
    assert {q["net_price"] for q in by[("renew", "C9500-48Y4C")]} == {"3780.00"}
    assert {q["net_price"] for q in by[("renew", "N9K-C93180YC-FX3")]} == {"3200.00"}
    # The 2960-X stack is past its Last Date of Support (sample EoX): blocked, with the milestone, no price.
    blocked = by[("renew", sample_contracts.EOS_PID)]
    assert blocked and all(q["state"] == "blocked" and "Last Date of Support" in q["milestone"] for q in blocked)
    # Stack cables have no price in the sample list: unpriced, not 0.
    assert {q["state"] for q in by[("renew", "STACK-T1-50CM")]} == {"unpriced"}


def test_quote_command_on_the_demo_store_gives_the_demos_lines(demo, tmp_path):
    out, _ = demo
    doc = _quote(out)
    args = [sys.executable, "-m", "agent.cli", "quote", "--db", str(out / "ibagent.db"),
            "--contracts", str(out / "sample-contracts.csv"), "--eox", str(out / "sample-eox.json"),
            "--prices", str(out / "sample-prices.csv"), "--as-of", doc["quote"]["as_of"]]
    got = subprocess.run(args + ["--format", "json"], capture_output=True, text=True, timeout=120)
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["lines"] == doc["lines"]
    # A co-term date: every priced renewal ends on it (or on its LDoS), and the table fits 100 columns.
    coterm = (date.fromisoformat(doc["quote"]["as_of"]) + timedelta(days=800)).isoformat()
    got = subprocess.run(args + ["--coterm", coterm, "--format", "json"], capture_output=True, text=True, timeout=120)
    renewals = [q for q in json.loads(got.stdout)["lines"] if q["kind"] == "renew" and q["state"] == "priced"]
    assert renewals and {q["end"] for q in renewals} == {coterm}
    table = subprocess.run(args + ["--coterm", coterm], capture_output=True, text=True, timeout=120,
                           env={**__import__("os").environ, "COLUMNS": "100"})
    assert table.returncode == 0 and "totals by currency:" in table.stdout
    assert max(map(len, table.stdout.splitlines())) <= 100
    written = subprocess.run(args + ["--format", "xlsx", "--out", str(tmp_path / "q.xlsx")], capture_output=True,
                             text=True, timeout=120)
    assert written.returncode == 0 and (tmp_path / "q.xlsx").stat().st_size > 0


def test_workbook_marks_the_lines_to_look_at(demo):
    openpyxl = pytest.importorskip("openpyxl")
    out, _ = demo
    ws = openpyxl.load_workbook(out / "quote.xlsx")["quote"]
    state = [c.value for c in ws[1]].index("state") + 1
    fills = {}
    for row in ws.iter_rows(min_row=2):
        fills.setdefault(row[state - 1].value, set()).add(row[state - 1].fill.fgColor.rgb[-6:])
    assert fills["blocked"] == {"F4CCCC"} and fills["unpriced"] == {"FFF2CC"}
    assert "F4CCCC" not in fills["priced"]


def test_a_contract_file_that_cannot_be_read_whole_is_no_quote(demo, tmp_path):
    """The quote reads its inputs as reconcile does: a runaway quote in the export refuses, exit 2."""
    out, _ = demo
    lines = (out / "sample-contracts.csv").read_text().splitlines()
    lines[5] = lines[5].replace(",", ',"', 1)  # a stray quote that would swallow the rest of the file
    broken = tmp_path / "contracts.csv"
    broken.write_text("\n".join(lines) + "\n")
    got = subprocess.run([sys.executable, "-m", "agent.cli", "quote", "--db", str(out / "ibagent.db"),
                          "--contracts", str(broken), "--prices", str(out / "sample-prices.csv")],
                         capture_output=True, text=True, timeout=120)
    assert got.returncode == 2, got.stderr
    assert f"{broken} row 6: a quote" in got.stderr and "not quoting" in got.stderr
    assert "Traceback" not in got.stderr and got.stdout == ""
