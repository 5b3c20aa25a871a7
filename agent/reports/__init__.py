"""Report writers for reconciliation rows: the deployed list and the quote serial lists.

``select_lists`` decides which rows go on which list; ``render_table`` prints them for a
terminal; ``write_reconcile_reports`` writes them as table text, CSV, JSON and/or XLSX.

Stage: reports. One module per output format (``table``, ``xlsx``, CSV and JSON in ``writers``),
the reconcile workbook's sheets (``workbook``: summary first, status colours), which rows go on
which list (``lists``), the flat and structured cells of a row (``cells``),
terminal tables (``tabular``) and the forked per-format writers (``forking``).  May import only
``agent.core`` and ``agent.reconcile`` (the rows it writes).
"""
from agent.reports.lists import LISTS, ReportList, renew_groups, select_lists
from agent.reports.table import render_table
from agent.reports.writers import FORMATS, write_reconcile_reports

__all__ = ["FORMATS", "LISTS", "ReportList", "render_table", "renew_groups", "select_lists",
           "write_reconcile_reports"]
