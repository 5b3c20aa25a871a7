"""The JSON reports' row text (agent.reports.cells.row_json) is exactly what json's encoder makes of
``row_record``: over generated rows with every kind of text (escapes, control characters,
non-ASCII, quotes, backslashes), every optional value present and absent, and values of types the
row does not declare (which must reach json's own encoder, with its result or its error)."""
from __future__ import annotations

import json
from dataclasses import fields, replace
from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.reconcile import ReconRow
from agent.reports.cells import row_json, row_record

ENCODE = json.JSONEncoder(ensure_ascii=False).encode

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12) | st.sampled_from(
    ["", '"', "\\", '\\"', '":', ',"', "\x00\x1f\x7f\x85\u2028", "Zürich ✓", "\U0001f600", "a, b: c", "=1+2"])
day = st.none() | st.dates()
number = st.none() | st.integers(-(2 ** 70), 2 ** 70)
texts = st.lists(text, max_size=3).map(tuple)

rows = st.builds(
    ReconRow, status=text, serial=text, base_pid=text, pid=text, seen=st.booleans(), device=text,
    hostname=text, site=text, cls=text, name=text, slot=text, contract_number=text, service_level=text,
    coverage_start=day, coverage_end=day, contract_site_id=text, ldos=day, match=text, swap_with=text,
    blocking_devices=texts, scan_id=number, capture_id=number, contract_file=text, contract_row=number,
    other_lines=texts, reasons=texts, evidence_age_days=number, contract_site=text, end_of_sale=day,
    last_renewal=day, last_attach=day, flags=texts, gap_days=number, major=st.none() | st.booleans(),
    parent_serial=text, parent_status=text, milestone_source=text)


@settings(max_examples=400, deadline=None)
@given(rows, st.none() | text)
def test_row_json_is_the_encoders_text_of_row_record(row, evidence):
    assert row_json(row, evidence) == ENCODE(row_record(row, evidence))


def test_every_field_of_the_row_is_in_the_record():
    # A field added to ReconRow and to row_record must be added to row_json too: this catches a
    # record key row_json does not write (the generated rows above catch a wrong value).
    row = ReconRow("covered", "FOC1", "C9300")
    assert list(json.loads(row_json(row))) == list(row_record(row))
    assert {f.name for f in fields(ReconRow)} - {"cls"} <= set(row_record(row)) | set(row_record(row)["evidence"])


# Values of types a ReconRow does not declare: json's encoder decides, as it did before.
ODD = [dict(hostname=None), dict(scan_id=1.5), dict(scan_id=True), dict(gap_days=10 ** 30), dict(seen=1),
       dict(seen=None), dict(major=0), dict(reasons=("a", 2)), dict(reasons=["a"]), dict(flags="ab"),
       dict(coverage_end=datetime(2026, 1, 2, 3, 4, 5)), dict(ldos=""), dict(other_lines=[]),
       dict(contract_row=float("nan"))]


@pytest.mark.parametrize("change", ODD, ids=[next(iter(c)) + "=" + repr(next(iter(c.values()))) for c in ODD])
def test_values_of_other_types_are_written_as_json_writes_them(change):
    row = replace(ReconRow("covered", "FOC1", "C9300", coverage_start=date(2025, 1, 1)), **change)
    try:
        want = ENCODE(row_record(row))
    except (TypeError, ValueError, AttributeError) as exc:
        with pytest.raises(type(exc)):
            row_json(row)
    else:
        assert row_json(row) == want


def test_text_that_is_not_text_fails_as_json_fails():
    row = replace(ReconRow("covered", "FOC1", "C9300"), coverage_end="2026-01-01")  # no isoformat
    with pytest.raises(AttributeError):
        row_record(row)
    with pytest.raises(AttributeError):
        row_json(row)
