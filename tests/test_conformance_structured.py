"""Conformance of the structured parsers: every SNMP recording (every platform directory) and every
IOS XR NETCONF reply of the corpus parses through ``parsers.parse`` and agrees with the source
project's expected serials, models, entPhysical rows (and NAPALM's version and host name).

Values the source states that the recording does not hold are counted apart (see
tests/corpus_structured.py); the test pins which ones, so a new one cannot slip in unnoticed.
"""
from __future__ import annotations

import os

import pytest

import corpus_structured as cs
import corpus_util as cu
import parsers
from agent.core.models import Facts
from model_checks import typed_dict_problems

ROOT = cu.corpus_root()
CASES = list(cs.iter_cases(ROOT)) if ROOT.is_dir() else []
if not CASES:
    if os.environ.get("CI"):
        pytest.fail(f"corpus not found at {ROOT} (set IBAGENT_CORPUS)", pytrace=False)
    pytest.skip(f"corpus not found at {ROOT} (set IBAGENT_CORPUS)", allow_module_level=True)

# Values LibreNMS states that are not in the recording: sysObjectID descriptor names from its
# MIB tables, and the SIM / modem rows of two cellular routers its test data took elsewhere.
ABSENT = {
    "ios/snmp/librenms__ios.snmprec": 1, "ios/snmp/librenms__ios_4506e.snmprec": 1,
    "ios/snmp/librenms__ios_6500.snmprec": 1, "ios/snmp/librenms__ios_c2960s.snmprec": 1,
    "ios/snmp/librenms__ios_c2960x-15.2.7.snmprec": 1, "ios/snmp/librenms__ios_c3560-slas.snmprec": 1,
    "ios/snmp/librenms__ios_c3560e.snmprec": 1, "ios/snmp/librenms__ios_ie2000.snmprec": 1,
    "ios/snmp/librenms__ios_nac.snmprec": 1, "iosxe/snmp/librenms__iosxe.snmprec": 1,
    "iosxe/snmp/librenms__iosxe_asr920.snmprec": 1, "iosxe/snmp/librenms__iosxe_c3650.snmprec": 1,
    "iosxe/snmp/librenms__iosxe_c8300.snmprec": 1, "ios/snmp/librenms__ios_ir809.snmprec": 6,
    "iosxe/snmp/librenms__iosxe_ir1101.snmprec": 6,
}


def test_corpus_covers_every_structured_kind():
    seen = {(c.platform_dir, c.slug) for c in CASES}
    for pdir in ("ios", "iosxe", "nxos", "iosxr", "asa"):
        assert (pdir, "snmp") in seen, pdir
    assert ("iosxr", "netconf") in seen
    assert len(CASES) >= 90


@pytest.mark.parametrize("case", CASES, ids=[c.rel for c in CASES])
def test_structured_capture(case: cs.StructuredCase):
    outcome = cs.run_case(case)
    assert outcome.parsed, outcome.error
    result = parsers.parse(case.platform, case.command, case.path.read_text(errors="replace"))
    assert result.facts or result.components
    if case.slug == "snmp":
        from parsers.snmp import CLASSES

        for comp in result.components:
            # Kept rows identify hardware, or are the structure above it (chassis, stack, top entity).
            assert comp.source_index and comp.physical_class in ("", *CLASSES.values())
            assert comp.pid or comp.serial or comp.physical_class in ("chassis", "stack") or not comp.parent_ref
    problems = [f"{m.field} [{m.kind}] expected {m.value!r}" for m in outcome.mismatches]
    assert not problems, f"{case.rel}: disagrees with the source on {problems}"
    assert outcome.derived == ABSENT.get(case.rel, 0), [e.value for e in outcome.derived_values]


@pytest.mark.parametrize("case", CASES, ids=[c.rel for c in CASES])
def test_structured_facts_fit_the_model(case: cs.StructuredCase):
    result = parsers.parse(case.platform, case.command, case.path.read_text(errors="replace"))
    assert typed_dict_problems(result.facts, Facts) == []


def test_structured_totals():
    compared = agreed = serials = 0
    for case in CASES:
        o = cs.run_case(case)
        compared += o.compared
        agreed += o.agreed
        serials += o.serials
    assert compared >= 5000 and agreed == compared
    assert serials >= 550


def test_netconf_napalm_facts_are_compared():
    napalm = [c for c in CASES if c.slug == "netconf" and c.expected_path is not None]
    assert len(napalm) >= 6
    for case in napalm:
        o = cs.run_case(case)
        assert o.compared >= 3 and o.agreed == o.compared, case.rel
