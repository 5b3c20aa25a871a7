"""Push to Nautobot through pynautobot: inventory items under each device, and, when the Device
Lifecycle Management app is installed, its contracts (with the devices they cover) and the
per-item coverage DLM keeps as the relationship ``contractlcm_to_inventoryitem`` (contract -> its
inventory items).  Reads are bounded as the inventory source's are (``http_bounds``).

Nothing is deleted; a device absent from Nautobot is never created (a note says so); an item that
DLM already ties to another contract keeps that tie (a note says so: the relationship is
one-to-many, one contract per item).
"""
from __future__ import annotations

from typing import Any

from agent.collect.sources.http_bounds import BoundedSession
from agent.sot.api_reads import chunks, device_ids, ref_id
from agent.sot.desired import MANUFACTURER, WantContract, WantItem
from agent.sot.plan import Change, Plan, plan_contracts, plan_items

DLM = "nautobot_device_lifecycle_mgmt"
COVERAGE = "contractlcm_to_inventoryitem"


class NautobotTarget:
    name = "nautobot"

    def __init__(self, url: str, token: str, timeout: float = 30.0):
        import pynautobot

        self.url = url.rstrip("/")
        self.api = pynautobot.api(self.url, token=token, threading=False)
        self.api.http_session = BoundedSession(self.url, timeout=timeout)
        self._dlm = None

    # -- reads ---------------------------------------------------------------------------------
    def devices(self, names: list[str]) -> dict[str, Any]:
        return device_ids(self.api, names)

    def items(self, device_ids: dict[str, Any]) -> list[dict]:
        by_id = {v: k for k, v in device_ids.items()}
        rows = []
        for chunk in chunks(list(by_id)):
            for it in self.api.dcim.inventory_items.filter(device=chunk):
                rows.append({"id": it.id, "device": by_id.get(ref_id(dict(it).get("device")), "?"), "name": it.name,
                             "part_id": it.part_id or "", "serial": it.serial or "", "description": it.description or ""})
        return rows

    def has_dlm(self) -> bool:
        if self._dlm is None:
            try:
                self.api.plugins.nautobot_device_lifecycle_mgmt.contract.count()
                self._dlm = True
            except Exception:  # noqa: BLE001 - 404: the app is not installed
                self._dlm = False
        return self._dlm

    def _dlm_app(self):
        return self.api.plugins.nautobot_device_lifecycle_mgmt

    def contracts(self, names: list[str], device_ids: dict[str, Any]) -> dict[str, dict]:
        by_id = {v: k for k, v in device_ids.items()}
        out = {}
        for chunk in chunks(sorted(set(names))):
            for c in self._dlm_app().contract.filter(name=chunk, exclude_m2m=False):  # m2m devices are left out by default
                row = dict(c)
                out[c.name] = {"id": c.id, "number": row.get("number") or "", "start": row.get("start"),
                               "end": row.get("end"), "support_level": row.get("support_level") or "",
                               "contract_type": row.get("contract_type") or "",
                               "devices": {by_id.get(ref_id(d), str(ref_id(d))) for d in row.get("devices") or ()},
                               "device_ids": [ref_id(d) for d in row.get("devices") or ()]}
        return out

    def _relationship(self):
        rel = self.api.extras.relationships.get(key=COVERAGE)
        return rel

    # -- the plan ------------------------------------------------------------------------------
    def plan(self, want_items: list[WantItem], want_contracts: list[WantContract]) -> Plan:
        plan = Plan(f"nautobot at {self.url}")
        devices = self.devices([w.device for w in want_items] + [d for c in want_contracts for d in c.devices])
        existing = self.items(devices)
        if self.api.dcim.manufacturers.get(name=MANUFACTURER) is None:
            plan.changes.append(Change("create", "manufacturer", MANUFACTURER, {"name": MANUFACTURER}))
        plan_items(plan, want_items, existing, devices)
        if want_contracts:
            if not self.has_dlm():
                plan.notes.append("the Device Lifecycle Management app is not installed: contracts not pushed")
                return plan
            if self._dlm_app().provider.get(name=MANUFACTURER) is None:
                plan.changes.append(Change("create", "provider", MANUFACTURER, {"name": MANUFACTURER}))
            plan_contracts(plan, want_contracts, self.contracts([c.name for c in want_contracts], devices), devices)
            self._plan_coverage(plan, want_items, want_contracts, existing)
        return plan

    def _plan_coverage(self, plan: Plan, want_items, want_contracts, existing) -> None:
        rel = self._relationship()
        if rel is None:
            plan.notes.append(f"relationship {COVERAGE} not found: per-item coverage not pushed")
            return
        item_id = {(r["device"], r["name"]): r["id"] for r in existing}
        by_serial = {w.serial: w for w in want_items}
        contract_ids = {name: row["id"] for name, row in
                        self.contracts([c.name for c in want_contracts], {}).items()}
        tied: dict[Any, Any] = {}  # item id -> contract id it is tied to
        for chunk in chunks(list(item_id.values())):
            for a in self.api.extras.relationship_associations.filter(relationship=rel.key, destination_id=chunk):
                tied[dict(a)["destination_id"]] = dict(a)["source_id"]
        owner: dict[str, WantContract] = {}  # one contract per item: the one whose period ends last
        for c in want_contracts:
            for s in c.serials:
                cur = owner.get(s)
                if s in by_serial and (cur is None or (c.end and (cur.end is None or c.end > cur.end))):
                    owner[s] = c
        for serial, c in sorted(owner.items()):
            w = by_serial[serial]
            iid = item_id.get((w.device, w.name))
            cid = contract_ids.get(c.name)
            if iid is not None and iid in tied:
                if cid is not None and tied[iid] == cid:
                    plan.unchanged["coverage"] += 1
                else:
                    plan.notes.append(f"{w.device} / {w.name} ({serial}) is tied to another contract in DLM: left so")
                continue
            plan.changes.append(Change("create", "coverage", f"{c.name} -> {w.device} / {w.name}",
                                       {"serial": serial}, ref=(c.name, w.device, w.name, rel.id)))

    # -- writes --------------------------------------------------------------------------------
    def apply(self, plan: Plan) -> None:
        by = lambda what, kind: [c for c in plan.changes if c.what == what and c.kind == kind]  # noqa: E731
        if by("manufacturer", "create"):
            self.api.dcim.manufacturers.create(name=MANUFACTURER)
        maker = self.api.dcim.manufacturers.get(name=MANUFACTURER).id
        creates = by("inventory item", "create")
        if creates:
            devices = self.devices([c.ref.device for c in creates])
            for chunk in chunks(creates):
                self.api.dcim.inventory_items.create([
                    {"device": devices[c.ref.device], "name": c.ref.name, "manufacturer": maker, "discovered": True,
                     **c.ref.fields()} for c in chunk])
        for chunk in chunks(by("inventory item", "update")):
            self.api.dcim.inventory_items.update([{"id": c.target_id, **c.fields} for c in chunk])
        if not any(c.what in ("contract", "provider", "coverage") for c in plan.changes):
            return
        app = self._dlm_app()
        if by("provider", "create"):
            app.provider.create(name=MANUFACTURER)
        provider = app.provider.get(name=MANUFACTURER).id
        names = [c.key for c in plan.changes if c.what == "contract"]
        devices = self.devices([d for c in plan.changes if c.what == "contract" for d in c.fields.get("devices", ())])
        for c in by("contract", "create"):
            app.contract.create({**{k: v for k, v in c.fields.items() if k != "devices"}, "name": c.key,
                                 "provider": provider, "devices": [devices[d] for d in c.fields["devices"]]})
        for c in by("contract", "update"):
            data = {k: v for k, v in c.fields.items() if k != "devices"}
            if "devices" in c.fields:  # never take a device off: what the contract has now, plus ours
                current = self.contracts([c.key], {}).get(c.key, {}).get("device_ids", [])
                ours = [devices[d] for d in c.fields["devices"] if d in devices]
                data["devices"] = list(dict.fromkeys([*current, *ours]))
            app.contract.update([{"id": c.target_id, **data}])
        coverage = by("coverage", "create")
        if coverage:
            all_devices = self.devices([c.ref[1] for c in coverage])
            item_id = {(r["device"], r["name"]): r["id"] for r in self.items(all_devices)}
            contract_ids = {n: row["id"] for n, row in self.contracts(names + [c.ref[0] for c in coverage], {}).items()}
            rows = [{"relationship": c.ref[3], "source_type": f"{DLM}.contractlcm", "source_id": contract_ids[c.ref[0]],
                     "destination_type": "dcim.inventoryitem", "destination_id": item_id[(c.ref[1], c.ref[2])]}
                    for c in coverage if (c.ref[1], c.ref[2]) in item_id and c.ref[0] in contract_ids]
            for chunk in chunks(rows):
                self.api.extras.relationship_associations.create(chunk)
