"""Comparing what ibagent recorded with a lab device's hand-written ground truth (one place for
every transport's tests)."""
from __future__ import annotations

from agent.normalize import canonical_version


def truth_items(truth) -> set[tuple[str, str]]:
    """(serial, base PID) of every physical item the device really has."""
    return {(i.serial, i.pid.rstrip("=")) for i in truth.physical}


def assert_records_match_truth(records, truth) -> None:
    mine = {(c.serial, c.base_pid) for c in records.components if c.contractable}
    assert mine == truth_items(truth), sorted(mine ^ truth_items(truth))
    assert records.facts.hostname == truth.hostname
    assert records.facts.version == canonical_version(truth.platform, truth.os_version)
    assert records.facts.chassis_serial == truth.chassis_serial
