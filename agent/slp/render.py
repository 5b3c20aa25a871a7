"""The SLP report as text table, CSV, JSON and one self-contained HTML page.

CSV and JSON carry the usage rows (one per device and entitlement, every device present); the
table and the HTML page also show the per-device reporting status and the per-site entitlement
totals.  The HTML page renders through the fleet report's shell (``agent.reports.html``: Jinja2 with
autoescape, a Content-Security-Policy that allows no network, one stylesheet that prints
landscape with every column): no external asset, so air-gapped sites open it from a USB stick.
CSV cells are neutralised against formula injection.
"""
from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any

from agent.reports import tabular

from .report import ENTITLEMENT_COLUMNS, ROW_COLUMNS, SlpReport

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


# The HTML page's columns: status and reason right after the device's name, so they are on screen
# at any width and printed (they were last, off-screen at 1,400 px and cut when printed).
HTML_DEVICE_COLUMNS = ("site", "hostname", "reporting_status", "reason", "device", "udi_pid", "udi_serial", "members",
                       "transport", "policy", "last_ack", "next_ack_deadline", "days_to_deadline", "last_report_push",
                       "trust_codes", "reservation")
HTML_ROW_COLUMNS = ("site", "hostname", "reporting_status", "device", "license", "entitlement_tag", "license_type",
                    "count", "min_count", "max_count", "first_seen", "last_seen", "last_ack", "next_ack_deadline",
                    "days_to_deadline", "udi_pid", "udi_serial", "members", "reason")
_NUMERIC = ("count", "min_count", "max_count", "current", "device_count", "days_to_deadline")
_NOWRAP = ("hostname", "udi_serial")


def to_html(report: SlpReport) -> str:
    """One self-contained page through the reports stage's page shell (Jinja2, autoescape, the
    no-network Content-Security-Policy, the shared stylesheet with its print rules)."""
    from agent.reports.html.env import render as render_page

    return render_page(
        "slp.html.j2", as_of=report.as_of.isoformat(), site=report.site, scan_id=report.scan_id,
        scan_date=report.meta()["scan_date"], window_scans=report.window_scans, window_days=report.window_days,
        counts=report.counts(), devices=report.devices, entitlements=report.entitlements, rows=report.rows,
        device_columns=HTML_DEVICE_COLUMNS, entitlement_columns=ENTITLEMENT_COLUMNS, row_columns=HTML_ROW_COLUMNS,
        numeric=_NUMERIC, nowrap=_NOWRAP)


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
