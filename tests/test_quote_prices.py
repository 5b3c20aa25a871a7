"""The price list reader: header spellings, CSV and XLSX, every bad row named (file, row, column),
hostile workbooks refused, and the CLI's exit 2 without a traceback."""
from __future__ import annotations

import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from agent.cli import main as cli_main
from agent.quote import PRICED, UNPRICED, PriceListError, QuoteOptions, build_quote, load_prices
from agent.reconcile import COVERED, ReconRow

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "prices"


def _row(pid: str, level: str = "SNT") -> ReconRow:
    return ReconRow(COVERED, "FOC0000B001", pid, pid, True, "sw1", "sw1", "hq", "chassis", "", "", "100", level,
                    None, date(2026, 12, 31))


def _quote(prices, row, coterm=date(2027, 12, 31)):
    return build_quote([row], prices, [], None, QuoteOptions(date(2026, 12, 5), coterm))[0]


def test_every_bad_row_is_named_with_its_column():
    with pytest.raises(PriceListError) as err:
        load_prices(FIXTURES / "bad-rows.csv")
    text = str(err.value)
    path = str(FIXTURES / "bad-rows.csv")
    assert f"{path} row 3, column 'Annual List Price': a price cannot be negative" in text
    assert f"{path} row 4, column 'Annual List Price': no price" in text
    assert f"{path} row 5, column 'Currency': 'US DOLLARS' is not a 3-letter currency code" in text
    assert f"{path} row 6, column 'Product ID'" in text
    assert f"{path} row 7: prices C9300-48P-E SNT in USD again, differently from row 2" in text
    assert text.endswith("price list not used")


def test_title_block_semicolons_and_a_decimal_comma_are_refused_with_the_cell():
    with pytest.raises(PriceListError) as err:
        load_prices(FIXTURES / "bad-decimal-comma.csv")
    # the header is on row 3 (under a title and a blank line), the bad amount on row 4
    assert "bad-decimal-comma.csv row 4, column 'List Price': '560,00' is not an amount" in str(err.value)


def test_sku_only_rows_match_on_the_product_part():
    prices = load_prices(FIXTURES / "sku-only.csv", default_currency="usd")
    assert _quote(prices, _row("C9300-48P-E")).net_price == Decimal("1200.00")  # 365 days of 2027: a year
    assert _quote(prices, _row("C9300-48P-E", "SNTP")).net_price == Decimal("1800.00")
    assert _quote(prices, _row("ISR4331/K9")).net_price == Decimal("560.00")
    q = _quote(prices, _row("C9300-48UXM"))  # C930048UXM does not start with C930048P
    assert q.state == UNPRICED


def test_currency_is_required_unless_given():
    path = FIXTURES / "sku-only.csv"
    prices = load_prices(path)  # its CCY column names USD on every row
    assert {p.currency for p in prices.prices} == {"USD"}
    bare = Path(path).with_name("no-currency.csv")
    try:
        bare.write_text("PID,Price\nC9300-48P-E,100\n")
        with pytest.raises(PriceListError, match="no currency"):
            load_prices(bare)
        assert load_prices(bare, default_currency="EUR").prices[0].currency == "EUR"
    finally:
        bare.unlink()


def test_xlsx_price_list_with_other_spellings(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Item", "Service Program", "GPL", "Currency Code", "Disc %", "Term (years)"])
    ws.append(["N9K-C93180YC-FX3", "SNT", 9600, "USD", 25, 3])
    ws.append(["C9300-48P-E", "SNT", 1200.5, "USD", None, None])
    path = tmp_path / "prices.xlsx"
    wb.save(path)
    prices = load_prices(path)
    q = _quote(prices, _row("N9K-C93180YC-FX3"))
    # one year of a 3-year price: 9600 / 3 = 3200.00 list; less 25% = 2400.00
    assert (q.state, q.list_price, q.net_price, q.duration) == (PRICED, Decimal("3200.00"), Decimal("2400.00"), 3)
    assert _quote(prices, _row("C9300-48P-E")).net_price == Decimal("1200.50")


def test_hostile_and_foreign_files_are_refused(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    wb.active.append(["PID", "Price", "Currency"])
    good = tmp_path / "good.xlsx"
    wb.save(good)
    evil = tmp_path / "evil.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(evil, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/workbook.xml":
                data = b'<!DOCTYPE x [<!ENTITY a "aaaa">]>' + data.split(b"?>", 1)[-1]
            dst.writestr(info, data)
    with pytest.raises(PriceListError, match="DTD"):
        load_prices(evil)
    (tmp_path / "p.ods").write_text("x")
    with pytest.raises(PriceListError, match="unsupported"):
        load_prices(tmp_path / "p.ods")
    (tmp_path / "none.csv").write_text("a,b,c\n1,2,3\n")
    with pytest.raises(PriceListError, match="no header row"):
        load_prices(tmp_path / "none.csv")
    (tmp_path / "quote.csv").write_text('PID,Price,Currency\n"C9300,100,USD\n' + "x,1,USD\n" * 10)
    with pytest.raises(PriceListError):  # a runaway quote: no row is trusted
        load_prices(tmp_path / "quote.csv")


def test_cli_exits_2_naming_the_cell(tmp_path, capsys):
    code = cli_main(["quote", "--db", str(tmp_path / "none.db"), "--contracts", str(tmp_path / "c.csv"),
                     "--prices", str(FIXTURES / "bad-rows.csv")])
    err = capsys.readouterr().err
    assert code == 2
    assert "row 3, column 'Annual List Price'" in err and "Traceback" not in err
    assert cli_main(["quote", "--db", "x.db", "--contracts", "c.csv", "--prices", str(FIXTURES / "generic.csv"),
                     "--currency", "dollars"]) == 2
    assert cli_main(["quote", "--db", "x.db", "--contracts", "c.csv", "--prices", str(FIXTURES / "generic.csv"),
                     "--coterm", "30/06/2027"]) == 2
