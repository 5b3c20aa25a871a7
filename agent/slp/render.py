"""The SLP report as text table, CSV, JSON and one self-contained HTML page.

CSV and JSON carry the usage rows (one per device and entitlement, every device present); the
table and the HTML page also show the per-device reporting status and the per-site entitlement
totals.  The HTML has no external asset (no CDN, fonts or scripts): air-gapped sites open it
from a USB stick.  Every value is escaped; CSV cells are neutralised against formula injection.
"""
from __future__ import annotations

import csv
import html
import io
import os
from pathlib import Path
from typing import Any

from agent.reports import tabular

from .report import ENTITLEMENT_COLUMNS, ROW_COLUMNS, SlpReport
from .status import STATUSES

FORMATS = ("table", "csv", "json", "html")

# The inventory name too: an HA pair (ASA failover) shares one hostname.
TABLE_DEVICE_COLUMNS = ("site", "device", "hostname", "udi_serial", "transport", "last_ack", "next_ack_deadline",
                        "reporting_status", "reason")
TABLE_ENTITLEMENT_COLUMNS = ("site", "entitlement_tag", "license", "devices", "current", "min_count", "max_count",
                             "first_seen", "last_seen")


def _short(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Dates are enough on a terminal; the seconds are in CSV/JSON.
    out = []
    for r in rows:
        r = dict(r)
        for k in ("last_ack", "next_ack_deadline"):
            r[k] = (r.get(k) or "")[:10]
        out.append(r)
    return out


def to_table(report: SlpReport) -> str:
    counts = ", ".join(f"{k} {v}" for k, v in report.counts().items() if v) or "no devices"
    head = (f"Smart Licensing reporting as of {report.as_of.isoformat()}"
            + (f", site {report.site}" if report.site else "")
            + f" (scan {report.scan_id}, {report.window_scans} scan(s) in the {report.window_days}-day window): {counts}\n\n")
    if report.scan_id is None:
        return head.replace(": no devices", ": no scan in the store up to that date") + "\n"
    return (head + tabular.to_table(_short(report.devices), TABLE_DEVICE_COLUMNS)
            + "\nLicence usage by entitlement and site\n\n"
            + tabular.to_table(report.entitlements, TABLE_ENTITLEMENT_COLUMNS))


def to_csv(report: SlpReport) -> str:
    # Numbers stay numbers (a negative days_to_deadline is not a formula); only text is neutralised.
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(ROW_COLUMNS)
    for r in report.rows:
        writer.writerow(["" if r.get(c) is None else tabular.neutralise(r[c]) if isinstance(r.get(c), str) else r[c]
                         for c in ROW_COLUMNS])
    return buf.getvalue()


def to_json(report: SlpReport) -> str:
    return tabular.to_json([{k: r.get(k) for k in ROW_COLUMNS} for r in report.rows])


_CSS = """
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1d2733}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}
.meta{color:#5b6877;margin-bottom:16px}
table{border-collapse:collapse;width:100%;margin-bottom:8px}
th,td{border:1px solid #d6dce3;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#eef2f6;position:sticky;top:0}
tr:nth-child(even) td{background:#fafbfc}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.pill{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:600;white-space:nowrap}
.ok{background:#dcf3e3;color:#17603a}.due{background:#fff1cc;color:#7a5600}
.overdue{background:#fbdada;color:#8f1d1d}.never-acked{background:#e6e3fb;color:#3d2f91}
.not-slp{background:#e8ebef;color:#46505c}
.cards{display:flex;gap:10px;flex-wrap:wrap;margin:8px 0 4px}
.card{border:1px solid #d6dce3;border-radius:6px;padding:6px 12px;min-width:90px}
.card b{display:block;font-size:20px}
"""

_NUMERIC = {"count", "min_count", "max_count", "current", "device_count", "days_to_deadline"}


def _cell(key: str, value: Any) -> str:
    if key == "reporting_status" and value:
        return f'<td><span class="pill {html.escape(str(value))}">{html.escape(str(value))}</span></td>'
    text = "" if value is None else str(value)
    cls = ' class="num"' if key in _NUMERIC else ""
    return f"<td{cls}>{html.escape(text)}</td>"


def _html_table(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> str:
    head = "".join(f"<th>{html.escape(c.replace('_', ' '))}</th>" for c in columns)
    body = "\n".join("<tr>" + "".join(_cell(c, r.get(c)) for c in columns) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>"


def to_html(report: SlpReport) -> str:
    counts = report.counts()
    cards = "".join(f'<div class="card"><span class="pill {s}">{s}</span><b>{counts[s]}</b></div>' for s in STATUSES)
    scope = f"site {html.escape(report.site)}, " if report.site else ""
    meta = (f"As of {report.as_of.isoformat()} &middot; {scope}latest scan {report.scan_id or '-'}"
            f" ({html.escape(report.meta()['scan_date'] or '-')}) &middot; {report.window_scans} scan(s) in the "
            f"{report.window_days}-day window &middot; due = ACK deadline within 30 days")
    device_cols = ("site", "hostname", "device", "udi_pid", "udi_serial", "members", "transport", "policy",
                   "last_ack", "next_ack_deadline", "days_to_deadline", "last_report_push", "trust_codes",
                   "reservation", "reporting_status", "reason")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Smart Licensing usage report {report.as_of.isoformat()}</title>
<style>{_CSS}</style></head>
<body>
<h1>Smart Licensing usage report</h1>
<div class="meta">{meta}</div>
<div class="cards">{cards}</div>
<h2>Reporting status by device</h2>
{_html_table(report.devices, device_cols)}
<h2>Licence usage by entitlement and site</h2>
{_html_table(report.entitlements, ENTITLEMENT_COLUMNS)}
<h2>Usage detail (device &times; entitlement)</h2>
{_html_table(report.rows, ROW_COLUMNS)}
<p class="meta">Generated by ibagent from the local store; counts are stack / HA members consuming
each licence. Times are UTC; device clock zones that could not be read exactly are noted in the reason.</p>
</body></html>
"""


RENDER = {"table": to_table, "csv": to_csv, "json": to_json, "html": to_html}


def render(report: SlpReport, fmt: str) -> str:
    if fmt not in RENDER:
        raise ValueError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    return RENDER[fmt](report)


def write_report_files(report: SlpReport, out_dir: str | Path, basename: str = "slp-report",
                       formats: tuple[str, ...] = ("html", "json", "csv")) -> list[Path]:
    """``<basename>.<fmt>`` for each format, each written aside then renamed into place."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        path = out / f"{basename}.{'txt' if fmt == 'table' else fmt}"
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(render(report, fmt), encoding="utf-8")
        os.replace(tmp, path)
        written.append(path)
    return written
