"""The per-process memo of row classification and slot paths (scan CPU, issue 15): the same answer as
judging the row afresh, bounded in entries, and long (hostile) row text never kept."""
from __future__ import annotations

import importlib

from agent.core.models import RawComponent

# agent.normalize exports the function classify under the module's name: the module itself, by path.
classify_mod = importlib.import_module("agent.normalize.classify")
parents = importlib.import_module("agent.normalize.parents")

ROWS = [
    RawComponent("Switch 2", "C9300-48P", "C9300-48P", serial="FOC0000A001"),
    RawComponent("Switch 1 - Power Supply A", "Switch 1 - Power Supply A", "PWR-C1-715WAC", serial="X"),
    RawComponent("TenGigabitEthernet2/1/4", "SFP-10GBase-SR", "SFP-10G-SR"),
    RawComponent("module R0", "Cisco ASR1000 Route Processor 2", "ASR1000-RP2"),
    RawComponent("fan", "", "", physical_class="fan"),
    RawComponent("Chassis", "Cisco ISR4331 Chassis", "ISR4331/K9"),
]


def test_memo_answers_as_a_fresh_judgement():
    for raw in ROWS:
        for stacked in (False, True):
            fresh = classify_mod._from_source_class(raw, stacked) or classify_mod._by_name(raw, stacked)
            assert classify_mod.classify(raw, stacked) == fresh
            assert classify_mod.classify(raw, stacked) == fresh  # the second answer comes from the memo
        assert parents._path(raw.name) == parents._path_of(raw.name)
        assert parents._switch_num(raw.name) == parents._switch_num_of(raw.name)


def test_memo_is_bounded_and_keeps_no_long_text():
    classify_mod._classify_memo.cache_clear()
    parents._path_memo.cache_clear()
    for i in range(classify_mod._MEMO_SIZE + 500):
        classify_mod.classify(RawComponent(f"slot {i}", "line card", f"PID-{i}"))
        parents._path(f"TenGigabitEthernet1/{i}/1")
    assert classify_mod._classify_memo.cache_info().currsize == classify_mod._MEMO_SIZE
    assert parents._path_memo.cache_info().currsize == parents._MEMO_SIZE

    classify_mod._classify_memo.cache_clear()
    parents._path_memo.cache_clear()
    long_name = "Te" + "1/" * 2000 + "1"
    hostile = RawComponent(long_name, "x" * 600, "SFP-10G-SR")
    assert classify_mod.classify(hostile) == classify_mod._by_name(hostile)
    assert parents._path(long_name) == parents._path_of(long_name)
    assert classify_mod._classify_memo.cache_info().currsize == 0
    assert parents._path_memo.cache_info().currsize == 0
