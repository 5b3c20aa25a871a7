"""Conformance: every real capture in the corpus parses, yields its records, and agrees with
the source project's expected values, field by field (tests/corpus_fields.py: serials, PIDs, the
chassis and each stack member's PID, the running release, inventory rows, licence blocks, Smart
Licensing states...) except where tests/corpus_exceptions.yaml says the source is wrong.

Corpus root: env IBAGENT_CORPUS, default <repo>/../shared/corpus.  Absent corpus: the
suite is skipped, unless env CI is set (then it fails).
"""
from __future__ import annotations

import os
import re

import pytest

import corpus_util as cu
import parsers
from agent.core.models import Facts
from model_checks import typed_dict_problems

ROOT = cu.corpus_root()
HAVE_CORPUS = ROOT.is_dir() and any(ROOT.glob("*/show_version/*.txt"))

if not HAVE_CORPUS:
    if os.environ.get("CI"):
        pytest.fail(f"corpus not found at {ROOT} (set IBAGENT_CORPUS)", pytrace=False)
    pytest.skip(f"corpus not found at {ROOT} (set IBAGENT_CORPUS)", allow_module_level=True)

CASES = list(cu.iter_cases(ROOT))


def test_corpus_covers_every_platform_and_command():
    seen = {(c.platform_dir, c.slug) for c in CASES}
    for pdir in cu.PLATFORMS:
        assert (pdir, "show_version") in seen, pdir
        assert (pdir, "show_inventory") in seen, pdir
    assert ("iosxr", "admin_show_inventory") in seen
    assert ("asa", "show_license_all") in seen
    for slug in ("show_license_summary", "show_license_usage", "show_license_status", "show_license_udi", "show_license_all",
                 "show_license"):
        assert ("iosxe", slug) in seen, slug
    assert len(CASES) >= 250


_PID_LINE = re.compile(r"^\s*PID:", re.M)
_LICENSE_BLOCK = re.compile(r"^\s*[^:\n]*\([^:\n]*\):\s*$", re.M)
_TABLE_ROW = re.compile(r"^\s*\S+\s+\(.*\)\s+\d+\s+\S.*$", re.M)


def _expected_records(case: cu.Case, text: str) -> int:
    """How many records the text visibly holds (a floor the parser must reach)."""
    if case.slug in ("show_inventory", "admin_show_inventory"):
        return len(_PID_LINE.findall(text))
    if case.slug in ("show_license_usage", "show_license_all", "show_license_summary"):
        blocks = [b for b in _LICENSE_BLOCK.findall(text) if "(days)" not in b and "Attributes" not in b]
        return len(blocks) + len(_TABLE_ROW.findall(text))
    return 1


@pytest.mark.parametrize("case", CASES, ids=[c.rel for c in CASES])
def test_capture_facts_fit_the_model(case: cu.Case):
    """Real captures too: only keys agent.core.models.Facts lists, each value of its declared type."""
    try:
        result = parsers.parse(case.platform, case.command, case.path.read_text(errors="replace"))
    except parsers.ParseError:
        return
    assert typed_dict_problems(result.facts, Facts) == []


@pytest.mark.parametrize("case", CASES, ids=[c.rel for c in CASES])
def test_capture(case: cu.Case):
    text = case.path.read_text(errors="replace")
    outcome = cu.run_case(case)
    if outcome.refusal:
        # The device refused the command ('% Invalid command'): nothing to read, ParseError is right.
        assert not outcome.parsed
        with pytest.raises(parsers.ParseError):
            parsers.parse(case.platform, case.command, text)
        return
    assert outcome.parsed, outcome.error
    result = parsers.parse(case.platform, case.command, text)
    floor = _expected_records(case, text)
    if case.slug in ("show_inventory", "admin_show_inventory"):
        assert len(result.components) == floor, "every NAME/PID pair is one component"
    elif case.slug in ("show_license_usage", "show_license_all", "show_license_summary") and case.slug != "show_license_all":
        assert len(result.licenses) >= floor
    elif case.slug == "show_license_all":
        assert len(result.licenses) >= floor and result.license_status is not None
    elif case.slug in ("show_license_status", "show_license_udi"):
        assert result.license_status is not None
    elif case.slug == "show_license":  # classic licensing (CSL): every 'Index N Feature:' block
        assert result.license_status is not None and result.license_status.licensing == "classic"
        assert len(result.license_status.classic_licenses) == text.count("Feature:")
    elif case.slug.startswith("show_version"):
        assert result.facts.get("os_version"), "show version yields a version"
    assert outcome.records >= 1
    problems = [f"{m.field} [{m.kind}] expected {m.value!r}" for m in outcome.mismatches]
    assert not problems, f"{case.expected_rel}: disagrees with the source on {problems}"


def test_every_exception_is_used_and_reasoned():
    used = set()
    for case in CASES:
        if case.expected_path is None:
            continue
        for ex in cu.run_case(case).used_exceptions:
            used.add((ex["file"], ex["field"], str(ex.get("value"))))
    for ex in cu.exceptions():
        assert ex.get("reason", "").strip(), f"exception without a reason: {ex}"
        key = (ex["file"], ex["field"], str(ex.get("value")))
        assert key in used, f"stale exception (no longer needed): {ex}"


def test_agreement_totals():
    compared = agreed = excepted = parsed = 0
    for case in CASES:
        o = cu.run_case(case)
        parsed += 1 if (o.parsed or o.refusal) else 0
        compared += o.compared
        agreed += o.agreed
        excepted += o.excepted
    assert parsed == len(CASES)
    assert compared >= 5000  # issue 13: every stated field (tests/corpus_fields.py); 1,500 before
    assert agreed + excepted == compared
