"""The HTML report (agent/reports/html) on hand-built rows: hostile text stays text, the page
reaches for no network, the new row fields (flags, every EoX milestone, gap, major/parent) are
rendered, the summary / calendar / timeline count what the rows say, money is never summed
across currencies and equals the quote stage's own totals, evidence is embedded once and cut
when huge.  ``ibagent report`` end to end on a small store.  The browser half is tests/browser/."""
from __future__ import annotations

import re
import subprocess
import sys
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser

import pytest

from agent.contracts import ContractLine
from agent.core.models import Capture
from agent.reconcile import ReconRow
from agent.reports.cells import COLUMNS
from agent.reports.html import ReportInputs, render_report, write_report
from agent.reports.html import model
from agent.reports.html.env import CSP
from agent.slp.report import SlpReport
from agent.store import Store

AS_OF = date(2026, 3, 10)
HOSTILE_HOST = '<script>window.__pwned=1</script>'
HOSTILE_NAME = '"onmouseover=window.__pwned=2 x="'
HOSTILE_REASON = '</textarea><img src=x onerror="window.__pwned=3">'


class Page(HTMLParser):
    """Tags, attributes and the text of one element kind, as a browser's tokenizer sees them."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


def parsed(page: str) -> Page:
    p = Page()
    p.feed(page)
    return p


@pytest.fixture
def store(store_target):
    # Each test through this fixture runs on both backends (tests/pg/store_fixtures.py): the
    # report's evidence reads are the store's.
    s = Store(store_target)
    sid = s.begin_scan("inventory/hosts.yaml", {}, 2)
    caps = [Capture("sw1", "cisco_xe", "ssh", "show inventory", "NAME: \"Chassis\"\r\nPID: C9300-48P , SN: FOC1\r\n",
                    1.0, 2.0, raw=b"sw1#show inventory\r\nNAME: \"Chassis\"\r\nPID: C9300-48P , SN: FOC1\r\n\x1b[2J"),
            Capture("sw2", "cisco_xe", "ssh", "show tech", "x" * 300_000, 1.0, 2.0)]
    with s.transaction():
        s.save_captures(sid, caps)
    s.end_scan(sid, "completed", 2, 0)
    yield s, sid, caps
    s.close()


def _row(status, serial, pid, *, site="hq", contract="C-1", end=None, **kw) -> ReconRow:
    fields = dict(pid=pid, device="sw1", hostname="sw1", site=site, cls="chassis", name="Chassis",
                  contract_number=contract, service_level="SNT" if contract else "", coverage_end=end)
    return ReconRow(status, serial, pid, **{**fields, **kw})


def _rows(sid, caps):
    return [
        _row("covered", "FOC1", "C9300-48P", end=date(2026, 4, 30), scan_id=sid, capture_id=caps[0].id,
             contract_file="c.csv", contract_row=2, reasons=("covered until 2026-04-30", "second reason kept")),
        _row("covered", "FOC2", "C9300-48P", end=date(2026, 4, 2), scan_id=sid, capture_id=caps[0].id,
             contract_file="c.csv", contract_row=3),
        _row("expiring", "FOC3", "C9500-24Y4C", site="dc1", contract="C-2", end=date(2027, 1, 15), scan_id=sid,
             capture_id=caps[1].id, flags=("last-renewal-soon", "coverage-gap"), gap_days=12,
             end_of_sale=date(2025, 1, 31), last_attach=date(2026, 1, 31), last_renewal=date(2026, 5, 1),
             ldos=date(2030, 1, 31), contract_site="DC ONE", major=True, slot="1", coverage_start=date(2025, 1, 16),
             contract_site_id="S1", match="serial+pid", swap_with="FOC9 C9500-24Y4C", blocking_devices=("d9",),
             contract_file="c.csv", contract_row=9, other_lines=("c.csv:10",), evidence_age_days=40,
             parent_serial="FOC0", parent_status="covered", reasons=("expiring soon",)),
        _row("uncovered", "FOC4", "PWR-C1-715WAC", site="dc1", contract="", scan_id=sid, major=False,
             parent_serial="FOC3", parent_status="expiring"),
        _row("covered", "FOC5", "C9300-48P", end=date(2028, 6, 1)),  # beyond the 24 months
        _row("lapsed", "FOC6", "C9300-48P", end=date(2026, 1, 1)),
        ReconRow("uncovered", "EVIL1", "C9300-48P", "C9300-48P", True, "sw9", HOSTILE_HOST, "hq",
                 "chassis", HOSTILE_NAME, reasons=(HOSTILE_REASON,)),
    ]


def _lines():
    return [ContractLine("FOC1", "C9300-48P", "C9300-48P", "C-1", "SNT", date(2025, 5, 1), date(2026, 4, 30),
                         source_file="c.csv", source_row=2, site_name="HQ </td><b>"),
            ContractLine("FOC2", "C9300-48P", "C9300-48P", "C-1", "SNT", date(2025, 5, 1), date(2026, 4, 2),
                         source_file="c.csv", source_row=3)]


def _inputs(rows, **kw):
    return ReportInputs(AS_OF, 90, rows, "r.db", ["c.csv"], ["eox.json"], _lines(), **kw)


def test_hostile_text_is_inert(store):
    s, sid, caps = store
    page = render_report(_inputs(_rows(sid, caps)), s)
    p = parsed(page)
    assert [t for t, _ in p.tags if t == "script"] == ["script"]  # ours only
    assert "img" not in [t for t, _ in p.tags]
    assert not [(t, a) for t, a in p.tags for k in a if k.startswith("on")], "an event handler attribute"
    assert "__pwned" not in "".join(p.scripts)
    for text in (HOSTILE_HOST, HOSTILE_NAME, HOSTILE_REASON, "HQ </td><b>"):
        assert text not in page
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page
    assert "&#34;onmouseover=window.__pwned=2 x=&#34;" in page
    assert "&lt;/textarea&gt;&lt;img src=x onerror=&#34;window.__pwned=3&#34;&gt;" in page


def test_no_network_and_a_csp_that_forbids_it(store):
    s, sid, caps = store
    page = render_report(_inputs(_rows(sid, caps)), s)
    p = parsed(page)
    metas = [a for t, a in p.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert [m["content"] for m in metas] == [CSP]
    assert CSP.startswith("default-src 'none';") and "connect-src" not in CSP
    refs = [v for t, a in p.tags for k, v in a.items() if k in ("src", "href", "action", "data", "poster")]
    assert refs and all(v.startswith("#") for v in refs), [v for v in refs if not v.startswith("#")]
    assert not [t for t, _ in p.tags if t in ("link", "iframe", "object", "embed", "img", "base", "form")]
    assert not re.search(r"https?://|//[a-z]", page.replace("file://", ""), re.I)


def test_every_list_column_is_on_the_page_and_new_fields_render(store):
    s, sid, caps = store
    page = render_report(_inputs(_rows(sid, caps)), s)
    # FOC3 fills every column: each is a visible header or a label in its detail line
    start = page.index("<td class=\"nw\">FOC3</td>")
    detail = page[start:page.index("</tr>", page.index('<tr class="detail">', start))]
    head = page[page.index('<table class="sortable filterable"'):]
    head = head[:head.index("</thead>")]
    for column in COLUMNS:
        label = column.replace("_", " ")
        assert f">{label}</th>" in head or f"<dt>{label}</dt>" in detail, column
    assert '<span class="badge">last-renewal-soon</span>' in page and '<span class="badge">coverage-gap</span>' in page
    assert "<dt>gap days</dt><dd>12</dd>" in page and "<dt>contract site</dt><dd>DC ONE</dd>" in page
    assert "<dt>parent serial</dt><dd>FOC3</dd>" in page and "<dt>major</dt><dd>minor</dd>" in page
    assert "<dt>major</dt><dd>major</dd>" in detail and "<dt>evidence age days</dt><dd>40</dd>" in detail
    # every reason kept, each its own line
    assert "<li>covered until 2026-04-30</li><li>second reason kept</li>" in page


def test_eol_timeline_has_every_milestone_passed_or_upcoming():
    rows = [_row("expiring", "FOC3", "C9500-24Y4C", end_of_sale=date(2025, 1, 31), last_attach=date(2026, 1, 31),
                 last_renewal=date(2026, 5, 1), ldos=date(2030, 1, 31)),
            _row("covered", "FOC7", "C9500-24Y4C", ldos=date(2031, 1, 1)),  # the first row's LDoS wins
            _row("covered", "FOC8", "C9300-48P")]  # no milestone: not on the timeline
    (life,) = model.eol_timeline(rows, AS_OF, 90)
    assert life.base_pid == "C9500-24Y4C" and life.items == 2
    got = {k: (m.when, m.passed, m.soon) for k, m in life.milestones.items()}
    assert got == {"end_of_sale": (date(2025, 1, 31), True, False), "last_attach": (date(2026, 1, 31), True, False),
                   "last_renewal": (date(2026, 5, 1), False, True), "ldos": (date(2030, 1, 31), False, False)}
    events = model.upcoming_events([life], AS_OF)
    assert [(e["label"], e["when"]) for e in events] == [("End of Service Contract Renewal", date(2026, 5, 1))]


def test_summary_and_calendar_count_what_the_rows_say(store):
    s, sid, caps = store
    rows = _rows(sid, caps)
    by_site = {g.name: dict(g.counts) for g in model.coverage_summary(rows, model.site_of)}
    assert by_site == {"hq": {"covered": 3, "lapsed": 1, "uncovered": 1}, "dc1": {"expiring": 1, "uncovered": 1}}
    by_contract = {g.name: g.total for g in model.coverage_summary(rows, model.contract_of)}
    assert by_contract == {"C-1": 4, "C-2": 1, model.NO_CONTRACT: 2}
    cal = model.renewal_calendar(rows, AS_OF)
    assert len(cal) == 24 and cal[0].label == "2026-03" and cal[-1].label == "2028-02"
    filled = {m.label: sorted(r.serial for r in m.rows) for m in cal if m.rows}
    # FOC5 ends after the 24 months, FOC6 has lapsed, uncovered rows have no end
    assert filled == {"2026-04": ["FOC1", "FOC2"], "2027-01": ["FOC3"]}
    assert cal[1].contracts[0]["count"] == 2 and cal[1].contracts[0]["ends"] == [date(2026, 4, 2), date(2026, 4, 30)]


def test_money_per_currency_matches_the_quote_stage(store, tmp_path):
    from agent.quote import QuoteOptions, build_quote, load_prices, ordered, totals

    s, sid, caps = store
    prices_csv = tmp_path / "prices.csv"
    prices_csv.write_text("Product ID,Service Level,Annual List Price,Currency\n"
                          "C9300-48P,SNT,1000.00,USD\nC9500-24Y4C,SNT,3650.00,EUR\n", encoding="utf-8")
    # FOC10: a plain EUR renewal ending inside the calendar (FOC3's flags and milestones may block it)
    rows = _rows(sid, caps) + [_row("covered", "FOC10", "C9500-24Y4C", site="dc1", contract="C-2",
                                    end=date(2026, 11, 15))]
    lines = ordered(build_quote(rows, load_prices(prices_csv), _lines(), None, QuoteOptions(AS_OF, date(2027, 4, 30))))
    sums = totals(lines)
    assert set(sums.by_currency) == {"USD", "EUR"}
    page = render_report(_inputs(rows, prices=str(prices_csv), quote_lines=lines, quote_totals=sums), s)
    quote = page[page.index('<section id="quote"'):page.index('<section id="slp"')]
    for cur, t in sums.by_currency.items():
        assert f"<td>{cur}</td><td class=\"num\">{cur} {t.cost_list:,}</td><td class=\"num\">{cur} {t.cost:,}</td>" in quote
    # per site: hq is priced in USD only, dc1 in EUR only; never one sum of both
    from agent.reports.html import money

    site_money = money.by_site(lines)
    hq_usd = sum(q.amount for q in lines if q.site == "hq" and q.kind == "renew" and q.amount is not None)
    assert site_money["hq"]["renew"] == {"USD": hq_usd} and set(site_money["dc1"]["renew"]) == {"EUR"}
    summary = page[page.index('<section id="summary"'):page.index('<section id="calendar"')]
    assert f"USD {hq_usd:,}" in summary and "EUR" in summary
    # the calendar's renewal for 2026-11 is FOC10's priced renewal, in EUR
    foc10 = next(q for q in lines if q.serial == "FOC10")
    assert foc10.currency == "EUR" and foc10.amount > Decimal(0)
    calendar = page[page.index('<section id="calendar"'):page.index('<section id="eol"')]
    month = calendar[calendar.index(">2026-11<"):]
    assert f"EUR {foc10.amount:,}" in month[:month.index("</tr>")]


def test_evidence_each_capture_once_cut_when_huge_and_contract_lines_as_read(store):
    s, sid, caps = store
    page = render_report(_inputs(_rows(sid, caps), max_capture=1000), s)
    assert page.count(f'id="capture-{caps[0].id}"') == 1 and page.count(f'id="capture-{caps[1].id}"') == 1
    # FOC1 and FOC2 rest on one capture, each on two lists (deployed, renew): four links, one capture
    assert page.count(f'href="#capture-{caps[0].id}"') == 4
    first = page[page.index(f'id="capture-{caps[0].id}"'):]
    first = first[:first.index("</div>")]
    assert "sw1#show inventory\nNAME: &#34;Chassis&#34;" in first and "\\x1b[2J" in first  # bytes, escapes shown
    second = page[page.index(f'id="capture-{caps[1].id}"'):]
    second = second[:second.index("</div>")]
    assert "only the first 1000 of its 300000 bytes" in second and f"ibagent show capture {caps[1].id}" in second
    assert "x" * 1000 in second and "x" * 1001 not in second
    assert 'id="line-1"' in page and 'href="#line-1"' in page and "<b>contract_number</b> C-1" in page
    assert f'id="scan-{sid}"' in page and f'href="#scan-{sid}"' in page


def test_slp_section_counts_and_rows_that_need_action(store):
    s, sid, caps = store
    devices = [{"site": "hq", "hostname": h, "device": h, "reporting_status": st, "reason": f"{h} reason",
                "udi_pid": "", "udi_serial": "", "last_ack": "", "next_ack_deadline": "", "days_to_deadline": None}
               for h, st in (("a1", "ok"), ("a2", "overdue"), ("a3", "due"), ("a4", "not-slp"))]
    slp = SlpReport(AS_OF, 90, None, sid, 1.0, 1, [], [], devices)
    page = render_report(_inputs(_rows(sid, caps), slp=slp), s)
    section = page[page.index('<section id="slp"'):page.index('<section id="evidence"')]
    assert "a2 reason" in section and "a3 reason" in section
    assert "a1 reason" not in section and "a4 reason" not in section
    assert re.search(r'pill overdue">overdue</span><b>1</b>', section)


def test_write_report_is_atomic_and_says_its_size(store, tmp_path):
    s, sid, caps = store
    path, size = write_report(tmp_path / "out" / "r.html", _inputs(_rows(sid, caps)), s)
    assert path.stat().st_size == size and path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in path.parent.iterdir()] == ["r.html"]


def test_slp_page_shares_the_shell_status_and_reason_first(tmp_path):
    from agent.slp.render import to_html

    devices = [{"site": "hq", "hostname": "<b>h</b>", "device": "d", "reporting_status": "overdue",
                "reason": "late"}]
    page = to_html(SlpReport(AS_OF, 90, None, 1, 1.0, 1, [], [], devices))
    metas = [a for t, a in parsed(page).tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert [m["content"] for m in metas] == [CSP]
    assert "@media print" in page and "&lt;b&gt;h&lt;/b&gt;" in page
    head = page[page.index("<h2>Reporting status by device</h2>"):]
    headers = re.findall(r"<th[^>]*>([^<]*)</th>", head[:head.index("</tr>")])
    assert headers[:4] == ["site", "hostname", "reporting status", "reason"]


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "agent.cli", *args], capture_output=True, text=True, timeout=120,
                          cwd=cwd)


def test_cli_report_refuses_price_options_without_prices_and_a_bad_price_list(tmp_path):
    contracts = tmp_path / "c.csv"
    contracts.write_text("x\n")
    done = _cli("report", "--contracts", str(contracts), "--coterm", "2027-01-01", "--db", str(tmp_path / "x.db"))
    assert done.returncode == 2 and "--coterm prices the report: give --prices FILE too" in done.stderr
    bad = tmp_path / "p.csv"
    bad.write_text("Product ID,Annual List Price\nC9300-48P,lots\n")
    done = _cli("report", "--contracts", str(contracts), "--prices", str(bad), "--db", str(tmp_path / "x.db"))
    assert done.returncode == 2 and "Traceback" not in done.stderr and str(bad) in done.stderr


def test_cli_report_end_to_end_with_filters_and_fail_on(store, tmp_path):
    from lab.sample_contracts import HEADER

    s, sid, caps = store
    contracts = tmp_path / "contracts.csv"
    row = dict.fromkeys(HEADER, "")
    row.update({"Serial Number / PAK number": "FOC9999X1", "Coverage": "COVERED", "Covered Line Status": "ACTIVE",
                "Product ID": "C9300-48P", "Covered Line Start Date": "2025-06-01",
                "Covered Line End Date": "2026-05-31", "Contract Number": "C-77", "Install Site Name": "HQ",
                "Default Service Level": "SNT"})
    contracts.write_text(",".join(HEADER) + "\n" + ",".join(row[h] for h in HEADER) + "\n", encoding="utf-8")
    out = tmp_path / "r.html"
    args = ("report", "--db", str(s.path), "--contracts", str(contracts), "--as-of", "2026-03-10", "--out", str(out))
    done = _cli(*args)
    assert done.returncode == 0, done.stderr
    page = out.read_text(encoding="utf-8")
    assert "FOC9999X1" in page and "C-77" in page and "Prices</dt><dd>none" in page
    assert re.search(r"report as of 2026-03-10: \w+ 1 -> .*r.html \([\d,]+ bytes\)", done.stderr), done.stderr
    status = re.search(r"2026-03-10: ([\w-]+) 1", done.stderr).group(1)
    done = _cli(*args, "--status", "covered")
    assert done.returncode == 0 and "FOC9999X1" not in out.read_text(encoding="utf-8")
    assert "status covered" in out.read_text(encoding="utf-8")  # the header says what was left out
    done = _cli(*args, "--fail-on", status)
    assert done.returncode == 4 and f"--fail-on: 1 {status}" in done.stderr
