"""Components: one device's inventory rows classified, linked to their parents and marked
contractable or not.

Not contractable (``contractable=False``, reason says which): the virtual stack row; rows
without a serial; rows without a Cisco PID (empty / ``N/A`` / ``Unspecified``: third-party
optics); a non-root row repeating the chassis serial under another PID (ISR built-in NIMs) or
repeating its root's PID under another serial (built-in RP/FP/NIM controller of a fixed
chassis, the FEX's own module board); duplicates - the same (serial, base PID) twice on a
device keeps the first root-like row contractable and marks the rest; when two captures list
the same item (XR ``show inventory`` and ``admin show inventory``) only the first is kept.
StackWise Virtual / VSS keep both chassis; stack members and FEX units are separate items.
"""
from __future__ import annotations

import re

from agent.core.identity import base_pid, canonical_serial, has_pid as _has_pid, is_refurbished
from agent.core.models import Capture, Component, RawComponent

from .classify import _BARE_SWITCH_PID, _SWITCH_ROW, _VIRTUAL_STACK, classify
from .parents import _assign_parents


_CLASS_RANK = {"chassis": 0, "stack-member": 1, "fex": 2, "supervisor": 3, "linecard": 4, "module": 5,
               "psu": 6, "fan": 7, "optic": 8, "other": 9}


def _root_of(c: Component, by_name: dict[str, Component]) -> Component:
    seen = set()
    while c.parent and c.parent in by_name and c.name not in seen:
        seen.add(c.name)
        c = by_name[c.parent]
    return c


def _components(device: str, rows: list[tuple[RawComponent, Capture]]) -> list[Component]:
    names = [r.name for r, _ in rows]
    switch_rows = sum(1 for r, _ in rows if _SWITCH_ROW.match(r.name)
                      or (re.match(r"^\d+$", r.name) and _BARE_SWITCH_PID.match(r.pid)))
    stacked = switch_rows > 1 or (switch_rows >= 1 and any(_VIRTUAL_STACK.match(n) for n in names))
    out: list[Component] = []
    for raw, cap in rows:
        cls, why = classify(raw, stacked=stacked)
        out.append(Component(
            device=device, name=raw.name, descr=raw.descr, pid=raw.pid, base_pid=base_pid(raw.pid),
            vid=raw.vid, serial_raw=raw.serial, serial=canonical_serial(raw.serial), cls=cls,
            reason=why, refurbished=is_refurbished(raw.pid), transport=cap.transport, capture_id=cap.id,
        ))
    _assign_parents(out, stacked)
    by_name = {c.name: c for c in out}

    def off(c: Component, why: str) -> None:
        if c.contractable:
            c.contractable = False
            c.reason = f"{why}; class: {c.reason}"

    for c in out:
        if c.cls == "other" and c.reason.startswith("virtual stack"):
            off(c, "virtual stack row repeating a member's serial")
    for c in out:
        if not c.contractable:
            continue
        if not c.serial:
            off(c, "no serial")
        elif not _has_pid(c.pid):
            off(c, "no Cisco PID (third-party or unidentified part)")
    for c in out:
        if not c.contractable or c.cls in ("chassis", "stack-member", "fex"):
            continue
        root = _root_of(c, by_name)
        if root is c:
            continue
        if not _has_pid(root.pid):
            continue  # 'Switch System' without PID: the child carrying its serial is the real identity
        if c.serial and c.serial == root.serial and c.base_pid != root.base_pid:
            off(c, f"built-in part repeating the chassis serial of '{root.name}'")
        elif c.base_pid and c.base_pid == root.base_pid and c.serial != root.serial:
            off(c, f"built-in part of fixed chassis '{root.name}' (repeats its PID)")
    # Duplicates inside the device: same (serial, base PID) -> root-like row first.
    groups: dict[tuple[str, str], list[Component]] = {}
    for c in out:
        if c.serial and c.base_pid:
            groups.setdefault((c.serial, c.base_pid.upper()), []).append(c)
    for key, group in groups.items():
        live = [c for c in group if c.contractable]
        if len(live) > 1:
            keep = min(live, key=lambda c: (_CLASS_RANK.get(c.cls, 9), out.index(c)))
            for c in live:
                if c is not keep:
                    off(c, f"duplicate of '{keep.name}' (same serial and base PID)")
    return out
