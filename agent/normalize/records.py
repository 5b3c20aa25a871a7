"""Device records: every capture of one device parsed, then normalised into :class:`DeviceRecords`.

Device facts
============
Chassis PID/serial: the active stack member (``show version``) when there is a stack, else
the first contractable chassis row of the inventory, else ``show version``'s own values
(ASA ``show version`` prints the board serial, so the inventory wins).  ``version`` is
``canonical_version(os_version)``.  Roles come from ``show version`` and are completed with
Smart Licensing's HA UDI roles (Active / Standby / Member) matched by serial.
Licenses: one :class:`LicenseUsage` per (entitlement tag, UDI); a truncated summary tag
(``C9300-48 Network Advan...``) merges into the full tag of ``show license usage``; UDI
from the licensing output, else the chassis.  ``transport`` on every record is the capture's.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, Sequence

import parsers
from parsers import ParseError

from agent.core.identity import canonical_serial, has_pid as _has_pid, pid_key
from agent.core.models import Capture, Component, DeviceFacts, DeviceRecords, LicenseStatus, LicenseUsage, ParseResult, RawComponent

from .components import _components
from .licenses import _fill, _merge_licenses
from agent.core.versions import canonical_version


def records_from_captures(device: str, platform: str, captures: Sequence[Capture],
                          on_step: Callable[[str], None] | None = None) -> DeviceRecords:
    """Parse every capture of one device and normalise the lot into :class:`DeviceRecords`.

    A capture with ``error`` set is skipped (noted in ``problems``); a capture no parser can
    read becomes a ``problems`` entry.  Raises :class:`parsers.ParseError` only when no
    capture yields anything usable.  ``on_step`` is told each step as it starts (the command of
    each capture parsed, then ``"normalise"``): the scan times each against its budget.
    """
    problems: list[str] = []
    parsed: list[tuple[Capture, str, ParseResult]] = []
    failures: list[str] = []
    try:
        optional = _optional_commands(platform)
    except Exception:  # noqa: BLE001 - unknown platform: parse() will say so per capture
        optional = frozenset()
    for cap in captures:
        if cap.error is not None:
            problems.append(f"{cap.command}: capture failed ({cap.error_kind or 'error'}): {cap.error}")
            continue
        if on_step is not None:
            on_step(cap.command)
        try:
            result = parsers.parse(platform, cap.command, cap.output)
        except ParseError as exc:
            kind = "optional command" if cap.command in optional else "command"
            problems.append(f"{cap.command}: not parsed ({kind}): {exc.reason}")
            failures.append(str(exc))
            continue
        canon = parsers.canonical_command(cap.command)
        parsed.append((cap, canon[0] if canon else cap.command, result))
    if on_step is not None:
        on_step("normalise")
    usable = [(c, cmd, r) for c, cmd, r in parsed
              if r.facts or r.components or r.licenses or r.license_status or r.neighbours or r.neighbour_status]
    # A prompt alone (everything else unreadable) is not a collected device.
    if not any(cmd != parsers.PROMPT for _, cmd, _ in usable):
        reason = "; ".join(failures) if failures else "no capture to parse"
        raise ParseError(platform, ", ".join(c.command for c in captures) or "-", f"no capture yielded anything usable ({reason})")

    # Facts: show version first, other captures fill gaps.
    vf: dict[str, Any] = {}
    vcap: Capture | None = None
    for cap, cmd, r in usable:
        if cmd == "show version" and r.facts:
            if vcap is None:
                vcap = cap
            for k, v in r.facts.items():
                vf.setdefault(k, v)
    for cap, cmd, r in usable:
        if cmd != "show version":
            for k, v in r.facts.items():
                vf.setdefault(k, v)

    # Components from every inventory capture, classified and linked together (XR's admin
    # chassis is the parent of the cards 'show inventory' lists); an item a later capture
    # lists again (same serial and base PID, or same name and PID when serial-less) is kept once.
    rows: list[tuple[RawComponent, Capture]] = []
    seen: set[tuple[str, str]] = set()
    for cap, cmd, r in usable:
        keys = set()
        for raw in r.components:
            sn, bp = canonical_serial(raw.serial), pid_key(raw.pid)
            key = (sn, bp) if sn and bp else ("", f"{raw.name}|{bp}")
            if key in seen:
                continue
            keys.add(key)
            rows.append((raw, cap))
        seen |= keys
    comps: list[Component] = _components(device, rows) if rows else []
    if not comps and vcap is not None:
        comps = _components_from_version(device, vf, vcap)

    # License status: merge every capture's view.
    status: LicenseStatus | None = None
    for cap, cmd, r in usable:
        if r.license_status is None:
            continue
        st = replace(r.license_status, device=device, transport=cap.transport)
        if status is None:
            status = st
        else:
            _fill(status, st)

    facts = _device_facts(device, platform, vf, comps, status, vcap or usable[0][0])
    if not facts.os_version and vf.get("build_label"):
        # An engineering build that printed only its build label: the release is unknown, and the
        # label is not put in its place (it would compare as a release no EoX or advisory names).
        problems.append(f"show version: no release version printed, only the build label "
                        f"{vf['build_label']!r}: version unknown")

    licenses: list[LicenseUsage] = []
    udi_pid, udi_sn = facts.chassis_pid, facts.chassis_serial
    if status is not None:
        active = next((u for u in list(status.ha_udis) + list(status.trust_codes)
                       if u.get("role", "").lower() == "active" and u.get("udi_serial")), None)
        if status.udi_serial:
            udi_pid, udi_sn = status.udi_pid, status.udi_serial
        elif active is not None:
            udi_pid, udi_sn = active.get("udi_pid", ""), active["udi_serial"]
    for cap, cmd, r in usable:
        for lic in r.licenses:
            licenses.append(replace(lic, device=device, transport=cap.transport,
                                    udi_pid=lic.udi_pid or udi_pid, udi_serial=lic.udi_serial or udi_sn))
    licenses = _merge_licenses(licenses)
    if status is not None and not status.udi_pid and not status.udi_serial:
        status.udi_pid, status.udi_serial = udi_pid, udi_sn
    # Neighbours as announced, each tied to the device that saw it; one status per protocol (a
    # table read over two transports is one answer: the first capture's).
    neighbours = [replace(n, local_device=device, source=cap.command) for cap, _, r in usable for n in r.neighbours]
    statuses: dict[str, Any] = {}
    for _, _, r in usable:
        for st in r.neighbour_status:
            statuses.setdefault(st.protocol, st)
    return DeviceRecords(facts=facts, components=comps, licenses=licenses, license_status=status, problems=problems,
                         neighbours=neighbours, neighbour_status=list(statuses.values()))


def _optional_commands(platform: str) -> frozenset[str]:
    from agent.core.platforms import get  # local: platforms loads YAML

    return get(platform).ssh.optional


def _components_from_version(device: str, vf: dict[str, Any], cap: Capture) -> list[Component]:
    """No inventory: the chassis (and stack members) as ``show version`` states them."""
    rows: list[RawComponent] = []
    members = vf.get("stack_members") or []
    if members:
        for m in members:
            rows.append(RawComponent(name=f"Switch {m['switch']}", descr="from show version", pid=m.get("pid", ""),
                                     serial=m.get("serial", "")))
    elif vf.get("chassis_pid") or vf.get("chassis_serial"):
        rows.append(RawComponent(name="Chassis", descr=vf.get("chassis_descr") or vf.get("model") or "from show version",
                                 pid=vf.get("chassis_pid", ""), serial=vf.get("chassis_serial", "")))
    comps = _components(device, [(r, cap) for r in rows])
    for c in comps:
        c.reason = f"{c.reason} (from show version: no inventory)"
    return comps


def _device_facts(device: str, platform: str, vf: dict[str, Any], comps: list[Component],
                  status: LicenseStatus | None, cap: Capture) -> DeviceFacts:
    pid, serial = "", ""
    members = vf.get("stack_members") or []
    active = next((m for m in members if m.get("role") == "Active"), None)
    if active and active.get("serial"):
        pid, serial = active.get("pid", ""), active["serial"]
    if not serial and status is not None:  # stack without show version: the licensing Active member
        act = next((u for u in list(status.ha_udis) + list(status.trust_codes)
                    if u.get("role", "").lower() == "active" and u.get("udi_serial")), None)
        member = next((c for c in comps if act and c.cls == "stack-member" and c.serial == canonical_serial(act["udi_serial"])), None)
        if member is not None:
            pid, serial = member.pid, member.serial_raw
    if not serial:
        roots = [c for c in comps if c.cls == "chassis" and c.contractable] or \
                [c for c in comps if c.cls == "stack-member" and c.contractable] or \
                [c for c in comps if c.cls in ("chassis", "stack-member") and c.serial]
        if roots:
            pid, serial = roots[0].pid, roots[0].serial_raw
            if not _has_pid(pid):  # 'Switch System' without PID: a row with the same serial names it
                twin = next((c for c in comps if c.serial == roots[0].serial and _has_pid(c.pid)), None)
                pid = twin.pid if twin else ""
    if not serial:
        serial = vf.get("chassis_serial", "")
    if not pid:
        pid = vf.get("chassis_pid", "")
    roles = list(vf.get("roles") or [])
    if status and members:
        by_sn = {canonical_serial(u.get("udi_serial")): u.get("role", "") for u in (status.ha_udis or status.trust_codes)}
        roles = []
        for m in members:
            role = m.get("role") or by_sn.get(canonical_serial(m.get("serial")), "")
            roles.append(f"Switch {m['switch']} {role}".strip())
        roles += [r for r in (vf.get("roles") or []) if not r.startswith("Switch ")]
    os_version = vf.get("os_version", "")
    return DeviceFacts(
        device=device, platform=platform, hostname=vf.get("hostname", ""), os_version=os_version,
        version=canonical_version(platform, os_version), chassis_pid=pid, chassis_serial=canonical_serial(serial),
        uptime=vf.get("uptime", ""), roles=roles, transport=cap.transport,
    )
