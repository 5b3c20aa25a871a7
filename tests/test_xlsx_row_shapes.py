"""The workbook writer's row templates (agent.reports.xlsx._RowShape: one %-format per row shape)
write the same sheet XML, byte for byte, as the cell-by-cell path: over generated rows of every
value type the writer takes (text with every escape, empty text, None, ints, floats, bools, dates,
datetimes, Styled cells, a filled status column), with and without rows shared between sheets."""
from __future__ import annotations

import io
from datetime import date, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from agent.reports.xlsx import Sheet, Styled, _Styles, _write_sheet

text = (st.text(alphabet="ab 09-_.x&<>%é✓", max_size=8)
        | st.sampled_from(["", "_x0041_", "a_x", "cr\r", "tab\t", "nul\x00", "\ud800", "\ufffe", "&amp;"])
        | st.text(max_size=4))
value = st.one_of(
    text, text, text, st.none(), st.integers(-10 ** 20, 10 ** 20), st.floats(allow_nan=True),
    st.booleans(), st.dates(), st.datetimes(), st.sampled_from(["covered", "lapsed", "other"]),
    st.builds(Styled, text, st.booleans(), st.sampled_from([None, "C6EFCE"])))
FILLS = {"covered": "C6EFCE", "lapsed": "F8CBAD"}


def _xml(sheet_rows: list[list], shared, templates, fill: bool) -> tuple[bytes, list]:
    out = io.BytesIO()
    styles = _Styles()
    for name in ("one", "two"):  # the same row objects on two sheets: the shared path reuses them
        sheet = Sheet(name, ["h"] * 6, sheet_rows, len(sheet_rows), width=6,
                      fill_column=0 if fill else None, fills=FILLS if fill else None)
        _write_sheet(sheet, out, styles, shared=shared, templates=templates)
    return out.getvalue(), styles.xfs


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(value, min_size=0, max_size=8), max_size=8), st.booleans())
def test_templates_write_what_cells_write(rows, fill):
    want = _xml(rows, None, None, fill)
    assert _xml(rows, None, {}, fill) == want
    assert _xml(rows, {}, {}, fill) == want


def test_the_common_row_takes_a_template():
    # A row of plain text, numbers and dates (the report rows) is written by its shape's template.
    templates: dict = {}
    rows = [["covered", "FOC1", 7, date(2026, 1, 2), None, ""], ["lapsed", "FOC2", 8, date(2026, 1, 3), None, ""]]
    xml, _ = _xml(rows, {}, templates, True)
    assert len(templates) == 1  # both rows: one shape
    assert b'<c r="D2" s="2"><v>46024</v></c>' in xml and b'r="E2"' not in xml
    assert _xml(rows, None, None, True)[0] == xml
    # A datetime is not a template type: the row goes cell by cell, and says the same.
    odd = [["covered", "x", 1, datetime(2026, 1, 2, 3, 4), None, ""]]
    templates.clear()
    assert _xml(odd, None, templates, True)[0] == _xml(odd, None, None, True)[0] and not templates
