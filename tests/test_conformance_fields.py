"""Conformance, field by field (issue 13): every key every source's expected file states is either
compared with the one field of ours it names (tests/corpus_fields.py) or listed there as not recorded,
with the reason; PIDs and versions from 'show version' are compared per field (chassis PID, each stack
member's own Model number, the running release); and the same device's 'show version' and 'show
inventory' agree with each other (tests/corpus_pairs.py)."""
from __future__ import annotations

import os
from collections import Counter

import pytest

import corpus_fields as cf
import corpus_pairs as cp
import corpus_util as cu

ROOT = cu.corpus_root()
if not (ROOT.is_dir() and any(ROOT.glob("*/show_version/*.txt"))):
    if os.environ.get("CI"):
        pytest.fail(f"corpus not found at {ROOT} (set IBAGENT_CORPUS)", pytrace=False)
    pytest.skip(f"corpus not found at {ROOT} (set IBAGENT_CORPUS)", allow_module_level=True)

CASES = [c for c in cu.iter_cases(ROOT) if c.expected_path is not None]

# A mock that answers each command from a different device: unicon's generic IOS XE mock gives an
# ISR4221's 'show version' and a WS-C5002's 'show inventory' in the same state.
UNRELATED = {
    "iosxe/show_version/unicon__generic_mock_data_iosxe__iosxe_enable3.txt":
        "unicon's mock pairs an ISR4221 show version with a WS-C5002 show inventory",
}


def test_every_stated_field_is_compared_or_not_recorded_for_a_reason():
    loose = sorted({(f"{src}:{schema}", key) for case in CASES
                    for src, schema, fpath, key in cu.stated_keys(str(case.expected_path))
                    if not cf.accounted(src, schema, key, fpath)})
    assert loose == [], "keys neither compared nor listed in corpus_fields.NOT_RECORDED"


def test_every_not_recorded_reason_is_still_needed():
    stated = {key for case in CASES for _, _, _, key in cu.stated_keys(str(case.expected_path))}
    assert sorted(set(cf.NOT_RECORDED) - stated) == []
    assert all(reason.strip() for reason in cf.NOT_RECORDED.values())


def _rules() -> Counter:
    return Counter(e.kind for case in CASES for e in cu.expected_values(str(case.expected_path), case.platform))


def test_show_version_pids_and_versions_are_compared_field_by_field():
    rules = _rules()
    assert rules["member:pid"] >= 14  # stack member N's Model number against member N's PID
    assert rules["member:serial"] >= 14 and rules["member:mb_serial"] >= 14
    assert rules["fact:hardware"] >= 15  # the processor line's model
    assert rules["sv_pid"] >= 50  # ntc's hardware, genie's pid/platform: PIDs show version prints
    assert rules["running_version"] >= 35  # the running release itself, not any version printed
    assert rules["running_version"] + rules["version"] >= 110
    assert rules["row:descr"] >= 700 and rules["row:name"] >= 650 and rules["row:vid"] >= 600


@pytest.mark.parametrize("case", [c for c in CASES if c.slug == "show_version"], ids=lambda c: c.rel)
def test_each_show_version_source_has_its_version_compared(case):
    kinds = {e.kind for e in cu.expected_values(str(case.expected_path), case.platform)}
    stated = {key for _, _, _, key in cu.stated_keys(str(case.expected_path))}
    if stated & {"version", "os", "xe_version", "system_version", "software_version", "os_version"}:
        assert kinds & {"running_version", "version"}


def test_version_and_inventory_of_one_device_agree():
    compared = agreed = 0
    for pair in cp.pairs(ROOT):
        o = cp.run_pair(pair)
        compared += o.compared
        agreed += o.agreed
        if pair.rel in UNRELATED:
            assert o.mismatches, f"{pair.rel} agrees now: drop it from UNRELATED"
            compared -= o.compared
            agreed -= o.agreed
            continue
        assert o.mismatches == [], pair.rel
    assert compared >= 11 and agreed == compared


def test_field_totals():
    compared = agreed = excepted = 0
    for case in CASES:
        o = cu.run_case(case)
        compared, agreed, excepted = compared + o.compared, agreed + o.agreed, excepted + o.excepted
    assert compared >= 5000 and agreed + excepted == compared
