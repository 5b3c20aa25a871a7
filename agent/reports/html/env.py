"""The Jinja2 environment every HTML page of ibagent renders through, and how a value becomes a
cell.

Autoescape is on for every template (device and contract text is hostile: a hostname may be
``<script>``); nothing here marks text safe except the inline CSS and script files of this
package, which are ours.  The page's Content-Security-Policy allows no network at all
(``default-src 'none'``): only inline style and script run, so a report opened from a USB stick
in an air-gapped site fetches nothing even if some text escaped its cell.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

# No default-src: not even the page's own file:// origin.  img-src data: lets a later inline
# icon in; form-action and base-uri close what default-src does not cover.
CSP = ("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; "
       "form-action 'none'; base-uri 'none'")


@lru_cache(maxsize=1)
def environment():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("agent.reports.html", "templates"),
        autoescape=True,  # every template, whatever its name
        undefined=jinja2.StrictUndefined,  # a misspelt name fails the test, not the reader
        trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["cell"] = cell
    env.filters["money"] = money_text
    env.globals["CSP"] = CSP
    env.globals["column_classes"] = column_classes
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def column_classes(columns, numeric=(), nowrap=(), wide=()) -> dict[str, str]:
    """column -> its cells' CSS classes, once per table rather than per cell."""
    return {c: " ".join(n for n, on in (("num", c in numeric), ("why", c in wide), ("nw", c in nowrap)) if on)
            for c in columns}


def cell(value: Any) -> str:
    """A value as a table cell shows it: dates ISO, sequences joined, None and False empty."""
    if value is None or value is False:
        return ""
    if value is True:
        return "yes"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "; ".join(cell(v) for v in value)
    return str(value)


def money_text(amount: Decimal | None, currency: str = "") -> str:
    """``USD 1,234.50``: the amount as rounded by the quote (its currency's places), grouped."""
    if amount is None:
        return ""
    return f"{currency} {amount:,}".strip()
