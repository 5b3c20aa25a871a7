"""The diff between what ibagent would have the source of truth hold (``desired``) and what it
holds: creates and updates only.  Pure functions; the targets (``nautobot_api``, ``netbox_api``)
read the existing objects and write the changes.

Never delete: an item the target holds and ibagent did not see is counted ("left alone"), never
removed; the person who keeps the source of truth decides.  An update names each field that
changes, old and new value, so the dry run says exactly what ``--apply`` would write.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from agent.sot.desired import WantContract, WantItem


@dataclass
class Change:
    kind: str  # create | update
    what: str  # inventory item | contract | coverage | manufacturer | provider
    key: str  # what a person reads: "device / name", a contract name
    fields: dict[str, Any] = field(default_factory=dict)  # the values written
    before: dict[str, Any] = field(default_factory=dict)  # an update's old values, for the fields it changes
    target_id: Any = None  # the target's id of the object updated
    ref: Any = None  # what the target needs to write it (a WantItem, a WantContract)

    def line(self) -> str:
        if self.kind == "update":
            diff = ", ".join(f"{k}: {self.before.get(k)!r} -> {v!r}" for k, v in self.fields.items())
            return f"update {self.what} {self.key}: {diff}"
        shown = ", ".join(f"{k}={v!r}" for k, v in self.fields.items() if v not in ("", None, [], ()))
        return f"create {self.what} {self.key}" + (f" ({shown})" if shown else "")


@dataclass
class Plan:
    target: str
    changes: list[Change] = field(default_factory=list)
    unchanged: Counter = field(default_factory=Counter)  # what -> count
    left_alone: Counter = field(default_factory=Counter)  # what -> count the target has and we did not see
    notes: list[str] = field(default_factory=list)

    def counts(self) -> Counter:
        return Counter(c.kind for c in self.changes)

    def text(self, applied: bool) -> str:
        head = (f"{self.target}: applied" if applied
                else f"{self.target}: dry run, nothing written (--apply writes it)")
        lines = [head]
        lines += ["  " + c.line() for c in self.changes]
        for what, n in sorted(self.unchanged.items()):
            lines.append(f"  unchanged: {n} {what}(s)")
        for what, n in sorted(self.left_alone.items()):
            lines.append(f"  left alone: {n} {what}(s) the target holds that ibagent did not see (never deleted)")
        lines += ["  note: " + n for n in self.notes]
        counts = self.counts()
        lines.append(f"{counts.get('create', 0)} to create, {counts.get('update', 0)} to update, "
                     f"{sum(self.unchanged.values())} unchanged" if not applied else
                     f"{counts.get('create', 0)} created, {counts.get('update', 0)} updated, "
                     f"{sum(self.unchanged.values())} unchanged")
        return "\n".join(lines)


def plan_items(plan: Plan, want: list[WantItem], existing: list[dict], devices: dict[str, Any]) -> None:
    """Add the inventory item changes: ``existing`` rows carry device (name), name, id and the
    WantItem.fields() keys; ``devices`` maps the device names the target knows to their ids."""
    have = {(row["device"], row["name"]): row for row in existing}
    seen: set[tuple[str, str]] = set()
    missing_devices: Counter = Counter()
    for item in want:
        if item.device not in devices:
            missing_devices[item.device] += 1
            continue
        key = (item.device, item.name)
        seen.add(key)
        row = have.get(key)
        if row is None:
            plan.changes.append(Change("create", "inventory item", f"{item.device} / {item.name}",
                                       {**item.fields(), "manufacturer": item.manufacturer}, ref=item))
            continue
        differ = {k: v for k, v in item.fields().items() if (row.get(k) or "") != v}
        if differ:
            plan.changes.append(Change("update", "inventory item", f"{item.device} / {item.name}", differ,
                                       {k: row.get(k) for k in differ}, row["id"], ref=item))
        else:
            plan.unchanged["inventory item"] += 1
    plan.left_alone["inventory item"] += sum(1 for key in have if key not in seen)
    if not plan.left_alone["inventory item"]:
        del plan.left_alone["inventory item"]
    for device, n in sorted(missing_devices.items()):
        plan.notes.append(f"device {device!r} is not in the target: its {n} item(s) skipped (no device is created)")


def plan_contracts(plan: Plan, want: list[WantContract], existing: dict[str, dict], devices: dict[str, Any]) -> None:
    """Contract changes (Nautobot DLM): ``existing`` maps a contract name to its fields (number,
    start, end, support_level, contract_type as ISO text, devices as a set of names).  Devices are
    only ever added to a contract, never taken off it."""
    for c in want:
        fields = {"number": c.number, "start": c.start.isoformat() if c.start else None,
                  "end": c.end.isoformat() if c.end else None, "support_level": c.support_level,
                  "contract_type": c.contract_type}
        ours = sorted(d for d in c.devices if d in devices)
        row = existing.get(c.name)
        if row is None:
            plan.changes.append(Change("create", "contract", c.name, {**fields, "devices": ours}, ref=c))
            continue
        differ = {k: v for k, v in fields.items() if v not in (None, "") and (row.get(k) or None) != v}
        add = sorted(set(ours) - set(row.get("devices") or ()))
        if add:
            differ["devices"] = sorted(set(row.get("devices") or ()) | set(ours))
        if differ:
            before = {k: (sorted(row.get("devices") or ()) if k == "devices" else row.get(k)) for k in differ}
            plan.changes.append(Change("update", "contract", c.name, differ, before, row["id"], ref=c))
        else:
            plan.unchanged["contract"] += 1
