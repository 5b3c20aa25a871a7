"""Push to NetBox through pynetbox: inventory items (serial, part ID) under each device.

Modules are not written: a NetBox module needs a module bay on the device and a module type,
which a scan cannot know to exist; inventory items need only the device.  NetBox has no contract
model of its own (its lifecycle plugins differ from site to site), so contracts stay in the CSV
export.  Nothing is deleted; a device absent from NetBox is never created (a note says so).
"""
from __future__ import annotations

from typing import Any

from agent.collect.sources.http_bounds import BoundedSession
from agent.sot.api_reads import chunks, device_ids, ref_id
from agent.sot.desired import MANUFACTURER, WantContract, WantItem
from agent.sot.plan import Change, Plan, plan_items


class NetboxTarget:
    name = "netbox"

    def __init__(self, url: str, token: str, timeout: float = 30.0):
        import pynetbox

        self.url = url.rstrip("/")
        self.api = pynetbox.api(self.url, token=token, threading=False)
        self.api.http_session = BoundedSession(self.url, timeout=timeout)

    def devices(self, names: list[str]) -> dict[str, Any]:
        return device_ids(self.api, names)

    def items(self, device_ids: dict[str, Any]) -> list[dict]:
        by_id = {v: k for k, v in device_ids.items()}
        rows = []
        for chunk in chunks(list(by_id)):
            for it in self.api.dcim.inventory_items.filter(device_id=chunk):
                rows.append({"id": it.id, "device": by_id.get(ref_id(dict(it).get("device")), "?"), "name": it.name,
                             "part_id": it.part_id or "", "serial": it.serial or "",
                             "description": it.description or ""})
        return rows

    def plan(self, want_items: list[WantItem], want_contracts: list[WantContract]) -> Plan:
        plan = Plan(f"netbox at {self.url}")
        devices = self.devices([w.device for w in want_items])
        if self.api.dcim.manufacturers.get(name=MANUFACTURER) is None:
            plan.changes.append(Change("create", "manufacturer", MANUFACTURER, {"name": MANUFACTURER}))
        plan_items(plan, want_items, self.items(devices), devices)
        if want_contracts:
            plan.notes.append("NetBox has no contract model: contracts are in the CSV export only (--out)")
        return plan

    def apply(self, plan: Plan) -> None:
        if any(c.what == "manufacturer" for c in plan.changes):
            self.api.dcim.manufacturers.create(name=MANUFACTURER, slug=MANUFACTURER.lower())
        maker = self.api.dcim.manufacturers.get(name=MANUFACTURER).id
        creates = [c for c in plan.changes if c.what == "inventory item" and c.kind == "create"]
        devices = self.devices([c.ref.device for c in creates]) if creates else {}
        for chunk in chunks(creates):
            self.api.dcim.inventory_items.create([
                {"device": devices[c.ref.device], "name": c.ref.name, "manufacturer": maker, "discovered": True,
                 **c.ref.fields()} for c in chunk])
        updates = [c for c in plan.changes if c.what == "inventory item" and c.kind == "update"]
        for chunk in chunks(updates):
            self.api.dcim.inventory_items.update([{"id": c.target_id, **c.fields} for c in chunk])
