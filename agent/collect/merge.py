"""Each transport's captures normalised on their own, then merged into one device's records.

The rules (docs/TRANSPORTS.md, "Merge"; the module docstring of ``agent.collect.scan``): the first
transport that succeeded is primary; facts fill gaps; licences and licence status come from the
first transport that covered them; the same physical item seen twice is one item; the same slot
with another serial is a disagreement, kept and reported.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from agent.core.models import Capture, Component, DeviceRecords, Target


@dataclass(slots=True)
class _Part:
    """One transport's successful collection of a device."""

    transport: str
    captures: list[Capture]
    covered: set[str]


def _normalise(target: Target, captures: list[Capture],
               on_step: Callable[[str], None] | None = None) -> tuple[DeviceRecords | None, str | None]:
    from agent.normalize import records_from_captures
    from parsers import ParseError

    usable = [c for c in captures if c.ok]
    try:
        records = records_from_captures(target.name, target.platform, usable, on_step)
    except ParseError as exc:
        return None, str(exc)
    if (records.neighbours or records.neighbour_status) and not describes_device(records):
        # Its neighbours' table says who is next to it, nothing of the device itself (issue 17): a
        # device whose version and inventory could not be read is not collected for it.
        return None, "only the CDP / LLDP neighbour tables were read, nothing of the device itself"
    return records, None


def describes_device(records: DeviceRecords) -> bool:
    """Do the records say anything of the device itself (its release, hardware or licensing)?"""
    f = records.facts
    return bool(records.components or records.licenses or records.license_status is not None
                or (f is not None and (f.os_version or f.chassis_pid or f.chassis_serial)))


def _normalise_outcome(target: Target, outcome: Any,
                       on_step: Callable[[str], None] | None = None) -> tuple[DeviceRecords | None, str | None]:
    """Each successful transport normalised on its own, then merged (module docstring).  ``outcome``:
    the scan's per-device outcome (``parts``, ``captures``, ``notes``).  CPU-bound: the scan runs it
    off its event loop (``agent.collect.parsing``); ``on_step`` is told each step as it starts."""
    if len(outcome.parts) <= 1:
        records, error = _normalise(target, outcome.parts[0].captures if outcome.parts else outcome.captures, on_step)
        if records is not None:
            records.problems += outcome.notes
        return records, error
    done: list[tuple[_Part, DeviceRecords]] = []
    errors: list[str] = []
    for part in outcome.parts:
        records, error = _normalise(target, part.captures, on_step)
        if records is None:
            errors.append(f"{part.transport}: {error}")
        else:
            done.append((part, records))
    if not done:
        return None, "; ".join(errors)
    merged = merge_records(done)
    merged.problems += [f"{e} (records of that transport left out)" for e in errors] + outcome.notes
    return merged, None


def merge_records(parts: Sequence[tuple[_Part, DeviceRecords]]) -> DeviceRecords:
    """One device's records from several transports, the first one primary (module docstring)."""
    first_part, base = parts[0]
    problems = [f"{first_part.transport}: {p}" for p in base.problems]
    facts = base.facts
    comps: list[Component] = list(base.components)
    by_identity = {(c.serial, c.base_pid.upper()): c for c in comps if c.serial and c.base_pid}
    by_name: dict[str, Component] = {}
    for c in comps:
        by_name.setdefault(c.name, c)
    for part, rec in parts[1:]:
        problems += [f"{part.transport}: {p}" for p in rec.problems]
        for name in ("hostname", "os_version", "version", "chassis_pid", "chassis_serial", "uptime"):
            if not getattr(facts, name) and getattr(rec.facts, name):
                setattr(facts, name, getattr(rec.facts, name))
        if not facts.roles and rec.facts.roles:
            facts.roles = list(rec.facts.roles)
        if facts.version and rec.facts.version and facts.version != rec.facts.version:
            problems.append(f"version: {first_part.transport} reports {facts.os_version}, "
                            f"{part.transport} reports {rec.facts.os_version}")
        for c in rec.components:
            key = (c.serial, c.base_pid.upper())
            if c.serial and c.base_pid and key in by_identity:
                continue  # the same physical item, already listed by an earlier transport
            seen = by_name.get(c.name)
            if seen is not None and not (c.serial and seen.serial and c.serial != seen.serial):
                continue  # the same slot, nothing new (a serial-less row, or the same serial)
            if not (c.serial and c.base_pid):
                continue  # structure another transport lists differently: not an item of its own
            if seen is not None:
                problems.append(f"{c.name}: {seen.transport} reports serial {seen.serial} ({seen.pid}), "
                                f"{part.transport} reports {c.serial} ({c.pid}); both kept")
                c.reason = f"{c.reason}; {part.transport} disagrees with {seen.transport} on this slot"
            comps.append(c)
            by_identity[key] = c
            by_name.setdefault(c.name, c)
    licenses, status = base.licenses, base.license_status
    lic_from = next((rec for part, rec in parts if "licenses" in part.covered), None)
    if lic_from is not None:
        licenses = lic_from.licenses
    status_from = next((rec for part, rec in parts if "license_status" in part.covered), None)
    if status_from is not None:
        status = status_from.license_status
    neighbours, neighbour_status = _merge_neighbours(parts)
    return DeviceRecords(facts=facts, components=comps, licenses=licenses, license_status=status, problems=problems,
                         neighbours=neighbours, neighbour_status=neighbour_status)


def _merge_neighbours(parts: Sequence[tuple[_Part, DeviceRecords]]) -> tuple[list, list]:
    """Neighbours (issue 17) per protocol from the first transport that answered for it, as licences
    are taken: NETCONF may read LLDP only (openconfig-lldp) while SSH, complementing it, reads CDP."""
    chosen: dict[str, tuple[Any, list]] = {}
    for part, rec in parts:
        if "neighbours" not in part.covered:
            continue
        for st in rec.neighbour_status:
            if st.protocol not in chosen:
                chosen[st.protocol] = (st, [n for n in rec.neighbours if n.protocol == st.protocol])
    if not chosen:
        base = parts[0][1]
        return list(base.neighbours), list(base.neighbour_status)
    return [n for _, found in chosen.values() for n in found], [st for st, _ in chosen.values()]
