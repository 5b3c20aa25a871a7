"""The conformance checks themselves can fail (they run without the corpus, on the fixtures written
for issue 13): a PID cut at its licence suffix, a stack member given another member's PID, an interim
NX-OS build read as its train, a build label taken for the release, an inventory row's DESCR from
another row, a CSL block's state, and a 'show version' / 'show inventory' pair that disagrees."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

import corpus_fields as cf
import corpus_pairs as cp
import parsers
from corpus_util import Expected

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "parsers"
STACK_VERSION = (FIX / "cisco_ios/show_version/c3750g_12_2_stack_3_synthetic.txt").read_text()
STACK_INVENTORY = (FIX / "cisco_ios/show_inventory/c3750g_12_2_stack_3_synthetic.txt").read_text()


def _parse(platform: str, command: str, rel: str):
    return parsers.parse(platform, command, (FIX / rel).read_text())


def _with_facts(result, **changes):
    return replace(result, facts={**result.facts, **changes})


def test_member_pid_is_held_to_that_members_model_number():
    result = parsers.parse("cisco_ios", "show version", STACK_VERSION)
    exp = Expected("member:pid", "version.switch_num.2.model_num", "model_num", "WS-C3750G-48TS-E")
    assert cf.check(exp.kind, exp, result, "cisco_ios")
    members = [dict(m) for m in result.facts["stack_members"]]
    members[1]["pid"] = "WS-C3750G-48TS"  # the table's model: the licence suffix lost
    assert not cf.check(exp.kind, exp, _with_facts(result, stack_members=members), "cisco_ios")
    members[1]["pid"] = "WS-C3750G-48TS-S"  # switch 1's PID
    assert not cf.check(exp.kind, exp, _with_facts(result, stack_members=members), "cisco_ios")
    no_such = Expected("member:pid", "version.switch_num.7.model_num", "model_num", "WS-C3750G-48TS-E")
    assert not cf.check(no_such.kind, no_such, result, "cisco_ios")


def test_top_level_model_number_is_the_chassis_pid():
    result = _parse("cisco_ios", "show version", "cisco_ios/show_version/c3550_12_2_smi_synthetic.txt")
    exp = Expected("member:pid", "version.model_num", "model_num", "WS-C3550-48-SMI")
    assert cf.check(exp.kind, exp, result, "cisco_ios")
    assert not cf.check(exp.kind, exp, _with_facts(result, chassis_pid="WS-C3550-48"), "cisco_ios")


def test_running_version_is_the_release_not_any_version_printed():
    result = _parse("cisco_nxos", "show version", "cisco_nxos/show_version/n9k_aci_interim_16_1_synthetic.txt")
    exp = Expected("running_version", "platform.software.system_version", "system_version", "16.1(2.133b)")
    assert cf.check(exp.kind, exp, result, "cisco_nxos")
    train = replace(exp, value="16.1")
    assert not cf.check(train.kind, train, result, "cisco_nxos")


def test_build_label_is_compared_as_a_label_never_as_the_release():
    result = _parse("cisco_xe", "show version", "cisco_xe/show_version/asr1002_engineering_label_synthetic.txt")
    label = Expected("fact:build_label", "version.build_label", "build_label", "2012-10-15_19.37_jdoe")
    assert cf.check(label.kind, label, result, "cisco_xe")
    as_release = Expected("running_version", "version.version", "version", "15.3(20121015:193729)")
    assert cf.check(as_release.kind, as_release, result, "cisco_xe")
    wrong = replace(as_release, value="15.3")
    assert not cf.check(wrong.kind, wrong, result, "cisco_xe")


def test_processor_line_model_is_its_own_field():
    result = parsers.parse("cisco_ios", "show version", STACK_VERSION)
    exp = Expected("fact:hardware", "version.chassis", "chassis", "WS-C3750G-48TS")
    assert cf.check(exp.kind, exp, result, "cisco_ios")
    assert not cf.check(exp.kind, replace(exp, value="WS-C3750G-48TS-S"), result, "cisco_ios")


def test_inventory_row_fields_come_from_the_same_row():
    result = parsers.parse("cisco_ios", "show inventory", STACK_INVENTORY)
    ctx = (("name", "3"), ("pid", "WS-C3750G-48PS-S"), ("sn", "FOC1301Y0EF"))
    good = Expected("row:descr", "[3].descr", "descr", "WS-C3750G-48PS", ctx)
    assert cf.check(good.kind, good, result, "cisco_ios")
    other_rows_descr = replace(good, value="WS-C3750G-48TS")  # switch 1's and 2's DESCR
    assert not cf.check(other_rows_descr.kind, other_rows_descr, result, "cisco_ios")
    vid = Expected("row:vid", "[3].vid", "vid", "V05", ctx)  # V05 is switch 1's; switch 3 is V04
    assert not cf.check(vid.kind, vid, result, "cisco_ios")


def test_classic_licence_block_fields_belong_to_their_feature():
    result = _parse("cisco_ios", "show license", "cisco_ios/show_license/c3750x_15_0_synthetic.txt")
    ctx = (("feature", "ipbase"),)
    assert cf.check("csl:state", Expected("csl:state", "[1].license_state", "license_state", "Active, In Use", ctx),
                    result, "cisco_ios")
    evaluation = Expected("csl:state", "[0].license_state", "license_state", "Active, In Use", (("feature", "ipservices"),))
    assert not cf.check(evaluation.kind, evaluation, result, "cisco_ios")


def test_version_and_inventory_of_the_stack_agree_member_by_member():
    o = cp.compare_texts("cisco_ios", STACK_VERSION, STACK_INVENTORY)
    assert (o.compared, o.agreed, o.mismatches) == (6, 6, [])


def test_a_member_pid_taken_from_the_table_disagrees_with_the_inventory():
    """The previous release's reading (no 'Model number' lines: the table's suffix-less models)."""
    cut = "\n".join(ln for ln in STACK_VERSION.split("\n") if not ln.startswith("Model number"))
    o = cp.compare_texts("cisco_ios", cut, STACK_INVENTORY)
    assert o.mismatches == [("switch 1 pid", "WS-C3750G-48TS", "WS-C3750G-48TS-S"),
                            ("switch 2 pid", "WS-C3750G-48TS", "WS-C3750G-48TS-E"),
                            ("switch 3 pid", "WS-C3750G-48PS", "WS-C3750G-48PS-S")]


@pytest.mark.parametrize("rule", sorted({r for t in cf.RULES.values() for r in t.values() if r}))
def test_every_rule_is_known_to_the_checker(rule):
    """A rule name no check() branch knows would raise KeyError in the middle of the corpus run."""
    from corpus_util import Ours, agrees

    exp = Expected(rule, "x", "x", "value-nobody-has")
    result = parsers.parse("cisco_ios", "show version", STACK_VERSION)
    assert agrees(exp, Ours(result=result), "cisco_ios") is False


SLP = "cisco_xe/show_license_status/slp_cslu_custom_policy_stack.txt"


def test_policy_days_are_held_per_licence_class_and_source():
    result = _parse("cisco_xe", "show license status", SLP)
    field = "policy.unenforced_non_export_perpetual_attributes.first_report_requirement_days"
    exp = Expected("policy", field, "first_report_requirement_days", "365 (Customer Policy)")
    assert cf.check(exp.kind, exp, result, "cisco_xe")
    assert not cf.check(exp.kind, replace(exp, value="90 (Customer Policy)"), result, "cisco_xe")  # subscription's
    assert not cf.check(exp.kind, replace(exp, value="365 (CISCO default)"), result, "cisco_xe")
    sub = replace(exp, field=field.replace("perpetual", "subscription"), value="365 (Customer Policy)")
    assert not cf.check(sub.kind, sub, result, "cisco_xe")


def test_trust_code_install_time_belongs_to_its_udi():
    result = _parse("cisco_xe", "show license status", SLP)
    ctx = (("pid", "C9300-24U"), ("sn", "FHH2043P09E"))
    exp = Expected("trust_installed", "trust_code_installed.standby.info", "info",
                   "INSTALLED on Oct 14 11:37:52 2021 UTC", ctx)
    assert cf.check(exp.kind, exp, result, "cisco_xe")
    other = replace(exp, context=(("pid", "C9300-24UX"), ("sn", "FCW2303D16Y")), value="INSTALLED on Oct 14 11:37:53 2021 UTC")
    assert not cf.check(other.kind, other, result, "cisco_xe")


def test_licence_status_fields_and_enabled_states():
    result = _parse("cisco_xe", "show license status", SLP)
    assert cf.check("st:ack_required", Expected("st:ack_required", "policy.reporting_ack_required",
                                                "reporting_ack_required", "yes (Customer Policy)"), result, "cisco_xe")
    assert not cf.check("st:ack_required", Expected("st:ack_required", "x", "reporting_ack_required", "no"),
                        result, "cisco_xe")
    enabled = Expected("slp_enabled", "smart_licensing_using_policy.status", "status", "ENABLED")
    assert cf.check(enabled.kind, enabled, result, "cisco_xe")
    assert not cf.check(enabled.kind, replace(enabled, value="DISABLED"), result, "cisco_xe")
    classic = _parse("cisco_ios", "show license status", "cisco_ios/show_license_status/c3750x_csl_level_synthetic.txt")
    assert not cf.check("smart_enabled", Expected("smart_enabled", "[0].sl_enabled", "sl_enabled", "ENABLED"),
                        classic, "cisco_ios")
