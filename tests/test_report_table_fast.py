"""The text lists' fast path (agent.reports.table._default_texts, taken with a RowMemo for the
default columns when a row's text has no control character) gives the same text as the general
path (the column getters through terminal_cells): over generated rows with control characters,
non-ASCII, empty and missing values, in the add list's parent grouping and the renew list's
contract grouping."""
from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from agent.reconcile import ReconRow
from agent.reports.memo import RowMemo
from agent.reports.table import DEFAULT_COLUMNS, _default_texts, render_table
from agent.reports.tabular import terminal_cells

# Mostly printable text (the fast path), sometimes a control character or a separator that is
# not printable (the general path), sometimes anything at all.
text = (st.text(alphabet="abXY09 -_.:;/%éü✓└", max_size=8)
        | st.sampled_from(["", "\t", "\x1b[31m", "\x85", "\u2028", "Zürich ✓", "└ x", "a b", "100%s"])
        | st.text(max_size=4))
day = st.none() | st.dates()
texts = st.lists(text, max_size=3).map(tuple)
rows = st.builds(
    ReconRow, status=st.sampled_from(["covered", "expiring", "uncovered"]), serial=text, base_pid=text,
    seen=st.booleans(), device=text, hostname=text, site=text, name=text, contract_number=text,
    coverage_end=day, ldos=day, end_of_sale=day, last_renewal=day, last_attach=day, flags=texts,
    reasons=texts, contract_file=text, contract_row=st.none() | st.integers(1, 99), capture_id=st.none() | st.integers(1, 9),
    scan_id=st.none() | st.integers(1, 9), major=st.none() | st.booleans(), parent_serial=text,
    milestone_source=text)


@settings(max_examples=150, deadline=None)
@given(st.lists(rows, max_size=12), st.booleans(), st.booleans())
def test_the_memo_path_writes_what_the_general_path_writes(data, by_parent, by_contract):
    want = render_table(data, group_by_parent=by_parent, group_by_contract=by_contract)
    assert render_table(data, group_by_parent=by_parent, group_by_contract=by_contract, memo=RowMemo()) == want


@settings(max_examples=200, deadline=None)
@given(rows, st.booleans())
def test_default_texts_are_the_getters_cells(row, marked):
    got = _default_texts(row, marked, lambda r: "evidence")
    getters = [(lambda r: "evidence") if h == "EVIDENCE" else get for h, get, _ in DEFAULT_COLUMNS]
    want = [get(row) for get in getters]
    if marked:
        from agent.reports.table import _marked

        want[1] = _marked(row)
    if "".join(got).isprintable():
        assert got == terminal_cells(want)


def test_a_row_with_a_value_that_is_not_text_takes_the_general_path():
    # None where text belongs (an old store row): the join refuses it, the getters write "".
    row = replace(ReconRow("covered", "FOC1", "C9300"), site=None, contract_number=None)
    text = render_table([row], memo=RowMemo())
    assert text == render_table([row]) and "None" not in text
