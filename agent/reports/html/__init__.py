"""The browser report (``ibagent report``, the demo's ``report.html``) and the page shell the SLP
page shares: one self-contained HTML file, rendered with Jinja2 (autoescape on) from the
templates beside this package, inline CSS and a little vanilla JavaScript, no network.

``env``       the Jinja environment, the page's Content-Security-Policy and the cell formatting
``model``     reconcile rows -> the summary by site and contract, renewal calendar, EoL timeline
``columns``   the lists (``agent.reports.lists``) with their columns (``agent.reports.cells``)
``money``     a quote's lines and totals -> the money beside those views (duck-typed: the quote
              stage imports the reports stage, so this package never imports it back)
``evidence``  the captures, scans and contract lines the rows rest on, read from the store
``render``    the whole report: context, page, file

Stage: reports (its HTML part).  May import ``agent.core``, ``agent.reconcile``, ``agent.reports``
and ``agent.store`` (the evidence reads); Jinja2.  Never ``agent.quote`` or ``agent.slp``: a quote
and an SLP report are handed in by the caller (the CLI, the demo), and ``agent.slp.render``
renders its own page through ``env``.
"""
from __future__ import annotations

__all__ = ["ReportInputs", "render_report", "write_report"]


def __getattr__(name: str):
    # Lazy: agent.slp.render imports only ``env`` and should not load the report's modules.
    if name in __all__:
        from agent.reports.html import render

        return getattr(render, name)
    raise AttributeError(f"module 'agent.reports.html' has no attribute {name!r}")
